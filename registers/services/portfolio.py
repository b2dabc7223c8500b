"""The mutualised DPO's portfolio: one row per organisation the DPO serves.

Figures come from indexed columns kept by the services (completeness, is_dpia_required,
has_model_update, due_on/is_open, is_closed/discovered_at), aggregated per organisation in SQL.
Sorted by name, only the page's organisations are aggregated; sorted by a figure, the aggregation
covers every organisation served (see bench/bench_registers.py for the cost at 5,000 organisations).

The statements are built once per process and sort (:func:`_statements`), with bound parameters for
the user, the search, today and the page: the page runs them, it does not rebuild (and re-key for
SQLAlchemy's statement cache) three nested aggregates on every request (bench/bench_http.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Date, Integer, Select, bindparam, case, func, select

from accounts.models import Membership, Organisation, User, membership_is_current
from core.db import today, utcnow
from core.extensions import db
from core.pagination import Page
from core.security import Role
from core.tenancy import UNSCOPED
from core.text import fold
from registers.models import (
    Breach,
    NotificationDecision,
    ProcessingActivity,
    Processor,
    RegisterFigures,
    RightsRequest,
)
from registers.services import breaches, processors, queries, rights

SORTS = ("name", "completeness", "to_review", "dpia", "requests", "deadline", "breaches")
# ``only``: the organisations holding at least one such item (the home page's figures link here).
ONLY = (
    "to_review",
    "dpia",
    "validation",
    "template",
    "requests",
    "overdue",
    "week",
    "breaches",
    "pending",
    "processors",
)


@dataclass(frozen=True)
class PortfolioRow:
    organisation_id: int
    name: str
    kind: str
    fiches: int
    completeness: int
    to_review: int
    dpia_missing: int
    open_requests: int
    next_due_on: date | None
    open_breaches: int
    oldest_pending_breach_at: datetime | None
    awaiting_validation: int = 0
    template_decisions: int = 0
    overdue_requests: int = 0
    week_requests: int = 0
    pending_breaches: int = 0

    @property
    def breach_deadline(self) -> datetime | None:
        if self.oldest_pending_breach_at is None:
            return None
        return breaches.notification_deadline(self.oldest_pending_breach_at)

    @property
    def breach_clock(self) -> breaches.BreachClock | None:
        """The 72 h clock of the organisation's oldest breach awaiting the CNIL decision."""
        if self.oldest_pending_breach_at is None:
            return None
        return breaches.pending_clock(self.oldest_pending_breach_at, utcnow())

    @property
    def is_request_overdue(self) -> bool:
        # Same rule and same (Paris) calendar as the rights-request pages.
        return self.next_due_on is not None and self.next_due_on < rights.local_today()

    @property
    def is_request_due_soon(self) -> bool:
        today_ = rights.local_today()
        return self.next_due_on is not None and today_ <= self.next_due_on <= today_ + timedelta(days=7)


def served_ids(user: User) -> Select[Any]:
    """Organisations where ``user`` is DPO (active membership, organisation still a member)."""
    return (
        select(Membership.organisation_id)
        .join(Organisation, Organisation.id == Membership.organisation_id)
        .where(
            Membership.user_id == user.id,
            Membership.role == Role.DPO,
            membership_is_current(),
            Organisation.left_on.is_(None),
        )
    )


FICHE_FIGURES = ("fiches", "completeness", "to_review", "dpia", "validation", "template")
REQUEST_FIGURES = ("requests", "next_due_on", "overdue", "week")
BREACH_FIGURES = ("breaches", "pending_at", "pending")


def _fiche_stats(org_ids: Any, figures: tuple[str, ...] = FICHE_FIGURES) -> Any:
    """Per organisation among ``org_ids``: fiches, completeness, to review, DPIA missing, awaiting
    validation, template decisions — or only ``figures`` (a sort needs one, and SQLite computes every
    aggregate asked for: over 250,000 fiches, all four cost twice as much as one). The conditions are
    the register list's filters (registers.services.queries). ``today`` is a bound parameter
    (:func:`_statements`)."""
    pa = ProcessingActivity
    columns = {
        "fiches": func.count(),
        "completeness": func.avg(pa.completeness),
        "to_review": func.count().filter(queries.is_to_review(bindparam("today", type_=Date))),
        "dpia": func.count().filter(queries.is_dpia_missing()),
        "validation": func.count().filter(queries.is_awaiting_validation()),
        "template": func.count().filter(queries.is_template_decision()),
    }
    return (
        select(pa.organisation_id.label("org_id"), *(columns[name].label(name) for name in figures))
        .where(pa.organisation_id.in_(org_ids), queries.in_register())
        .group_by(pa.organisation_id)
        .subquery("fiche_stats")
    )


def _request_stats(org_ids: Any, figures: tuple[str, ...] = REQUEST_FIGURES) -> Any:
    """Open requests, the nearest deadline, overdue and due within the week: the request list's
    filters, on France's calendar (bound parameters ``local_today`` and ``week_end``)."""
    rr = RightsRequest
    local_today = bindparam("local_today", type_=Date)
    columns = {
        "requests": func.count(),
        "next_due_on": func.min(rr.due_on),
        "overdue": func.count().filter(rights.is_overdue(local_today)),
        "week": func.count().filter(rights.is_due_this_week(local_today, bindparam("week_end", type_=Date))),
    }
    return (
        select(rr.organisation_id.label("org_id"), *(columns[name].label(name) for name in figures))
        .where(rr.organisation_id.in_(org_ids), rr.is_open.is_(True))
        .group_by(rr.organisation_id)
        .subquery("request_stats")
    )


def _breach_stats(org_ids: Any, figures: tuple[str, ...] = BREACH_FIGURES) -> Any:
    b = Breach
    pending = b.cnil_decision == NotificationDecision.PENDING
    columns = {
        "breaches": func.count(),
        "pending_at": func.min(b.discovered_at).filter(pending),
        "pending": func.count().filter(pending),
    }
    return (
        select(b.organisation_id.label("org_id"), *(columns[name].label(name) for name in figures))
        .where(b.organisation_id.in_(org_ids), b.is_closed.is_(False))
        .group_by(b.organisation_id)
        .subquery("breach_stats")
    )


class Portfolio(Page):
    """A page of portfolio rows (core.pagination.Page; ``rows`` reads better in the template)."""

    @property
    def rows(self) -> list[PortfolioRow]:
        return self.items


def _holding(only: str, scope: Any) -> Select[Any]:
    """The organisations among ``scope`` holding at least one ``only`` item: the condition of the
    list that the figure opens (registers.services.queries, .rights), as a semi-join read from the
    indexes. Dates are bound parameters (:func:`_statements`)."""
    if only in ("to_review", "dpia", "validation", "template"):
        pa = ProcessingActivity
        condition = {
            "to_review": lambda: queries.is_to_review(bindparam("today", type_=Date)),
            "dpia": queries.is_dpia_missing,
            "validation": queries.is_awaiting_validation,
            "template": queries.is_template_decision,
        }[only]()
        return select(pa.organisation_id).where(
            pa.organisation_id.in_(scope), queries.in_register(), condition
        )
    if only in ("requests", "overdue", "week"):
        rr = RightsRequest
        local_today = bindparam("local_today", type_=Date)
        condition = {
            "requests": lambda: rr.is_open.is_(True),
            "overdue": lambda: rights.is_overdue(local_today),
            "week": lambda: rights.is_due_this_week(local_today, bindparam("week_end", type_=Date)),
        }[only]()
        return select(rr.organisation_id).where(
            rr.organisation_id.in_(scope), rr.is_open.is_(True), condition
        )
    if only == "processors":
        return select(Processor.organisation_id).where(
            Processor.organisation_id.in_(scope), processors.needs_work(bindparam("today", type_=Date))
        )
    b = Breach
    held = select(b.organisation_id).where(b.organisation_id.in_(scope), b.is_closed.is_(False))
    return held.where(b.cnil_decision == NotificationDecision.PENDING) if only == "pending" else held


def _ordering(sort: str, scope: Any) -> tuple[Any, tuple[Any, ...]]:
    """The one aggregate a sort needs, and its ORDER BY (figures first, then the name)."""
    if sort in ("completeness", "dpia"):
        # Kept by the database for every organisation (RegisterFigures): no fiche read to rank.
        rf = RegisterFigures
        figure = (
            case((rf.fiches > 0, rf.completeness_total * 1.0 / rf.fiches), else_=0)
            if sort == "completeness"
            else rf.dpia_missing
        )
        stats = (
            select(rf.organisation_id.label("org_id"), figure.label(sort))
            .where(rf.organisation_id.in_(scope))
            .subquery("register_figures")
        )
        figure = func.coalesce(stats.c[sort], 0)
        key = (figure,) if sort == "completeness" else (figure.desc(),)
    elif sort == "to_review":
        stats = _fiche_stats(scope, (sort,))
        figure = func.coalesce(stats.c[sort], 0)
        key = (figure,) if sort == "completeness" else (figure.desc(),)
    elif sort in ("requests", "deadline"):
        stats = _request_stats(scope, ("requests",) if sort == "requests" else ("next_due_on",))
        key = (
            (func.coalesce(stats.c.requests, 0).desc(),)
            if sort == "requests"
            else (stats.c.next_due_on.is_(None), stats.c.next_due_on)
        )
    else:
        stats = _breach_stats(scope, ("breaches", "pending_at"))
        key = (stats.c.pending_at.is_(None), stats.c.pending_at, func.coalesce(stats.c.breaches, 0).desc())
    return stats, (*key, Organisation.sort_name, Organisation.id)


def _served(searched: bool) -> Select[Any]:
    """:func:`served_ids` with the user (``user_id``) and the search (``q``) as bound parameters."""
    stmt = (
        select(Membership.organisation_id)
        .join(Organisation, Organisation.id == Membership.organisation_id)
        .where(
            Membership.user_id == bindparam("user_id", type_=Integer),
            Membership.role == Role.DPO,
            membership_is_current(Membership, bindparam("today", type_=Date)),  # a cached statement
            Organisation.left_on.is_(None),
        )
    )
    return stmt.where(Organisation.sort_name.like(bindparam("q"))) if searched else stmt


@lru_cache(maxsize=len(SORTS) * 2 * (len(ONLY) + 1))
def _statements(sort: str, searched: bool, only: str = "") -> tuple[Select[Any], Select[Any], Select[Any]]:
    """(how many organisations, the page's organisations in order, the page's rows) for a sort, with
    or without a search, restricted or not to the organisations holding an ``only`` item; built
    once per process.

    Sorted by a figure, only that figure's aggregate runs over every organisation concerned (an
    index-only scan, see ix_processing_activities_figures); the other figures are computed for the
    page's organisations only. Restricted by ``only``, the organisations come from a semi-join on
    the items' condition, the sort's aggregate covers those organisations only, and the ordered
    query also reads the total (a window count: no second pass). Parameters: ``user_id``, ``q``,
    ``today``, ``local_today``, ``week_end``, ``offset``, ``limit``, ``ids``.
    Unscoped: the DPO's organisations, whichever is active (each one checked by its membership)."""
    scope = _served(searched)
    if only:
        scope = select(Organisation.id).where(
            Organisation.id.in_(scope), Organisation.id.in_(_holding(only, scope))
        )
    # unscoped: the DPO's organisations, whichever is active (docstring)
    count = select(func.count()).select_from(scope.subquery()).execution_options(**UNSCOPED)
    ids = select(Organisation.id, *((func.count().over(),) if only else ())).where(Organisation.id.in_(scope))
    if sort == "name":
        ids = ids.order_by(Organisation.sort_name, Organisation.id)
    else:
        stats, order = _ordering(sort, scope)
        ids = ids.outerjoin(stats, stats.c.org_id == Organisation.id).order_by(*order)
    ids = ids.offset(bindparam("offset", type_=Integer)).limit(bindparam("limit", type_=Integer))
    page_ids = bindparam("ids", expanding=True)
    fs, rs, bs = _fiche_stats(page_ids), _request_stats(page_ids), _breach_stats(page_ids)
    rows = (
        select(
            Organisation.id,
            Organisation.name,
            Organisation.kind,
            func.coalesce(fs.c.fiches, 0),
            func.coalesce(fs.c.completeness, 0),
            func.coalesce(fs.c.to_review, 0),
            func.coalesce(fs.c.dpia, 0),
            func.coalesce(rs.c.requests, 0),
            rs.c.next_due_on,
            func.coalesce(bs.c.breaches, 0),
            bs.c.pending_at,
            func.coalesce(fs.c.validation, 0),
            func.coalesce(fs.c.template, 0),
            func.coalesce(rs.c.overdue, 0),
            func.coalesce(rs.c.week, 0),
            func.coalesce(bs.c.pending, 0),
        )
        .outerjoin(fs, fs.c.org_id == Organisation.id)
        .outerjoin(rs, rs.c.org_id == Organisation.id)
        .outerjoin(bs, bs.c.org_id == Organisation.id)
        .where(Organisation.id.in_(page_ids))
    )
    # unscoped: the DPO's organisations, whichever is active (docstring)
    return count, ids.execution_options(**UNSCOPED), rows.execution_options(**UNSCOPED)


def portfolio(
    user: User, *, sort: str = "name", q: str = "", only: str = "", page: int = 1, per_page: int = 50
) -> Portfolio:
    """``only``: a key of :data:`ONLY` — the organisations holding at least one such item."""
    sort = sort if sort in SORTS else "name"
    only = only if only in ONLY else ""
    count_stmt, ids_stmt, rows_stmt = _statements(sort, bool(q), only)
    today_, local_today = today(), rights.local_today()
    dates = {
        "today": today_,
        "local_today": local_today,
        "week_end": local_today + timedelta(days=rights.WEEK),
    }
    params: dict[str, Any] = {"user_id": user.id, **dates}  # a statement reads the ones it holds
    if q:
        params["q"] = f"%{fold(q)}%"
    if only:  # the ordered query reads the total too; a page past the end asks for it apart
        page = max(1, page)
        ranked = {**params, "offset": (page - 1) * per_page, "limit": per_page}
        found = db.session.execute(ids_stmt, ranked).all()
        if found or page == 1:
            total = found[0][1] if found else 0
        else:
            total = db.session.scalar(count_stmt, params) or 0
            page = max(1, -(-total // per_page))
            found = db.session.execute(ids_stmt, {**ranked, "offset": (page - 1) * per_page}).all()
        page_ids = [row[0] for row in found]
    else:
        total = db.session.scalar(count_stmt, params) or 0
        page = max(1, min(page, max(1, -(-total // per_page))))
        ranked = {**params, "offset": (page - 1) * per_page, "limit": per_page}
        page_ids = list(db.session.scalars(ids_stmt, ranked))
    position = {org_id: i for i, org_id in enumerate(page_ids)}
    kinds: dict[Any, str] = {}  # each kind's label translated once, not once a row
    rows = sorted(
        (
            PortfolioRow(
                organisation_id=r[0],
                name=r[1],
                kind=kinds.get(r[2]) or kinds.setdefault(r[2], _kind_label(r[2])),
                fiches=int(r[3]),
                completeness=round(float(r[4] or 0)),
                to_review=int(r[5]),
                dpia_missing=int(r[6]),
                open_requests=int(r[7]),
                next_due_on=r[8],
                open_breaches=int(r[9]),
                oldest_pending_breach_at=_aware(r[10]),
                awaiting_validation=int(r[11]),
                template_decisions=int(r[12]),
                overdue_requests=int(r[13]),
                week_requests=int(r[14]),
                pending_breaches=int(r[15]),
            )
            for r in db.session.execute(rows_stmt, {"ids": page_ids, **dates})
        ),
        key=lambda row: position[row.organisation_id],
    )
    return Portfolio(items=rows, total=total, page=page, per_page=per_page)


def _kind_label(kind: Any) -> str:
    return str(kind.label) if hasattr(kind, "label") else str(kind)


def _aware(value: Any) -> datetime | None:
    """MIN() over a UTCDateTime column comes back raw (naive on SQLite, maybe a string)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
