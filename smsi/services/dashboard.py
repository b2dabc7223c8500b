"""The SMSI's dashboard (``/smsi/``) and the RSSI's weekly-review card: aggregates only, each read in
one query whatever the size of the log (counts grouped in the database; the response times read three
dates per incident of the last twelve months).

* **Open incidents by severity.**
* **Response times over twelve months**, by month of detection (France's calendar): the mean time from
  detection to containment — the first timeline entry of containment, eradication, recovery or
  closure (an incident resolved at once was contained then) — and to resolution — the first entry of
  recovery or closure. Incidents that have not reached a stage do not count in its mean; the count of
  incidents of each month is shown beside.
* **Corrective actions**: open, overdue, due within seven days, by priority; verified effective and
  found ineffective over twelve months.
* **Statement of Applicability**: implementation rate per theme (``smsi.services.soa``).
* **The weekly review**: this week's, whether its minutes are recorded, and the last one held.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, func, or_, select

from core.db import PARIS, local_today
from core.extensions import db
from core.tenancy import scoped
from smsi.models import (
    Action,
    ActionPriority,
    ActionStatus,
    Incident,
    IncidentEvent,
    Severity,
    TimelineKind,
    WeeklyReview,
)
from smsi.services import actions as action_service
from smsi.services import review as review_service

MONTHS = 12
CONTAINED_BY = (
    TimelineKind.CONTAINMENT,
    TimelineKind.ERADICATION,
    TimelineKind.RECOVERY,
    TimelineKind.CLOSURE,
)
RESOLVED_BY = (TimelineKind.RECOVERY, TimelineKind.CLOSURE)


@dataclass(frozen=True)
class OpenIncidents:
    by_severity: dict[Severity, int]
    with_personal_data: int

    @property
    def total(self) -> int:
        return sum(self.by_severity.values())

    @property
    def most_severe_first(self) -> list[tuple[Severity, int]]:
        return [(s, self.by_severity.get(s, 0)) for s in reversed(Severity)]


def open_incidents() -> OpenIncidents:
    """The active organisation's open incidents by severity, and those with personal data (one query)."""
    i = Incident
    rows = db.session.execute(
        scoped(select(i.severity, i.has_personal_data, func.count()), i)
        .where(i.is_open.is_(True))
        .group_by(i.severity, i.has_personal_data)
    ).all()
    by_severity = dict.fromkeys(Severity, 0)
    personal = 0
    for severity, has_personal_data, n in rows:
        by_severity[Severity(severity)] += int(n)
        if has_personal_data:
            personal += int(n)
    return OpenIncidents(by_severity, personal)


@dataclass
class MonthTimes:
    month: date  # the first day of the month
    detected: int = 0
    contained: list[float] = field(default_factory=list)  # hours, one per incident contained
    resolved: list[float] = field(default_factory=list)

    @staticmethod
    def _mean(values: list[float]) -> float | None:
        return round(sum(values) / len(values), 1) if values else None

    @property
    def mean_to_contain(self) -> float | None:
        return self._mean(self.contained)

    @property
    def mean_to_resolve(self) -> float | None:
        return self._mean(self.resolved)


def _month_starts(today: date, months: int) -> list[date]:
    first = today.replace(day=1)
    starts = [first]
    for _n in range(months - 1):
        first = (first - timedelta(days=1)).replace(day=1)
        starts.append(first)
    return starts[::-1]


def _first_event(kinds: tuple[TimelineKind, ...]):
    e = IncidentEvent
    return (
        select(func.min(e.at))
        .where(e.incident_id == Incident.id, e.kind.in_(kinds))
        .correlate(Incident)
        .scalar_subquery()
    )


def response_times(today: date | None = None, months: int = MONTHS) -> list[MonthTimes]:
    """Mean hours to contain and to resolve, by month of detection, over the last ``months`` months
    (the current one included), oldest first (one query; the index (incident_id, at) of the timeline
    serves both subqueries)."""
    today = today or local_today()
    starts = _month_starts(today, months)
    by_month = {m: MonthTimes(m) for m in starts}
    since = datetime.combine(starts[0], time(), tzinfo=PARIS).astimezone(UTC)
    i = Incident
    rows = db.session.execute(
        scoped(select(i.detected_at, _first_event(CONTAINED_BY), _first_event(RESOLVED_BY)), i).where(
            i.detected_at >= since
        )
    ).all()
    for detected_at, contained_at, resolved_at in rows:
        month = detected_at.astimezone(PARIS).date().replace(day=1)
        bucket = by_month.get(month)
        if bucket is None:  # detected "in the future" of today's calendar: not shown
            continue
        bucket.detected += 1
        for moment, values in ((contained_at, bucket.contained), (resolved_at, bucket.resolved)):
            if moment is not None:
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=UTC)
                values.append(max((moment - detected_at).total_seconds() / 3600, 0.0))
    return [by_month[m] for m in starts]


@dataclass(frozen=True)
class ActionFigures:
    open: int
    overdue: int
    week: int
    overdue_by_priority: dict[ActionPriority, int]
    effective_12m: int
    ineffective_open: int


def action_figures(today: date | None = None) -> ActionFigures:
    """The active organisation's corrective actions, counted in one grouped query."""
    on = today or local_today()
    a = Action
    year_ago = on - timedelta(days=365)
    rows = db.session.execute(
        scoped(
            select(
                a.priority,
                func.count().filter(a.is_open.is_(True)),
                func.count().filter(action_service.is_overdue(on)),
                func.count().filter(action_service.is_due_this_week(on)),
                func.count().filter(and_(a.status == ActionStatus.EFFECTIVE, a.checked_on >= year_ago)),
                func.count().filter(a.status == ActionStatus.INEFFECTIVE),
            ),
            a,
        )
        # Only the rows a figure counts — open ones (an ineffective action is reopened), and those
        # checked within the year — each served by an index, not the whole log of closed actions.
        .where(or_(a.is_open.is_(True), a.checked_on >= year_ago))
        .group_by(a.priority)
    ).all()
    overdue_by_priority = dict.fromkeys(ActionPriority, 0)
    totals = Counter[str]()
    for priority, open_, overdue, week, effective, ineffective in rows:
        overdue_by_priority[ActionPriority(priority)] += int(overdue)
        totals.update(open=int(open_), overdue=int(overdue), week=int(week), effective=int(effective))
        totals.update(ineffective=int(ineffective))
    return ActionFigures(
        totals["open"],
        totals["overdue"],
        totals["week"],
        overdue_by_priority,
        totals["effective"],
        totals["ineffective"],
    )


@dataclass(frozen=True)
class ReviewStatus:
    week_start: date  # this week's Monday
    this_week: WeeklyReview | None
    last_held: WeeklyReview | None

    @property
    def held_this_week(self) -> bool:
        return self.this_week is not None and self.this_week.held_on is not None


def review_status(org_id: int, today: date | None = None) -> ReviewStatus:
    """This week's review (its minutes, if recorded) and the last one held (two queries)."""
    monday = review_service.monday_of(today or local_today())
    last_held = db.session.scalar(
        scoped(select(WeeklyReview), WeeklyReview)
        .where(WeeklyReview.organisation_id == org_id, WeeklyReview.held_on.is_not(None))
        .order_by(WeeklyReview.week_start.desc())
        .limit(1)
    )
    this_week = last_held if last_held is not None and last_held.week_start == monday else None
    if this_week is None:
        this_week = review_service.minutes_of(org_id, monday)
    return ReviewStatus(monday, this_week, last_held)
