"""JSON API (core.api) of the application catalogue: applications and subscriptions, read; a member
subscribed, a subscription ended, through the same services as the pages (catalogue.services.applications)."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint, HTTPError, Schema, fields
from apiflask.validators import Length, OneOf, Range
from flask_babel import gettext as _
from flask_login import current_user

from accounts.models import Organisation
from catalogue.models import AppDomain, Application, Criticality, Hosting, Subscription
from catalogue.services import applications
from core.api import (
    Day,
    PageMeta,
    PageQuery,
    api_require,
    call_service,
    etag,
    page_meta,
    patch_through,
)
from core.extensions import db
from core.pagination import paginate
from core.params import MAX_ID
from core.security import Permission, can
from core.tenancy import current_org, get_scoped_or_404

api_bp = APIBlueprint("catalogue_api", __name__, tag="Catalogue")


class ApplicationRow(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    editor = fields.String(allow_none=True)
    domain = fields.Enum(AppDomain, by_value=True, required=True)
    hosting = fields.Enum(Hosting, by_value=True, required=True)
    criticality = fields.Enum(Criticality, by_value=True, required=True)
    has_sensitive_data = fields.Boolean(required=True)
    retired_on = fields.Date(allow_none=True)


class ApplicationOut(ApplicationRow):
    version = fields.Integer(required=True)
    syndicate_id = fields.Integer(required=True)
    description = fields.String(allow_none=True)
    has_personal_data = fields.Boolean(required=True)


class ApplicationPage(Schema):
    items = fields.List(fields.Nested(ApplicationRow), required=True)
    meta = fields.Nested(PageMeta, required=True)


class ApplicationQuery(PageQuery):
    q = fields.String(load_default="", validate=Length(max=100))
    domain = fields.String(load_default="", validate=OneOf(["", *(d.value for d in AppDomain)]))
    hosting = fields.String(load_default="", validate=OneOf(["", *(h.value for h in Hosting)]))
    criticality = fields.String(load_default="", validate=OneOf(["", *(c.value for c in Criticality)]))
    member = fields.Integer(load_default=None, validate=Range(min=1, max=MAX_ID))
    retired = fields.Boolean(load_default=False)


class SubscriptionOut(Schema):
    id = fields.Integer(required=True)
    version = fields.Integer(required=True)
    application_id = fields.Integer(required=True)
    organisation_id = fields.Integer(required=True)
    started_on = fields.Date(required=True)
    ended_on = fields.Date(allow_none=True)
    is_inferred = fields.Boolean(required=True)


class SubscriptionList(Schema):
    items = fields.List(fields.Nested(SubscriptionOut), required=True)


class SubscriptionIn(Schema):
    organisation_id = fields.Integer(required=True, validate=Range(min=1, max=MAX_ID))
    started_on = Day(required=True)


class SubscriptionEndIn(Schema):
    ended_on = Day(required=True)


@api_bp.get("/applications")
@api_require(Permission.CATALOGUE_VIEW)
@api_bp.input(ApplicationQuery, location="query", arg_name="query")
@api_bp.output(ApplicationPage)
def application_list(query: dict[str, Any]) -> Any:
    """Le catalogue (filtres de la page ; un adhérent voit les applications qu'il utilise)."""
    org = current_org._get_current_object()
    filters = applications.ApplicationFilters(
        q=query["q"].strip(),
        domain=query["domain"],
        hosting=query["hosting"],
        criticality=query["criticality"],
        member_id=query["member"] if org.is_syndicate else org.id,
        include_retired=query["retired"],
    )
    page = paginate(applications.application_rows_query(filters), per_page=query["per_page"], scalars=False)
    return {"items": [row._asdict() for row in page.items], "meta": page_meta(page)}


@api_bp.get("/applications/<int:application_id>")
@api_require(Permission.CATALOGUE_VIEW)
@api_bp.output(ApplicationOut)
def application_detail(application_id: int) -> Any:
    """Une application du catalogue."""
    app = get_scoped_or_404(Application, application_id)
    return app, 200, {"ETag": etag(app)}


@api_bp.get("/applications/<int:application_id>/subscriptions")
@api_require(Permission.CATALOGUE_VIEW)
@api_bp.output(SubscriptionList)
def subscription_list(application_id: int) -> Any:
    """Les abonnements à une application que voit l'organisation du jeton."""
    app = get_scoped_or_404(Application, application_id)
    return {"items": applications.subscriptions_of(app)}


def _require_owner(app: Application) -> None:
    if not can(Permission.CATALOGUE_MANAGE, app):
        raise HTTPError(403, _("Seul le syndicat qui tient le catalogue le modifie."))


@api_bp.post("/applications/<int:application_id>/subscriptions")
@api_require(Permission.CATALOGUE_MANAGE, write=True)
@api_bp.input(SubscriptionIn, arg_name="data")
@api_bp.output(SubscriptionOut, status_code=201)
def subscription_create(application_id: int, data: dict[str, Any]) -> Any:
    """Abonner un adhérent du syndicat à l'application (même service et même journal que la page)."""
    app = get_scoped_or_404(Application, application_id)
    _require_owner(app)
    member = get_scoped_or_404(Organisation, data["organisation_id"])
    sub = call_service(lambda: applications.subscribe(app, member, current_user, data))
    db.session.commit()
    return sub, 201, {"ETag": etag(sub)}


@api_bp.post("/subscriptions/<int:subscription_id>/end")
@api_require(Permission.CATALOGUE_MANAGE, write=True)
@api_bp.input(SubscriptionEndIn, arg_name="data")
@api_bp.output(SubscriptionOut)
@api_bp.doc(responses={412: "Version périmée", 428: "If-Match manquant"})
def subscription_end(subscription_id: int, data: dict[str, Any]) -> Any:
    """Mettre fin à un abonnement : en-tête If-Match obligatoire."""
    sub = get_scoped_or_404(Subscription, subscription_id)
    _require_owner(sub.application)
    sub = patch_through(sub, applications.end_subscription, data)
    return sub, 200, {"ETag": etag(sub)}
