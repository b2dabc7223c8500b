"""Routes: an audit's findings — new, detail (requirement, corrective actions, re-checks), edit;
link existing SMSI actions, create one from the finding, unlink one; the findings PDF."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from audits import access
from audits.blueprint import bp
from audits.forms import FindingForm, LinkActionsForm, NewActionForm, finding_initial
from audits.models import Audit, Finding, FindingLevel, FindingRecheck, FindingStatus
from audits.services import findings as svc
from core.extensions import db
from core.forms import FieldError, handle_form
from core.pagination import paginate
from core.security import Permission, require
from core.templating import label_tables, labels_of
from core.tenancy import scoped
from smsi.services import actions as smsi_actions

FORM_TEMPLATE = "audits/finding_form.html"


def _scope(audit: Audit) -> list[tuple[int, str]]:
    return [(o.id, o.name) for o in audit.organisations]


def _form(audit: Audit, finding: Finding | None) -> FindingForm:
    form = FindingForm() if request.method == "POST" else FindingForm(data=finding_initial(finding))
    return form.setup(scope=_scope(audit))


def _detail_url(finding: Finding) -> str:
    return url_for("audits.finding_detail", finding_id=finding.id)


@bp.route("/<int:audit_id>/findings/new", methods=["GET", "POST"])
@require(Permission.AUDIT_FINDINGS_EDIT)
def finding_new(audit_id: int) -> Any:
    audit = access.get_audit_or_404(audit_id)
    return handle_form(
        _form(audit, None),
        lambda data: svc.create_finding(audit, current_user, data),
        template=FORM_TEMPLATE,
        success_message=_("Constat enregistré."),
        success_url=_detail_url,
        audit=audit,
        finding=None,
        requirements=svc.requirement_choices(),
    )


@bp.route("/findings/<int:finding_id>/edit", methods=["GET", "POST"])
@require(Permission.AUDIT_FINDINGS_EDIT)
def finding_edit(finding_id: int) -> Any:
    finding = access.get_finding_or_404(finding_id)
    return handle_form(
        _form(finding.audit, finding),
        lambda data: svc.update_finding(finding, current_user, data),
        template=FORM_TEMPLATE,
        success_message=_("Constat enregistré."),
        success_url=_detail_url,
        edited=finding,
        audit=finding.audit,
        finding=finding,
        requirements=svc.requirement_choices(),
    )


def _detail(
    finding: Finding,
    link_form: LinkActionsForm | None = None,
    new_form: NewActionForm | None = None,
    status: int = 200,
) -> Any:
    linked = svc.linked_actions(finding)
    linked_ids = {a.id for a in linked}
    link = link_form or LinkActionsForm(formdata=None)
    link.action_ids.choices = [
        (i, label)
        for i, label in smsi_actions.open_action_choices(finding.organisation_id)
        if i not in linked_ids
    ]
    new = new_form or NewActionForm(formdata=None, data={"type": "corrective", "owner_id": current_user.id})
    new.setup(people=smsi_actions.owner_choices(finding.organisation_id))
    rechecks = list(
        db.session.scalars(
            scoped(select(FindingRecheck), FindingRecheck)
            .where(FindingRecheck.finding_id == finding.id)
            .order_by(FindingRecheck.checked_on)
        )
    )
    return render_template(
        "audits/finding_detail.html",
        finding=finding,
        audit=finding.audit,
        requirement=svc.requirement_label(finding.requirement_kind, finding.requirement_ref),
        actions=linked,
        refusal=svc.closing_refusal(finding.level, linked_ids) if finding.status.value != "closed" else None,
        link_form=link,
        new_form=new,
        rechecks=rechecks,
    ), status


@bp.route("/findings/<int:finding_id>")
@require(Permission.AUDITS_VIEW)
def finding_detail(finding_id: int) -> Any:
    return _detail(access.get_finding_or_404(finding_id))


@bp.post("/findings/<int:finding_id>/actions/link")
@require(Permission.AUDITS_EDIT)
@require(Permission.SMSI_EDIT)
def finding_link_actions(finding_id: int) -> Any:
    finding = access.get_finding_or_404(finding_id)
    form = LinkActionsForm()
    form.action_ids.choices = smsi_actions.open_action_choices(finding.organisation_id)
    if form.validate_on_submit():
        try:
            svc.link_actions(finding, current_user, form.action_ids.data)
        except FieldError as error:
            db.session.rollback()
            error.attach(form)
        else:
            db.session.commit()
            flash(_("Actions liées au constat."), "success")
            return redirect(_detail_url(finding))
    flash(_("Le formulaire contient des erreurs : corrigez les champs signalés."), "danger")
    return _detail(finding, link_form=form, status=422)


@bp.post("/findings/<int:finding_id>/actions/new")
@require(Permission.AUDITS_EDIT)
@require(Permission.SMSI_EDIT)
def finding_new_action(finding_id: int) -> Any:
    finding = access.get_finding_or_404(finding_id)
    form = NewActionForm()
    form.setup(people=smsi_actions.owner_choices(finding.organisation_id))
    if form.validate_on_submit():
        try:
            action = svc.create_action_for(finding, current_user, form.data)
        except FieldError as error:
            db.session.rollback()
            error.attach(form)
        else:
            db.session.commit()
            flash(_("Action %(ref)s créée et liée au constat.", ref=action.reference), "success")
            return redirect(_detail_url(finding))
    flash(_("Le formulaire contient des erreurs : corrigez les champs signalés."), "danger")
    return _detail(finding, new_form=form, status=422)


@bp.post("/findings/<int:finding_id>/actions/unlink")
@require(Permission.AUDITS_EDIT)
def finding_unlink_action(finding_id: int) -> Any:
    finding = access.get_finding_or_404(finding_id)
    form = LinkActionsForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        action_id = int(request.form.get("action_id", ""))
    except ValueError:
        abort(400)
    try:
        svc.unlink_action(finding, current_user, action_id)
    except FieldError as error:
        db.session.rollback()
        flash(error.message, "danger")
    else:
        db.session.commit()
        flash(_("Action retirée du constat."), "success")
    return redirect(_detail_url(finding))


@bp.route("/findings/")
@require(Permission.AUDITS_VIEW)
def finding_list() -> Any:
    level = request.args.get("level", "")
    status = request.args.get("status", "open")
    status = status if status in ("open", "closed", "all") else "open"
    return render_template(
        "audits/finding_list.html",
        page=paginate(svc.finding_rows_query(level, status), scalars=False),
        labels=label_tables(status=FindingStatus),
        level=level if level in {lv.value for lv in FindingLevel} else "",
        status=status,
        levels=[(lv.value, f"{lv.value} — {text}") for lv, text in labels_of(FindingLevel).items()],
    )
