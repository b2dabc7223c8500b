"""The hygiene self-assessment: an organisation rates itself, on a date, against the 42 measures of
ANSSI's hygiene guide (risks.reference), and follows its maturity from one assessment to the next.

* **Answers.** Applied, partially applied, not applied or not applicable, the strengthened level met
  (for the 22 measures that have one), a comment, an evidence (a link or a reference). A new
  assessment starts from the previous one's answers: the organisation changes what moved.
* **Scores.** Per chapter and overall, the share of the measures that apply: applied counts 1,
  partially 0.5, not applied or not yet answered 0; "not applicable" is left out. An assessment's
  answers are read in one query; the syndicate's ranking sums them in SQL (two queries for 5,000
  members).
* **Comparison** of two assessments: the scores side by side and the measures whose answer changed.
* **The syndicate's view** ranks its members by the overall score of their latest assessment; a member
  sees only itself (tenancy: the query names the syndicate's members explicitly).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Float, case, cast, func, insert, select

from accounts.models import Organisation, User
from core import audit
from core.concurrency import check_version, flush_or_conflict
from core.db import local_today, utcnow
from core.extensions import db
from core.forms import FieldError, enum_value, raise_field_errors, text_value
from core.tenancy import UNSCOPED, scoped
from risks import reference as ref
from risks.models import HygieneAnswer, HygieneAssessment, HygieneStatus

MAX_TEXT = 2_000
AUDITED_FIELDS = ("assessed_on", "note")


def measures() -> tuple[ref.HygieneMeasure, ...]:
    return ref.hygiene_measures()


def assessments(org_id: int) -> list[HygieneAssessment]:
    """The organisation's assessments, latest first."""
    a = HygieneAssessment
    return list(
        db.session.scalars(
            scoped(select(a), a).where(a.organisation_id == org_id).order_by(a.assessed_on.desc())
        )
    )


def answers(assessment: HygieneAssessment) -> dict[int, HygieneAnswer]:
    h = HygieneAnswer
    rows = db.session.scalars(
        select(h)
        .where(h.assessment_id == assessment.id, h.organisation_id == assessment.organisation_id)
        .execution_options(**UNSCOPED)  # unscoped: the assessment's own answers (the demo has no request)
    )
    return {a.measure: a for a in rows}


def create_assessment(
    org: Organisation, actor: User | None, assessed_on: date | None, note: str | None = None
) -> HygieneAssessment:
    """A new assessment on ``assessed_on`` (today by default), its answers copied from the latest
    earlier one (or all to answer)."""
    on = assessed_on or local_today()
    errors = []
    if on > local_today():
        errors.append(
            FieldError("assessed_on", _("Une auto-évaluation ne peut pas être datée dans le futur."))
        )
    a = HygieneAssessment
    taken = db.session.scalar(
        select(a.id).where(a.organisation_id == org.id, a.assessed_on == on).execution_options(**UNSCOPED)
    )  # unscoped: filtered on the organisation explicitly
    if taken is not None:
        errors.append(FieldError("assessed_on", _("Une auto-évaluation existe déjà à cette date.")))
    raise_field_errors(errors)
    previous = db.session.scalar(
        select(a)
        .where(a.organisation_id == org.id, a.assessed_on < on)
        .order_by(a.assessed_on.desc())
        .limit(1)
        .execution_options(**UNSCOPED)  # unscoped: filtered on the organisation explicitly
    )
    assessment = HygieneAssessment(organisation_id=org.id, assessed_on=on, note=text_value(note, MAX_TEXT))
    with audit.audited(org.id, actor, "hygiene.create", assessment, AUDITED_FIELDS):
        db.session.add(assessment)
    before = answers(previous) if previous is not None else {}
    db.session.execute(
        insert(HygieneAnswer),
        [
            {
                "organisation_id": org.id,
                "assessment_id": assessment.id,
                "measure": m.number,
                "status": before[m.number].status if m.number in before else None,
                "reinforced": before[m.number].reinforced if m.number in before else False,
                "comment": before[m.number].comment if m.number in before else None,
                "evidence": before[m.number].evidence if m.number in before else None,
            }
            for m in measures()
        ],
    )
    return assessment


def save_answers(
    assessment: HygieneAssessment,
    actor: User | None,
    data: Mapping[str, Any],
    rows: Iterable[Mapping[str, Any]],
) -> HygieneAssessment:
    """Store the assessment's note and its answers (``rows``: measure, status, reinforced, comment,
    evidence); ``data`` carries the ``version`` the form was loaded with (EditConflict when stale)."""
    check_version(assessment, data.get("version"))
    by_measure = {m.number: m for m in measures()}
    errors: list[FieldError] = []
    clean = {}
    for row in rows:
        number = int(row.get("measure") or 0)
        if number not in by_measure:
            continue
        status = enum_value(HygieneStatus, row.get("status"), "answers", errors, required=False)
        comment, evidence = text_value(row.get("comment"), MAX_TEXT), text_value(row.get("evidence"), 500)
        if (comment and len(comment) > MAX_TEXT) or (evidence and len(evidence) > 500):
            errors.append(FieldError("answers", _("Mesure %(n)s : texte trop long.", n=number)))
        reinforced = bool(row.get("reinforced")) and by_measure[number].reinforced
        if reinforced and status is not HygieneStatus.IMPLEMENTED:
            errors.append(
                FieldError(
                    "answers", _("Mesure %(n)s : le niveau renforcé suppose la mesure appliquée.", n=number)
                )
            )
        clean[number] = (status, reinforced, comment, evidence)
    raise_field_errors(errors)
    stored = answers(assessment)
    changes: dict[str, tuple[Any, Any]] = {}
    with audit.audited(assessment.organisation_id, actor, "hygiene.update", assessment, AUDITED_FIELDS):
        assessment.note = text_value(data.get("note"), MAX_TEXT)
        for number, (status, reinforced, comment, evidence) in clean.items():
            answer = stored.get(number)
            if answer is None:
                continue
            before = (
                answer.status.value if answer.status else None,
                answer.reinforced,
                answer.comment,
                answer.evidence,
            )
            after = (status.value if status else None, reinforced, comment, evidence)
            if before != after:
                answer.status, answer.reinforced, answer.comment, answer.evidence = (
                    status,
                    reinforced,
                    comment,
                    evidence,
                )
                changes[f"measure_{number}"] = (before[0], after[0])
        assessment.updated_at = utcnow()  # an UPDATE even when only answers changed: the version moves
        flush_or_conflict(assessment)
    if changes:
        audit.record(assessment.organisation_id, actor, "hygiene.answers", assessment, changes)
    return assessment


# --- scores ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Score:
    applicable: int  # measures that apply (not "not applicable")
    points: float  # 1 per applied measure, 0.5 per partial one
    unanswered: int

    @property
    def rate(self) -> int:
        return round(100 * self.points / self.applicable) if self.applicable else 0


@dataclass(frozen=True)
class Scores:
    chapters: dict[str, Score]
    overall: Score
    reinforced: int  # measures at the strengthened level


def _points() -> Any:
    s = HygieneAnswer.status
    return func.sum(case((s == HygieneStatus.IMPLEMENTED, 1.0), (s == HygieneStatus.PARTIAL, 0.5), else_=0.0))


def scores(assessment_ids: Iterable[int]) -> dict[int, Scores]:
    """The scores of several assessments (one grouped query)."""
    ids = list(assessment_ids)
    if not ids:
        return {}
    chapter_of = {m.number: m.chapter for m in measures()}
    h = HygieneAnswer
    rows = db.session.execute(
        scoped(
            select(
                h.assessment_id,
                h.measure,
                h.status,
                h.reinforced,
            ),
            h,
        ).where(h.assessment_id.in_(ids))
    )
    per: dict[int, dict[str, list[float | None]]] = {i: {} for i in ids}
    reinforced = dict.fromkeys(ids, 0)
    unanswered: dict[int, dict[str, int]] = {i: {} for i in ids}
    for assessment_id, measure, status, is_reinforced in rows:
        chapter = chapter_of.get(int(measure))
        if chapter is None:
            continue
        value = HygieneStatus(status).score if status is not None else 0.0
        per[assessment_id].setdefault(chapter, []).append(value)
        if status is None:
            unanswered[assessment_id][chapter] = unanswered[assessment_id].get(chapter, 0) + 1
        reinforced[assessment_id] += int(bool(is_reinforced))
    out = {}
    for i in ids:
        chapters = {}
        for chapter in ref.hygiene_chapters():
            values = per[i].get(chapter.id, [])
            counted = [v for v in values if v is not None]
            chapters[chapter.id] = Score(len(counted), sum(counted), unanswered[i].get(chapter.id, 0))
        overall = Score(
            sum(c.applicable for c in chapters.values()),
            sum(c.points for c in chapters.values()),
            sum(c.unanswered for c in chapters.values()),
        )
        out[i] = Scores(chapters, overall, reinforced[i])
    return out


@dataclass(frozen=True)
class Change:
    measure: ref.HygieneMeasure
    before: HygieneStatus | None
    after: HygieneStatus | None


def compare(older: HygieneAssessment, newer: HygieneAssessment) -> list[Change]:
    """The measures whose answer moved between two assessments."""
    a, b = answers(older), answers(newer)
    out = []
    for m in measures():
        x = a[m.number].status if m.number in a else None
        y = b[m.number].status if m.number in b else None
        if x != y:
            out.append(Change(m, x, y))
    return out


@dataclass(frozen=True)
class MemberScore:
    organisation_id: int
    name: str
    assessed_on: date | None
    rate: int | None  # None: no assessment yet


def members_ranking(syndicate: Organisation) -> list[MemberScore]:
    """The syndicate's members (itself first) by the overall score of their latest assessment, best
    first, then those without one (two queries whatever the number of members)."""
    a, h = HygieneAssessment, HygieneAnswer
    members = select(Organisation.id).where(
        (Organisation.syndicate_id == syndicate.id) | (Organisation.id == syndicate.id),
        Organisation.left_on.is_(None),
    )
    latest = (
        select(a.organisation_id, func.max(a.assessed_on).label("on"))
        .where(a.organisation_id.in_(members))
        .group_by(a.organisation_id)
        .subquery()
    )
    applicable = func.sum(case((h.status == HygieneStatus.NOT_APPLICABLE, 0), else_=1))
    rows = db.session.execute(
        select(a.organisation_id, a.assessed_on, _points(), cast(applicable, Float))
        .join(latest, (latest.c.organisation_id == a.organisation_id) & (latest.c.on == a.assessed_on))
        .join(h, h.assessment_id == a.id)
        .group_by(a.organisation_id, a.assessed_on)
        .execution_options(**UNSCOPED)  # unscoped: the syndicate's members, named explicitly
    ).all()
    by_org = {
        int(org_id): (on, round(100 * float(points or 0) / float(n)) if n else 0)
        for org_id, on, points, n in rows
    }
    names = db.session.execute(
        select(Organisation.id, Organisation.name)
        .where(Organisation.id.in_(members))
        .order_by(Organisation.sort_name)
        .execution_options(**UNSCOPED)  # unscoped: the syndicate's members, named explicitly
    ).all()
    ranked = [MemberScore(int(i), n, *by_org.get(int(i), (None, None))) for i, n in names]
    return sorted(ranked, key=lambda r: (r.rate is None, -(r.rate or 0), r.name))


def to_complete(org_id: int) -> int | None:
    """Answers left blank in the organisation's latest assessment (None: no assessment yet)."""
    a = HygieneAssessment
    latest = db.session.scalar(
        select(a.id)
        .where(a.organisation_id == org_id)
        .order_by(a.assessed_on.desc())
        .limit(1)
        .execution_options(**UNSCOPED)  # unscoped: filtered on the organisation explicitly
    )
    if latest is None:
        return None
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(HygieneAnswer)
            .where(HygieneAnswer.assessment_id == latest, HygieneAnswer.status.is_(None))
            .execution_options(**UNSCOPED)  # unscoped: the assessment found above
        )
        or 0
    )
