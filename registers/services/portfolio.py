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

from sqlalchemy import Date, Integer, Select, and_, bindparam, func, or_, select

from accounts.models import Membership, Organisation, User
from core.db import today, utcnow
from core.extensions import db
from core.pagination import Page
from core.security import Role
from core.tenancy import UNSCOPED
from core.text import fold
from registers.models import (
    ActivityStatus,
    Breach,
    DpiaStatus,
    NotificationDecision,
    ProcessingActivity,
    RightsRequest,
)
from registers.services import breaches, rights

SORTS = ("name", "completeness", "to_review", "dpia", "requests", "deadline", "breaches")


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

    @property
    def breach_deadline(self) -> datetime | None:
        if self.oldest_pending_breach_at is None:
            return None
        return breaches.notification_deadline(self.oldest_pending_breach_at)

    @property
    def breach_hours_left(self) -> int | None:
        deadline = self.breach_deadline
        return None if deadline is None else int((deadline - utcnow()).total_seconds() // 3600)

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
            Membership.revoked_at.is_(None),
            Organisation.left_on.is_(None),
        )
    )


FICHE_FIGURES = ("fiches", "completeness", "to_review", "dpia")


def _fiche_stats(org_ids: Any, figures: tuple[str, ...] = FICHE_FIGURES) -> Any:
    """Per organisation among ``org_ids``: fiches, completeness, to review, DPIA missing — or only
    ``figures`` (a sort needs one, and SQLite computes every aggregate asked for: over 250,000
    fiches, all four cost twice as much as one). ``today`` is a bound parameter (:func:`_statements`)."""
    pa = ProcessingActivity
    to_review = or_(
        pa.status == ActivityStatus.IN_REVIEW,
        pa.next_review_on < bindparam("today", type_=Date),
        pa.has_model_update.is_(True),
        pa.is_archive_proposed.is_(True),
    )
    columns = {
        "fiches": func.count(),
        "completeness": func.avg(pa.completeness),
        "to_review": func.count().filter(to_review),
        "dpia": func.count().filter(and_(pa.is_dpia_required.is_(True), pa.dpia_status != DpiaStatus.DONE)),
    }
    return (
        select(pa.organisation_id.label("org_id"), *(columns[name].label(name) for name in figures))
        .where(pa.organisation_id.in_(org_ids), pa.is_model.is_(False), pa.status != ActivityStatus.ARCHIVED)
        .group_by(pa.organisation_id)
        .subquery("fiche_stats")
    )


def _request_stats(org_ids: Any) -> Any:
    rr = RightsRequest
    return (
        select(
            rr.organisation_id.label("org_id"),
            func.count().label("requests"),
            func.min(rr.due_on).label("next_due_on"),
        )
        .where(rr.organisation_id.in_(org_ids), rr.is_open.is_(True))
        .group_by(rr.organisation_id)
        .subquery("request_stats")
    )


def _breach_stats(org_ids: Any) -> Any:
    b = Breach
    return (
        select(
            b.organisation_id.label("org_id"),
            func.count().label("breaches"),
            func.min(b.discovered_at)
            .filter(b.cnil_decision == NotificationDecision.PENDING)
            .label("pending_at"),
        )
        .where(b.organisation_id.in_(org_ids), b.is_closed.is_(False))
        .group_by(b.organisation_id)
        .subquery("breach_stats")
    )


class Portfolio(Page):
    """A page of portfolio rows (core.pagination.Page; ``rows`` reads better in the template)."""

    @property
    def rows(self) -> list[PortfolioRow]:
        return self.items


def _ordering(sort: str, scope: Any) -> tuple[Any, tuple[Any, ...]]:
    """The one aggregate a sort needs, and its ORDER BY (figures first, then the name)."""
    if sort in ("completeness", "to_review", "dpia"):
        stats = _fiche_stats(scope, (sort,))
        figure = func.coalesce(stats.c[sort], 0)
        key = (figure,) if sort == "completeness" else (figure.desc(),)
    elif sort in ("requests", "deadline"):
        stats = _request_stats(scope)
        key = (
            (func.coalesce(stats.c.requests, 0).desc(),)
            if sort == "requests"
            else (stats.c.next_due_on.is_(None), stats.c.next_due_on)
        )
    else:
        stats = _breach_stats(scope)
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
            Membership.revoked_at.is_(None),
            Organisation.left_on.is_(None),
        )
    )
    return stmt.where(Organisation.sort_name.like(bindparam("q"))) if searched else stmt


@lru_cache(maxsize=len(SORTS) * 2)
def _statements(sort: str, searched: bool) -> tuple[Select[Any], Select[Any], Select[Any]]:
    """(how many organisations, the page's organisations in order, the page's rows) for a sort, with
    or without a search; built once per process.

    Sorted by a figure, only that figure's aggregate runs over every organisation served (an
    index-only scan, see ix_processing_activities_figures); the other figures are computed for the
    page's organisations only. Parameters: ``user_id``, ``q``, ``today``, ``offset``, ``limit``, ``ids``.
    Unscoped: the DPO's organisations, whichever is active (each one checked by its membership)."""
    served = _served(searched)
    # unscoped: the DPO's organisations, whichever is active (docstring)
    count = select(func.count()).select_from(served.subquery()).execution_options(**UNSCOPED)
    ids = select(Organisation.id).where(Organisation.id.in_(served))
    if sort == "name":
        ids = ids.order_by(Organisation.sort_name, Organisation.id)
    else:
        stats, order = _ordering(sort, served)
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
        )
        .outerjoin(fs, fs.c.org_id == Organisation.id)
        .outerjoin(rs, rs.c.org_id == Organisation.id)
        .outerjoin(bs, bs.c.org_id == Organisation.id)
        .where(Organisation.id.in_(page_ids))
    )
    # unscoped: the DPO's organisations, whichever is active (docstring)
    return count, ids.execution_options(**UNSCOPED), rows.execution_options(**UNSCOPED)


def portfolio(user: User, *, sort: str = "name", q: str = "", page: int = 1, per_page: int = 50) -> Portfolio:
    sort = sort if sort in SORTS else "name"
    count_stmt, ids_stmt, rows_stmt = _statements(sort, bool(q))
    params: dict[str, Any] = {"user_id": user.id}
    if q:
        params["q"] = f"%{fold(q)}%"
    total = db.session.scalar(count_stmt, params) or 0
    page = max(1, min(page, max(1, -(-total // per_page))))
    today_ = today()
    ranked = {**params, "offset": (page - 1) * per_page, "limit": per_page}
    if sort == "to_review":
        ranked["today"] = today_
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
            )
            for r in db.session.execute(rows_stmt, {"ids": page_ids, "today": today_})
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
