"""Declarative base, column types and mixins shared by every domain."""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime, ForeignKey, Integer, MetaData, String, TypeDecorator
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    declared_attr,
    make_transient_to_detached,
    mapped_column,
    validates,
)
from sqlalchemy.sql.elements import ColumnElement

from core.text import fold

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


# France's clock: the dates people type and read. Every domain reads these three, none redefines them.
PARIS = ZoneInfo("Europe/Paris")


def local_today() -> date:
    """Today in France (the date people type and read), not the UTC date."""
    return datetime.now(PARIS).date()


def today() -> date:
    """Today as every date column of Égide means it: the calendar day in France. Timestamps are UTC
    (``utcnow``); a *date* (a deadline, a review, a contract signed, an organisation leaving) is a
    French calendar day, so comparing one with the UTC date was wrong for an hour or two every night
    (from 22:00 or 23:00 UTC a date typed as today was refused as "in the future"). One rule, here."""
    return local_today()


def to_utc(value: datetime | None) -> datetime | None:
    """An aware datetime in UTC; a naive one is French local time (what people type)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=PARIS)
    return value.astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend.

    PostgreSQL keeps ``timestamptz``; SQLite has no time zone, so values are stored as naive UTC and
    handed back aware. Naive values are refused on the way in: they are always a bug.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id}>"


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)


class SortNameMixin:
    """``sort_name`` is ``name`` in lower case without accents (core.text.fold), kept in step by a
    validator: "Décisionnel" sorts before "Doctolib" and a search for "decisionnel" finds it, the same
    way on SQLite and PostgreSQL, and the column can be indexed."""

    sort_name: Mapped[str] = mapped_column(String(200), nullable=False)

    @validates("name")
    def _fold_name(self, _key: str, value: str) -> str:
        self.sort_name = fold(value)
        return value


class VersionedMixin:
    """Optimistic locking on every editable record (SQLAlchemy ``version_id_col``).

    The version is also carried by edit forms as a hidden field, so a stale form (two people editing
    the same record in two browsers) is detected before anything is written; see
    :mod:`core.concurrency`.
    """

    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805 — declared_attr receives the class
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]


class TenantScoped:
    """Rows that belong to tenants. Subclasses say which rows an organisation may see.

    :mod:`core.tenancy` uses :meth:`tenant_criteria` both for explicit scoping (``scoped()``,
    ``get_scoped_or_404()``) and for the ORM safety net. Registered automatically.
    """

    registry: ClassVar[list[type[TenantScoped]]] = []

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__tablename__" in cls.__dict__:
            TenantScoped.registry.append(cls)

    @classmethod
    def tenant_criteria(cls, org_id: int) -> ColumnElement[bool]:
        raise NotImplementedError


class OrgScopedMixin(TenantScoped):
    """A row owned by exactly one organisation."""

    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True, nullable=False
    )

    @classmethod
    def tenant_criteria(cls, org_id: int) -> ColumnElement[bool]:
        return cls.organisation_id == org_id  # type: ignore[return-value]


def attach_loaded(session: Any, model: type[Any], values: Any, prefix: str = "") -> Any:
    """An instance of ``model`` for a row already read — ``values[prefix + column key]`` for every
    mapped column — made persistent in ``session`` without a query: what loading it through the ORM
    gives (no history, relationships loaded when first read), without the ORM's per-query machinery.
    For the first questions of every page (accounts.models.load_frame), where two ORM queries cost
    0.6 ms against 0.1 ms for one Core row (bench/bench_cpu.py). The session's identity map wins: an
    instance it already holds is returned as it is."""
    mapper, primary_key, columns = _load_plan(model, prefix)
    key = mapper.identity_key_from_primary_key([values[name] for name in primary_key])
    held = session.identity_map.get(key)
    if held is not None:
        return held
    obj = mapper.class_manager.new_instance()
    # The values go straight into the new instance's state, as the ORM's loader puts them: it has no
    # history to keep yet (set_committed_value per attribute kept one, a fifth of the cost here), and
    # make_transient_to_detached then commits them all as loaded.
    loaded = obj.__dict__
    for attribute, name in columns:
        loaded[attribute] = values[name]
    make_transient_to_detached(obj)
    session.add(obj)
    return obj


@functools.cache
def _load_plan(model: type[Any], prefix: str) -> tuple[Any, tuple[str, ...], tuple[tuple[str, str], ...]]:
    """The mapper of ``model``, the names of its primary key's values and (attribute, value name) of
    each mapped column, in ``attach_loaded``'s values — worked out once per model and prefix."""
    mapper = sa_inspect(model)
    return (
        mapper,
        tuple(prefix + column.key for column in mapper.primary_key),
        tuple((prop.key, prefix + prop.columns[0].key) for prop in mapper.column_attrs),
    )
