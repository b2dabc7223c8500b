"""The annual security and compliance report (issue 14): the domains' figures of a small seeded year
(counts by month, delays, rates, the previous year), consolidated = the sum over the members, who
may choose the consolidated scope, the preview page, the PDF built by the job queue (qpdf, the key
figures in pdftotext, page X / Y), and the RSSI's texts (validation, conflict, journal)."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from core.audit import AuditEvent
from core.jobs import current_huey
from core.security import Role
from registers.models import NotificationDecision
from reports.annual.figures import SCOPE_MEMBERS, SCOPE_ORGANISATION, collect
from reports.annual.models import AnnualReportText
from reports.models import DocumentJob, GeneratedReport
from smsi.models import ActionStatus, Severity
from tests.conftest import World, acting_as, csrf_token_from
from tests.registers import factories as rf
from tests.smsi import factories as sf

YEAR = 2025


def _utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


@pytest.fixture
def year(app: Flask, world: World, session: Any) -> World:
    """A small year: incidents, actions, rights requests and breaches in the syndicate of A and its
    member, one incident of the year before; world B has its own incident (never counted for A)."""
    syndicate, member = world.a.syndicate, world.a.member
    for severity, when in (
        (Severity.MAJOR, _utc(YEAR, 3, 5, 9)),
        (Severity.MAJOR, _utc(YEAR, 3, 20, 9)),
        (Severity.MINOR, _utc(YEAR, 3, 21, 9)),
        (Severity.MINOR, _utc(YEAR - 1, 6, 1, 9)),
    ):
        sf.IncidentFactory(organisation=syndicate, severity=severity, detected_at=when)
    sf.IncidentFactory(organisation=member, severity=Severity.CRITICAL, detected_at=_utc(YEAR, 7, 14, 9))
    sf.IncidentFactory(
        organisation=world.b.syndicate, severity=Severity.CRITICAL, detected_at=_utc(YEAR, 7, 1)
    )
    sf.ActionFactory(
        organisation=syndicate,
        created_at=_utc(YEAR, 1, 15, 9),
        status=ActionStatus.EFFECTIVE,
        is_open=False,
        done_on=dt.date(YEAR, 5, 1),
        checked_on=dt.date(YEAR, 6, 10),
    )
    sf.ActionFactory(organisation=syndicate, created_at=_utc(YEAR, 2, 15, 9))
    for received, answered, due in (
        (dt.date(YEAR, 2, 1), dt.date(YEAR, 2, 11), dt.date(YEAR, 3, 1)),  # 10 days, in time
        (dt.date(YEAR, 5, 1), dt.date(YEAR, 6, 15), dt.date(YEAR, 6, 1)),  # 45 days, late
        (dt.date(YEAR - 1, 5, 1), dt.date(YEAR - 1, 5, 21), dt.date(YEAR - 1, 6, 1)),  # 20 days
    ):
        rf.RightsRequestFactory(
            organisation=syndicate, received_on=received, answered_on=answered, due_on=due, is_open=False
        )
    for org, found, notified in (
        (member, _utc(YEAR, 4, 1, 10), _utc(YEAR, 4, 3, 10)),  # 48 h
        (syndicate, _utc(YEAR, 9, 1, 10), _utc(YEAR, 9, 5, 10)),  # 96 h
    ):
        rf.BreachFactory(
            organisation=org,
            discovered_at=found,
            cnil_decision=NotificationDecision.NOTIFIED,
            cnil_notified_at=notified,
        )
    session.flush()
    return world


def _figures(world: World, scope: str) -> dict[str, Any]:
    with acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        found = collect(world.a.syndicate.id, YEAR, scope)
    return {s.key: s for s in found.sections}


def _figure(section: Any, label: str) -> Any:
    return next(f for f in section.figures if f.label == label)


def test_the_figures_of_one_organisation(app_ctx: Flask, year: World) -> None:
    sections = _figures(year, SCOPE_ORGANISATION)
    assert list(sections)[:3] == ["registers.register", "registers.rights", "registers.breaches"]
    assert {"smsi.incidents", "smsi.actions", "smsi.soa", "risks.parcours", "risks.hygiene"} <= set(sections)
    incidents = sections["smsi.incidents"]
    total = _figure(incidents, "Incidents enregistrés")
    assert (total.value, total.previous) == (3, 1)
    assert _figure(incidents, "Incidents majeurs ou critiques").value == 2
    (chart,) = incidents.charts
    by_severity = {s.key: s.values for s in chart.series}
    assert by_severity[Severity.MAJOR.value][2] == 2  # March
    assert by_severity[Severity.MINOR.value][2] == 1
    assert sum(by_severity[Severity.CRITICAL.value]) == 0  # the member's is not the syndicate's
    actions = sections["smsi.actions"]
    assert _figure(actions, "Actions ouvertes dans l'année").value == 2
    closed = _figure(actions, "Actions closes (efficacité vérifiée)")
    assert closed.value == 1
    assert actions.charts[0].series[1].values[5] == 1  # closed in June
    rights = sections["registers.rights"]
    assert _figure(rights, "Demandes reçues").value == 2
    delay = _figure(rights, "Délai moyen de réponse")
    assert (delay.value, delay.previous) == pytest.approx((27.5, 20.0))
    assert _figure(rights, "Réponses dans le délai légal").value == pytest.approx(50.0)
    assert rights.tables[0].rows == (("Accès (art. 15)", "2", "1"),)
    breaches = sections["registers.breaches"]
    assert _figure(breaches, "Violations constatées").value == 1
    assert _figure(breaches, "Délai moyen de notification").value == pytest.approx(96.0)
    assert _figure(breaches, "Notifications dans les 72 heures").value == pytest.approx(0.0)


def test_the_consolidated_figures_are_the_sum_over_the_members(app_ctx: Flask, year: World) -> None:
    alone = _figures(year, SCOPE_ORGANISATION)
    member_only = {"incidents": 1, "breaches": 1}
    sections = _figures(year, SCOPE_MEMBERS)
    incidents = _figure(sections["smsi.incidents"], "Incidents enregistrés")
    assert (
        incidents.value
        == _figure(alone["smsi.incidents"], "Incidents enregistrés").value + member_only["incidents"]
    )
    critical = next(
        s for s in sections["smsi.incidents"].charts[0].series if s.key == Severity.CRITICAL.value
    )
    assert critical.values[6] == 1  # the member's, in July; world B's is not counted
    breaches = sections["registers.breaches"]
    assert _figure(breaches, "Violations constatées").value == 2
    assert _figure(breaches, "Notifications dans les 72 heures").value == pytest.approx(50.0)
    assert _figure(breaches, "Délai moyen de notification").value == pytest.approx(72.0)


def test_the_syndicate_rssi_previews_the_consolidated_report(year: World, login_as: Any) -> None:
    client = login_as(year.a.users[Role.RSSI], year.a.syndicate)
    page = client.get(f"/reports/annual?year={YEAR}&scope=members")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Incidents par mois et par gravité" in html
    assert "<svg" in html
    assert 'role="img"' in html
    assert 'value="members"' in html
    assert "CANARY" not in html
    # The Rapports page offers the annual report with its year and scope.
    index = client.get("/reports/").get_data(as_text=True)
    assert "Bilan sécurité et conformité" in index
    assert 'action="/reports/annual/generate"' in index


def test_a_member_sees_only_its_organisation(year: World, login_as: Any) -> None:
    client = login_as(year.a.member_referent, year.a.member)
    page = client.get(f"/reports/annual?year={YEAR}")
    assert page.status_code == 200
    assert 'value="members"' not in page.get_data(as_text=True)
    assert client.get(f"/reports/annual?year={YEAR}&scope=members").status_code == 404
    token = csrf_token_from(client.get("/reports/").get_data(as_text=True))
    refused = client.post(
        "/reports/annual/generate", data={"csrf_token": token, "year": YEAR, "scope": "members"}
    )
    assert refused.status_code == 302


def test_another_syndicate_consolidates_only_its_own_members(year: World, login_as: Any) -> None:
    client = login_as(year.b.users[Role.RSSI], year.b.syndicate)
    html = client.get(f"/reports/annual?year={YEAR}&scope=members").get_data(as_text=True)
    assert "Syndicat A" not in html
    assert "Ville A" not in html


@pytest.fixture
def _empty_queue(app: Flask) -> Any:
    yield
    with app.app_context():
        current_huey().storage.flush_all()


@pytest.mark.usefixtures("_empty_queue")
def test_the_pdf_is_built_by_the_job_queue(year: World, login_as: Any, session: Any, tmp_path: Path) -> None:
    rssi = year.a.users[Role.RSSI]
    client = login_as(rssi, year.a.syndicate)
    token = csrf_token_from(client.get("/reports/").get_data(as_text=True))
    response = client.post(
        "/reports/annual/generate", data={"csrf_token": token, "year": YEAR, "scope": "members"}
    )
    assert response.status_code == 302
    assert response.location == "/reports/"
    session.expire_all()
    job = session.scalar(select(DocumentJob).where(DocumentJob.kind == "annual_report"))
    assert (job.status, job.progress, job.options) == ("done", 100, {"year": YEAR, "scope": "members"})
    report = session.get(GeneratedReport, job.report_id)
    assert report.created_by_id == rssi.id
    path = tmp_path / "bilan.pdf"
    path.write_bytes(report.content)
    if shutil.which("qpdf"):
        subprocess.run(["qpdf", "--check", str(path)], check=True, capture_output=True)  # noqa: S603, S607
    text = subprocess.run(  # noqa: S603
        ["pdftotext", "-layout", str(path), "-"],  # noqa: S607
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert f"Bilan sécurité et conformité {YEAR}" in text
    assert "Sommaire" in text
    assert "Incidents enregistrés" in text
    assert "Violations constatées" in text
    assert "Faits marquants de l'année" in text
    assert "Signatures" in text
    pages = text.count("\f")
    assert f"page 1 / {pages}" in text or f"page 1 / {pages + 1}" in text
    entry = session.scalar(
        select(AuditEvent).where(AuditEvent.action == "report.generate", AuditEvent.object_id == report.id)
    )
    assert entry.actor_id == rssi.id
    page = client.get("/reports/").get_data(as_text=True)
    assert f"/reports/{report.id}/download" in page


def test_the_rssi_writes_the_texts(year: World, login_as: Any, session: Any) -> None:
    client = login_as(year.a.users[Role.RSSI], year.a.syndicate)
    form = client.get(f"/reports/annual/texts?year={YEAR}")
    assert form.status_code == 200
    token = csrf_token_from(form.get_data(as_text=True))
    empty = client.post("/reports/annual/texts", data={"csrf_token": token, "year": YEAR, "version": ""})
    assert empty.status_code == 422
    assert "Rédigez les faits marquants" in empty.get_data(as_text=True)
    saved = client.post(
        "/reports/annual/texts",
        data={
            "csrf_token": token,
            "year": YEAR,
            "version": "",
            "highlights": "Exercice de crise CANARY",
            "plan": "MFA",
        },
    )
    assert saved.status_code == 302
    session.expire_all()
    row = session.scalar(
        select(AnnualReportText).where(AnnualReportText.organisation_id == year.a.syndicate.id)
    )
    assert (row.year, row.highlights, row.plan, row.version) == (YEAR, "Exercice de crise CANARY", "MFA", 1)
    entry = session.scalar(select(AuditEvent).where(AuditEvent.action == "annual_report.texts.create"))
    assert entry.object_id == row.id
    assert "Exercice de crise CANARY" in client.get(f"/reports/annual?year={YEAR}").get_data(as_text=True)
    # Saved again from the form of version 1: fine; then a stale form: the conflict page.
    again = client.post(
        "/reports/annual/texts",
        data={"csrf_token": token, "year": YEAR, "version": "1", "highlights": "Deux", "plan": ""},
    )
    assert again.status_code == 302
    stale = client.post(
        "/reports/annual/texts",
        data={"csrf_token": token, "year": YEAR, "version": "1", "highlights": "Trois", "plan": ""},
    )
    assert stale.status_code == 409
    conflict_page = stale.get_data(as_text=True)
    assert "Trois" in conflict_page  # what was typed, kept in the form
    assert 'id="conflict"' in conflict_page  # the house's conflict panel…
    assert "Deux" in conflict_page  # …with the saved version beside what was typed
    assert client.get("/reports/annual/texts?year=1999").status_code == 404
    # Another organisation's RSSI never sees these texts.
    other = login_as(year.b.users[Role.RSSI], year.b.syndicate)
    assert "Deux" not in other.get(f"/reports/annual?year={YEAR}").get_data(as_text=True)


def test_a_reader_may_not_write_the_texts(year: World, login_as: Any) -> None:
    client = login_as(year.a.users[Role.READER], year.a.syndicate)
    assert client.get(f"/reports/annual/texts?year={YEAR}").status_code == 403
    assert client.get(f"/reports/annual?year={YEAR}").status_code == 200


@pytest.fixture
def risks_year(year: World, session: Any) -> World:
    """The member's hygiene self-assessments (the year before, two in the year) and its parcours."""
    from decimal import Decimal  # noqa: PLC0415

    from risks.models import HygieneAnswer, HygieneStatus  # noqa: PLC0415
    from tests.risks import factories as kf  # noqa: PLC0415

    member = year.a.member
    for on, statuses in (
        (dt.date(YEAR - 1, 11, 1), [HygieneStatus.IMPLEMENTED]),  # the year before: 100 %
        (dt.date(YEAR, 2, 1), [HygieneStatus.NOT_IMPLEMENTED]),  # replaced by the year's last one
        (
            dt.date(YEAR, 10, 1),
            [
                HygieneStatus.IMPLEMENTED,
                HygieneStatus.PARTIAL,
                HygieneStatus.NOT_IMPLEMENTED,
                HygieneStatus.NOT_APPLICABLE,  # left out
            ],
        ),
    ):
        assessment = kf.HygieneAssessmentFactory(organisation=member, assessed_on=on)
        for number, status in enumerate(statuses, start=1):
            session.add(
                HygieneAnswer(
                    organisation_id=member.id, assessment_id=assessment.id, measure=number, status=status
                )
            )
    parcours = kf.ParcoursFactory(organisation=member)
    kf.SubsidyFactory(
        parcours=parcours,
        amount_expected=Decimal("50000.00"),
        amount_received=Decimal("20000.00"),
        received_on=dt.date(YEAR, 6, 1),
    )
    phase = kf.ParcoursPhaseFactory(parcours=parcours)
    kf.ParcoursMeasureFactory(phase=phase, amount_spent=Decimal("3000.00"))
    session.flush()
    return year


def test_hygiene_maturity_and_parcours_money(risks_year: World, app_ctx: Flask) -> None:
    year = risks_year
    alone = _figures(year, SCOPE_ORGANISATION)
    assert _figure(alone["risks.hygiene"], "Score moyen d'hygiène").value is None  # the syndicate's own
    sections = _figures(year, SCOPE_MEMBERS)
    hygiene = _figure(sections["risks.hygiene"], "Score moyen d'hygiène")
    assert (hygiene.value, hygiene.previous) == pytest.approx((50.0, 100.0))
    assert _figure(sections["risks.hygiene"], "Organisations auto-évaluées dans l'année").value == 1
    parcours_figures = sections["risks.parcours"]
    assert _figure(parcours_figures, "Organisations engagées dans un parcours").value == 1
    assert _figure(parcours_figures, "Subvention attendue").value == pytest.approx(50000.0)
    assert _figure(parcours_figures, "Subvention reçue dans l'année").value == pytest.approx(20000.0)
    assert _figure(parcours_figures, "Dépenses engagées").value == pytest.approx(3000.0)
    assert _figure(parcours_figures, "Mesures du plan de sécurisation réalisées").value == pytest.approx(0.0)


def test_a_member_dpo_has_no_consolidated_scope(year: World, login_as: Any, session: Any) -> None:
    from tests import factories as f  # noqa: PLC0415

    dpo = f.UserFactory(email="dpo.ville-a@example.org")
    f.MembershipFactory(user=dpo, organisation=year.a.member, role=Role.DPO)
    session.flush()
    client = login_as(dpo, year.a.member)
    assert 'value="members"' not in client.get(f"/reports/annual?year={YEAR}").get_data(as_text=True)
    assert client.get(f"/reports/annual?year={YEAR}&scope=members").status_code == 404
    syndicate_dpo = login_as(year.a.users[Role.DPO], year.a.syndicate)
    assert syndicate_dpo.get(f"/reports/annual?year={YEAR}&scope=members").status_code == 200
