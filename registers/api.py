"""JSON API (core.api) of the GDPR registers: rights requests, read and written through the same
service as the pages (registers.services.rights: rules, tenancy, journal, version check)."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint, Schema, fields
from apiflask.validators import Length, OneOf, Range
from flask_login import current_user

from core.api import PageMeta, PageQuery, api_require, call_service, etag, if_match_version, page_meta
from core.extensions import db
from core.pagination import paginate
from core.params import MAX_ID
from core.security import Permission
from core.tenancy import current_org, get_scoped_or_404
from registers.models import RequestStatus, RightsRequest, RightType
from registers.services import rights

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
    received_on = fields.Date(required=True)
    identity_checked = fields.Boolean(load_default=False)
    identity_checked_on = fields.Date(allow_none=True)
    activity_id = fields.Integer(allow_none=True, validate=ID)
    assigned_to_id = fields.Integer(allow_none=True, validate=ID)
    details = fields.String(allow_none=True, validate=Length(max=5000))
    is_extended = fields.Boolean(load_default=False)
    extension_notified_on = fields.Date(allow_none=True)
    extension_reason = fields.String(allow_none=True, validate=Length(max=5000))
    status = fields.String(load_default=RequestStatus.RECEIVED.value, validate=OneOf(STATUSES))
    answered_on = fields.Date(allow_none=True)
    answer_summary = fields.String(allow_none=True, validate=Length(max=5000))


def _current_values(req: RightsRequest) -> dict[str, Any]:
    return {name: getattr(req, name) for name in rights.FIELDS}


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
    version = if_match_version(req)
    values = {**_current_values(req), **data, "version": version}
    req = call_service(lambda: rights.update_request(req, current_user, values))
    db.session.commit()
    return req, 200, {"ETag": etag(req)}
