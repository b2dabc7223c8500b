"""User accounts and their roles: every write, and the reads the views and other domains need."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, func, or_, select

from accounts.models import Membership, Organisation, User, membership_is_current
from accounts.services import auth
from accounts.services.organisations import OrganisationFilters, organisations_query
from accounts.services.passwords import hash_password
from core import audit
from core.concurrency import check_version
from core.db import utcnow
from core.extensions import db
from core.forms import FieldError, ensure_unique
from core.security import Role

USER_FIELDS = ("full_name", "email", "is_enabled")
USER_STATUSES = ("locked", "invited")


def users_query(q: str = "", status: str = "") -> Select[Any]:
    """Accounts, searched by name or address; ``status``: ``"locked"`` (locked after failed logins,
    until the lock expires or an administrator lifts it), ``"invited"`` (invitation not yet
    accepted: no password chosen, account enabled)."""
    stmt = select(User)
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where(or_(func.lower(User.full_name).like(like), func.lower(User.email).like(like)))
    if status == "locked":
        stmt = stmt.where(User.locked_until > utcnow())
    elif status == "invited":
        stmt = stmt.where(User.password_hash.is_(None), User.is_enabled.is_(True))
    return stmt.order_by(User.full_name)


@dataclass(frozen=True)
class AdminFigures:
    locked: int
    invited: int
    without_dpo: int


def admin_figures() -> AdminFigures:
    """The administrator's home-page figures, counted by the very queries of the lists they link to
    (the accounts list filtered by status, the organisation list filtered on "no DPO"): two queries."""
    users = select(
        func.count().filter(User.locked_until > utcnow()),
        func.count().filter(User.password_hash.is_(None), User.is_enabled.is_(True)),
    )
    locked, invited = db.session.execute(users).one()
    orphans = organisations_query(OrganisationFilters(dpo="none")).order_by(None)
    without_dpo = db.session.scalar(select(func.count()).select_from(orphans.subquery()))
    return AdminFigures(int(locked or 0), int(invited or 0), int(without_dpo or 0))


def memberships_of(users: list[User]) -> dict[int, list[Membership]]:
    """Active memberships of several users in one query (no N+1 on the accounts list)."""
    ids = [u.id for u in users]
    result: dict[int, list[Membership]] = {i: [] for i in ids}
    if ids:
        stmt = (
            select(Membership)
            .where(Membership.user_id.in_(ids), membership_is_current())  # an auditor's ends with the audit
            .order_by(Membership.organisation_id, Membership.role)
        )
        for membership in db.session.scalars(stmt):
            result[membership.user_id].append(membership)
    return result


def _validate_user(data: dict[str, Any], exclude_id: int | None) -> None:
    ensure_unique(
        User,
        User.email,
        data["email"],
        field="email",
        message=_("Un compte existe déjà avec cette adresse."),
        exclude_id=exclude_id,
    )


def create_user(actor: User | None, data: dict[str, Any]) -> User:
    """A new account. Without a ``password`` (the administrator's form), the person is invited by
    e-mail to choose one; demo and command-line accounts may pass a password."""
    data = {**data, "email": data["email"].strip().lower()}
    _validate_user(data, None)
    user = User()
    with audit.audited(None, actor, "user.create", user, USER_FIELDS):
        user.full_name, user.email = data["full_name"], data["email"]
        user.is_enabled = data.get("is_enabled", True)
        if data.get("password"):
            user.password_hash = hash_password(data["password"])
    if not data.get("password"):
        auth.invite(user, actor)
    return user


def update_user(user: User, actor: User, data: dict[str, Any]) -> User:
    check_version(user, data.get("version"))
    data = {**data, "email": data["email"].strip().lower()}
    _validate_user(data, user.id)
    if user.id == actor.id and not data.get("is_enabled", True):
        raise FieldError("is_enabled", _("Vous ne pouvez pas désactiver votre propre compte."))
    with audit.audited(None, actor, "user.update", user, USER_FIELDS):
        for name in USER_FIELDS:
            setattr(user, name, data[name])
    if not user.is_enabled:
        auth.revoke_all_sessions(user, "account disabled")  # logged out everywhere, at once
        auth.expire_links(user)
    return user


def grant_role(
    user: User, org: Organisation, role: Role, actor: User | None, *, expires_on: date | None = None
) -> Membership:
    """Give ``role`` in ``org``; re-activates a revoked membership rather than duplicating it.
    ``expires_on``: the last day the role is held (an invited auditor's); an active membership
    that expires is extended to it rather than refused."""
    membership = db.session.scalar(
        select(Membership).where(
            Membership.user_id == user.id, Membership.organisation_id == org.id, Membership.role == role
        )
    )
    if membership is not None and membership.revoked_at is None:
        if expires_on is None or membership.expires_on is None:
            raise FieldError("role", _("Cet utilisateur a déjà ce rôle dans cette organisation."))
        membership.expires_on = max(membership.expires_on, expires_on)
    elif membership is None:
        membership = Membership(
            user=user,
            organisation=org,
            role=role,
            granted_by_id=getattr(actor, "id", None),
            expires_on=expires_on,
        )
        db.session.add(membership)
    else:
        membership.revoked_at = None
        membership.expires_on = expires_on
        membership.granted_by_id = getattr(actor, "id", None)
    db.session.flush()
    audit.record(
        org, actor, "membership.grant", membership, {"role": (None, role.value), "user_id": (None, user.id)}
    )
    return membership


def get_active_membership(user_id: int, membership_id: int) -> Membership | None:
    return db.session.scalar(
        select(Membership).where(
            Membership.id == membership_id, Membership.user_id == user_id, Membership.revoked_at.is_(None)
        )
    )


def revoke_role(membership: Membership, actor: User) -> Membership:
    if membership.user_id == actor.id and membership.role == Role.ADMIN:
        raise FieldError("role", _("Vous ne pouvez pas retirer votre propre rôle d'administrateur."))
    membership.revoke()
    db.session.flush()
    audit.record(
        membership.organisation,
        actor,
        "membership.revoke",
        membership,
        {"role": (membership.role.value, None)},
    )
    return membership


def people_holding(
    org_id: int, roles: Iterable[Role], *, include: int | None = None
) -> list[tuple[int, str]]:
    """(id, name) of the enabled accounts holding one of ``roles`` in an organisation, by name
    (whom a piece of work there can be given to); ``include``: the current holder, kept even if
    he no longer qualifies."""
    holding = (
        select(Membership.user_id)
        .where(
            Membership.organisation_id == org_id,
            Membership.role.in_(list(roles)),
            membership_is_current(),
        )
        .scalar_subquery()
    )
    stmt = select(User.id, User.full_name).where(User.is_enabled.is_(True), User.id.in_(holding))
    if include is not None:
        stmt = select(User.id, User.full_name).where(
            (User.id == include) | (User.is_enabled.is_(True) & User.id.in_(holding))
        )
    return [(r.id, r.full_name) for r in db.session.execute(stmt.order_by(User.full_name, User.id))]


def user_names(ids: Iterable[int]) -> dict[int, str]:
    """Full names of accounts by id (the journal's "who was concerned")."""
    ids = {int(i) for i in ids}
    if not ids:
        return {}
    rows = db.session.execute(select(User.id, User.full_name).where(User.id.in_(ids)))
    return {row.id: row.full_name for row in rows}


def membership_titles(ids: Iterable[int]) -> dict[int, str]:
    """ "Role — person" of memberships by id (the journal's entries about roles)."""
    ids = {int(i) for i in ids}
    if not ids:
        return {}
    rows = db.session.execute(
        select(Membership.id, Membership.role, User.full_name)
        .join(User, User.id == Membership.user_id)
        .where(Membership.id.in_(ids))
    )
    return {row.id: f"{row.role.label} — {row.full_name}" for row in rows}
