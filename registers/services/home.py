"""The figures of the home page's register cards (registers.widgets): each role's work, counted.

* The DPO's figures span every organisation he serves (:func:`registers.services.portfolio.served_ids`):
  open breaches with their 72 h clocks, overdue and due-this-week rights requests, required DPIAs not
  done, template decisions, fiches awaiting validation.
* A referent's figures (fiches to complete, template decisions, the organisation's requests) and an
  RSSI's (breaches) are those of the active organisation only.

Each figure says how many items, in how many organisations, and which one when they all belong to
one: the card links straight to the filtered list when the items are all in the active organisation,
to the portfolio filtered on the organisations that hold them otherwise. The conditions are those of
the lists' filters (registers.services.queries, .rights, .breaches): a figure and its list agree.

A fixed number of queries whatever the number of organisations: one aggregate per kind of item
(fiches, requests, breaches), grouped by organisation and then summed, and one for the most urgent
breaches. Unscoped, with the organisations named explicitly: a DPO's figures cross his organisations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select

from accounts.models import Organisation, User
from core.db import today, utcnow
from core.extensions import db
from core.tenancy import UNSCOPED
from registers.models import Breach, NotificationDecision, Processor, RegisterFigures, RightsRequest
from registers.services import breaches, processors, rights
from registers.services.portfolio import served_ids

URGENT_BREACHES = 5  # the card lists this many pending breaches, most urgent first


@dataclass(frozen=True)
class Figure:
    """How many items, in how many organisations, and the organisation when there is just one."""

    count: int = 0
    organisations: int = 0
    organisation_id: int | None = None

    def within(self, org_id: int | None) -> bool:
        """Whether every item belongs to ``org_id`` (then its list shows them all)."""
        return self.count == 0 or (self.organisations == 1 and self.organisation_id == org_id)


@dataclass(frozen=True)
class UrgentBreach:
    id: int
    reference: str
    title: str
    organisation_id: int
    organisation_name: str
    clock: breaches.BreachClock


@dataclass(frozen=True)
class BreachWatch:
    open: Figure
    pending: Figure
    urgent: list[UrgentBreach]


@dataclass(frozen=True)
class Figures:
    """The figures of one scope (an organisation, or the organisations a DPO serves)."""

    organisations: int  # in the scope
    fiches: Mapping[str, Figure] = field(default_factory=dict)
    requests: Mapping[str, Figure] = field(default_factory=dict)
    processors: Figure = field(default_factory=lambda: Figure())  # to complete or to review


def _scope(user: User | None, org_id: int | None) -> Any:
    """The organisation ids counted: the DPO's served organisations (a subquery), or one."""
    return served_ids(user) if user is not None else [org_id]


def _figures(stats: Any, names: tuple[str, ...]) -> Select[Any]:
    """Per figure: the items' total, the organisations holding some, the smallest of their ids."""
    columns = []
    for name in names:
        held = stats.c[name] > 0
        columns += [
            func.coalesce(func.sum(stats.c[name]), 0),
            func.count().filter(held),
            func.min(stats.c.org_id).filter(held),
        ]
    return select(*columns)


def _read(stmt: Select[Any], names: tuple[str, ...]) -> dict[str, Figure]:
    # unscoped: the organisations are named by the statement (module docstring)
    row = db.session.execute(stmt.execution_options(**UNSCOPED)).one()
    return {
        name: Figure(int(row[3 * i] or 0), int(row[3 * i + 1] or 0), row[3 * i + 2])
        for i, name in enumerate(names)
    }


# The home page's fiche figures: columns of RegisterFigures, kept by the database with the
# conditions of registers.services.queries (is_incomplete, is_awaiting_validation,
# is_template_decision, is_dpia_missing) — the lists the figures open use the same conditions.
FICHE_COLUMNS = {
    "incomplete": RegisterFigures.incomplete,
    "validation": RegisterFigures.awaiting_validation,
    "template": RegisterFigures.template_decisions,
    "dpia": RegisterFigures.dpia_missing,
}


def fiche_figures(scope: Any, names: tuple[str, ...]) -> dict[str, Figure]:
    """``names`` among :data:`FICHE_COLUMNS`, over the register fiches of ``scope``: read from the
    figures the database keeps (one row an organisation), not from the fiches."""
    rf = RegisterFigures
    stats = (
        select(rf.organisation_id.label("org_id"), *(FICHE_COLUMNS[n].label(n) for n in names))
        .where(rf.organisation_id.in_(scope))
        .subquery()
    )
    return _read(_figures(stats, names), names)


def request_figures(scope: Any) -> dict[str, Figure]:
    """Open, overdue and due-this-week rights requests of ``scope`` (France's calendar, as the list)."""
    rr = RightsRequest
    today_ = rights.local_today()
    names = ("open", "overdue", "week")
    stats = (
        select(
            rr.organisation_id.label("org_id"),
            func.count().label("open"),
            func.count().filter(rights.is_overdue(today_)).label("overdue"),
            func.count().filter(rights.is_due_this_week(today_)).label("week"),
        )
        .where(rr.organisation_id.in_(scope), rr.is_open.is_(True))
        .group_by(rr.organisation_id)
        .subquery()
    )
    return _read(_figures(stats, names), names)


def processor_figures(scope: Any) -> Figure:
    """Processors of ``scope`` to complete or whose review date has passed (the list's
    ``state=to_complete`` filter: the same condition)."""
    p = Processor
    stats = (
        select(p.organisation_id.label("org_id"), func.count().label("processors"))
        .where(p.organisation_id.in_(scope), processors.needs_work(today()))
        .group_by(p.organisation_id)
        .subquery()
    )
    return _read(_figures(stats, ("processors",)), ("processors",))["processors"]


def breach_watch(scope: Any, now: datetime | None = None) -> BreachWatch:
    """Open breaches, those still awaiting the CNIL decision, and the most urgent of them."""
    b = Breach
    names = ("open", "pending")
    pending = b.cnil_decision == NotificationDecision.PENDING
    stats = (
        select(
            b.organisation_id.label("org_id"),
            func.count().label("open"),
            func.count().filter(pending).label("pending"),
        )
        .where(b.organisation_id.in_(scope), b.is_closed.is_(False))
        .group_by(b.organisation_id)
        .subquery()
    )
    figures = _read(_figures(stats, names), names)
    urgent_stmt = (
        select(b.id, b.reference, b.title, b.discovered_at, b.organisation_id, Organisation.name)
        .join(Organisation, Organisation.id == b.organisation_id)
        .where(b.organisation_id.in_(scope), b.is_closed.is_(False), pending)
        .order_by(b.discovered_at, b.id)
        .limit(URGENT_BREACHES)
        # unscoped: the organisations are named by the statement (module docstring)
        .execution_options(**UNSCOPED)
    )
    now = now or utcnow()
    urgent = [
        UrgentBreach(r[0], r[1], r[2], r[4], r[5], breaches.pending_clock(r[3], now))
        for r in db.session.execute(urgent_stmt)
    ]
    return BreachWatch(figures["open"], figures["pending"], urgent)


def dpo_figures(user: User) -> Figures:
    """The DPO's day, over every organisation he serves."""
    scope = _scope(user, None)
    # unscoped: memberships only
    served = db.session.scalar(
        select(func.count()).select_from(served_ids(user).subquery()).execution_options(**UNSCOPED)
    )
    return Figures(
        organisations=int(served or 0),
        fiches=fiche_figures(scope, ("dpia", "template", "validation")),
        requests=request_figures(scope),
        processors=processor_figures(scope),
    )


def referent_figures(org_id: int, user_id: int | None = None) -> Figures:
    """A referent's day, in the active organisation; ``user_id``: the open requests given to him
    (``requests["mine"]``, as the list filtered on ``assigned=me`` shows them)."""
    scope = [org_id]
    requests = request_figures(scope)
    if user_id is not None:
        rr = RightsRequest
        mine = db.session.scalar(
            select(func.count()).where(
                rr.organisation_id == org_id, rr.is_open.is_(True), rr.assigned_to_id == user_id
            )
        )
        requests["mine"] = Figure(int(mine or 0), 1 if mine else 0, org_id if mine else None)
    return Figures(
        organisations=1,
        fiches=fiche_figures(scope, ("incomplete", "template")),
        requests=requests,
        processors=processor_figures(scope),
    )


def breach_figures(user: User | None, org_id: int | None) -> BreachWatch:
    """The breaches card: a DPO's served organisations (``user``), else the active one."""
    return breach_watch(_scope(user, org_id))


__all__ = [
    "FICHE_COLUMNS",
    "BreachWatch",
    "Figure",
    "Figures",
    "UrgentBreach",
    "breach_figures",
    "breach_watch",
    "dpo_figures",
    "fiche_figures",
    "referent_figures",
    "request_figures",
]
