"""Organisations (the tenants), user accounts and their roles in organisations."""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import (
    Boolean,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    bindparam,
    false,
    func,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Mapped, aliased, mapped_column, relationship
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.elements import ColumnElement

from core.db import (
    Base,
    SortNameMixin,
    TenantScoped,
    TimestampMixin,
    UTCDateTime,
    VersionedMixin,
    attach_loaded,
    today,
    utcnow,
)
from core.enums import LabelledEnum
from core.extensions import db
from core.security import Role
from core.tenancy import UNSCOPED


def str_enum(enum_cls: type[enum.Enum], name: str) -> Enum:
    """Enums stored as their value in a VARCHAR with a named CHECK (same on SQLite and PostgreSQL)."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(m.value) for m in enum_cls),
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class OrgKind(LabelledEnum):
    SYNDICAT = "syndicat", _l("Syndicat")
    VILLE = "ville", _l("Ville / commune")
    CCAS = "ccas", _l("CCAS")
    OPH = "oph", _l("Office public de l'habitat (OPH)")
    EPT = "ept", _l("Établissement public territorial (EPT)")
    ETABLISSEMENT_PUBLIC = "etablissement_public", _l("Établissement public")
    ASSOCIATION = "association", _l("Association")
    AUTRE = "autre", _l("Autre")


class Nis2Entity(LabelledEnum):
    """What the organisation declares itself under the NIS2 directive (as transposed in France): an
    essential or important entity has deadlines to notify its significant incidents (the SMSI's
    NIS2 timers run only for such an organisation)."""

    NONE = "none", _l("Non concernée")
    IMPORTANT = "important", _l("Entité importante")
    ESSENTIAL = "essential", _l("Entité essentielle")


class OrgRelation(LabelledEnum):
    SYNDICATE = "syndicate", _l("Syndicat (racine)")
    MEMBER = "member", _l("Adhérent")
    PARTNER = "partner", _l("Partenaire")


class Organisation(SortNameMixin, TimestampMixin, VersionedMixin, TenantScoped, Base):
    """A public body: the syndicate at the root, its members and partner bodies.

    Never deleted: a member that leaves gets ``left_on``; one that merges also gets ``merged_into``.
    """

    __tablename__ = "organisations"
    __safety_net__ = False  # the tenant itself: visibility is decided by tenant_criteria below
    __admin_sees_all__ = True  # platform admins manage every organisation

    name: Mapped[str] = mapped_column(String(200), unique=True)
    short_name: Mapped[str | None] = mapped_column(String(60))
    kind: Mapped[OrgKind] = mapped_column(str_enum(OrgKind, "org_kind"))
    relation: Mapped[OrgRelation] = mapped_column(str_enum(OrgRelation, "org_relation"))
    syndicate_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    siren: Mapped[str | None] = mapped_column(String(9), unique=True)
    address: Mapped[str | None] = mapped_column(String(200))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    city: Mapped[str | None] = mapped_column(String(100))
    head_title: Mapped[str | None] = mapped_column(String(100))
    head_name: Mapped[str | None] = mapped_column(String(150))
    dpo_name: Mapped[str | None] = mapped_column(String(150))
    dpo_email: Mapped[str | None] = mapped_column(String(254))
    dpo_phone: Mapped[str | None] = mapped_column(String(30))
    cnil_dpo_number: Mapped[str | None] = mapped_column(String(30))
    joined_on: Mapped[date | None] = mapped_column(Date)
    left_on: Mapped[date | None] = mapped_column(Date)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    dpo_service_since: Mapped[date | None] = mapped_column(Date)
    mfa_required_for_all: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    nis2_entity: Mapped[Nis2Entity] = mapped_column(
        str_enum(Nis2Entity, "nis2_entity"), default=Nis2Entity.NONE, server_default=Nis2Entity.NONE.value
    )
    notes: Mapped[str | None] = mapped_column(Text)

    syndicate: Mapped[Organisation | None] = relationship(
        remote_side="Organisation.id", foreign_keys=[syndicate_id], lazy="joined", innerjoin=False
    )
    parent: Mapped[Organisation | None] = relationship(
        remote_side="Organisation.id", foreign_keys=[parent_id], lazy="select"
    )
    merged_into: Mapped[Organisation | None] = relationship(
        remote_side="Organisation.id", foreign_keys=[merged_into_id], lazy="select"
    )

    __table_args__ = (
        Index("ix_organisations_kind_relation", "kind", "relation"),
        Index("ix_organisations_sort_name", "sort_name"),
    )

    def __str__(self) -> str:
        return self.name

    @classmethod
    def tenant_criteria(cls, org_id: int) -> ColumnElement[bool]:
        """An organisation sees itself, and a syndicate (or parent) sees its members (or children)."""
        return or_(cls.id == org_id, cls.syndicate_id == org_id, cls.parent_id == org_id)

    @property
    def display_name(self) -> str:
        return self.short_name or self.name

    @property
    def is_syndicate(self) -> bool:
        return self.relation == OrgRelation.SYNDICATE

    @property
    def has_left(self) -> bool:
        return self.left_on is not None and self.left_on <= today()

    @property
    def catalogue_owner_id(self) -> int | None:
        """The syndicate whose application catalogue applies to this organisation."""
        return self.id if self.is_syndicate else self.syndicate_id


class User(UserMixin, TimestampMixin, VersionedMixin, Base):
    __tablename__ = "users"
    __admin_sees_all__ = True

    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(150))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Brute force (ASVS 2.2.1): counted in the database, shared by every worker.
    failed_login_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # TOTP (ASVS 2.8): secrets encrypted at rest with the key ring of core.crypto.
    totp_secret_enc: Mapped[str | None] = mapped_column(Text)
    totp_pending_secret_enc: Mapped[str | None] = mapped_column(Text)
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_timecode: Mapped[int | None] = mapped_column(Integer)
    # The weekly digest of deadlines (accounts.services.digest): sent unless the user opts out on
    # "Mon compte".
    is_digest_subscribed: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", foreign_keys="Membership.user_id", lazy="select"
    )

    def __str__(self) -> str:
        return self.full_name

    @property
    def is_active(self) -> bool:  # Flask-Login: a disabled account cannot log in or stay logged in
        return self.is_enabled

    # Identity, not Flask-Login's get_id() comparison (which would need a session token).
    __eq__ = object.__eq__
    __ne__ = object.__ne__
    __hash__ = object.__hash__

    def get_id(self) -> str:
        """Flask-Login keeps this in the signed cookie: the server-side session's token, never the
        user id, so that logging out anywhere (or an administrator) can revoke it."""
        token = getattr(self, "session_token", None)
        if token is None:
            raise RuntimeError("log in through accounts.services.auth.start_session")
        return token

    @property
    def has_mfa(self) -> bool:
        return self.totp_enabled_at is not None

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now

    def requires_mfa(self) -> bool:
        """MFA is mandatory for administrators, RSSI, DPO and auditors, and for everybody in an
        organisation that asks for it (Organisation.mfa_required_for_all)."""
        stmt = self._active_membership_stmt().where(
            or_(Membership.role.in_(MFA_ROLES), Organisation.mfa_required_for_all.is_(True))
        )
        return bool(db.session.scalar(select(stmt.exists())))

    def active_memberships(self) -> list[Membership]:
        if not hasattr(self, "_active_memberships"):
            stmt = (
                select(Membership)
                .join(Membership.organisation)
                .where(Membership.user_id == self.id, membership_is_current())
                .order_by(Organisation.relation.desc(), Organisation.sort_name, Membership.role)
            )
            self._active_memberships = list(db.session.scalars(stmt))
        return self._active_memberships

    def _active_membership_stmt(self) -> Any:
        return (
            select(Membership)
            .join(Membership.organisation)
            .where(
                Membership.user_id == self.id,
                membership_is_current(),
                or_(Organisation.left_on.is_(None), Organisation.left_on > today()),
            )
        )

    def roles_in(self, org_id: int | None) -> tuple[Organisation, set[Role]] | None:
        """The organisation and the user's roles there, if the user holds one (one query).

        The request path uses this rather than :meth:`organisation_roles`: a mutualised DPO may
        serve thousands of organisations, and loading them all on every page cost hundreds of ms
        (bench/bench_registers.py).
        """
        if org_id is None:
            return None
        known = self.__dict__.get("_roles_known")  # read with the session row: load_frame
        if known is not None and org_id in known:
            return known[org_id]
        # The user's facts come with the memberships, as extra columns of the same row (one query
        # less on every page; see _account_facts_columns).
        rows = db.session.execute(
            _roles_in_statement(), {"user_id": self.id, "org_id": org_id, "today": today()}
        ).all()
        if not rows:
            return None
        if "_facts" not in self.__dict__:
            self.__dict__["_facts"] = _facts_from(rows[0][1:])
        return rows[0][0].organisation, {Role(row[0].role) for row in rows}

    def first_organisation_id(self) -> int | None:
        """The default active organisation: same order as :meth:`organisation_roles`."""
        stmt = self._active_membership_stmt().order_by(
            Organisation.relation.desc(), Organisation.sort_name, Membership.role
        )
        return db.session.scalar(stmt.with_only_columns(Membership.organisation_id).limit(1))

    def organisation_count(self) -> int:
        if not hasattr(self, "_organisation_count"):
            stmt = self._active_membership_stmt().with_only_columns(
                func.count(func.distinct(Membership.organisation_id))
            )
            self._organisation_count = int(db.session.scalar(stmt) or 0)
        return self._organisation_count

    def organisation_roles(self) -> dict[int, tuple[Organisation, set[Role]]]:
        """Organisations where the user holds a role, alphabetical; left members excluded."""
        result: dict[int, tuple[Organisation, set[Role]]] = {}
        for membership in self.active_memberships():
            org = membership.organisation
            if org.has_left:
                continue
            result.setdefault(org.id, (org, set()))[1].add(Role(membership.role))
        return result

    @property
    def is_platform_admin(self) -> bool:
        return Role.ADMIN in self.facts.roles_anywhere

    @property
    def facts(self) -> AccountFacts:
        """What every page asks about the user, in one query kept for the request: the roles held in
        any organisation (platform administrator, the DPO portfolio link) and how many organisations
        the user serves, counted no further than :data:`ORGANISATION_COUNT_CAP` (the header's switch).
        A mutualised DPO may serve thousands: the query reads indexes, never every membership."""
        if "_facts" not in self.__dict__:
            row = db.session.execute(_account_facts_statement(), {"user_id": self.id, "today": today()}).one()
            self.__dict__["_facts"] = _facts_from(row)
        return self.__dict__["_facts"]


ORGANISATION_COUNT_CAP = 31  # the header offers a select up to 30 organisations, a page beyond


@dataclass(frozen=True)
class AccountFacts:
    organisation_count: int  # capped at ORGANISATION_COUNT_CAP
    roles_anywhere: frozenset[Role]


def _facts_from(row: Any) -> AccountFacts:
    held = frozenset(role for role, is_held in zip(Role, row[1:], strict=True) if is_held)
    return AccountFacts(int(row[0] or 0), held)


def _account_facts_columns(user_id: Any = None) -> tuple[Any, ...]:
    """The organisation count (capped) and one EXISTS per role, over the user's active memberships
    (``user_id``: a bind parameter by default, or an expression; ``today``): on their own aliases,
    so that they never correlate with a statement they are added to."""
    m, o = aliased(Membership), aliased(Organisation)
    active = and_(
        m.user_id == (bindparam("user_id") if user_id is None else user_id),
        membership_is_current(m, bindparam("today")),
        or_(o.left_on.is_(None), o.left_on > bindparam("today")),
    )
    memberships = select(m.organisation_id).join(o, o.id == m.organisation_id).where(active)
    served = memberships.distinct().limit(ORGANISATION_COUNT_CAP).subquery()
    return (
        select(func.count()).select_from(served).scalar_subquery(),
        # Each role written into the SQL, not bound: PostgreSQL plans a prepared statement once for
        # any value of its parameters, and with the role a parameter that plan read all of a user's
        # memberships for each role not held (0.08 ms each, 5,000 for the bench's DPO); with the
        # role known, it looks it up in the (user_id, role) index.
        # (literal_column: written once into the cached SQL; a literal_execute parameter was written
        # in at each run, 40 µs a page.) A role's value is a fixed identifier: nothing to escape.
        *(memberships.where(m.role == _role_literal(role)).exists() for role in Role),
    )


def _role_literal(role: Role) -> Any:
    if not role.value.isidentifier():
        raise ValueError(f"role {role.value!r} cannot be written into SQL as it is")
    return literal_column(f"'{role.value}'")


@functools.cache
def _roles_in_statement() -> Any:
    """The user's memberships in one organisation, with it, and the user's facts (every page)."""
    return (
        select(Membership, *_account_facts_columns())
        .join(Membership.organisation)
        .where(
            Membership.user_id == bindparam("user_id"),
            Membership.organisation_id == bindparam("org_id"),
            membership_is_current(Membership, bindparam("today")),
            or_(Organisation.left_on.is_(None), Organisation.left_on > bindparam("today")),
        )
        # unscoped: the user's own memberships, whichever organisation is active (switching reads them)
        .execution_options(**UNSCOPED)
    )


@functools.cache
def _account_facts_statement() -> Any:
    """Built once (then only its parameters change): SQLAlchemy caches the compiled SQL, but building
    the expression anew on each page cost more than running it. The request path reads the facts
    with the active organisation's memberships (:meth:`User.roles_in`); this serves the rest."""
    # unscoped: memberships are not a tenant's rows
    return select(*_account_facts_columns()).execution_options(**UNSCOPED)


@functools.cache
def _frame_statement() -> Any:
    """Every page's first questions in one Core statement (``token_hash``, ``org_id``, ``today``):
    the session row and its user, the user's roles in the active organisation with it (one row a
    role, or one row without), and the user's facts. Columns are labelled ``s_``, ``u_``, ``o_``."""
    s, u, o = UserSession.__table__, User.__table__, aliased(Organisation.__table__, name="active_org")
    m = aliased(Membership.__table__, name="active_m")
    # The user's id as a subquery of the same token (not a correlation): the facts' subqueries nest.
    user_id = select(s.c.user_id).where(s.c.token_hash == bindparam("token_hash")).scalar_subquery()
    return (
        select(
            *(c.label(f"s_{c.key}") for c in s.c),
            *(c.label(f"u_{c.key}") for c in u.c),
            *(c.label(f"o_{c.key}") for c in o.c),
            m.c.role.label("m_role"),
            *(column.label(f"f_{n}") for n, column in enumerate(_account_facts_columns(user_id))),
        )
        .select_from(s)
        .join(u, u.c.id == s.c.user_id)
        .outerjoin(
            m,
            and_(
                m.c.user_id == u.c.id,
                m.c.organisation_id == bindparam("org_id"),
                membership_is_current(m.c, bindparam("today")),
            ),
        )
        .outerjoin(
            o,
            and_(o.c.id == m.c.organisation_id, or_(o.c.left_on.is_(None), o.c.left_on > bindparam("today"))),
        )
        .where(s.c.token_hash == bindparam("token_hash"))
    )


def load_frame(token_hash: str, org_id: int | None) -> UserSession | None:
    """The live-or-not session row of ``token_hash`` with its user, in one Core query, the user's
    roles in ``org_id`` kept for :meth:`User.roles_in` and their facts for :attr:`User.facts` — what
    three ORM queries gave each page (the loader's, then the tenant's two), at a sixth of the cost.
    The instances are attached to the session as the ORM would have loaded them (core.db.attach_loaded)."""
    sess = db.session  # looked up once (Flask-SQLAlchemy-Lite finds it in the app context each time)
    result = sess.connection().execute(
        _frame_statement(), {"token_hash": token_hash, "org_id": org_id, "today": today()}
    )
    rows, names = result.all(), tuple(result.keys())
    if not rows:
        return None
    # Rows by column name: the first as a dict (a plain dict for the 60 columns is cheaper than
    # SQLAlchemy's mappings), the others only for their role.
    first = dict(zip(names, rows[0], strict=True))
    user = attach_loaded(sess, User, first, "u_")
    row = attach_loaded(sess, UserSession, first, "s_")
    set_committed_value(row, "user", user)
    # This request's answers (an instance the session already held is answered afresh too).
    user.__dict__["_facts"] = _facts_from([first[f"f_{n}"] for n in range(len(Role) + 1)])
    known: dict[int, Any] = {}
    if org_id is not None:
        found = [r for r in rows if r.m_role is not None and r.o_id is not None]
        known[org_id] = (
            (
                attach_loaded(sess, Organisation, dict(zip(names, found[0], strict=True)), "o_"),
                {Role(r.m_role) for r in found},
            )
            if found
            else None
        )
    user.__dict__["_roles_known"] = known
    return row


MFA_ROLES = frozenset({Role.ADMIN, Role.RSSI, Role.DPO, Role.AUDITOR})


class UserSession(Base):
    """A server-side session (ASVS V3): the cookie holds a random token, the database its hash.

    Logout, "log out my other sessions", a password change or an administrator disabling the account
    revoke rows here; the loader refuses revoked, idle or too old sessions at the next request.
    """

    __tablename__ = "user_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    mfa_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(40))

    user: Mapped[User] = relationship(lazy="joined")

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def revoke(self, reason: str) -> None:
        if self.revoked_at is None:
            self.revoked_at, self.revoked_reason = utcnow(), reason


class RecoveryCode(Base):
    """Single-use MFA recovery codes (ASVS 2.6): ≥ 112 bits, stored hashed, shown once."""

    __tablename__ = "recovery_codes"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TokenPurpose(LabelledEnum):
    RESET = "reset", _l("Réinitialisation du mot de passe")
    INVITE = "invite", _l("Invitation")


class AuthToken(Base):
    """Password-reset and invitation links: single use, expiring, stored hashed."""

    __tablename__ = "auth_tokens"

    purpose: Mapped[TokenPurpose] = mapped_column(str_enum(TokenPurpose, "token_purpose"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="joined")


class ApiTokenScope(LabelledEnum):
    READ = "read", _l("Lecture")
    READ_WRITE = "read_write", _l("Lecture et écriture")


class ApiToken(TimestampMixin, VersionedMixin, Base):
    """A personal access token for the JSON API (core.api): one user, one organisation, a scope,
    an expiry. Only its SHA-256 is stored (the token is 256 random bits, so a fast hash is right and
    argon2 would only slow every API call); ``prefix`` (its first characters) lets its owner tell
    tokens apart. The user's roles in the organisation still apply at each call."""

    __tablename__ = "api_tokens"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(24))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[ApiTokenScope] = mapped_column(str_enum(ApiTokenScope, "api_token_scope"))
    expires_on: Mapped[date] = mapped_column(Date)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="joined")
    organisation: Mapped[Organisation] = relationship(lazy="joined")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def can_write(self) -> bool:
        return self.scope == ApiTokenScope.READ_WRITE

    def is_usable(self, on: date) -> bool:
        return self.revoked_at is None and self.expires_on >= on


class Membership(TimestampMixin, Base):
    """One role of one user in one organisation. Revoked, never deleted (the history stays)."""

    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("user_id", "organisation_id", "role"),
        Index("ix_memberships_user_id_role", "user_id", "role"),  # User.facts: roles held anywhere
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"))
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The last day a temporary role (an invited auditor's) is held; None: until revoked.
    expires_on: Mapped[date | None] = mapped_column(Date)

    user: Mapped[User] = relationship(back_populates="memberships", foreign_keys=[user_id])
    organisation: Mapped[Organisation] = relationship(lazy="joined")

    @property
    def is_active(self) -> bool:
        return bool(membership_is_current(self))

    def revoke(self) -> None:
        self.revoked_at = utcnow()


def membership_is_current(membership: Any = None, on: Any = None) -> Any:
    """THE rule of a membership in force: not revoked, and not past its ``expires_on`` (an invited
    auditor's role ends with the audit). Given the ``Membership`` class (or an alias, the default)
    it is a SQL expression, ``on`` a date or a bind parameter (default today); given a row, a bool."""
    if isinstance(membership, Membership):
        day = on or today()
        return membership.revoked_at is None and (
            membership.expires_on is None or membership.expires_on >= day
        )
    m = membership if membership is not None else Membership
    day = on if on is not None else today()
    return and_(m.revoked_at.is_(None), or_(m.expires_on.is_(None), m.expires_on >= day))
