"""The mutualised DPO's portfolio: one row per organisation the DPO serves.

Figures come from indexed columns kept by the services (completeness, is_dpia_required,
has_model_update, due_on/is_open, is_closed/discovered_at), aggregated per organisation in SQL.
Sorted by name, only the page's organisations are aggregated; sorted by a figure, the aggregation
covers every organisation served (see bench/bench_registers.py for the cost at 5,000 organisations).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, func, or_, select

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


def _fiche_stats(org_ids: Any) -> Any:
    pa = ProcessingActivity
    to_review = or_(
        pa.status == ActivityStatus.IN_REVIEW,
        pa.next_review_on < today(),
        pa.has_model_update.is_(True),
        pa.is_archive_proposed.is_(True),
    )
    return (
        select(
            pa.organisation_id.label("org_id"),
            func.count().label("fiches"),
            func.avg(pa.completeness).label("completeness"),
            func.count().filter(to_review).label("to_review"),
            func.count()
            .filter(and_(pa.is_dpia_required.is_(True), pa.dpia_status != DpiaStatus.DONE))
            .label("dpia"),
        )
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
        stats = _fiche_stats(scope)
        key = {
            "completeness": (func.coalesce(stats.c.completeness, 0),),
            "to_review": (func.coalesce(stats.c.to_review, 0).desc(),),
            "dpia": (func.coalesce(stats.c.dpia, 0).desc(),),
        }[sort]
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


def _page_ids(served: Any, sort: str, page: int, per_page: int) -> list[int]:
    """The organisations of the page, in order. Sorted by a figure, only that figure's aggregate
    runs over every organisation served (an index-only scan, see ix_processing_activities_figures);
    the other figures are computed for the page's organisations only."""
    stmt = select(Organisation.id).where(Organisation.id.in_(served))
    if sort == "name":
        stmt = stmt.order_by(Organisation.sort_name, Organisation.id)
    else:
        stats, order = _ordering(sort, served)
        stmt = stmt.outerjoin(stats, stats.c.org_id == Organisation.id).order_by(*order)
    return list(
        db.session.scalars(stmt.offset((page - 1) * per_page).limit(per_page).execution_options(**UNSCOPED))
    )


def portfolio(user: User, *, sort: str = "name", q: str = "", page: int = 1, per_page: int = 50) -> Portfolio:
    sort = sort if sort in SORTS else "name"
    served = served_ids(user)
    if q:
        served = served.where(Organisation.sort_name.like(f"%{fold(q)}%"))
    total = (
        db.session.scalar(select(func.count()).select_from(served.subquery()).execution_options(**UNSCOPED))
        or 0
    )
    page = max(1, min(page, max(1, -(-total // per_page))))
    page_ids = _page_ids(served, sort, page, per_page)
    fs, rs, bs = _fiche_stats(page_ids), _request_stats(page_ids), _breach_stats(page_ids)
    stmt = (
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
        .execution_options(**UNSCOPED)
    )
    position = {org_id: i for i, org_id in enumerate(page_ids)}
    rows = sorted(
        (
            PortfolioRow(
                organisation_id=r[0],
                name=r[1],
                kind=r[2].label if hasattr(r[2], "label") else str(r[2]),
                fiches=int(r[3]),
                completeness=round(float(r[4] or 0)),
                to_review=int(r[5]),
                dpia_missing=int(r[6]),
                open_requests=int(r[7]),
                next_due_on=r[8],
                open_breaches=int(r[9]),
                oldest_pending_breach_at=_aware(r[10]),
            )
            for r in db.session.execute(stmt)
        ),
        key=lambda row: position[row.organisation_id],
    )
    return Portfolio(items=rows, total=total, page=page, per_page=per_page)


def _aware(value: Any) -> datetime | None:
    """MIN() over a UTCDateTime column comes back raw (naive on SQLite, maybe a string)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
