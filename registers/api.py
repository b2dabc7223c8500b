"""JSON API (core.api) of the GDPR registers: rights requests and breaches, read and written through
the same services as the pages (registers.services.rights and .breaches: rules, tenancy, journal,
version check), and the fiches (processing activities), read."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint, Schema, fields
from apiflask.validators import Length, OneOf, Range
from flask import abort
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
from registers.models import (
    ActivityStatus,
    Breach,
    DpiaStatus,
    NotificationDecision,
    ProcessingActivity,
    RequestStatus,
    RightsRequest,
    RightType,
    RiskLevel,
    SubjectsDecision,
)
from registers.services import activities, breaches, queries, rights

api_bp = APIBlueprint("registers_api", __name__, tag="Registres RGPD")

RIGHTS = [r.value for r in RightType]
STATUSES = [s.value for s in RequestStatus]
ID = Range(min=1, max=MAX_ID)


# --- rights requests ---------------------------------------------------------------------------


class RightsRequestOut(Schema):
    id = fields.Integer(required=True)
    version = fields.Integer(required=True)
    reference = fields.String(required=True)
    right = fields.Enum(RightType, by_value=True, required=True)
    requester_name = fields.String(required=True)
    requester_contact = fields.String(allow_none=True)
    received_on = fields.Date(required=True)
    identity_checked = fields.Boolean(required=True)
    identity_checked_on = fields.Date(allow_none=True)
    activity_id = fields.Integer(allow_none=True)
    assigned_to_id = fields.Integer(allow_none=True)
    details = fields.String(allow_none=True)
    is_extended = fields.Boolean(required=True)
    extension_notified_on = fields.Date(allow_none=True)
    extension_reason = fields.String(allow_none=True)
    status = fields.Enum(RequestStatus, by_value=True, required=True)
    answered_on = fields.Date(allow_none=True)
    answer_summary = fields.String(allow_none=True)
    due_on = fields.Date(required=True)
    is_open = fields.Boolean(required=True)


class RightsRequestPage(Schema):
    items = fields.List(fields.Nested(RightsRequestOut), required=True)
    meta = fields.Nested(PageMeta, required=True)


class RightsRequestQuery(PageQuery):
    q = fields.String(load_default="", validate=Length(max=100))
    status = fields.String(load_default="open", validate=OneOf(["open", "closed", "all"]))
    right = fields.String(load_default="", validate=OneOf(["", *RIGHTS]))
    urgency = fields.String(load_default="", validate=OneOf(["", "overdue", "week"]))


class RightsRequestIn(Schema):
    """A new request; the reference is given (DRO-YYYY-NNN) when left out."""

    reference = fields.String(allow_none=True, validate=Length(max=30))
    right = fields.String(required=True, validate=OneOf(RIGHTS))
    requester_name = fields.String(required=True, validate=Length(min=1, max=200))
    requester_contact = fields.String(allow_none=True, validate=Length(max=300))
    received_on = Day(required=True)
    identity_checked = fields.Boolean(load_default=False)
    identity_checked_on = Day(allow_none=True)
    activity_id = fields.Integer(allow_none=True, validate=ID)
    assigned_to_id = fields.Integer(allow_none=True, validate=ID)
    details = fields.String(allow_none=True, validate=Length(max=5000))
    is_extended = fields.Boolean(load_default=False)
    extension_notified_on = Day(allow_none=True)
    extension_reason = fields.String(allow_none=True, validate=Length(max=5000))
    status = fields.String(load_default=RequestStatus.RECEIVED.value, validate=OneOf(STATUSES))
    answered_on = Day(allow_none=True)
    answer_summary = fields.String(allow_none=True, validate=Length(max=5000))


@api_bp.get("/rights-requests")
@api_require(Permission.REGISTERS_VIEW)
@api_bp.input(RightsRequestQuery, location="query", arg_name="query")
@api_bp.output(RightsRequestPage)
def rights_request_list(query: dict[str, Any]) -> Any:
    """Demandes d'exercice de droits (filtres de la page : statut, droit, urgence, recherche)."""
    filters = rights.RequestFilters(
        q=query["q"].strip(), status=query["status"], right=query["right"], urgency=query["urgency"]
    )
    page = paginate(rights.requests_query(filters), per_page=query["per_page"])
    return {"items": page.items, "meta": page_meta(page)}


@api_bp.get("/rights-requests/<int:rights_request_id>")
@api_require(Permission.REGISTERS_VIEW)
@api_bp.output(RightsRequestOut)
def rights_request_detail(rights_request_id: int) -> Any:
    """Une demande ; son ETag est sa version (à renvoyer dans If-Match pour la modifier)."""
    req = get_scoped_or_404(RightsRequest, rights_request_id)
    return req, 200, {"ETag": etag(req)}


@api_bp.post("/rights-requests")
@api_require(Permission.REGISTERS_EDIT, write=True)
@api_bp.input(RightsRequestIn, arg_name="data")
@api_bp.output(RightsRequestOut, status_code=201)
def rights_request_create(data: dict[str, Any]) -> Any:
    """Enregistrer une demande (mêmes règles et même journal que la page)."""
    org = current_org._get_current_object()
    req = call_service(lambda: rights.create_request(org, current_user, data))
    db.session.commit()
    return req, 201, {"ETag": etag(req)}


@api_bp.patch("/rights-requests/<int:rights_request_id>")
@api_require(Permission.REGISTERS_EDIT, write=True)
@api_bp.input(RightsRequestIn(partial=True), arg_name="data")  # only the fields sent change
@api_bp.output(RightsRequestOut)
@api_bp.doc(responses={412: "Version périmée", 428: "If-Match manquant"})
def rights_request_update(rights_request_id: int, data: dict[str, Any]) -> Any:
    """Modifier une demande : en-tête If-Match obligatoire (428 sans, 412 si la version a changé)."""
    req = get_scoped_or_404(RightsRequest, rights_request_id)
    req = patch_through(req, rights.update_request, data, keep=values_of(req, rights.FIELDS))
    return req, 200, {"ETag": etag(req)}


# --- breaches ----------------------------------------------------------------------------------

RISK_LEVELS = [r.value for r in RiskLevel]
CNIL_DECISIONS = [d.value for d in NotificationDecision]
SUBJECTS_DECISIONS = [d.value for d in SubjectsDecision]


class BreachOut(Schema):
    id = fields.Integer(required=True)
    version = fields.Integer(required=True)
    reference = fields.String(required=True)
    title = fields.String(required=True)
    discovered_at = fields.DateTime(required=True)
    occurred_at = fields.DateTime(allow_none=True)
    natures = fields.List(fields.String(), required=True)
    description = fields.String(allow_none=True)
    data_categories = fields.List(fields.String(), required=True)
    data_subjects = fields.List(fields.String(), required=True)
    people_count = fields.Integer(allow_none=True)
    records_count = fields.Integer(allow_none=True)
    consequences = fields.String(allow_none=True)
    measures = fields.String(allow_none=True)
    risk_level = fields.Enum(RiskLevel, by_value=True, allow_none=True)
    cnil_decision = fields.Enum(NotificationDecision, by_value=True, required=True)
    cnil_notified_at = fields.DateTime(allow_none=True)
    cnil_reference = fields.String(allow_none=True)
    late_reason = fields.String(allow_none=True)
    decision_reason = fields.String(allow_none=True)
    subjects_decision = fields.Enum(SubjectsDecision, by_value=True, required=True)
    subjects_informed_on = fields.Date(allow_none=True)
    subjects_reason = fields.String(allow_none=True)
    is_closed = fields.Boolean(required=True)
    closed_on = fields.Date(allow_none=True)


class BreachPage(Schema):
    items = fields.List(fields.Nested(BreachOut), required=True)
    meta = fields.Nested(PageMeta, required=True)


class BreachQuery(PageQuery):
    q = fields.String(load_default="", validate=Length(max=100))
    status = fields.String(load_default="open", validate=OneOf(["open", "closed", "all"]))
    decision = fields.String(load_default="", validate=OneOf(["", *CNIL_DECISIONS]))


TEXT = Length(max=5000)
COUNT = Range(min=0, max=2**31 - 1)


class BreachIn(Schema):
    """A breach as the register's form records it; the reference is given (VIO-YYYY-NNN) when left
    out; a date and time without offset is French local time. Natures, data categories and data
    subjects are the ids of the reference lists (``confidentialite``…)."""

    reference = fields.String(allow_none=True, validate=Length(max=30))
    title = fields.String(required=True, validate=Length(min=1, max=200))
    discovered_at = Moment(required=True)
    occurred_at = Moment(allow_none=True)
    natures = fields.List(fields.String(validate=Length(max=60)), load_default=list, validate=Length(max=50))
    description = fields.String(allow_none=True, validate=TEXT)
    data_categories = fields.List(
        fields.String(validate=Length(max=60)), load_default=list, validate=Length(max=100)
    )
    data_subjects = fields.List(
        fields.String(validate=Length(max=60)), load_default=list, validate=Length(max=100)
    )
    people_count = fields.Integer(allow_none=True, validate=COUNT)
    records_count = fields.Integer(allow_none=True, validate=COUNT)
    consequences = fields.String(allow_none=True, validate=TEXT)
    measures = fields.String(allow_none=True, validate=TEXT)
    risk_level = fields.String(allow_none=True, validate=OneOf(RISK_LEVELS))
    cnil_decision = fields.String(
        load_default=NotificationDecision.PENDING.value, validate=OneOf(CNIL_DECISIONS)
    )
    cnil_notified_at = Moment(allow_none=True)
    cnil_reference = fields.String(allow_none=True, validate=Length(max=60))
    late_reason = fields.String(allow_none=True, validate=TEXT)
    decision_reason = fields.String(allow_none=True, validate=TEXT)
    subjects_decision = fields.String(
        load_default=SubjectsDecision.PENDING.value, validate=OneOf(SUBJECTS_DECISIONS)
    )
    subjects_informed_on = Day(allow_none=True)
    subjects_reason = fields.String(allow_none=True, validate=TEXT)
    is_closed = fields.Boolean(load_default=False)
    closed_on = Day(allow_none=True)


@api_bp.get("/breaches")
@api_require(Permission.REGISTERS_VIEW)
@api_bp.input(BreachQuery, location="query", arg_name="query")
@api_bp.output(BreachPage)
def breach_list(query: dict[str, Any]) -> Any:
    """Violations de données (filtres de la page : statut, décision CNIL, recherche)."""
    filters = breaches.BreachFilters(q=query["q"].strip(), status=query["status"], decision=query["decision"])
    page = paginate(breaches.breaches_query(filters), per_page=query["per_page"])
    return {"items": page.items, "meta": page_meta(page)}


@api_bp.get("/breaches/<int:breach_id>")
@api_require(Permission.REGISTERS_VIEW)
@api_bp.output(BreachOut)
def breach_detail(breach_id: int) -> Any:
    """Une violation ; son ETag est sa version."""
    breach = get_scoped_or_404(Breach, breach_id)
    return breach, 200, {"ETag": etag(breach)}


@api_bp.post("/breaches")
@api_require(Permission.BREACHES_RECORD, write=True)
@api_bp.input(BreachIn, arg_name="data")
@api_bp.output(BreachOut, status_code=201)
def breach_create(data: dict[str, Any]) -> Any:
    """Inscrire une violation au registre (mêmes règles et même journal que la page)."""
    org = current_org._get_current_object()
    breach = call_service(lambda: breaches.create_breach(org, current_user, data))
    db.session.commit()
    return breach, 201, {"ETag": etag(breach)}


@api_bp.patch("/breaches/<int:breach_id>")
@api_require(Permission.REGISTERS_EDIT, write=True)
@api_bp.input(BreachIn(partial=True), arg_name="data")  # only the fields sent change
@api_bp.output(BreachOut)
@api_bp.doc(responses={412: "Version périmée", 428: "If-Match manquant"})
def breach_update(breach_id: int, data: dict[str, Any]) -> Any:
    """Modifier une violation : en-tête If-Match obligatoire (428 sans, 412 si la version a changé)."""
    breach = get_scoped_or_404(Breach, breach_id)
    breach = patch_through(breach, breaches.update_breach, data, keep=values_of(breach, breaches.FIELDS))
    return breach, 200, {"ETag": etag(breach)}


# --- fiches (processing activities), read ------------------------------------------------------


class ActivityRow(Schema):
    """A fiche as the register's list shows it (the list's columns only)."""

    id = fields.Integer(required=True)
    reference = fields.String(required=True)
    name = fields.String(required=True)
    status = fields.Enum(ActivityStatus, by_value=True, required=True)
    legal_basis = fields.String(allow_none=True)
    completeness = fields.Integer(allow_none=True)
    next_review_on = fields.Date(allow_none=True)
    is_inherited = fields.Boolean(required=True)
    has_model_update = fields.Boolean(required=True)
    has_sensitive_data = fields.Boolean(required=True)
    is_dpia_required = fields.Boolean(required=True)
    dpia_status = fields.Enum(DpiaStatus, by_value=True, required=True)


class ActivityOut(Schema):
    """A fiche of the register (Art. 30): its main content."""

    id = fields.Integer(required=True)
    version = fields.Integer(required=True)
    reference = fields.String(required=True)
    name = fields.String(required=True)
    status = fields.Enum(ActivityStatus, by_value=True, required=True)
    purpose = fields.String(allow_none=True)
    legal_basis = fields.String(allow_none=True)
    data_subjects = fields.List(fields.String(), required=True)
    sensitive_data = fields.List(fields.String(), required=True)
    next_review_on = fields.Date(allow_none=True)
    dpia_status = fields.Enum(DpiaStatus, by_value=True, required=True)
    is_dpia_required = fields.Boolean(required=True)


class ActivityPage(Schema):
    items = fields.List(fields.Nested(ActivityRow), required=True)
    meta = fields.Nested(PageMeta, required=True)


class ActivityQuery(PageQuery):
    q = fields.String(load_default="", validate=Length(max=100))
    status = fields.String(load_default="", validate=OneOf(["", "all", *(s.value for s in ActivityStatus)]))
    sensitive = fields.String(load_default="", validate=OneOf(["", "0", "1"]))
    dpia = fields.String(load_default="", validate=OneOf(["", "required", "required_not_done"]))
    review = fields.String(load_default="", validate=OneOf(["", "overdue", "model_update", "to_review"]))


@api_bp.get("/activities")
@api_require(Permission.REGISTERS_VIEW)
@api_bp.input(ActivityQuery, location="query", arg_name="query")
@api_bp.output(ActivityPage)
def activity_list(query: dict[str, Any]) -> Any:
    """Les fiches du registre (filtres de la page : statut, données sensibles, AIPD, revue, recherche)."""
    filters = queries.ActivityFilters(
        q=query["q"].strip(),
        status=query["status"],
        sensitive=query["sensitive"],
        dpia=query["dpia"],
        review=query["review"],
    )
    page = paginate(queries.activities_query(filters), per_page=query["per_page"], scalars=False)
    return {"items": [row._asdict() for row in page.items], "meta": page_meta(page)}


@api_bp.get("/activities/<int:activity_id>")
@api_require(Permission.REGISTERS_VIEW)
@api_bp.output(ActivityOut)
def activity_detail(activity_id: int) -> Any:
    """Une fiche du registre (les modèles du syndicat n'en sont pas : 404)."""
    activity = get_scoped_or_404(ProcessingActivity, activity_id)
    if activity.is_model:
        abort(404)
    return activity, 200, {"ETag": etag(activity)}


class ActivityIn(Schema):
    """A fiche's main content; the reference is given (TRT-NNN) when left out. The status asked for
    follows the register's one rule: "validated" only for whoever validates (the DPO) — anyone
    else's write gives "in review" — and no archiving but theirs. The rest of a fiche (data
    categories with their retention, recipients, transfers, security measures) is written on its
    page or by the register's import; an update leaves untouched what it does not send."""

    reference = fields.String(allow_none=True, validate=Length(max=30))
    name = fields.String(required=True, validate=Length(min=1, max=200))
    status = fields.String(
        load_default=ActivityStatus.DRAFT.value, validate=OneOf([s.value for s in ActivityStatus])
    )
    purpose = fields.String(allow_none=True, validate=Length(max=20_000))
    legal_basis = fields.String(allow_none=True, validate=Length(max=50))
    legal_basis_text = fields.String(allow_none=True, validate=Length(max=20_000))
    data_subjects = fields.List(fields.String(validate=Length(max=50)), validate=Length(max=100))
    sensitive_data = fields.List(fields.String(validate=Length(max=50)), validate=Length(max=100))
    application_ids = fields.List(fields.Integer(validate=ID), validate=Length(max=100))
    next_review_on = Day(allow_none=True)


def _activity_or_404(activity_id: int) -> ProcessingActivity:
    activity = get_scoped_or_404(ProcessingActivity, activity_id)
    if activity.is_model:  # the syndicate's models are written on their own pages
        abort(404)
    return activity


@api_bp.post("/activities")
@api_require(Permission.REGISTERS_EDIT, write=True)
@api_bp.input(ActivityIn, arg_name="data")
@api_bp.output(ActivityOut, status_code=201)
def activity_create(data: dict[str, Any]) -> Any:
    """Créer une fiche du registre (mêmes règles, même statut résultant et même journal que la page)."""
    org = current_org._get_current_object()
    activity = call_service(lambda: activities.create_activity(org, current_user, data))
    db.session.commit()
    return activity, 201, {"ETag": etag(activity)}


@api_bp.patch("/activities/<int:activity_id>")
@api_require(Permission.REGISTERS_EDIT, write=True)
@api_bp.input(ActivityIn(partial=True), arg_name="data")  # only the fields sent change
@api_bp.output(ActivityOut)
@api_bp.doc(responses={412: "Version périmée", 428: "If-Match manquant"})
def activity_update(activity_id: int, data: dict[str, Any]) -> Any:
    """Modifier une fiche : en-tête If-Match obligatoire (428 sans, 412 si la version a changé).
    Un champ non envoyé garde sa valeur ; un statut non envoyé aussi."""
    activity = _activity_or_404(activity_id)
    activity = patch_through(activity, activities.update_activity, data)  # the service keeps what is not sent
    return activity, 200, {"ETag": etag(activity)}
