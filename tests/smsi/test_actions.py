"""Corrective and preventive actions (ISO 27001 §10.2): the rules (closed only when proven effective,
no due date in the past on creation, an owner with an SMSI role), the incident link, the lists
(mine, overdue), the bulk re-assignment, the pages and the owner's home-page card."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
import time_machine
from flask import Flask, current_app
from sqlalchemy import select

from core.audit import AuditEvent
from core.db import local_today, today
from core.extensions import db
from core.forms import FieldError
from core.security import Role
from smsi.models import Action, ActionStatus
from smsi.services import actions as svc
from smsi.services import incidents
from tests.conftest import World, acting_as

DUE = local_today() + dt.timedelta(days=30)


def _errors(exc: pytest.ExceptionInfo[FieldError]) -> set[str]:
    return {e.field for e in getattr(exc.value, "errors", [exc.value])}


def _base(world: World, **changes: Any) -> dict[str, Any]:
    return {
        "title": "Double authentification des comptes de maintenance",
        "origin": "management_review",
        "origin_detail": "Revue de direction du 15 novembre",
        "type": "corrective",
        "priority": "high",
        "owner_id": world.a.users[Role.RSSI].id,
        "due_on": DUE,
        "status": "planned",
        **changes,
    }


@pytest.fixture
def syndicate(world: World, app: Flask) -> Any:
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        yield db.session.merge(world.a.syndicate)


def test_an_action_is_closed_only_when_proven_effective(world: World, syndicate: Any) -> None:
    with pytest.raises(FieldError) as exc:
        svc.create_action(
            syndicate, None, _base(world, due_on=today() - dt.timedelta(days=1), origin_detail="")
        )
    assert _errors(exc) == {"due_on", "origin_detail"}
    action = svc.create_action(syndicate, None, _base(world))
    assert action.reference.startswith(f"ACT-{today():%Y}-")
    with pytest.raises(FieldError) as exc:
        svc.update_action(action, None, _base(world, status="effective", version=action.version))
    assert _errors(exc) == {"done_on", "check_method", "checked_on", "checked_by_id", "check_result"}
    assert action.is_open
    done = today() - dt.timedelta(days=10)
    closed = svc.update_action(
        action,
        None,
        _base(
            world,
            status="effective",
            done_on=done,
            check_method="Revue des journaux de connexion sur un mois",
            checked_on=today(),
            checked_by_id=world.a.users[Role.DPO].id,
            check_result="Aucune connexion sans second facteur",
            version=action.version,
        ),
    )
    assert closed.status is ActionStatus.EFFECTIVE
    assert not closed.is_open
    # Found ineffective: it stays open and needs a due date ahead.
    with pytest.raises(FieldError) as exc:
        svc.update_action(
            closed,
            None,
            _base(
                world,
                status="ineffective",
                done_on=done,
                check_method="Revue",
                checked_on=today(),
                checked_by_id=world.a.users[Role.DPO].id,
                check_result="Deux comptes sans second facteur",
                due_on=today() - dt.timedelta(days=1),
                version=closed.version,
            ),
        )
    assert _errors(exc) == {"due_on"}


def test_an_owner_holds_an_smsi_role_and_an_incident_is_the_organisations(
    world: World, syndicate: Any
) -> None:
    with pytest.raises(FieldError) as exc:
        svc.create_action(syndicate, None, _base(world, owner_id=world.b.users[Role.RSSI].id))
    assert _errors(exc) == {"owner_id"}
    with app_b_incident(world) as foreign_id:
        with pytest.raises(FieldError) as exc:
            svc.create_action(syndicate, None, _base(world, origin="incident", incident_id=foreign_id))
        assert _errors(exc) == {"incident_id"}
    incident = incidents.create_incident(
        syndicate,
        None,
        {"title": "Panne", "detected_at": dt.datetime(2026, 11, 1, tzinfo=dt.UTC), "category": "availability",
         "severity": "2", "status": "new"},
    )  # fmt: skip
    action = svc.create_action(syndicate, None, _base(world, origin="incident", incident_id=incident.id))
    assert action.origin_detail == "Revue de direction du 15 novembre"
    assert [a.id for a in svc.actions_of_incident(incident)] == [action.id]


class app_b_incident:  # noqa: N801 — a context manager read like a phrase
    """Tenant B's incident id (written straight to the database)."""

    def __init__(self, world: World) -> None:
        self.world = world

    def __enter__(self) -> int:
        from tests.smsi.factories import IncidentFactory  # noqa: PLC0415

        return IncidentFactory(organisation=db.session.merge(self.world.b.syndicate)).id

    def __exit__(self, *exc: Any) -> None:
        return None


def test_reassigning_a_departing_owners_open_actions(world: World, syndicate: Any) -> None:
    rssi, dpo = world.a.users[Role.RSSI].id, world.a.users[Role.DPO].id
    open_ones = [svc.create_action(syndicate, None, _base(world, title=f"Action {n}")) for n in range(3)]
    other = svc.create_action(syndicate, None, _base(world, owner_id=dpo))
    moved = svc.reassign(syndicate, None, rssi, dpo)
    assert moved == 3
    assert {a.owner_id for a in [*open_ones, other]} == {dpo}
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "action.reassign")).all()
    assert len(events) == 3
    with pytest.raises(FieldError):
        svc.reassign(syndicate, None, dpo, world.b.users[Role.RSSI].id)


def _html(response: Any) -> str:
    return response.get_data(as_text=True)


def test_pages_lists_and_the_owners_card(world: World, app: Flask, login_as: Any, session: Any) -> None:
    rssi = login_as(world.a.users[Role.RSSI], world.a.syndicate)
    form = {k: str(v) for k, v in _base(world).items()}
    bad = rssi.post(
        "/smsi/actions/new", data={**form, "title": "", "due_on": "2020-01-01", "description": "Gardé"}
    )
    assert bad.status_code == 422
    assert "Gardé" in _html(bad)
    assert "déjà échue" in _html(bad)
    response = rssi.post("/smsi/actions/new", data=form)
    assert response.status_code == 302, _html(response)[:1500]
    action = session.scalars(select(Action)).one()
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        session_action = db.session.get(Action, action.id)
        session_action.due_on = today() - dt.timedelta(days=2)  # now overdue
        db.session.commit()
    overdue = _html(rssi.get("/smsi/actions/?due=overdue&mine=1"))
    assert action.reference in overdue
    assert "en retard" in overdue
    home = _html(rssi.get("/"))
    figure = re.search(r'data-figure="my-actions-overdue" href="([^"]+)"><span[^>]*>(\d+)</span>', home)
    assert figure is not None
    assert figure.group(2) == "1"
    # A reader without actions sees no card; other organisations get 404.
    assert 'data-figure="my-actions"' not in _html(
        login_as(world.a.users[Role.READER], world.a.syndicate).get("/")
    )
    other = login_as(world.b.users[Role.RSSI], world.b.syndicate)
    assert other.get(f"/smsi/actions/{action.id}").status_code == 404
    assert other.post(f"/smsi/actions/{action.id}/edit", data=form).status_code == 404


def test_the_list_finds_without_accents_and_pages_deep_in_its_order(world: World, syndicate: Any) -> None:
    for n in range(30):
        svc.create_action(
            syndicate,
            None,
            _base(world, title=f"Pare-feu n° {n:02d} du réseau", due_on=DUE + dt.timedelta(days=n % 7)),
        )
    svc.create_action(syndicate, None, _base(world, title="Sauvegardes hors ligne"))
    db.session.flush()
    everything = list(db.session.scalars(svc.actions_query(svc.ActionFilters())))
    assert [(a.due_on, a.id) for a in everything] == sorted((a.due_on, a.id) for a in everything)

    found = list(db.session.scalars(svc.actions_query(svc.ActionFilters(q="RESEAU"))))
    assert len(found) == 30
    assert all("réseau" in a.title for a in found)
    by_reference = svc.actions_query(svc.ActionFilters(q=everything[3].reference.lower()))
    assert [a.id for a in db.session.scalars(by_reference)] == [everything[3].id]

    with (
        current_app.test_request_context("/smsi/actions/?page=2"),
        acting_as(world.a.users[Role.RSSI], syndicate),
    ):
        page = svc.actions_page(svc.ActionFilters())
    assert (page.total, page.page) == (31, 2)
    assert page.items == everything[25:]  # the same actions, in the same order, as the whole list
    assert all(a.owner is not None for a in page.items)


def test_a_broad_search_counts_up_to_a_cap_and_pages_on(
    world: World, app: Flask, login_as: Any, syndicate: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core import pagination  # noqa: PLC0415

    for n in range(7):
        svc.create_action(
            syndicate, None, _base(world, title=f"Pare-feu n° {n}", due_on=DUE + dt.timedelta(days=n))
        )
    svc.create_action(syndicate, None, _base(world, title="Sauvegardes hors ligne"))
    db.session.commit()
    monkeypatch.setattr(pagination, "SEARCH_COUNT_CAP", 4)
    rssi = login_as(world.a.users[Role.RSSI], world.a.syndicate)
    # More matches than the cap: "sur plus de 4", a page after the counted ones.
    first = _html(rssi.get("/smsi/actions/?q=pare-feu&per_page=2"))
    assert "1 à 2 sur plus de 4 — précisez la recherche pour réduire la liste." in first
    assert "Pare-feu n° 0" in first
    assert "Pare-feu n° 2" not in first
    assert 'href="/smsi/actions/?q=pare-feu&amp;per_page=2&amp;page=2" rel="next"' in first
    # Deeper, the count follows the page: page 3 counts up to 6 rows and still sees more.
    third = _html(rssi.get("/smsi/actions/?q=pare-feu&per_page=2&page=3"))
    assert "5 à 6 sur plus de 6" in third
    assert "Pare-feu n° 4" in third
    # The last page: every match counted, the exact total, no page after it.
    last = _html(rssi.get("/smsi/actions/?q=pare-feu&per_page=2&page=4"))
    assert "7 à 7 sur 7" in last
    assert "Pare-feu n° 6" in last
    assert "plus de" not in last
    # Within the cap, or without a search, the count is exact as before.
    assert "1 à 1 sur 1" in _html(rssi.get("/smsi/actions/?q=sauvegardes"))
    assert "1 à 2 sur 8" in _html(rssi.get("/smsi/actions/?per_page=2"))
    # A page past the end of a search goes to its last page, as every list does.
    beyond = _html(rssi.get("/smsi/actions/?q=pare-feu&per_page=2&page=99"))
    assert "7 à 7 sur 7" in beyond
    with app.test_request_context("/smsi/actions/?q=pare-feu&per_page=2"):
        page = pagination.paginate_capped(svc.actions_query(svc.ActionFilters(q="pare-feu")))
    assert (page.total, page.over, page.pages, page.has_next) == (4, True, 3, True)


@pytest.mark.parametrize(
    ("utc", "french_day"),
    [
        (dt.datetime(2026, 12, 3, 23, 30, tzinfo=dt.UTC), dt.date(2026, 12, 4)),  # winter: UTC+1
        (dt.datetime(2026, 7, 3, 22, 30, tzinfo=dt.UTC), dt.date(2026, 7, 4)),  # summer: UTC+2
    ],
)
def test_today_is_the_french_calendar_day_after_utc_midnight_in_paris(
    world: World, syndicate: Any, utc: dt.datetime, french_day: dt.date
) -> None:
    """Between midnight in Paris and midnight UTC, "today" is already the next day for the people who
    type the dates: an action done today is not "in the future", a deadline of yesterday is past."""
    with time_machine.travel(utc, tick=False):
        assert today() == local_today() == french_day
        action = svc.create_action(
            syndicate, None, _base(world, due_on=french_day, status="done", done_on=french_day)
        )
        assert action.done_on == french_day
        with pytest.raises(FieldError) as exc:
            svc.create_action(syndicate, None, _base(world, due_on=french_day - dt.timedelta(days=1)))
        assert _errors(exc) == {"due_on"}
