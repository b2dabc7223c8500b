"""Fiches de traitement: register list, fiche, form, status, history, models and model updates."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.concurrency import EditConflict
from core.db import today
from core.extensions import db
from core.forms import FieldError, handle_form
from core.pagination import paginate
from core.params import int_arg
from core.security import Permission, can, require
from core.tenancy import current_org, get_scoped_or_404, syndicate_only
from registers import display as pages
from registers.blueprint import bp
from registers.forms.activities import (
    KEEP,
    LATER,
    ROW_LISTS,
    TAKE,
    ActivityForm,
    ModelUpdateForm,
    StatusForm,
    VersionOnlyForm,
    form_data,
    initial_data,
)
from registers.models import ActivityStatus, ActivityVersion, ProcessingActivity
from registers.reference import legal_basis_texts
from registers.services import activities as acts
from registers.services import inheritance
from registers.services.queries import application_names


@bp.route("/")
@require(Permission.REGISTERS_VIEW)
def index() -> Any:
    return redirect(url_for("registers.activity_list"))


def _list(models: bool) -> Any:
    filters = acts.ActivityFilters(
        q=request.args.get("q", "").strip()[:100],
        status=request.args.get("status", ""),
        legal_basis=request.args.get("legal_basis", ""),
        sensitive=request.args.get("sensitive", ""),
        dpia=request.args.get("dpia", ""),
        review=request.args.get("review", ""),
        completeness=request.args.get("completeness", ""),
        application_id=int_arg("application"),
        models=models,
        sort=request.args.get("sort", "name"),
    )
    summary = None if models else acts.register_summary(current_org.id)
    page = paginate(  # rows of LIST_COLUMNS
        acts.activities_query(filters),
        scalars=False,
        total=summary.total if summary is not None and filters.shows_the_register else None,
    )
    return render_template(
        "registers/activity_list.html",
        page=page,
        filters=filters,
        models=models,
        summary=summary,
        application_names=application_names([a.id for a in page.items]) if models else {},
        today=today(),
        legal_basis_texts=legal_basis_texts(),  # the rows' wording, looked up once a page
        **pages.list_choices(current_org),
    )


@bp.route("/activities/")
@require(Permission.REGISTERS_VIEW)
def activity_list() -> Any:
    return _list(models=False)


@bp.route("/models/")
@require(Permission.REGISTERS_VIEW)
@syndicate_only
def model_list() -> Any:
    return _list(models=True)


def _form(activity: ProcessingActivity | None, *, is_model: bool = False) -> ActivityForm:
    if request.method == "POST":
        form = ActivityForm()
    elif activity is None:
        # ?application_id=: a model asked for by the processor register's "à compléter" link
        chosen = int_arg("application_id")
        form = ActivityForm(data=initial_data(None, [chosen] if chosen else None))
    else:
        content = acts.content_of(activity)
        form = ActivityForm(
            data={**initial_data(content, [a.id for a in activity.applications]), "version": activity.version}
        )
    return form.setup(
        **pages.form_choices(
            current_org, activity, may_validate=can(Permission.REGISTERS_VALIDATE), is_model=is_model
        )
    )


def _fiche_form_page(form: ActivityForm, save: Any, success_message: str, **context: Any) -> Any:
    """The fiche form: saved through handle_form, or — the "add a row" button of a page without
    JavaScript — shown again with what was typed and one more blank row, nothing saved."""
    context |= {"activity_content_fields": acts.CONTENT_FIELDS}
    add_row = request.form.get("add_row") if request.method == "POST" else None
    if add_row in ROW_LISTS:
        focus = form.add_row(add_row)
        return render_template("registers/activity_form.html", form=form, focus=focus.id, **context)
    return handle_form(
        form,
        _save_with(form, save),
        edited=context.get("activity"),  # the statuses offered depend on the fiche's
        template="registers/activity_form.html",
        success_message=success_message,
        success_url=lambda a: url_for("registers.activity_detail", activity_id=a.id),
        **context,
    )


def _save_with(form: ActivityForm, save: Any) -> Any:
    """handle_form hands over ``form.data``; fiches need their rows turned into lists first."""
    return lambda _data: save(form_data(form))


@bp.route("/activities/new", methods=["GET", "POST"])
@require(Permission.REGISTERS_EDIT)
def activity_new() -> Any:
    return _new(is_model=False)


@bp.route("/models/new", methods=["GET", "POST"])
@require(Permission.REGISTERS_EDIT)
@syndicate_only
def model_new() -> Any:
    return _new(is_model=True)


def _new(*, is_model: bool) -> Any:
    form = _form(None, is_model=is_model)
    org = current_org._get_current_object()
    return _fiche_form_page(
        form,
        lambda data: acts.create_activity(org, current_user, data, is_model=is_model),
        _("Modèle créé : les adhérents abonnés ont reçu leur fiche.") if is_model else _("Fiche créée."),
        activity=None,
        is_model=is_model,
    )


@bp.route("/activities/<int:activity_id>")
@require(Permission.REGISTERS_VIEW)
def activity_detail(activity_id: int) -> Any:
    activity = get_scoped_or_404(ProcessingActivity, activity_id)
    return render_template("registers/activity_detail.html", **pages.detail_context(activity))


@bp.route("/activities/<int:activity_id>/edit", methods=["GET", "POST"])
@require(Permission.REGISTERS_EDIT)
def activity_edit(activity_id: int) -> Any:
    activity = get_scoped_or_404(ProcessingActivity, activity_id)
    form = _form(activity, is_model=activity.is_model)
    return _fiche_form_page(
        form,
        lambda data: acts.update_activity(activity, current_user, data),
        _("Fiche enregistrée."),
        activity=activity,
        is_model=activity.is_model,
        overridden=inheritance.overridden_fields(activity) if activity.is_inherited else set(),
    )


@bp.route("/activities/<int:activity_id>/status", methods=["POST"])
@require(Permission.REGISTERS_EDIT)
def activity_status(activity_id: int) -> Any:
    activity = get_scoped_or_404(ProcessingActivity, activity_id)
    form = StatusForm()
    if not form.validate_on_submit():
        abort(400)
    status = ActivityStatus(form.status.data)
    if status in (ActivityStatus.VALIDATED, ActivityStatus.ARCHIVED) and not can(
        Permission.REGISTERS_VALIDATE
    ):
        abort(403)
    return _act(
        activity,
        lambda: acts.set_status(activity, current_user, status, form.version.data),
        _("Statut : %(s)s.", s=status.label),
    )


def _act(activity: ProcessingActivity, action: Any, message: str) -> Any:
    """Run a one-button action on a fiche; a stale page says so instead of acting."""
    try:
        action()
    except EditConflict:
        db.session.rollback()
        flash(_("La fiche a été modifiée entre-temps : rechargez-la et recommencez."), "warning")
    except FieldError as error:
        db.session.rollback()
        flash(error.message, "danger")
    else:
        db.session.commit()
        flash(message, "success")
    return redirect(url_for("registers.activity_detail", activity_id=activity.id))


@bp.route("/activities/<int:activity_id>/history")
@require(Permission.REGISTERS_VIEW)
def activity_history(activity_id: int) -> Any:
    activity = get_scoped_or_404(ProcessingActivity, activity_id)
    return render_template(
        "registers/activity_history.html",
        activity=activity,
        versions=pages.history(activity),
        form=VersionOnlyForm(version=activity.version),
    )


@bp.route("/activities/<int:activity_id>/versions/<int:number>")
@require(Permission.REGISTERS_VIEW)
def activity_version(activity_id: int, number: int) -> Any:
    activity = get_scoped_or_404(ProcessingActivity, activity_id)
    version = pages.version_or_404(activity, number)
    return render_template(
        "registers/activity_version.html",
        activity=activity,
        version=version,
        view=pages.fiche_view(version.data, activity.organisation),
        form=VersionOnlyForm(version=activity.version),
    )


@bp.route("/activities/<int:activity_id>/versions/<int:number>/restore", methods=["POST"])
@require(Permission.REGISTERS_EDIT)
def activity_restore(activity_id: int, number: int) -> Any:
    activity = get_scoped_or_404(ProcessingActivity, activity_id)
    version: ActivityVersion = pages.version_or_404(activity, number)
    form = VersionOnlyForm()
    return _act(
        activity,
        lambda: acts.restore_version(activity, current_user, version, form.version.data),
        _("Version %(n)s restaurée (elle devient la version courante).", n=number),
    )


@bp.route("/activities/<int:activity_id>/model-update")
@require(Permission.REGISTERS_VIEW)
def activity_model_update(activity_id: int) -> Any:
    activity = get_scoped_or_404(ProcessingActivity, activity_id)
    changes = inheritance.pending_changes(activity)
    form = ModelUpdateForm.for_changes(changes, version=activity.version)
    return _model_update_page(activity, changes, form)


@bp.route("/activities/<int:activity_id>/model-update", methods=["POST"])
@require(Permission.REGISTERS_EDIT)
def activity_model_accept(activity_id: int) -> Any:
    activity = get_scoped_or_404(ProcessingActivity, activity_id)
    changes = inheritance.pending_changes(activity)
    form = ModelUpdateForm.for_changes(changes)
    if not form.validate_on_submit():
        flash(_("Le formulaire contient des erreurs : corrigez les champs signalés."), "danger")
        return _model_update_page(activity, changes, form), 422
    taken, kept, later = (form.chosen(d) for d in (TAKE, KEEP, LATER))
    return _act(
        activity,
        lambda: inheritance.accept_model_update(
            activity, current_user, taken, form.version.data, later=later
        ),
        pages.model_update_message(len(taken), len(kept), len(later)),
    )


def _model_update_page(activity: ProcessingActivity, changes: list[Any], form: ModelUpdateForm) -> str:
    return render_template(
        "registers/activity_model_update.html",
        activity=activity,
        model=inheritance.model_of(activity),
        changes=[(pages.change_view(c, activity.organisation), form[f"decision_{c.field}"]) for c in changes],
        form=form,
    )


@bp.route("/activities/<int:activity_id>/revert", methods=["POST"])
@require(Permission.REGISTERS_EDIT)
def activity_revert(activity_id: int) -> Any:
    activity = get_scoped_or_404(ProcessingActivity, activity_id)
    form = VersionOnlyForm()
    field = request.form.get("field", "")
    return _act(
        activity,
        lambda: inheritance.revert_to_model(activity, current_user, field, form.version.data),
        _("Le champ reprend la valeur du modèle."),
    )
