"""JSON API (core.api) of the audits: campaigns read, findings read and written, through the same
services and the same scope rules as the pages (audits.services; audits.access for an invited
auditor: their audit only, findings written only there). An external auditor's tool can push its
findings into the audit it was invited to; a GRC dashboard can read the open nonconformities."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint, Schema, fields
from apiflask.validators import Length, OneOf, Range
from flask_login import current_user

from audits import access
from audits.models import AuditStatus, AuditType, Finding, FindingLevel, FindingStatus, RequirementKind
from audits.services import audits as audit_svc
from audits.services import findings as svc
from core.api import (
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

api_bp = APIBlueprint("audits_api", __name__, tag="Audits")

ID = Range(min=1, max=MAX_ID)
TEXT = Length(max=svc.MAX_TEXT)


def _values(enum: Any) -> list[str]:
    return [member.value for member in enum]


# --- audits ------------------------------------------------------------------------------------------


class AuditOut(Schema):
    id = fields.Integer(required=True)
    version = fields.Integer(required=True)
    reference = fields.String(required=True)
    title = fields.String(required=True)
    type = fields.Enum(AuditType, by_value=True, required=True)
    status = fields.Enum(AuditStatus, by_value=True, required=True)
    frameworks = fields.List(fields.String(), required=True)
    start_on = fields.Date(required=True)
    end_on = fields.Date(required=True)
    lead_auditor_name = fields.String(allow_none=True)
    lead_auditor_firm = fields.String(allow_none=True)
    auditees = fields.String(allow_none=True)
    follow_up_of_id = fields.Integer(allow_none=True)


class AuditDetailOut(AuditOut):
    organisation_ids = fields.List(fields.Integer(), required=True)
    findings_by_level = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


class AuditPage(Schema):
    items = fields.List(fields.Nested(AuditOut), required=True)
    meta = fields.Nested(PageMeta, required=True)


class AuditQuery(PageQuery):
    status = fields.String(load_default="", validate=OneOf(["", *_values(AuditStatus)]))
    type = fields.String(load_default="", validate=OneOf(["", *_values(AuditType)]))
    year = fields.Integer(load_default=None, allow_none=True, validate=Range(min=1900, max=2200))


@api_bp.get("/audits")
@api_require(Permission.AUDITS_VIEW)
@api_bp.input(AuditQuery, location="query", arg_name="query")
@api_bp.output(AuditPage)
def audit_list(query: dict[str, Any]) -> Any:
    """Audits (filtres de la page : statut, type, année) ; un auditeur invité ne voit que le sien."""
    filters = audit_svc.AuditFilters(status=query["status"], type=query["type"], year=query["year"])
    page = paginate(audit_svc.audits_query(filters), per_page=query["per_page"])
    return {"items": page.items, "meta": page_meta(page)}


@api_bp.get("/audits/<int:audit_id>")
@api_require(Permission.AUDITS_VIEW)
@api_bp.output(AuditDetailOut)
def audit_detail(audit_id: int) -> Any:
    """Un audit, ses organisations et le nombre de ses constats par niveau."""
    audit_obj = access.get_audit_or_404(audit_id)
    values = {name: getattr(audit_obj, name) for name in AuditOut().fields}
    values["organisation_ids"] = sorted(o.id for o in audit_obj.organisations)
    values["findings_by_level"] = {
        level.value: n for level, n in audit_svc.level_counts(audit_obj.id).items()
    }
    return values, 200, {"ETag": etag(audit_obj)}


# --- findings ----------------------------------------------------------------------------------------


class FindingOut(Schema):
    id = fields.Integer(required=True)
    version = fields.Integer(required=True)
    audit_id = fields.Integer(required=True)
    reference = fields.String(required=True)
    title = fields.String(required=True)
    description = fields.String(allow_none=True)
    level = fields.Enum(FindingLevel, by_value=True, required=True)
    requirement_kind = fields.Enum(RequirementKind, by_value=True, required=True)
    requirement_ref = fields.String(allow_none=True)
    concerned_organisation_id = fields.Integer(allow_none=True)
    root_cause = fields.String(allow_none=True)
    status = fields.Enum(FindingStatus, by_value=True, required=True)
    closed_on = fields.Date(allow_none=True)


class FindingPage(Schema):
    items = fields.List(fields.Nested(FindingOut), required=True)
    meta = fields.Nested(PageMeta, required=True)


class FindingQuery(PageQuery):
    level = fields.String(load_default="", validate=OneOf(["", *_values(FindingLevel)]))
    status = fields.String(load_default="open", validate=OneOf(["open", "closed", "all"]))


class FindingIn(Schema):
    """A finding as the audit's form records it; the reference (AUD-YYYY-NNN-Fnn) is given. The
    requirement is an Annex A control ("A.8.13"), a hygiene measure ("8") or a fiche, after its kind.
    Closing it ("closed") needs every linked corrective action verified effective."""

    title = fields.String(required=True, validate=Length(min=1, max=200))
    description = fields.String(allow_none=True, validate=TEXT)
    level = fields.String(required=True, validate=OneOf(_values(FindingLevel)))
    requirement_kind = fields.String(
        load_default=RequirementKind.NONE.value, validate=OneOf(_values(RequirementKind))
    )
    requirement_ref = fields.String(allow_none=True, validate=Length(max=60))
    concerned_organisation_id = fields.Integer(allow_none=True, validate=ID)
    root_cause = fields.String(allow_none=True, validate=TEXT)
    status = fields.String(load_default=FindingStatus.OPEN.value, validate=OneOf(_values(FindingStatus)))


@api_bp.get("/findings")
@api_require(Permission.AUDITS_VIEW)
@api_bp.input(FindingQuery, location="query", arg_name="query")
@api_bp.output(FindingPage)
def finding_list(query: dict[str, Any]) -> Any:
    """Constats de tous les audits (filtres de la page : niveau, statut)."""
    page = paginate(svc.findings_list_query(query["level"], query["status"]), per_page=query["per_page"])
    return {"items": page.items, "meta": page_meta(page)}


@api_bp.get("/findings/<int:finding_id>")
@api_require(Permission.AUDITS_VIEW)
@api_bp.output(FindingOut)
def finding_detail(finding_id: int) -> Any:
    """Un constat ; son ETag est sa version."""
    finding = access.get_finding_or_404(finding_id)
    return finding, 200, {"ETag": etag(finding)}


@api_bp.post("/audits/<int:audit_id>/findings")
@api_require(Permission.AUDIT_FINDINGS_EDIT, write=True)
@api_bp.input(FindingIn, arg_name="data")
@api_bp.output(FindingOut, status_code=201)
def finding_create(audit_id: int, data: dict[str, Any]) -> Any:
    """Inscrire un constat à un audit (mêmes règles et même journal que la page)."""
    audit_obj = access.get_audit_or_404(audit_id)
    finding = call_service(lambda: svc.create_finding(audit_obj, current_user, data))
    db.session.commit()
    return finding, 201, {"ETag": etag(finding)}


@api_bp.patch("/findings/<int:finding_id>")
@api_require(Permission.AUDIT_FINDINGS_EDIT, write=True)
@api_bp.input(FindingIn(partial=True), arg_name="data")  # only the fields sent change
@api_bp.output(FindingOut)
@api_bp.doc(responses={412: "Version périmée", 428: "If-Match manquant"})
def finding_update(finding_id: int, data: dict[str, Any]) -> Any:
    """Modifier un constat : en-tête If-Match obligatoire (428 sans, 412 si la version a changé)."""
    finding: Finding = access.get_finding_or_404(finding_id)
    finding = patch_through(finding, svc.update_finding, data, keep=values_of(finding, svc.FIELDS))
    return finding, 200, {"ETag": etag(finding)}
