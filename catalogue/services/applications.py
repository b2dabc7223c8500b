"""Catalogue reads (scoped) and writes (audited)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, func, or_, select

from accounts.models import Organisation, User
from catalogue.models import AppDomain, Application, Criticality, Hosting, Subscription
from catalogue.services import signals
from core import audit
from core.concurrency import check_version
from core.db import today
from core.extensions import db
from core.forms import FieldError, ensure_unique
from core.tenancy import UNSCOPED, scoped
from core.text import fold

APPLICATION_FIELDS = (
    "name",
    "editor",
    "domain",
    "description",
    "hosting",
    "criticality",
    "has_personal_data",
    "has_sensitive_data",
    "retired_on",
)
SUBSCRIPTION_FIELDS = ("application_id", "organisation_id", "started_on", "ended_on", "is_inferred")
ENUM_FIELDS = {"domain": AppDomain, "hosting": Hosting, "criticality": Criticality}


@dataclass
class ApplicationFilters:
    q: str = ""
    domain: str = ""
    hosting: str = ""
    criticality: str = ""
    member_id: int | None = None
    member_q: str = ""  # by member name, for syndicates too large for a select
    include_retired: bool = False


def _active_subscription(org_id: int | None = None) -> Any:
    today_ = today()
    clause = or_(Subscription.ended_on.is_(None), Subscription.ended_on >= today_)
    return clause if org_id is None else clause & (Subscription.organisation_id == org_id)


def applications_query(filters: ApplicationFilters) -> Select[Any]:
    stmt = scoped(select(Application), Application)
    if filters.q:
        like = f"%{filters.q.lower()}%"
        stmt = stmt.where(
            or_(
                Application.sort_name.like(f"%{fold(filters.q)}%"),
                func.lower(Application.editor).like(like),
                func.lower(Application.description).like(like),
            )
        )
    if filters.domain in AppDomain.__members__.values():
        stmt = stmt.where(Application.domain == AppDomain(filters.domain))
    if filters.hosting in Hosting.__members__.values():
        stmt = stmt.where(Application.hosting == Hosting(filters.hosting))
    if filters.criticality in Criticality.__members__.values():
        stmt = stmt.where(Application.criticality == Criticality(filters.criticality))
    if filters.member_id:
        stmt = stmt.where(
            Application.id.in_(
                scoped(select(Subscription.application_id), Subscription).where(
                    _active_subscription(filters.member_id)
                )
            )
        )
    if filters.member_q:
        named = select(Organisation.id).where(Organisation.sort_name.like(f"%{fold(filters.member_q)}%"))
        stmt = stmt.where(
            Application.id.in_(
                scoped(select(Subscription.application_id), Subscription).where(
                    _active_subscription(), Subscription.organisation_id.in_(named)
                )
            )
        )
    if not filters.include_retired:
        stmt = stmt.where(Application.retired_on.is_(None))
    return stmt.order_by(Application.sort_name, Application.id)


# What the catalogue list shows of an application (templates/catalogue/application_list.html).
LIST_COLUMNS = (
    Application.id,
    Application.name,
    Application.editor,
    Application.domain,
    Application.hosting,
    Application.criticality,
    Application.has_sensitive_data,
    Application.retired_on,
)


def application_rows_query(filters: ApplicationFilters) -> Select[Any]:
    """The list's rows: :func:`applications_query` reading only the columns the list shows (no
    application loaded, nor its syndicate joined)."""
    return (
        applications_query(filters)
        .with_only_columns(*LIST_COLUMNS)
        # unscoped: scoped() above already; the safety net would add every tenant model's criteria
        .execution_options(**UNSCOPED)
    )


def subscriber_counts(app_ids: list[int]) -> dict[int, int]:
    """Active subscriptions visible to the active organisation, per application, in one query."""
    if not app_ids:
        return {}
    stmt = (
        scoped(select(Subscription.application_id, func.count()), Subscription)
        .where(Subscription.application_id.in_(app_ids), _active_subscription())
        .group_by(Subscription.application_id)
    )
    return dict(db.session.execute(stmt).all())


def subscriptions_of(application: Application) -> list[Subscription]:
    stmt = (
        scoped(select(Subscription), Subscription)
        .where(Subscription.application_id == application.id)
        .join(Subscription.organisation)
        .order_by(Subscription.ended_on.is_not(None), Organisation.sort_name, Subscription.started_on)
    )
    return list(db.session.scalars(stmt))


CANDIDATES_SHOWN = 50
MEMBER_FILTER_MAX = 300  # above this, the list page filters members by name instead of a select


def subscribable_members(
    syndicate: Organisation,
    *,
    q: str = "",
    not_subscribed_to: Application | None = None,
    only_id: int | None = None,
    limit: int | None = None,
) -> list[tuple[int, str]]:
    """(id, name) of the syndicate and its current members and partners, for select fields.

    ``q`` narrows by name, ``not_subscribed_to`` drops those already using an application, and
    ``limit`` keeps the list short: a syndicate may have thousands of members (see bench/).
    """
    stmt = select(Organisation.id, Organisation.name).where(*_members_of(syndicate))
    if q:
        stmt = stmt.where(Organisation.sort_name.like(f"%{fold(q)}%"))
    if only_id is not None:
        stmt = stmt.where(Organisation.id == only_id)
    if not_subscribed_to is not None:
        using = select(Subscription.organisation_id).where(
            Subscription.application_id == not_subscribed_to.id, _active_subscription()
        )
        stmt = stmt.where(Organisation.id.not_in(using))
    stmt = stmt.order_by(Organisation.sort_name).limit(limit)
    return [(row.id, row.name) for row in db.session.execute(stmt)]


def _members_of(syndicate: Organisation) -> tuple[Any, ...]:
    return (
        or_(Organisation.syndicate_id == syndicate.id, Organisation.id == syndicate.id),
        Organisation.left_on.is_(None),
    )


def subscribable_member_count(syndicate: Organisation, *, up_to: int) -> int:
    """How many of :func:`subscribable_members` there are, counted no further than ``up_to``: the
    list page only needs to know whether they fit in a select (a syndicate may have thousands)."""
    stmt = select(Organisation.id).where(*_members_of(syndicate)).limit(up_to)
    return db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0


# --- writes ------------------------------------------------------------------------------------


def _apply(app: Application, data: dict[str, Any]) -> None:
    for name in APPLICATION_FIELDS:
        value = data.get(name)
        setattr(app, name, ENUM_FIELDS[name](value) if name in ENUM_FIELDS else value)


def _check_name(syndicate_id: int, name: str, exclude_id: int | None) -> None:
    ensure_unique(
        Application,
        Application.name,
        name,
        field="name",
        message=_("Le catalogue contient déjà une application de ce nom."),
        exclude_id=exclude_id,
        where=(Application.syndicate_id == syndicate_id,),
    )


def create_application(syndicate: Organisation, actor: User, data: dict[str, Any]) -> Application:
    _check_name(syndicate.id, data["name"], None)
    app = Application(syndicate_id=syndicate.id)
    with audit.audited(syndicate, actor, "application.create", app, APPLICATION_FIELDS):
        _apply(app, data)
    return app


def update_application(app: Application, actor: User, data: dict[str, Any]) -> Application:
    check_version(app, data.get("version"))
    _check_name(app.syndicate_id, data["name"], app.id)
    with audit.audited(app.syndicate_id, actor, "application.update", app, APPLICATION_FIELDS):
        _apply(app, data)
    return app


def subscribe(
    app: Application, member: Organisation, actor: User | None, data: dict[str, Any]
) -> Subscription:
    if member.id != app.syndicate_id and member.syndicate_id != app.syndicate_id:
        raise FieldError("organisation_id", _("Cette organisation n'est pas adhérente du syndicat."))
    current = db.session.scalar(
        select(Subscription.id)
        .where(Subscription.application_id == app.id, _active_subscription(member.id))
        .limit(1)
    )
    if current is not None:
        raise FieldError("organisation_id", _("Cet adhérent utilise déjà cette application."))
    sub = Subscription(application=app, organisation_id=member.id, syndicate_id=app.syndicate_id)
    with audit.audited(member, actor, "subscription.create", sub, SUBSCRIPTION_FIELDS):
        sub.started_on = data["started_on"]
        sub.is_inferred = bool(data.get("is_inferred", False))
    if sub.is_active:
        signals.subscription_started.send(sub, actor=actor)
    return sub


def end_subscription(sub: Subscription, actor: User, data: dict[str, Any]) -> Subscription:
    check_version(sub, data.get("version"))
    if data["ended_on"] < sub.started_on:
        raise FieldError("ended_on", _("La date de fin précède la date de début."))
    with audit.audited(sub.organisation_id, actor, "subscription.end", sub, ("ended_on",)):
        sub.ended_on = data["ended_on"]
    signals.subscription_ended.send(sub, actor=actor)
    return sub


def applications_of(org: Organisation) -> list[tuple[int, str]]:
    """(id, name) of the applications an organisation works with, by name, retired ones left out:
    a syndicate's whole catalogue, a member's subscriptions (what a processor, an incident… may
    concern)."""
    apps = Application
    stmt = select(apps.id, apps.name).where(apps.retired_on.is_(None)).order_by(apps.sort_name)
    if org.is_syndicate:
        stmt = stmt.where(apps.syndicate_id == org.id)
    else:
        stmt = stmt.where(
            apps.id.in_(select(Subscription.application_id).where(Subscription.organisation_id == org.id))
        )
    # unscoped: the catalogue belongs to the syndicate; filtered on the organisation explicitly
    return [(r.id, r.name) for r in db.session.execute(stmt.execution_options(**UNSCOPED))]


def application_names(ids: Iterable[int]) -> dict[int, str]:
    """Names of applications by id, whatever the tenant (a name is all that is shown: the journal,
    a member's fiche linking its syndicate's applications)."""
    ids = {int(i) for i in ids}
    if not ids:
        return {}
    rows = db.session.execute(
        select(Application.id, Application.name)
        .where(Application.id.in_(ids))
        .execution_options(**UNSCOPED)  # unscoped: only names, of applications an entry names
    )
    return {row.id: row.name for row in rows}


def subscription_titles(ids: Iterable[int]) -> dict[int, str]:
    """ "Application — organisation" of subscriptions by id (the journal's entries about them)."""
    ids = {int(i) for i in ids}
    if not ids:
        return {}
    rows = db.session.execute(
        select(Subscription.id, Application.name, Organisation.name.label("organisation"))
        .join(Application, Application.id == Subscription.application_id)
        .join(Organisation, Organisation.id == Subscription.organisation_id)
        .where(Subscription.id.in_(ids))
        .execution_options(**UNSCOPED)  # unscoped: names of what an entry of the reader's chain is about
    )
    return {row.id: f"{row.name} — {row.organisation}" for row in rows}
