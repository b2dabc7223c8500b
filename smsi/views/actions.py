"""Routes: corrective and preventive actions — list (mine, overdue, by origin), detail, new (from an
incident's page, or from a weekly review's decision), edit, and the bulk re-assignment of a
departing owner's actions."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from core.extensions import db
from core.forms import FieldError, handle_form
from core.params import int_arg
from core.security import Permission, require
from core.templating import label_tables, options_of
from core.tenancy import current_org, get_scoped_or_404
from smsi.blueprint import bp
from smsi.forms.actions import ActionForm, ReassignForm, initial_data
from smsi.models import Action, ActionOrigin, ActionStatus, ActionType, WeeklyReview
from smsi.services import actions as svc

FORM_TEMPLATE = "smsi/action_form.html"


def _form(action: Action | None) -> ActionForm:
    org_id = current_org.id
    if request.method == "POST":
        form = ActionForm()
    elif action is None:
        incident_id = int_arg("incident_id")
        prefill: dict[str, Any] = (
            {"origin": ActionOrigin.INCIDENT.value, "incident_id": incident_id} if incident_id else {}
        )
        origin = request.args.get("origin", "")
        if not incident_id and origin in {o.value for o in ActionOrigin}:  # a decision of the weekly review
            prefill = {"origin": origin, "origin_detail": request.args.get("origin_detail", "")[:300]}
            review = svc.review_of(org_id, int_arg("review_id"))  # another organisation's: not linked
            if review is not None and origin == ActionOrigin.MANAGEMENT_REVIEW.value:
                prefill["review_id"] = review.id
        form = ActionForm(data=initial_data(None, owner_id=current_user.id, **prefill))
    else:
        form = ActionForm(data=initial_data(action))
    include = action.owner_id if action else None
    return form.setup(
        people=svc.owner_choices(org_id, include=include),
        incidents=svc.incident_choices(
            org_id, include=action.incident_id if action else int_arg("incident_id")
        ),
    )


def _linked_review(form: ActionForm) -> WeeklyReview | None:
    """The weekly review whose decision the form's action carries out (shown with its origin)."""
    if form.origin.data != ActionOrigin.MANAGEMENT_REVIEW.value:
        return None
    return svc.review_of(current_org.id, form.review_id.data)


def _detail_url(action: Action) -> str:
    return url_for("smsi.action_detail", action_id=action.id)


def _list_page(form: ReassignForm | None = None, status: int = 200) -> Any:
    filters = svc.ActionFilters.from_args(request.args)
    if request.args.get("mine") == "1":
        filters.owner_id = current_user.id
    page = svc.actions_page(filters, rows=True)
    reassign = form or ReassignForm(formdata=None)
    reassign.setup(svc.owner_choices(current_org.id))
    reassign.from_id.choices = [reassign.from_id.choices[0], *svc.owners_with_open_actions(current_org.id)]
    return render_template(
        "smsi/action_list.html",
        page=page,
        filters=filters,
        mine=filters.owner_id is not None,
        origins=options_of(ActionOrigin),
        labels=label_tables(type=ActionType, origin=ActionOrigin, status=ActionStatus),
        today=svc.today(),
        reassign_form=reassign,
    ), status


@bp.route("/actions/")
@require(Permission.SMSI_VIEW)
def action_list() -> Any:
    return _list_page()


@bp.route("/actions/<int:action_id>")
@require(Permission.SMSI_VIEW)
def action_detail(action_id: int) -> Any:
    action = get_scoped_or_404(Action, action_id)
    return render_template("smsi/action_detail.html", action=action, today=svc.today())


@bp.route("/actions/new", methods=["GET", "POST"])
@require(Permission.SMSI_EDIT)
def action_new() -> Any:
    org = current_org._get_current_object()
    form = _form(None)
    return handle_form(
        form,
        lambda data: svc.create_action(org, current_user, data),
        template=FORM_TEMPLATE,
        success_message=_("Action enregistrée."),
        success_url=_detail_url,
        action=None,
        review=_linked_review(form),
    )


@bp.route("/actions/<int:action_id>/edit", methods=["GET", "POST"])
@require(Permission.SMSI_EDIT)
def action_edit(action_id: int) -> Any:
    action = get_scoped_or_404(Action, action_id)
    form = _form(action)
    return handle_form(
        form,
        lambda data: svc.update_action(action, current_user, data),
        template=FORM_TEMPLATE,
        success_message=_("Action enregistrée."),
        success_url=_detail_url,
        action=action,
        review=_linked_review(form),
    )


@bp.post("/actions/reassign")
@require(Permission.SMSI_EDIT)
def action_reassign() -> Any:
    form = ReassignForm()
    if form.validate_on_submit() and form.from_id.data and form.to_id.data:
        try:
            moved = svc.reassign(
                current_org._get_current_object(), current_user, form.from_id.data, form.to_id.data
            )
        except FieldError as error:
            db.session.rollback()
            flash(error.message, "danger")
        else:
            db.session.commit()
            flash(ngettext("%(num)d action réattribuée.", "%(num)d actions réattribuées.", moved), "success")
            return redirect(url_for("smsi.action_list"))
    else:
        flash(
            _("Choisissez la personne dont les actions sont à reprendre et celle qui les reprend."), "danger"
        )
    return redirect(url_for("smsi.action_list"))
