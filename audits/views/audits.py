"""Routes: audit campaigns — list (status, type, year), detail (scope, findings by level, re-checks),
new, edit, and the re-check of a finding of the audit followed."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from audits import access
from audits.blueprint import bp
from audits.forms import AuditForm, RecheckForm, audit_initial
from audits.models import Audit, AuditStatus, AuditType, Framework
from audits.services import audits as svc
from audits.services import findings as fsvc
from audits.views import access as access_views
from core.extensions import db
from core.forms import FieldError, handle_form
from core.security import Permission, require
from core.templating import label_tables, options_of
from core.tenancy import current_org

FORM_TEMPLATE = "audits/audit_form.html"


def _form(audit: Audit | None) -> AuditForm:
    org = current_org._get_current_object()
    if request.method == "POST":
        form = AuditForm()
    else:
        form = AuditForm(data=audit_initial(audit, organisation_ids=[org.id]))
    return form.setup(
        scope=svc.scope_choices(org),
        earlier=svc.earlier_audit_choices(org.id, exclude=audit.id if audit else None),
    )


def _detail_url(audit: Audit) -> str:
    return url_for("audits.audit_detail", audit_id=audit.id)


@bp.route("/")
@require(Permission.AUDITS_VIEW)
def index() -> Any:
    filters = svc.AuditFilters.from_args(request.args)
    return render_template(
        "audits/audit_list.html",
        page=svc.audits_page(filters),
        labels=label_tables(type=AuditType, status=AuditStatus),
        filters=filters,
        statuses=options_of(AuditStatus),
        types=options_of(AuditType),
        years=[(str(y), str(y)) for y in svc.audit_years()],
    )


@bp.route("/<int:audit_id>")
@require(Permission.AUDITS_VIEW)
def audit_detail(audit_id: int) -> Any:
    audit = access.get_audit_or_404(audit_id)
    return _detail(audit)


def _detail(audit: Audit, recheck_form: RecheckForm | None = None, status: int = 200) -> Any:
    earlier = fsvc.recheckable_findings(audit)
    form = recheck_form or RecheckForm(formdata=None)
    form.setup(findings=[(f.id, str(f)) for f in earlier])
    return render_template(
        "audits/audit_detail.html",
        audit=audit,
        counts=svc.level_counts(audit.id),
        findings=fsvc.findings_of(audit.id),
        frameworks=[f for f in Framework if f in audit.framework_set],
        rechecks_by=fsvc.rechecks_by(audit),
        rechecks_of=fsvc.rechecks_of(audit),
        recheck_form=form if earlier or recheck_form is not None else None,
        pdf_form=access_views.PlainForm(),
    ), status


@bp.route("/new", methods=["GET", "POST"])
@require(Permission.AUDITS_EDIT)
def audit_new() -> Any:
    org = current_org._get_current_object()
    return handle_form(
        _form(None),
        lambda data: svc.create_audit(org, current_user, data),
        template=FORM_TEMPLATE,
        success_message=_("Audit enregistré."),
        success_url=_detail_url,
        audit=None,
    )


@bp.route("/<int:audit_id>/edit", methods=["GET", "POST"])
@require(Permission.AUDITS_EDIT)
def audit_edit(audit_id: int) -> Any:
    audit = access.get_audit_or_404(audit_id)
    return handle_form(
        _form(audit),
        lambda data: svc.update_audit(audit, current_user, data),
        template=FORM_TEMPLATE,
        success_message=_("Audit enregistré."),
        success_url=_detail_url,
        edited=audit,
        audit=audit,
    )


@bp.post("/<int:audit_id>/rechecks")
@require(Permission.AUDITS_EDIT)
def audit_recheck(audit_id: int) -> Any:
    audit = access.get_audit_or_404(audit_id)
    form = RecheckForm()
    form.setup(findings=[(f.id, str(f)) for f in fsvc.recheckable_findings(audit)])
    if form.validate_on_submit():
        try:
            fsvc.record_recheck(audit, current_user, form.data)
        except FieldError as error:
            db.session.rollback()
            error.attach(form)
        else:
            db.session.commit()
            flash(_("Vérification enregistrée."), "success")
            return redirect(_detail_url(audit) + "#rechecks")
    flash(_("Le formulaire contient des erreurs : corrigez les champs signalés."), "danger")
    return _detail(audit, form, 422)
