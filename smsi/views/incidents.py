"""Routes: the incident log — list, detail (timeline, affected organisations, derived breaches),
new, edit, and a timeline entry."""

from __future__ import annotations

from collections import Counter
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.extensions import db
from core.forms import FieldError, handle_form
from core.pagination import paginate
from core.security import Permission, require
from core.templating import label_tables, options_of
from core.tenancy import current_org, get_scoped_or_404
from smsi.blueprint import bp
from smsi.forms.incidents import IncidentForm, NotificationForm, TimelineForm, initial_data
from smsi.models import Incident, IncidentCategory, IncidentStatus, Severity
from smsi.services import actions
from smsi.services import incidents as svc

FORM_TEMPLATE = "smsi/incident_form.html"


def _severity_texts() -> dict[str, str]:
    return {s.value: s.definition for s in Severity}


def _form(incident: Incident | None) -> IncidentForm:
    org = current_org._get_current_object()
    form = IncidentForm() if request.method == "POST" else IncidentForm(data=initial_data(incident))
    form.setup(applications=svc.application_choices(org), organisations=svc.organisation_choices(org))
    if not svc.is_nis2_entity(org):
        del form.nis2_significant  # neither shown nor read: NIS2 does not apply (svc.is_nis2_entity)
    return form


def _detail_url(incident: Incident) -> str:
    return url_for("smsi.incident_detail", incident_id=incident.id)


@bp.route("/incidents/")
@require(Permission.SMSI_VIEW)
def incident_list() -> Any:
    filters = svc.IncidentFilters.from_args(request.args)
    # The columns the list shows, as rows (not whole incidents with their applications).
    page = paginate(svc.incident_rows_query(filters), scalars=False)
    return render_template(
        "smsi/incident_list.html",
        page=page,
        filters=filters,
        affected=Counter(svc.affected_counts(i.id for i in page.items)),  # 0 for none, no .get() a row
        severities=options_of(Severity),
        categories=options_of(IncidentCategory),
        labels=label_tables(severity=Severity, category=IncidentCategory, status=IncidentStatus),
    )


def _detail(
    incident: Incident,
    timeline_form: TimelineForm | None = None,
    notification_form: NotificationForm | None = None,
    status: int = 200,
) -> Any:
    sent = svc.notifications(incident)
    organisations = svc.affected_organisations(incident)
    return render_template(
        "smsi/incident_detail.html",
        incident=incident,
        timeline=svc.timeline(incident),
        organisations=organisations,
        # The organisations that should hold a breach: one held elsewhere is no longer affected.
        targeted={i for i, _name, _added in organisations} if incident.has_personal_data else set(),
        breaches=svc.derived_breaches(incident),
        notifications=sent,
        nis2=svc.nis2_steps(incident, sent),
        actions=actions.actions_of_incident(incident),
        timeline_form=timeline_form or TimelineForm(formdata=None).setup(),
        notification_form=notification_form or NotificationForm(formdata=None).setup(),
    ), status


@bp.route("/incidents/<int:incident_id>")
@require(Permission.SMSI_VIEW)
def incident_detail(incident_id: int) -> Any:
    incident = get_scoped_or_404(Incident, incident_id)
    return _detail(incident)


@bp.route("/incidents/new", methods=["GET", "POST"])
@require(Permission.SMSI_EDIT)
def incident_new() -> Any:
    org = current_org._get_current_object()
    return handle_form(
        _form(None),
        lambda data: svc.create_incident(org, current_user, data),
        template=FORM_TEMPLATE,
        success_message=_("Incident enregistré."),
        success_url=_detail_url,
        incident=None,
        severity_definitions=_severity_texts(),
    )


@bp.route("/incidents/<int:incident_id>/edit", methods=["GET", "POST"])
@require(Permission.SMSI_EDIT)
def incident_edit(incident_id: int) -> Any:
    incident = get_scoped_or_404(Incident, incident_id)
    return handle_form(
        _form(incident),
        lambda data: svc.update_incident(incident, current_user, data),
        template=FORM_TEMPLATE,
        success_message=_("Incident enregistré."),
        success_url=_detail_url,
        incident=incident,
        severity_definitions=_severity_texts(),
    )


@bp.post("/incidents/<int:incident_id>/timeline")
@require(Permission.SMSI_EDIT)
def incident_timeline_add(incident_id: int) -> Any:
    incident = get_scoped_or_404(Incident, incident_id)
    form = TimelineForm().setup()
    if form.validate_on_submit():
        try:
            svc.add_event(incident, current_user, form.kind.data, form.at.data, form.text.data)
        except FieldError as error:
            db.session.rollback()
            error.attach(form)
        else:
            db.session.commit()
            flash(_("Entrée ajoutée à la chronologie."), "success")
            return redirect(_detail_url(incident) + "#timeline")
    flash(_("L'entrée n'a pas été ajoutée : corrigez les champs signalés."), "danger")
    return _detail(incident, timeline_form=form, status=422)


@bp.post("/incidents/<int:incident_id>/notifications")
@require(Permission.SMSI_EDIT)
def incident_notification_add(incident_id: int) -> Any:
    incident = get_scoped_or_404(Incident, incident_id)
    form = NotificationForm().setup()
    if form.validate_on_submit():
        try:
            svc.add_notification(incident, current_user, form.data)
        except FieldError as error:
            db.session.rollback()
            error.attach(form)
        else:
            db.session.commit()
            flash(_("Notification enregistrée."), "success")
            return redirect(_detail_url(incident) + "#notifications")
    flash(_("La notification n'a pas été enregistrée : corrigez les champs signalés."), "danger")
    return _detail(incident, notification_form=form, status=422)
