"""The weekly SMSI review (SIIM94 has held it every week since 2020): the agenda of a week, computed
from the incident log, the corrective actions and the breaches the incidents opened, and the
meeting's minutes, the only thing stored (:class:`smsi.models.WeeklyReview`).

A week runs Monday to Sunday, in France's calendar. The agenda of a week:

* incidents detected during the week, incidents closed during it, and those changed during it
  (neither detected nor closed then) — with the incidents still open at its end;
* actions due during the week and still open, actions overdue at its end, actions whose
  effectiveness was checked during it;
* breaches opened from the organisation's incidents whose CNIL decision is still pending;
* the actions the review's decisions created.

A decision becomes an action through the action form, opened from the review's page once its
minutes are saved: the action's origin is the review of that week, and it keeps the review's id
(``Action.review_id``, checked to be one of the organisation's reviews by
:mod:`smsi.services.actions`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import Row, and_, func, or_, select

from accounts.models import Organisation, User
from core import audit
from core.concurrency import check_version, flush_or_conflict
from core.db import PARIS, local_today
from core.extensions import db
from core.forms import FieldError, raise_field_errors
from core.tenancy import scoped
from registers.services import breaches as register_breaches
from smsi.models import Action, ActionStatus, Incident, WeeklyReview

FIELDS = ("held_on", "attendees", "minutes", "decisions")
MAX_TEXT = 20_000


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def week_bounds(week_start: date) -> tuple[datetime, datetime]:
    """The week's first and last instants (Monday 00:00 to next Monday 00:00, Paris time) in UTC."""
    start = datetime.combine(week_start, time(), tzinfo=PARIS).astimezone(UTC)
    end = datetime.combine(week_start + timedelta(days=7), time(), tzinfo=PARIS).astimezone(UTC)
    return start, end


@dataclass
class Agenda:
    week_start: date
    # rows of INCIDENT_COLUMNS and of ACTION_COLUMNS with the owner's name (``owner_name``)
    opened: list[Row[Any]]
    changed: list[Row[Any]]
    closed: list[Row[Any]]
    still_open: list[Row[Any]]
    actions_due: list[Row[Any]]
    actions_overdue: list[Row[Any]]
    actions_checked: list[Row[Any]]
    pending_breaches: list[Any]  # registers.services.breaches.IncidentBreach
    decided: list[Row[Any]] = field(default_factory=list)  # the actions the review's decisions created
    totals: dict[str, int] = field(default_factory=dict)  # each list's full size (the lists are cut)

    def more(self, name: str) -> int:
        """How many rows of the list ``name`` are not shown."""
        return max(self.totals.get(name, 0) - len(getattr(self, name)), 0)

    @property
    def week_end(self) -> date:
        return self.week_start + timedelta(days=6)


PAGE_LIMIT = 50  # rows of each list on the review's page (the PDF prints up to 200)
# What the page and the PDF show of a listed incident and action (rows of these, not whole objects).
INCIDENT_COLUMNS = (
    Incident.id,
    Incident.reference,
    Incident.title,
    Incident.severity,
    Incident.status,
    Incident.detected_at,
    Incident.has_personal_data,
)
ACTION_COLUMNS = (Action.id, Action.reference, Action.title, Action.due_on, Action.checked_on, Action.status)


def agenda(org: Organisation, week_start: date, *, limit: int = 200) -> Agenda:
    """The agenda of ``org``'s review for the week starting ``week_start`` (a Monday): each list cut
    at ``limit`` rows, its full size in ``Agenda.totals`` (two counting queries)."""
    start, end = week_bounds(week_start)
    last_day = week_start + timedelta(days=6)
    i = Incident
    # The agenda shows a few columns of each row: read those alone (no whole row, no relationship,
    # no object to track), a list's rows in one query — the owner's name joined, not loaded apart.
    in_week = scoped(select(*INCIDENT_COLUMNS), i).where(i.organisation_id == org.id)
    detected = and_(i.detected_at >= start, i.detected_at < end)
    closed_in = and_(i.closed_at >= start, i.closed_at < end)
    changed_in = and_(
        i.updated_at >= start, i.updated_at < end, ~detected, or_(i.closed_at.is_(None), ~closed_in)
    )
    open_at_end = and_(i.detected_at < end, or_(i.closed_at.is_(None), i.closed_at >= end))
    opened = list(db.session.execute(in_week.where(detected).order_by(i.detected_at).limit(limit)))
    closed = list(db.session.execute(in_week.where(closed_in).order_by(i.closed_at).limit(limit)))
    changed = list(db.session.execute(in_week.where(changed_in).order_by(i.updated_at.desc()).limit(limit)))
    still_open = list(
        db.session.execute(in_week.where(open_at_end).order_by(i.severity.desc(), i.detected_at).limit(limit))
    )
    a = Action
    acts = (
        scoped(select(*ACTION_COLUMNS, User.full_name.label("owner_name")), a)
        .outerjoin(User, User.id == a.owner_id)
        .where(a.organisation_id == org.id)
    )
    due_in = and_(a.is_open.is_(True), a.due_on >= week_start, a.due_on <= last_day)
    overdue_at = and_(a.is_open.is_(True), a.due_on < week_start)
    checked_in = and_(
        a.status.in_((ActionStatus.EFFECTIVE, ActionStatus.INEFFECTIVE)),
        a.checked_on >= week_start,
        a.checked_on <= last_day,
    )
    due = list(db.session.execute(acts.where(due_in).order_by(a.due_on, a.id).limit(limit)))
    # The actions decided at this week's review (by its id: the index on Action.review_id).
    the_review = (
        scoped(select(WeeklyReview.id), WeeklyReview)
        .where(WeeklyReview.organisation_id == org.id, WeeklyReview.week_start == week_start)
        .scalar_subquery()
    )
    decided = list(
        db.session.execute(acts.where(a.review_id == the_review).order_by(a.due_on, a.id).limit(limit))
    )
    overdue = list(db.session.execute(acts.where(overdue_at).order_by(a.due_on, a.id).limit(limit)))
    checked = list(db.session.execute(acts.where(checked_in).order_by(a.checked_on, a.id).limit(limit)))
    # Counted among the rows some list can hold, each condition served by an index (the detection,
    # closing and update dates; open actions by due date, checks by date): not the whole log.
    counts = db.session.execute(
        scoped(
            select(
                func.count().filter(detected),
                func.count().filter(closed_in),
                func.count().filter(changed_in),
                func.count().filter(open_at_end),
            ),
            i,
        ).where(
            i.organisation_id == org.id,
            or_(
                detected,
                i.is_open.is_(True),
                i.closed_at >= start,
                and_(i.updated_at >= start, i.updated_at < end),
            ),
        )
    ).one()
    action_counts = db.session.execute(
        scoped(
            select(
                func.count().filter(due_in), func.count().filter(overdue_at), func.count().filter(checked_in)
            ),
            a,
        ).where(
            a.organisation_id == org.id,
            or_(a.is_open.is_(True), and_(a.checked_on >= week_start, a.checked_on <= last_day)),
        )
    ).one()
    decided_total = len(decided)
    if decided_total == limit:  # cut: count them all (rarely: a review decides a handful)
        decided_total = db.session.scalar(
            scoped(select(func.count(a.id)), a).where(a.organisation_id == org.id, a.review_id == the_review)
        )
    totals = dict(
        zip(
            (
                "opened",
                "closed",
                "changed",
                "still_open",
                "actions_due",
                "actions_overdue",
                "actions_checked",
                "decided",
            ),
            (int(n) for n in (*counts, *action_counts, decided_total or 0)),
            strict=True,
        )
    )
    # Every open incident with personal data, not only the listed ones: their breaches are on the agenda.
    with_data = list(
        db.session.scalars(
            scoped(select(i.id), i).where(
                i.organisation_id == org.id, open_at_end, i.has_personal_data.is_(True)
            )
        )
    )
    pending = [
        b
        for b in register_breaches.breaches_of_incidents(with_data)  # one query for the week
        if not b.is_closed and b.clock.is_running
    ]
    return Agenda(
        week_start,
        opened,
        changed,
        closed,
        still_open,
        due,
        overdue,
        checked,
        pending,
        decided=decided,
        totals=totals,
    )


def minutes_of(org_id: int, week_start: date) -> WeeklyReview | None:
    return db.session.scalar(
        scoped(select(WeeklyReview), WeeklyReview).where(
            WeeklyReview.organisation_id == org_id, WeeklyReview.week_start == week_start
        )
    )


def review_titles(ids: Iterable[int]) -> dict[int, str]:
    """The journal's name of each review among ``ids``: "Revue de la semaine du …" (one query)."""
    ids = {int(i) for i in ids}
    if not ids:
        return {}
    rows = db.session.execute(
        scoped(select(WeeklyReview.id, WeeklyReview.week_start), WeeklyReview).where(WeeklyReview.id.in_(ids))
    )
    return {r.id: _("Revue de la semaine du %(d)s", d=format_date(r.week_start)) for r in rows}


def save_minutes(
    org: Organisation, actor: User | None, week_start: date, data: Mapping[str, Any]
) -> WeeklyReview:
    """Write (or rewrite, with the version the form showed) the minutes of a week's review."""
    week_start = monday_of(week_start)
    review = minutes_of(org.id, week_start)
    if review is not None:
        check_version(review, data.get("version"))
    errors: list[FieldError] = []
    held = data.get("held_on")
    if held is not None and not (week_start <= held <= week_start + timedelta(days=6)):
        errors.append(FieldError("held_on", _("La réunion se tient pendant la semaine revue.")))
    if held is not None and held > local_today():
        errors.append(FieldError("held_on", _("La réunion ne peut pas être dans le futur.")))
    texts = {
        name: (str(data.get(name) or "").strip() or None) for name in ("attendees", "minutes", "decisions")
    }
    for name, text in texts.items():
        if text and len(text) > MAX_TEXT:
            errors.append(FieldError(name, _("%(n)s caractères au plus.", n=MAX_TEXT)))
    if not any(texts.values()):
        errors.append(FieldError("minutes", _("Le compte rendu est vide.")))
    raise_field_errors(errors)
    action = "review.update" if review is not None else "review.create"
    review = review or WeeklyReview(organisation_id=org.id, week_start=week_start)
    with audit.audited(org.id, actor, action, review, ("week_start", *FIELDS)):
        review.held_on = held
        for name, text in texts.items():
            setattr(review, name, text)
        if review.id is None:
            db.session.add(review)
        flush_or_conflict(review)
    return review
