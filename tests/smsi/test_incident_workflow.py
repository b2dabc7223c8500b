"""The incident workflow (smsi.services.incidents.transition_error): forward along new → qualified →
contained → resolved → closed, steps may be skipped, never backwards except a reopening of a resolved
or closed incident to qualified or contained — journalled and written on the timeline. A refused
move says why beside the status field, keeps what was typed, and writes nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from core.audit import AuditEvent
from core.extensions import db
from core.forms import FieldError
from core.security import Role
from smsi.models import Incident, IncidentEvent, IncidentStatus
from smsi.services import incidents as svc
from tests.conftest import World, acting_as

S = IncidentStatus
DETECTED = dt.datetime(2026, 11, 30, 6, 15, tzinfo=dt.UTC)
BASE = {
    "title": "Rançongiciel sur le serveur applicatif",
    "detected_at": DETECTED,
    "category": "malware",
    "severity": "4",
    "impact_confidentiality": True,
    "status": "new",
}
CLOSING = {"root_cause": "Compte sans double authentification", "lessons_learned": "MFA partout"}


@pytest.mark.parametrize(
    ("previous", "status", "allowed"),
    [
        (S.NEW, S.QUALIFIED, True),
        (S.NEW, S.CONTAINED, True),  # things moved fast: contained before anybody qualified it
        (S.NEW, S.RESOLVED, True),
        (S.NEW, S.CLOSED, True),  # a false alarm (closing still asks for the cause and the lessons)
        (S.QUALIFIED, S.RESOLVED, True),
        (S.CONTAINED, S.CONTAINED, True),  # saved again
        (S.QUALIFIED, S.NEW, False),
        (S.CONTAINED, S.QUALIFIED, False),
        (S.CONTAINED, S.NEW, False),
        (S.RESOLVED, S.QUALIFIED, True),  # reopened
        (S.RESOLVED, S.CONTAINED, True),
        (S.CLOSED, S.QUALIFIED, True),
        (S.CLOSED, S.CONTAINED, True),
        (S.CLOSED, S.RESOLVED, False),  # reopened, it is under way again: qualified or contained
        (S.CLOSED, S.NEW, False),
        (S.RESOLVED, S.NEW, False),
    ],
)
def test_the_one_rule_of_the_workflow(app: Flask, previous: S, status: S, allowed: bool) -> None:
    with app.test_request_context():
        refused = svc.transition_error(previous, status)
        assert (refused is None) is allowed
        if not allowed:
            assert "refusé" in refused
            assert str(previous.label) in refused
            assert str(status.label) in refused


def _update(incident: Incident, **changes: Any) -> Incident:
    return svc.update_incident(incident, None, {**BASE, **changes, "version": incident.version})


def test_the_service_refuses_a_move_back_and_records_a_reopening(world: World, app: Flask) -> None:
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        syndicate = db.session.merge(world.a.syndicate)
        incident = svc.create_incident(syndicate, None, {**BASE, "status": "contained"})
        db.session.commit()
        with pytest.raises(FieldError) as exc:
            _update(incident, status="new", title="Titre changé")
        assert exc.value.field == "status"
        db.session.rollback()
        assert db.session.get(Incident, incident.id).status is S.CONTAINED
        assert db.session.get(Incident, incident.id).title == BASE["title"]

        _update(incident, status="closed", **CLOSING)
        db.session.commit()
        assert incident.closed_at is not None
        with pytest.raises(FieldError):
            _update(incident, status="resolved", **CLOSING)
        db.session.rollback()

        _update(incident, status="qualified", **CLOSING)  # reopened
        db.session.commit()
        assert incident.status is S.QUALIFIED
        assert incident.is_open
        assert incident.closed_at is None
        entry = db.session.scalars(
            select(AuditEvent).where(AuditEvent.object_id == incident.id).order_by(AuditEvent.id.desc())
        ).first()
        assert entry.action == "incident.reopen"
        last = svc.timeline(incident)[-1]
        assert last.kind.value == "qualification"
        assert "rouvert" in last.text
        assert "Clos" in last.text


def test_the_form_says_why_beside_the_status_and_keeps_what_was_typed(
    world: World, app: Flask, login_as: Any, session: Any
) -> None:
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        incident = svc.create_incident(
            db.session.merge(world.a.syndicate), None, {**BASE, "status": "resolved"}
        )
        db.session.commit()
        incident_id, version = incident.id, incident.version
    events = session.scalar(select(func.count()).select_from(IncidentEvent))
    rssi = login_as(world.a.users[Role.RSSI], world.a.syndicate)
    form = {
        "title": "Titre retapé",
        "detected_at": "2026-11-30T07:15",
        "category": "malware",
        "severity": "4",
        "impact_confidentiality": "y",
        "description": "Ce que j'ai tapé",
        "status": "new",
        "version": str(version),
    }
    refused = rssi.post(f"/smsi/incidents/{incident_id}/edit", data=form)
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "Passage de « Résolu » à « Nouveau » refusé" in page
    status_at = page.index('name="status"')
    assert page.index("refusé", status_at) - status_at < 3000  # beside the field, not only at the top
    assert "Titre retapé" in page
    assert "Ce que j&#39;ai tapé" in page
    session.expire_all()
    stored = session.get(Incident, incident_id)
    assert (stored.status, stored.title, stored.version) == (S.RESOLVED, BASE["title"], version)
    assert session.scalar(select(func.count()).select_from(IncidentEvent)) == events

    reopened = rssi.post(f"/smsi/incidents/{incident_id}/edit", data={**form, "status": "contained"})
    assert reopened.status_code == 302
    session.expire_all()
    assert session.get(Incident, incident_id).status is S.CONTAINED
    assert "rouvert" in rssi.get(reopened.location).get_data(as_text=True)
