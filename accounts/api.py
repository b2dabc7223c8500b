"""JSON API (core.api): the organisations the token's organisation sees, as on the pages."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint, Schema, fields
from apiflask.validators import Length, OneOf

from accounts.models import Nis2Entity, Organisation, OrgKind, OrgRelation
from accounts.services import organisations
from core.api import PageMeta, PageQuery, api_require, etag, page_meta
from core.pagination import paginate
from core.security import Permission
from core.tenancy import get_scoped_or_404

api_bp = APIBlueprint("accounts_api", __name__, tag="Organisations")


class OrganisationOut(Schema):
    id = fields.Integer(required=True)
    version = fields.Integer(required=True)
    name = fields.String(required=True)
    short_name = fields.String(allow_none=True)
    kind = fields.Enum(OrgKind, by_value=True, required=True)
    relation = fields.Enum(OrgRelation, by_value=True, required=True)
    syndicate_id = fields.Integer(allow_none=True)
    parent_id = fields.Integer(allow_none=True)
    siren = fields.String(allow_none=True)
    city = fields.String(allow_none=True)
    postal_code = fields.String(allow_none=True)
    dpo_name = fields.String(allow_none=True)
    dpo_email = fields.String(allow_none=True)
    joined_on = fields.Date(allow_none=True)
    left_on = fields.Date(allow_none=True)
    nis2_entity = fields.Enum(Nis2Entity, by_value=True, required=True)


class OrganisationPage(Schema):
    items = fields.List(fields.Nested(OrganisationOut), required=True)
    meta = fields.Nested(PageMeta, required=True)


class OrganisationQuery(PageQuery):
    q = fields.String(load_default="", validate=Length(max=100))
    kind = fields.String(load_default="", validate=OneOf(["", *(k.value for k in OrgKind)]))
    relation = fields.String(load_default="", validate=OneOf(["", *(r.value for r in OrgRelation)]))
    status = fields.String(load_default="active", validate=OneOf(["active", "left", "all"]))


@api_bp.get("/organisations")
@api_require(Permission.ORGANISATIONS_VIEW)
@api_bp.input(OrganisationQuery, location="query", arg_name="query")
@api_bp.output(OrganisationPage)
def organisation_list(query: dict[str, Any]) -> Any:
    """Les organisations que voit l'organisation du jeton (filtres de la page « Organisations »)."""
    filters = organisations.OrganisationFilters(
        q=query["q"].strip(), kind=query["kind"], relation=query["relation"], status=query["status"]
    )
    page = paginate(organisations.organisations_query(filters), per_page=query["per_page"])
    return {"items": page.items, "meta": page_meta(page)}


@api_bp.get("/organisations/<int:org_id>")
@api_require(Permission.ORGANISATIONS_VIEW)
@api_bp.output(OrganisationOut)
def organisation_detail(org_id: int) -> Any:
    """Une organisation (404 si l'organisation du jeton ne la voit pas)."""
    org = get_scoped_or_404(Organisation, org_id)
    return org, 200, {"ETag": etag(org)}
