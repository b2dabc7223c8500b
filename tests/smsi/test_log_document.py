"""The SMSI's incident log and action plan (smsi/documents/log.py): its content for one organisation
and a period (the other tenant's records stay out), the figures, ``qpdf --check``, page X / Y, built
outside any request (the packs' job), in a constant number of queries, offered on the documents page,
generated, stored and journalled, and part of an evidence pack."""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import event, func, select

from accounts.models import Organisation
from audits.packs.models import EvidencePack
from core.audit.models import AuditEvent
from core.extensions import db
from core.security import Role
from reports import documents, signing
from reports.models import GeneratedReport
from smsi.documents import log
from smsi.models import ActionStatus, IncidentEvent, IncidentStatus, Severity, TimelineKind
from tests.conftest import World, csrf_token_from
from tests.registers.factories import BreachFactory
from tests.smsi.factories import ActionFactory, IncidentFactory

UTC = dt.UTC
YEAR = (dt.date(2026, 1, 1), dt.date(2026, 12, 31))


def _text(content: bytes) -> str:
    """The PDF's text, its white space (a cell's wrapped lines) folded to single spaces."""
    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages).split())


def _event(session: Any, incident: Any, kind: TimelineKind, at: dt.datetime) -> None:
    session.add(
        IncidentEvent(
            organisation_id=incident.organisation_id,
            incident_id=incident.id,
            kind=kind,
            at=at,
            text=str(kind.label),
            created_at=at,
        )
    )


def _log_records(world: World, session: Any) -> dict[str, Any]:
    """Two incidents and three actions of A's syndicate in 2026, one of each older or elsewhere."""
    org = world.a.syndicate
    flood = IncidentFactory(
        organisation=org,
        reference="INC-2026-101",
        title="Serveur de messagerie inondé CANARY-INC-A",
        detected_at=dt.datetime(2026, 3, 10, 8, 0, tzinfo=UTC),
        severity=Severity.MAJOR,
        status=IncidentStatus.CLOSED,
        is_open=False,
        has_personal_data=True,
        closed_at=dt.datetime(2026, 3, 12, 8, 0, tzinfo=UTC),
    )
    phishing = IncidentFactory(
        organisation=org,
        reference="INC-2026-102",
        title="Hameçonnage du service paie",
        detected_at=dt.datetime(2026, 6, 1, 9, 0, tzinfo=UTC),
        severity=Severity.MINOR,
    )
    IncidentFactory(
        organisation=org,
        reference="INC-2025-001",
        title="Incident de 2025 CANARY-OLD",
        detected_at=dt.datetime(2025, 6, 1, 9, 0, tzinfo=UTC),
    )
    IncidentFactory(organisation=world.b.syndicate, reference="INC-2026-900", title="Incident CANARY-B")
    session.flush()
    # The flood: contained after 4 hours, resolved after 10; the phishing: contained after 2 hours.
    _event(session, flood, TimelineKind.CONTAINMENT, flood.detected_at + dt.timedelta(hours=4))
    _event(session, flood, TimelineKind.RECOVERY, flood.detected_at + dt.timedelta(hours=10))
    _event(session, flood, TimelineKind.CLOSURE, flood.detected_at + dt.timedelta(hours=48))
    _event(session, phishing, TimelineKind.ERADICATION, phishing.detected_at + dt.timedelta(hours=2))
    # Two breaches opened from the flood in the members' registers.
    BreachFactory(organisation=world.a.member, source_incident_id=flood.id)
    BreachFactory(organisation=org, source_incident_id=flood.id)
    rssi = world.a.users[Role.RSSI]
    overdue = ActionFactory(
        organisation=org,
        reference="ACT-2026-201",
        title="Rehausser les baies CANARY-ACT-A",
        incident_id=flood.id,
        owner_id=rssi.id,
        due_on=dt.date(2026, 4, 1),
    )
    ActionFactory(
        organisation=org, reference="ACT-2026-202", title="Former les agents", due_on=dt.date(2099, 1, 1)
    )
    ActionFactory(
        organisation=org,
        reference="ACT-2026-203",
        title="Sauvegardes hors ligne",
        status=ActionStatus.EFFECTIVE,
        is_open=False,
        done_on=dt.date(2026, 5, 1),
        checked_on=dt.date(2026, 5, 20),
        check_result="Restauration testée",
    )
    ActionFactory(
        organisation=org,
        reference="ACT-2025-009",
        title="Action close en 2025 CANARY-OLD",
        status=ActionStatus.EFFECTIVE,
        is_open=False,
        checked_on=dt.date(2025, 5, 20),
    )
    ActionFactory(organisation=world.b.syndicate, reference="ACT-2026-900", title="Action CANARY-B")
    session.flush()
    return {"flood": flood, "phishing": phishing, "overdue": overdue, "rssi": rssi}


def _build_outside_a_request(app: Flask, org_id: int, period: Any = YEAR) -> bytes:
    """What the packs' job does: an app context only, the organisation named."""
    kind = documents.kind_of(log.KIND)
    assert kind is not None
    assert kind.build is not None
    with app.app_context():
        content = kind.build(db.session.get(Organisation, org_id), period)
    assert content is not None
    return content


def test_the_log_of_a_year_holds_the_organisations_incidents_and_actions(
    world: World, app: Flask, session: Any, tmp_path: Path
) -> None:
    records = _log_records(world, session)
    with app.app_context():
        doc = log.log_data(
            db.session.get(Organisation, world.a.syndicate.id), YEAR, today=dt.date(2026, 12, 4)
        )
    assert doc.detected == 2
    assert doc.by_severity[Severity.MAJOR] == 1
    assert doc.by_severity[Severity.MINOR] == 1
    assert doc.by_severity[Severity.CRITICAL] == 0
    assert doc.by_status[IncidentStatus.CLOSED] == 1
    assert doc.by_status[IncidentStatus.NEW] == 1
    assert doc.with_personal_data == 1
    assert doc.contained == 2
    assert doc.mean_to_contain == pytest.approx(3.0, abs=0.01)  # (4 + 2) / 2 hours
    assert doc.resolved == 1
    assert doc.mean_to_resolve == pytest.approx(10.0, abs=0.01)
    assert [r.reference for r in doc.incidents] == ["INC-2026-101", "INC-2026-102"]
    assert [r.breaches for r in doc.incidents] == [2, 0]
    assert doc.actions_open == 2
    assert doc.actions_overdue == 1
    assert doc.actions_closed == 1
    assert doc.actions_opened == 4  # created today (2026): the three of 2026 and the one closed in 2025
    assert [(a.reference, a.overdue) for a in doc.open_actions] == [
        ("ACT-2026-201", True),
        ("ACT-2026-202", False),
    ]
    assert doc.open_actions[0].owner == records["rssi"].full_name
    assert doc.open_actions[0].origin_text == "INC-2026-101"
    assert [a.reference for a in doc.closed_actions] == ["ACT-2026-203"]

    content = _build_outside_a_request(app, world.a.syndicate.id)
    text = _text(content)
    assert "Journal des incidents et plan d'actions" in text
    assert world.a.syndicate.name in text
    assert "CANARY-INC-A" in text
    assert "Hameçonnage du service paie" in text
    assert "CANARY-ACT-A" in text
    assert "Sauvegardes hors ligne" in text
    assert "EN RETARD" in text
    assert "CANARY-B" not in text  # the other tenant's incident and action
    assert "CANARY-OLD" not in text  # before the period
    assert "1er janvier 2026" in text
    assert re.search(r"page 1 / \d+", text)
    pages = len(PdfReader(io.BytesIO(content)).pages)
    assert f"page {pages} / {pages}" in text

    theirs = _text(_build_outside_a_request(app, world.b.syndicate.id))
    assert "CANARY-B" in theirs
    assert "CANARY-INC-A" not in theirs
    assert "CANARY-ACT-A" not in theirs

    if shutil.which("qpdf") is None:
        pytest.skip("qpdf is not installed")
    path = tmp_path / "log.pdf"
    path.write_bytes(content)
    checked = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True, check=False)  # noqa: S603, S607
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_tables_are_read_in_a_constant_number_of_queries_and_capped(
    world: World, app: Flask, session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = world.a.syndicate

    def count_queries() -> int:
        statements: list[str] = []

        def seen(*args: Any) -> None:
            statements.append(args[2])

        with app.app_context():
            engine = db.engine
            event.listen(engine, "before_cursor_execute", seen)
            try:
                log.log_data(db.session.get(Organisation, org.id), YEAR)
            finally:
                event.remove(engine, "before_cursor_execute", seen)
        return len(statements)

    IncidentFactory(organisation=org, detected_at=dt.datetime(2026, 2, 1, tzinfo=UTC))
    ActionFactory(organisation=org, owner_id=world.a.users[Role.RSSI].id)
    session.flush()
    few = count_queries()
    for n in range(6):
        incident = IncidentFactory(organisation=org, detected_at=dt.datetime(2026, 2, 2 + n, tzinfo=UTC))
        BreachFactory(organisation=world.a.member, source_incident_id=incident.id)
        ActionFactory(organisation=org, owner_id=world.a.users[Role.DPO].id, incident_id=incident.id)
    session.flush()
    assert count_queries() == few  # no query per incident, owner or breach

    monkeypatch.setattr(log, "TABLE_CAP", 3)
    with app.app_context():
        doc = log.log_data(db.session.get(Organisation, org.id), YEAR)
        text = _text(log.log_pdf(doc, generated_at=dt.datetime(2026, 12, 4, 12, 0, tzinfo=UTC)))
    assert len(doc.incidents) == 3
    assert doc.detected == 7
    assert "Les 3 premiers sont imprimés ; 4 autres existent (7 en tout)." in text


def test_the_documents_page_offers_it_and_generating_stores_it(
    world: World, app: Flask, session: Any, login_as: Any
) -> None:
    _log_records(world, session)
    rssi = login_as(world.a.users[Role.RSSI], world.a.syndicate)
    page = rssi.get("/reports/").get_data(as_text=True)
    assert "Générer le journal des incidents et plan d'actions (PDF)" in page
    assert 'action="/smsi/log/pdf"' in page
    token = csrf_token_from(page)
    response = rssi.post("/smsi/log/pdf", data={"csrf_token": token, "year": "2026"})
    assert response.status_code == 302
    report = session.scalar(select(GeneratedReport).where(GeneratedReport.kind == log.KIND))
    assert report is not None
    assert report.organisation_id == world.a.syndicate.id
    assert response.headers["Location"].endswith(f"/reports/{report.id}")
    assert "du 1er janvier 2026 au 31 décembre 2026" in " ".join(report.title.split())
    assert "CANARY-INC-A" in _text(report.content)
    journal = session.scalars(
        select(AuditEvent.action).where(
            AuditEvent.object_type == "GeneratedReport", AuditEvent.object_id == report.id
        )
    ).all()
    assert journal == ["report.generate"]
    assert rssi.get(f"/reports/{report.id}/download").status_code == 200

    # A year not offered: nothing generated, a clear message.
    before = session.scalar(select(func.count(GeneratedReport.id)))
    refused = rssi.post("/smsi/log/pdf", data={"csrf_token": token, "year": "1900"}, follow_redirects=True)
    assert "Année non reconnue" in refused.get_data(as_text=True)
    assert session.scalar(select(func.count(GeneratedReport.id))) == before

    # Another organisation's RSSI does not see this one.
    other = login_as(world.b.users[Role.RSSI], world.b.syndicate)
    assert other.get(f"/reports/{report.id}").status_code == 404


@pytest.fixture
def keys(app: Flask) -> None:
    with app.app_context():
        signing.init_keys("Syndicat de test")


@pytest.mark.usefixtures("keys")
def test_an_evidence_pack_holds_the_log(world: World, session: Any, login_as: Any, tmp_path: Path) -> None:
    _log_records(world, session)
    client = login_as(world.a.users[Role.RSSI], world.a.syndicate)
    token = csrf_token_from(client.get("/audits/packs/").get_data(as_text=True))
    response = client.post(
        "/audits/packs/", data={"csrf_token": token, "period_start": "2026-01-01", "period_end": "2026-11-30"}
    )
    assert response.status_code == 302
    session.expire_all()
    pack = session.scalar(
        select(EvidencePack)
        .where(EvidencePack.organisation_id == world.a.syndicate.id)
        .order_by(EvidencePack.id.desc())
    )
    assert (pack.status, pack.error) == ("ready", None)
    token = csrf_token_from(client.get(f"/audits/packs/{pack.id}").get_data(as_text=True))
    download = client.post(f"/audits/packs/{pack.id}/download", data={"csrf_token": token})
    assert download.status_code == 200
    name = f"reports/smsi_log-{world.a.syndicate.id}.pdf"
    with zipfile.ZipFile(io.BytesIO(download.get_data())) as zf:
        assert name in zf.namelist()
        text = _text(zf.read(name))
    assert "CANARY-INC-A" in text  # detected in March: inside the pack's period
    assert "CANARY-B" not in text
    assert "du 1er janvier 2026 au 30 novembre 2026" in text
