"""The hygiene self-assessment: a new assessment starts from the previous one, scores per chapter and
overall (partial = half, not applicable left out, unanswered = 0), the strengthened level only on an
applied measure, comparison, the syndicate's ranking of its members (a member sees only itself), the
pages (the referent fills his organisation's; a reader reads; another organisation's is 404; a stale
form keeps what was typed), the journal, the referent's home card."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from core.audit.models import AuditEvent
from core.db import local_today
from core.extensions import db
from core.forms import FieldError
from core.security import Role
from risks.models import HygieneAssessment, HygieneStatus
from risks.services import hygiene as svc
from tests.conftest import World, acting_as

TODAY = local_today()


def _rows(**statuses: Any) -> list[dict[str, Any]]:
    """All 42 rows unanswered, with ``m<n>=status`` (or (status, reinforced)) set."""
    rows = []
    for m in svc.measures():
        value = statuses.get(f"m{m.number}")
        status, reinforced = value if isinstance(value, tuple) else (value, False)
        rows.append(
            {
                "measure": m.number,
                "status": status,
                "reinforced": reinforced,
                "comment": None,
                "evidence": None,
            }
        )
    return rows


def test_scores_start_from_the_previous_and_compare(world: World, app: Flask) -> None:
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        org = db.session.merge(world.a.syndicate)
        first = svc.create_assessment(org, None, TODAY - dt.timedelta(days=365))
        # Chapter I holds measures 1-3: applied, partial, not applicable → 1.5 / 2 = 75 %.
        svc.save_answers(
            first,
            None,
            {"version": first.version},
            _rows(m1="implemented", m2="partial", m3="not_applicable", m4="implemented"),
        )
        score = svc.scores([first.id])[first.id]
        assert score.chapters["I"].rate == 75
        assert score.chapters["I"].applicable == 2
        assert score.chapters["II"].rate == 25  # 1 of 4, three unanswered
        assert score.chapters["II"].unanswered == 3
        assert score.overall.applicable == 41
        assert score.overall.points == 2.5
        assert score.overall.unanswered == 38
        # The next assessment starts from these answers.
        second = svc.create_assessment(org, None, TODAY)
        assert {n: a.status for n, a in svc.answers(second).items() if a.status} == {
            1: HygieneStatus.IMPLEMENTED,
            2: HygieneStatus.PARTIAL,
            3: HygieneStatus.NOT_APPLICABLE,
            4: HygieneStatus.IMPLEMENTED,
        }
        svc.save_answers(
            second,
            None,
            {"version": second.version},
            _rows(
                m1="implemented",
                m2=("implemented", True),
                m3="not_applicable",
                m4="implemented",
                m5="partial",
            ),
        )
        changes = svc.compare(first, second)
        assert [(c.measure.number, c.before, c.after) for c in changes] == [
            (2, HygieneStatus.PARTIAL, HygieneStatus.IMPLEMENTED),
            (5, None, HygieneStatus.PARTIAL),
        ]
        assert svc.scores([second.id])[second.id].reinforced == 1
        # One date, one assessment; none in the future.
        with pytest.raises(FieldError):
            svc.create_assessment(org, None, TODAY)
        with pytest.raises(FieldError):
            svc.create_assessment(org, None, TODAY + dt.timedelta(days=1))
        # The strengthened level needs the measure applied.
        with pytest.raises(FieldError) as exc:
            svc.save_answers(second, None, {"version": second.version}, _rows(m2=("partial", True)))
        assert "niveau renforcé" in exc.value.message
        assert svc.to_complete(org.id) == 37
        entries = db.session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.object_type == "HygieneAssessment")
            .order_by(AuditEvent.id)
        ).all()
        assert entries.count("hygiene.create") == 2
        assert "hygiene.answers" in entries


def test_ranking_of_the_members(world: World, app: Flask) -> None:
    with app.test_request_context(), acting_as(world.a.member_referent, world.a.member):
        member = db.session.merge(world.a.member)
        assessment = svc.create_assessment(member, None, TODAY)
        svc.save_answers(
            assessment,
            None,
            {"version": assessment.version},
            _rows(**{f"m{n}": "implemented" for n in range(1, 22)}),
        )
        db.session.commit()
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        ranking = svc.members_ranking(db.session.merge(world.a.syndicate))
        by_name = {r.name: r for r in ranking}
        assert by_name[world.a.member.name].rate == 50  # 21 of 42
        assert by_name[world.a.syndicate.name].rate is None
        assert ranking[0].name == world.a.member.name
        assert world.b.member.name not in by_name  # another syndicate's member


def _html(response: Any) -> str:
    return response.get_data(as_text=True)


def test_pages(world: World, app: Flask, login_as: Any, session: Any) -> None:
    referent = login_as(world.a.member_referent, world.a.member)
    home = _html(referent.get("/"))
    assert "Aucune auto-évaluation des 42 mesures" in home
    assert referent.post("/risks/hygiene/new", data={"assessed_on": ""}).status_code == 302
    assessment = session.scalar(
        select(HygieneAssessment).where(HygieneAssessment.organisation_id == world.a.member.id)
    )
    page = _html(referent.get(f"/risks/hygiene/{assessment.id}"))
    assert 'name="status-42"' in page
    version = re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)
    data = {
        "version": version,
        "status-1": "implemented",
        "comment-1": "Plan de formation 2026",
        "status-2": "partial",
    }
    assert referent.post(f"/risks/hygiene/{assessment.id}", data=data).status_code == 302
    page = _html(referent.get(f"/risks/hygiene/{assessment.id}"))
    assert "Plan de formation 2026" in page
    # A stale form: 409, what was typed stays, the saved answer is recalled.
    stale = referent.post(f"/risks/hygiene/{assessment.id}", data=data | {"comment-1": "Mes mots à garder"})
    assert stale.status_code == 409
    assert "Mes mots à garder" in _html(stale)
    # The referent's card now counts the measures left.
    assert 'data-figure="hygiene-missing"' in _html(referent.get("/"))
    # The syndicate's RSSI sees the member in the ranking, not its answers' page.
    rssi = login_as(world.a.users[Role.RSSI], world.a.syndicate)
    assert world.a.member.name in _html(rssi.get("/risks/hygiene/"))
    assert rssi.get(f"/risks/hygiene/{assessment.id}").status_code == 404
    # Another syndicate's people: 404, and not in their ranking.
    other = login_as(world.b.users[Role.RSSI], world.b.syndicate)
    assert other.get(f"/risks/hygiene/{assessment.id}").status_code == 404
    assert world.a.member.name not in _html(other.get("/risks/hygiene/"))
    # A reader reads, does not write.
    reader = login_as(world.a.users[Role.READER], world.a.syndicate)
    assert reader.post("/risks/hygiene/new", data={}).status_code == 403
    # Comparison needs two of one's own assessments.
    assert referent.get(f"/risks/hygiene/compare?a={assessment.id}&b=999999").status_code == 404
