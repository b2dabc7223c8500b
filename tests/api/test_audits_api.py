"""The audits' JSON API (audits/api.py): audits read, findings read and written through the pages'
services — the closing rule, the journal — and the same scope as the pages: another organisation's
ids answer 404, an invited auditor reads and writes only their own audit."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from core.audit import AuditEvent
from core.security import Role
from tests import factories as f
from tests.audits.test_auditor_access import _setup
from tests.conftest import World


def _events(action: str, object_id: int) -> list[Any]:
    stmt = select(AuditEvent).where(AuditEvent.action == action, AuditEvent.object_id == object_id)
    return list(f.current_session().scalars(stmt))


def test_audits_and_findings_through_the_service_and_its_rules(
    app: Flask, world: World, session: Any, api_as: Any
) -> None:
    s = _setup(app, world, session)
    api = api_as(world.a.users[Role.RSSI], world.a.syndicate)
    listed = api.get("/audits").get_json()
    assert {a["id"] for a in listed["items"]} == {s["audit"], s["other"]}
    detail = api.get(f"/audits/{s['audit']}").get_json()
    assert sorted(detail["organisation_ids"]) == sorted([world.a.syndicate.id, world.a.member.id])
    assert detail["findings_by_level"]["NCmin"] == 1
    created = api.post(
        f"/audits/{s['audit']}/findings",
        json={
            "title": "Journaux non conservés",
            "level": "NCmaj",
            "requirement_kind": "annex_a",
            "requirement_ref": "A.8.15",
        },
    )
    assert created.status_code == 201, created.get_json()
    finding = created.get_json()
    assert finding["reference"].endswith("-F02")
    assert len(_events("finding.create", finding["id"])) == 1
    url = f"/findings/{finding['id']}"
    assert api.patch(url, json={"status": "closed"}).status_code == 428
    refused = api.patch(url, json={"status": "closed"}, headers={"If-Match": created.headers["ETag"]})
    assert refused.status_code == 422  # a major nonconformity closes only through verified actions
    assert "status" in refused.get_json()["errors"]
    bad = api.post(
        f"/audits/{s['audit']}/findings",
        json={"title": "X", "level": "NCmin", "requirement_kind": "annex_a", "requirement_ref": "Z.9"},
    )
    assert bad.status_code == 422
    open_ones = api.get("/findings?level=NCmaj").get_json()
    assert [x["id"] for x in open_ones["items"]] == [finding["id"]]
    other_tenant = api_as(world.b.users[Role.RSSI], world.b.syndicate)
    assert other_tenant.get(f"/audits/{s['audit']}").status_code == 404
    assert other_tenant.get(url).status_code == 404
    assert other_tenant.get("/findings").get_json()["items"] == []
    reader = api_as(world.a.users[Role.READER], world.a.syndicate)
    assert (
        reader.post(f"/audits/{s['audit']}/findings", json={"title": "X", "level": "PF"}).status_code == 403
    )


def test_an_invited_auditor_reads_and_writes_their_audit_only(
    app: Flask, world: World, session: Any, api_as: Any
) -> None:
    s = _setup(app, world, session)
    api = api_as(s["auditor"], world.a.syndicate)
    assert [a["id"] for a in api.get("/audits").get_json()["items"]] == [s["audit"]]
    assert api.get(f"/audits/{s['other']}").status_code == 404
    assert api.get(f"/findings/{s['other_finding']}").status_code == 404
    assert {x["id"] for x in api.get("/findings?status=all").get_json()["items"]} == {s["finding"]}
    created = api.post(f"/audits/{s['audit']}/findings", json={"title": "Point fort : revue", "level": "PF"})
    assert created.status_code == 201, created.get_json()
    assert api.post(f"/audits/{s['other']}/findings", json={"title": "X", "level": "PF"}).status_code == 404
    # Read-only elsewhere: the SMSI's actions are outside an Annex A audit's pages and writes.
    assert api.post("/actions", json={"title": "X", "due_on": "2030-01-01"}).status_code == 403
