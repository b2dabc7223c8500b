"""The SMSI's JSON API (smsi/api.py): incidents and corrective actions read and written through
the pages' services — the same rules, the same journal, the same fan-out of an incident with
personal data to one breach per affected member, the same tenancy."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from accounts.models import ApiTokenScope
from core.audit import AuditEvent
from core.db import local_today
from core.security import Role
from core.tenancy import UNSCOPED
from registers.models import Breach
from tests import factories as f
from tests.conftest import World
from tests.smsi.factories import IncidentFactory


def _events(action: str, object_id: int) -> list[Any]:
    stmt = select(AuditEvent).where(AuditEvent.action == action, AuditEvent.object_id == object_id)
    return list(f.current_session().scalars(stmt))


def _breaches_of(incident_id: int) -> list[Breach]:
    stmt = select(Breach).where(Breach.source_incident_id == incident_id).execution_options(**UNSCOPED)
    return list(f.current_session().scalars(stmt))


def test_an_incident_with_personal_data_opens_the_members_breaches(world: World, api_as: Any) -> None:
    api = api_as(world.a.users[Role.RSSI], world.a.syndicate)
    # Naive: French local time, as typed on the page; three hours back is in the past in any zone.
    detected = (dt.datetime.now() - dt.timedelta(hours=3)).replace(microsecond=0)
    created = api.post(
        "/incidents",
        json={
            "title": "Rançongiciel sur le SI mutualisé",
            "detected_at": detected.isoformat(),
            "category": "malware",
            "severity": "4",
            "impact_availability": True,
            "has_personal_data": True,
            "application_ids": [world.a.application.id],
        },
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["reference"].startswith(f"INC-{detected:%Y}-")
    assert body["application_ids"] == [world.a.application.id]
    assert world.a.member.id in body["affected_organisation_ids"]
    assert len(_events("incident.create", body["id"])) == 1
    breaches = _breaches_of(body["id"])
    assert [b.organisation_id for b in breaches] == [world.a.member.id]  # Ville A subscribes, B never
    listed = api.get("/incidents?severity=4").get_json()
    assert [i["id"] for i in listed["items"]] == [body["id"]]
    assert listed["meta"]["total"] == 1
    assert api.get("/incidents?severity=1").get_json()["items"] == []
    # Tenant B: 404 on the id, nothing in its list.
    other = api_as(world.b.users[Role.RSSI], world.b.syndicate)
    assert other.get(f"/incidents/{body['id']}").status_code == 404
    assert other.get("/incidents").get_json()["items"] == []


def test_an_incident_is_closed_only_with_root_cause_and_lessons(world: World, api_as: Any) -> None:
    incident = IncidentFactory(organisation=world.a.syndicate)
    api = api_as(world.a.users[Role.RSSI], world.a.syndicate)
    url = f"/incidents/{incident.id}"
    detail = api.get(url)
    assert detail.status_code == 200
    assert api.patch(url, json={"status": "closed"}).status_code == 428
    etag = detail.headers["ETag"]
    refused = api.patch(url, json={"status": "closed"}, headers={"If-Match": etag})
    assert refused.status_code == 422
    assert {"root_cause", "lessons_learned"} <= set(refused.get_json()["errors"])
    closed = api.patch(
        url,
        json={"status": "closed", "root_cause": "Mise à jour absente", "lessons_learned": "Inventaire"},
        headers={"If-Match": etag},
    )
    assert closed.status_code == 200, closed.get_json()
    assert closed.get_json()["is_open"] is False
    assert closed.get_json()["title"] == incident.title  # a PATCH keeps what it did not send
    assert len(_events("incident.update", incident.id)) == 1
    stale = api.patch(url, json={"title": "Autre"}, headers={"If-Match": etag})
    assert stale.status_code == 412


def test_actions_follow_the_effectiveness_rule_and_the_roles(world: World, api_as: Any) -> None:
    rssi = world.a.users[Role.RSSI]
    api = api_as(rssi, world.a.syndicate)
    past = (local_today() - dt.timedelta(days=1)).isoformat()
    late = api.post("/actions", json={"title": "MFA", "due_on": past, "owner_id": rssi.id})
    assert late.status_code == 422
    assert "due_on" in late.get_json()["errors"]
    due = (local_today() + dt.timedelta(days=30)).isoformat()
    new = {"title": "MFA pour les élus", "due_on": due, "owner_id": rssi.id, "origin_detail": "Revue"}
    created = api.post("/actions", json=new)
    assert created.status_code == 201, created.get_json()
    action = created.get_json()
    assert action["reference"].startswith("ACT-")
    assert len(_events("action.create", action["id"])) == 1
    url = f"/actions/{action['id']}"
    effective = api.patch(
        url,
        json={"status": "effective", "done_on": local_today().isoformat()},
        headers={"If-Match": created.headers["ETag"]},
    )
    assert effective.status_code == 422  # verified effective: only with the check recorded
    assert {"check_method", "checked_on", "checked_by_id", "check_result"} <= set(
        effective.get_json()["errors"]
    )
    mine = api.get("/actions?mine=true").get_json()
    assert [a["id"] for a in mine["items"]] == [action["id"]]
    dpo = api_as(world.a.users[Role.DPO], world.a.syndicate)
    assert dpo.get("/actions?mine=true").get_json()["items"] == []
    reader = api_as(world.a.users[Role.READER], world.a.syndicate)
    assert reader.post("/actions", json={"title": "X", "due_on": due}).status_code == 403
    read_only = api_as(rssi, world.a.syndicate, ApiTokenScope.READ)
    assert read_only.get(url).status_code == 200
    assert read_only.patch(url, json={"title": "Y"}, headers={"If-Match": 'W/"1"'}).status_code == 403
    assert api_as(world.b.users[Role.RSSI], world.b.syndicate).get(url).status_code == 404
