"""Organisations: their structure, every write, and the scoped reads the views and other domains need."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import aliased
from werkzeug.exceptions import Forbidden

from accounts.models import (
    Membership,
    Nis2Entity,
    Organisation,
    OrgKind,
    OrgRelation,
    User,
    membership_is_current,
)
from core import audit
from core.concurrency import check_version
from core.db import today
from core.extensions import db
from core.forms import FieldError, ensure_unique
from core.pagination import Page
from core.security import Permission, Role, user_can
from core.tenancy import UNSCOPED, scoped
from core.text import fold

ORGANISATION_FIELDS = (
    "name",
    "short_name",
    "kind",
    "relation",
    "syndicate_id",
    "parent_id",
    "siren",
    "address",
    "postal_code",
    "city",
    "head_title",
    "head_name",
    "dpo_name",
    "dpo_email",
    "dpo_phone",
    "cnil_dpo_number",
    "joined_on",
    "dpo_service_since",
    "mfa_required_for_all",
    "nis2_entity",
    "notes",
)
DEPARTURE_FIELDS = ("left_on", "merged_into_id")
# The organisation's place in the structure: its type, its relation to the syndicate, its syndicate,
# its parent, its departure or merger. They decide what it sees and what it may do (a syndicate owns
# the catalogue and the templates, and sees its members), so only the platform-wide permission
# changes them: see guard_structure. Forms hide them from everybody else.
STRUCTURAL_FIELDS = ("kind", "relation", "syndicate_id", "parent_id", "left_on", "merged_into_id")
STRUCTURE_LOCKED_MESSAGE = _l(
    "Seul un administrateur de la plateforme peut modifier la place d'une organisation dans le "
    "syndicat (type, relation, syndicat, organisation parente, départ ou fusion)."
)


# --- organisations: reads ----------------------------------------------------------------------


@dataclass
class OrganisationFilters:
    q: str = ""
    kind: str = ""
    relation: str = ""
    syndicate_id: int | None = None
    status: str = "active"  # active | left | all
    dpo: str = ""  # "none": nobody holds the DPO role there


def organisations_query(filters: OrganisationFilters) -> Select[Any]:
    """Organisations visible to the active organisation (all of them for a platform admin)."""
    stmt = scoped(select(Organisation), Organisation)
    if filters.q:
        like = f"%{filters.q.lower()}%"
        stmt = stmt.where(
            or_(
                Organisation.sort_name.like(f"%{fold(filters.q)}%"),
                func.lower(Organisation.short_name).like(like),
                Organisation.siren.like(like),
                func.lower(Organisation.city).like(like),
            )
        )
    if filters.kind in OrgKind.__members__.values():
        stmt = stmt.where(Organisation.kind == OrgKind(filters.kind))
    if filters.relation in OrgRelation.__members__.values():
        stmt = stmt.where(Organisation.relation == OrgRelation(filters.relation))
    if filters.syndicate_id:
        stmt = stmt.where(
            or_(Organisation.syndicate_id == filters.syndicate_id, Organisation.id == filters.syndicate_id)
        )
    if filters.status == "active":
        stmt = stmt.where(Organisation.left_on.is_(None))
    elif filters.status == "left":
        stmt = stmt.where(Organisation.left_on.is_not(None))
    if filters.dpo == "none":
        stmt = stmt.where(~has_dpo())
    return stmt.order_by(Organisation.relation.desc(), Organisation.sort_name, Organisation.id)


def has_dpo() -> Any:
    """Somebody holds the DPO role in the organisation (an active role)."""
    return (
        select(Membership.id)
        .where(
            Membership.organisation_id == Organisation.id,
            Membership.role == Role.DPO,
            membership_is_current(),
        )
        .exists()
    )


def syndicates() -> list[Organisation]:
    stmt = scoped(select(Organisation).where(Organisation.relation == OrgRelation.SYNDICATE), Organisation)
    return list(db.session.scalars(stmt.order_by(Organisation.sort_name)))


def organisation_choices(
    *, syndicate_id: int | None = None, exclude_id: int | None = None
) -> list[tuple[Any, str]]:
    """(id, name) of visible organisations, optionally of one syndicate, for select fields."""
    stmt = scoped(select(Organisation.id, Organisation.name), Organisation).where(
        Organisation.left_on.is_(None)
    )
    if syndicate_id:
        stmt = stmt.where(or_(Organisation.syndicate_id == syndicate_id, Organisation.id == syndicate_id))
    if exclude_id:
        stmt = stmt.where(Organisation.id != exclude_id)
    return [(row.id, row.name) for row in db.session.execute(stmt.order_by(Organisation.sort_name))]


def organisation_children(org: Organisation) -> list[Organisation]:
    stmt = select(Organisation).where(
        or_(Organisation.parent_id == org.id, Organisation.merged_into_id == org.id)
    )
    return list(db.session.scalars(scoped(stmt, Organisation).order_by(Organisation.sort_name)))


def member_counts(org_ids: list[int]) -> dict[int, int]:
    """Number of current members per syndicate, in one query (list pages)."""
    if not org_ids:
        return {}
    member = aliased(Organisation)
    rows = db.session.execute(
        select(member.syndicate_id, func.count())
        .where(
            member.syndicate_id.in_(org_ids),
            member.relation == OrgRelation.MEMBER,
            member.left_on.is_(None),
        )
        .group_by(member.syndicate_id)
    )
    return dict(rows.all())


# --- organisations: writes ---------------------------------------------------------------------


class StructureChangeDenied(Forbidden):
    """A structural field (STRUCTURAL_FIELDS) changed by an actor without the platform permission.

    An HTTP 403 if it ever reaches a view: the forms never offer these fields to such an actor."""

    def __init__(self, fields: list[str]) -> None:
        super().__init__(str(STRUCTURE_LOCKED_MESSAGE))
        self.fields = fields


def may_change_structure(actor: User | None) -> bool:
    """Whether ``actor`` holds the platform-wide organisation permission, wherever it is active."""
    return user_can(actor, Permission.ORGANISATIONS_MANAGE)


def _structural_value(name: str, value: Any) -> Any:
    if value in ("", None):
        return None
    if name == "kind":
        return OrgKind(value)
    if name == "relation":
        return OrgRelation(value)
    if name.endswith("_id"):
        return int(value)
    return value


def guard_structure(org: Organisation | None, actor: User | None, data: dict[str, Any]) -> dict[str, Any]:
    """The one rule for structural fields: ``data`` as the service may apply it.

    An actor with the platform permission (:func:`may_change_structure`) changes them freely. For
    anybody else the structural keys are dropped when they repeat the stored value (nothing to
    change; ``org`` None is a creation, where every value is new), and :class:`StructureChangeDenied`
    is raised when one of them would change it: the stored structure never moves.
    """
    if may_change_structure(actor):
        return data
    changed = [
        name
        for name in STRUCTURAL_FIELDS
        if name in data
        and _structural_value(name, data[name]) != (getattr(org, name) if org is not None else None)
    ]
    if changed:
        raise StructureChangeDenied(changed)
    return {key: value for key, value in data.items() if key not in STRUCTURAL_FIELDS}


def _validate_organisation(data: dict[str, Any], exclude_id: int | None) -> None:
    ensure_unique(
        Organisation,
        Organisation.name,
        data["name"],
        field="name",
        message=_("Une organisation porte déjà ce nom."),
        exclude_id=exclude_id,
    )
    ensure_unique(
        Organisation,
        Organisation.siren,
        data.get("siren"),
        field="siren",
        message=_("Ce SIREN est déjà celui d'une autre organisation."),
        exclude_id=exclude_id,
    )
    if exclude_id is not None and data.get("parent_id") == exclude_id:
        raise FieldError("parent_id", _("Une organisation ne peut pas être sa propre parente."))


def _apply(obj: Any, data: dict[str, Any], fields: tuple[str, ...]) -> None:
    for name in fields:
        if name in data:
            value = data[name]
            if name == "kind":
                value = OrgKind(value)
            elif name == "relation":
                value = OrgRelation(value)
            elif name == "nis2_entity":
                value = Nis2Entity(value or Nis2Entity.NONE.value)
            setattr(obj, name, value)


def create_organisation(actor: User, data: dict[str, Any]) -> Organisation:
    data = guard_structure(None, actor, data)
    _validate_organisation(data, None)
    org = Organisation()
    with audit.audited(org, actor, "organisation.create", org, ORGANISATION_FIELDS):
        _apply(org, data, ORGANISATION_FIELDS)
    return org


def update_organisation(org: Organisation, actor: User, data: dict[str, Any]) -> Organisation:
    check_version(org, data.get("version"))
    data = guard_structure(org, actor, data)
    _validate_organisation(data, org.id)
    with audit.audited(org, actor, "organisation.update", org, ORGANISATION_FIELDS):
        _apply(org, data, ORGANISATION_FIELDS)
    return org


def record_departure(org: Organisation, actor: User, data: dict[str, Any]) -> Organisation:
    """A member leaves, or merges into another organisation. Its history stays readable."""
    check_version(org, data.get("version"))
    left_on: date = data["left_on"]
    merged_into_id = data.get("merged_into_id")
    guard_structure(org, actor, {"left_on": left_on, "merged_into_id": merged_into_id})
    if org.is_syndicate:
        raise FieldError("left_on", _("Un syndicat ne quitte pas son propre périmètre."))
    if org.joined_on and left_on < org.joined_on:
        raise FieldError("left_on", _("La date de départ précède la date d'adhésion."))
    if merged_into_id == org.id:
        raise FieldError("merged_into_id", _("Une organisation ne peut pas fusionner dans elle-même."))
    action = "organisation.merge" if merged_into_id else "organisation.leave"
    with audit.audited(org, actor, action, org, DEPARTURE_FIELDS):
        org.left_on, org.merged_into_id = left_on, merged_into_id
    return org


def cancel_departure(org: Organisation, actor: User, data: dict[str, Any]) -> Organisation:
    check_version(org, data.get("version"))
    guard_structure(org, actor, {"left_on": None, "merged_into_id": None})
    with audit.audited(org, actor, "organisation.rejoin", org, DEPARTURE_FIELDS):
        org.left_on = org.merged_into_id = None
    return org


def my_organisations(user: User, q: str = "", *, page: int = 1, per_page: int = 50) -> Page:
    """Organisations where ``user`` holds an active role (not left), by name: the chooser's list.

    Read past the tenant filter on purpose (both queries): these are the user's own memberships,
    most of them outside the active organisation's view."""
    mine = select(Membership.organisation_id).where(Membership.user_id == user.id, membership_is_current())
    stmt = select(Organisation).where(
        Organisation.id.in_(mine), or_(Organisation.left_on.is_(None), Organisation.left_on > today())
    )
    if q:
        stmt = stmt.where(Organisation.sort_name.like(f"%{fold(q)}%"))
    total = (
        db.session.scalar(
            # unscoped: the user's own memberships, most outside the active organisation
            select(func.count()).select_from(stmt.subquery()).execution_options(**UNSCOPED)
        )
        or 0
    )
    page = max(1, min(page, -(-total // per_page) or 1))
    items = db.session.scalars(
        stmt.order_by(Organisation.relation.desc(), Organisation.sort_name, Organisation.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
        # unscoped: the user's own memberships, most outside the active organisation
        .execution_options(**UNSCOPED)
    ).all()
    return Page(items=list(items), total=total, page=page, per_page=per_page)


def organisation_names(ids: Iterable[int]) -> dict[int, str]:
    """Names of organisations by id, whatever the tenant (a name is all that is shown: recipients
    of a fiche linked to another organisation)."""
    ids = {int(i) for i in ids}
    if not ids:
        return {}
    rows = db.session.execute(
        select(Organisation.id, Organisation.name)
        .where(Organisation.id.in_(ids))
        .execution_options(**UNSCOPED)  # unscoped: only names, of organisations linked from a fiche
    )
    return {row.id: row.name for row in rows}
