"""JSON API (core.api) of the SMSI: incidents and corrective actions, read and written through the
same services as the pages (smsi.services.incidents and .actions: rules — a timeline that starts at
detection, closure only with root cause and lessons learned, an action closed only once verified
effective —, tenancy, journal, the breaches an incident opens in the members' registers, version
check). A monitoring tool or a SOC can record an incident the minute it is detected; a ticketing
tool can follow the actions."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint, Schema, fields
from apiflask.validators import Length, OneOf, Range
from flask_login import current_user

from core.api import (
    Day,
    Moment,
    PageMeta,
    PageQuery,
    api_require,
    call_service,
    etag,
    page_meta,
    patch_through,
    values_of,
)
from core.extensions import db
from core.pagination import paginate
from core.params import MAX_ID
from core.security import Permission
from core.tenancy import current_org, get_scoped_or_404
from smsi.models import (
    Action,
    ActionOrigin,
    ActionPriority,
    ActionStatus,
    ActionType,
    Incident,
    IncidentCategory,
    IncidentStatus,
    Severity,
)
from smsi.services import actions, incidents

api_bp = APIBlueprint("smsi_api", __name__, tag="SMSI")

ID = Range(min=1, max=MAX_ID)
TEXT = Length(max=incidents.MAX_TEXT)
IDS = Length(max=500)


def _values(enum: Any) -> list[str]:
    return [member.value for member in enum]


# --- incidents -------------------------------------------------------------------------------------


class IncidentSummaryOut(Schema):
    """An incident as the list shows it."""

    id = fields.Integer(required=True)
    version = fields.Integer(required=True)
    reference = fields.String(required=True)
    title = fields.String(required=True)
    detected_at = fields.DateTime(required=True)
    category = fields.Enum(IncidentCategory, by_value=True, required=True)
    severity = fields.Enum(Severity, by_value=True, required=True)
    status = fields.Enum(IncidentStatus, by_value=True, required=True)
    is_open = fields.Boolean(required=True)
    has_personal_data = fields.Boolean(required=True)
    closed_at = fields.DateTime(allow_none=True)


class IncidentOut(IncidentSummaryOut):
    description = fields.String(allow_none=True)
    reported_by = fields.String(allow_none=True)
    impact_confidentiality = fields.Boolean(required=True)
    impact_integrity = fields.Boolean(required=True)
    impact_availability = fields.Boolean(required=True)
    affected_sites = fields.String(allow_none=True)
    nis2_significant = fields.Boolean(required=True)
    root_cause = fields.String(allow_none=True)
    lessons_learned = fields.String(allow_none=True)
    application_ids = fields.List(fields.Integer(), required=True)
    # The members affected (derived from the applications' subscriptions, plus those added, minus
    # those excluded), as on the incident's page.
    affected_organisation_ids = fields.List(fields.Integer(), required=True)
    added_organisation_ids = fields.List(fields.Integer(), required=True)
    excluded_organisation_ids = fields.List(fields.Integer(), required=True)


class IncidentPage(Schema):
    items = fields.List(fields.Nested(IncidentSummaryOut), required=True)
    meta = fields.Nested(PageMeta, required=True)


class IncidentQuery(PageQuery):
    q = fields.String(load_default="", validate=Length(max=100))
    status = fields.String(load_default="open", validate=OneOf(["open", "closed", "all"]))
    severity = fields.String(load_default="", validate=OneOf(["", *_values(Severity)]))
    category = fields.String(load_default="", validate=OneOf(["", *_values(IncidentCategory)]))


class IncidentIn(Schema):
    """An incident as the log's form records it; the reference (INC-YYYY-NNN) is given. A date and
    time without offset is French local time. Applications and organisations are ids of the
    catalogue and of the syndicate's members."""

    title = fields.String(required=True, validate=Length(min=1, max=200))
    description = fields.String(allow_none=True, validate=TEXT)
    detected_at = Moment(required=True)
    reported_by = fields.String(allow_none=True, validate=Length(max=200))
    category = fields.String(required=True, validate=OneOf(_values(IncidentCategory)))
    severity = fields.String(required=True, validate=OneOf(_values(Severity)))
    impact_confidentiality = fields.Boolean(load_default=False)
    impact_integrity = fields.Boolean(load_default=False)
    impact_availability = fields.Boolean(load_default=False)
    affected_sites = fields.String(allow_none=True, validate=TEXT)
    status = fields.String(load_default=IncidentStatus.NEW.value, validate=OneOf(_values(IncidentStatus)))
    has_personal_data = fields.Boolean(load_default=False)
    nis2_significant = fields.Boolean(load_default=False)
    application_ids = fields.List(fields.Integer(validate=ID), load_default=list, validate=IDS)
    added_organisation_ids = fields.List(fields.Integer(validate=ID), load_default=list, validate=IDS)
    excluded_organisation_ids = fields.List(fields.Integer(validate=ID), load_default=list, validate=IDS)
    root_cause = fields.String(allow_none=True, validate=TEXT)
    lessons_learned = fields.String(allow_none=True, validate=TEXT)


def _incident_out(incident: Incident) -> dict[str, Any]:
    values = {name: getattr(incident, name) for name in IncidentOut().fields if hasattr(incident, name)}
    values["application_ids"] = [a.id for a in incident.applications]
    values["affected_organisation_ids"] = incidents.affected_ids(incident)
    values["added_organisation_ids"] = incidents.added_ids(incident)
    return values


def _incident_values(incident: Incident) -> dict[str, Any]:
    """What the incident holds, as its form would send it back (a PATCH changes only what it sends)."""
    values = values_of(incident, incidents.FIELDS)
    values["application_ids"] = [a.id for a in incident.applications]
    values["added_organisation_ids"] = incidents.added_ids(incident)
    return values


@api_bp.get("/incidents")
@api_require(Permission.SMSI_VIEW)
@api_bp.input(IncidentQuery, location="query", arg_name="query")
@api_bp.output(IncidentPage)
def incident_list(query: dict[str, Any]) -> Any:
    """Incidents de sécurité (filtres de la page : statut, gravité, catégorie, recherche)."""
    filters = incidents.IncidentFilters(
        q=query["q"].strip(), status=query["status"], severity=query["severity"], category=query["category"]
    )
    page = paginate(incidents.incidents_query(filters), per_page=query["per_page"])
    return {"items": page.items, "meta": page_meta(page)}


@api_bp.get("/incidents/<int:incident_id>")
@api_require(Permission.SMSI_VIEW)
@api_bp.output(IncidentOut)
def incident_detail(incident_id: int) -> Any:
    """Un incident, avec ses applications et les organisations touchées ; son ETag est sa version."""
    incident = get_scoped_or_404(Incident, incident_id)
    return _incident_out(incident), 200, {"ETag": etag(incident)}


@api_bp.post("/incidents")
@api_require(Permission.SMSI_EDIT, write=True)
@api_bp.input(IncidentIn, arg_name="data")
@api_bp.output(IncidentOut, status_code=201)
def incident_create(data: dict[str, Any]) -> Any:
    """Inscrire un incident au journal (mêmes règles et même journal que la page). Avec des données
    personnelles, une violation est ouverte dans le registre de chaque membre touché, son délai de
    72 h partant de la détection."""
    org = current_org._get_current_object()
    incident = call_service(lambda: incidents.create_incident(org, current_user, data))
    db.session.commit()
    return _incident_out(incident), 201, {"ETag": etag(incident)}


@api_bp.patch("/incidents/<int:incident_id>")
@api_require(Permission.SMSI_EDIT, write=True)
@api_bp.input(IncidentIn(partial=True), arg_name="data")  # only the fields sent change
@api_bp.output(IncidentOut)
@api_bp.doc(responses={412: "Version périmée", 428: "If-Match manquant"})
def incident_update(incident_id: int, data: dict[str, Any]) -> Any:
    """Modifier un incident : en-tête If-Match obligatoire (428 sans, 412 si la version a changé)."""
    incident = get_scoped_or_404(Incident, incident_id)
    incident = patch_through(incident, incidents.update_incident, data, keep=_incident_values(incident))
    return _incident_out(incident), 200, {"ETag": etag(incident)}


# --- corrective and preventive actions ---------------------------------------------------------------


class ActionOut(Schema):
    id = fields.Integer(required=True)
    version = fields.Integer(required=True)
    reference = fields.String(required=True)
    title = fields.String(required=True)
    description = fields.String(allow_none=True)
    origin = fields.Enum(ActionOrigin, by_value=True, required=True)
    incident_id = fields.Integer(allow_none=True)
    origin_detail = fields.String(allow_none=True)
    review_id = fields.Integer(allow_none=True)
    type = fields.Enum(ActionType, by_value=True, required=True)
    priority = fields.Enum(ActionPriority, by_value=True, required=True)
    owner_id = fields.Integer(allow_none=True)
    due_on = fields.Date(required=True)
    status = fields.Enum(ActionStatus, by_value=True, required=True)
    is_open = fields.Boolean(required=True)
    done_on = fields.Date(allow_none=True)
    check_method = fields.String(allow_none=True)
    checked_on = fields.Date(allow_none=True)
    checked_by_id = fields.Integer(allow_none=True)
    check_result = fields.String(allow_none=True)


class ActionPage(Schema):
    items = fields.List(fields.Nested(ActionOut), required=True)
    meta = fields.Nested(PageMeta, required=True)


class ActionQuery(PageQuery):
    q = fields.String(load_default="", validate=Length(max=100))
    status = fields.String(load_default="open", validate=OneOf(["open", "closed", "all"]))
    origin = fields.String(load_default="", validate=OneOf(["", *_values(ActionOrigin)]))
    due = fields.String(load_default="", validate=OneOf(["", "overdue", "week"]))
    mine = fields.Boolean(load_default=False)


class ActionIn(Schema):
    """An action as the SMSI's form records it; the reference (ACT-YYYY-NNN) is given. Owner and
    checker are ids of users of the organisation; the incident, one of its incidents; the weekly
    review (origin ``management_review``), one of its reviews."""

    title = fields.String(required=True, validate=Length(min=1, max=200))
    description = fields.String(allow_none=True, validate=TEXT)
    origin = fields.String(load_default=ActionOrigin.OTHER.value, validate=OneOf(_values(ActionOrigin)))
    incident_id = fields.Integer(allow_none=True, validate=ID)
    origin_detail = fields.String(allow_none=True, validate=Length(max=300))
    review_id = fields.Integer(allow_none=True, validate=ID)
    type = fields.String(load_default=ActionType.CORRECTIVE.value, validate=OneOf(_values(ActionType)))
    priority = fields.String(
        load_default=ActionPriority.NORMAL.value, validate=OneOf(_values(ActionPriority))
    )
    owner_id = fields.Integer(allow_none=True, validate=ID)
    due_on = Day(required=True)
    status = fields.String(load_default=ActionStatus.PLANNED.value, validate=OneOf(_values(ActionStatus)))
    done_on = Day(allow_none=True)
    check_method = fields.String(allow_none=True, validate=TEXT)
    checked_on = Day(allow_none=True)
    checked_by_id = fields.Integer(allow_none=True, validate=ID)
    check_result = fields.String(allow_none=True, validate=TEXT)


@api_bp.get("/actions")
@api_require(Permission.SMSI_VIEW)
@api_bp.input(ActionQuery, location="query", arg_name="query")
@api_bp.output(ActionPage)
def action_list(query: dict[str, Any]) -> Any:
    """Actions correctives et préventives (filtres de la page : statut, origine, échéance, les
    miennes, recherche), échéance la plus proche d'abord."""
    filters = actions.ActionFilters(
        q=query["q"].strip(),
        status=query["status"],
        origin=query["origin"],
        due=query["due"],
        owner_id=current_user.id if query["mine"] else None,
    )
    page = actions.actions_page(filters, per_page=query["per_page"])
    return {"items": page.items, "meta": page_meta(page)}


@api_bp.get("/actions/<int:action_id>")
@api_require(Permission.SMSI_VIEW)
@api_bp.output(ActionOut)
def action_detail(action_id: int) -> Any:
    """Une action ; son ETag est sa version."""
    action = get_scoped_or_404(Action, action_id)
    return action, 200, {"ETag": etag(action)}


@api_bp.post("/actions")
@api_require(Permission.SMSI_EDIT, write=True)
@api_bp.input(ActionIn, arg_name="data")
@api_bp.output(ActionOut, status_code=201)
def action_create(data: dict[str, Any]) -> Any:
    """Créer une action (mêmes règles et même journal que la page : pas d'échéance passée à la
    création, clôture seulement après vérification de l'efficacité)."""
    org = current_org._get_current_object()
    action = call_service(lambda: actions.create_action(org, current_user, data))
    db.session.commit()
    return action, 201, {"ETag": etag(action)}


@api_bp.patch("/actions/<int:action_id>")
@api_require(Permission.SMSI_EDIT, write=True)
@api_bp.input(ActionIn(partial=True), arg_name="data")  # only the fields sent change
@api_bp.output(ActionOut)
@api_bp.doc(responses={412: "Version périmée", 428: "If-Match manquant"})
def action_update(action_id: int, data: dict[str, Any]) -> Any:
    """Modifier une action : en-tête If-Match obligatoire (428 sans, 412 si la version a changé)."""
    action = get_scoped_or_404(Action, action_id)
    action = patch_through(action, actions.update_action, data, keep=values_of(action, actions.FIELDS))
    return action, 200, {"ETag": etag(action)}
