"""The ANSSI parcours de cybersécurité: the parcours and its two phases, money totals and the
beneficiary's co-financing, negative amounts refused (French message, nothing written), the late flag
and the subsidies at risk, a measure and its SMSI action are one object (the action's page moves the
parcours' progress), progress per theme, the pages (forms keep what was typed, stale forms, another
organisation's records are 404), the journal, the home card, the PDF (text, pages, ``qpdf --check``)."""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import func, select

from core.audit.models import AuditEvent
from core.db import local_today
from core.extensions import db
from core.forms import FieldError
from core.security import Role
from reports.models import GeneratedReport
from risks.models import ParcoursMeasure, ParcoursPhase, PhaseKind, Subsidy
from risks.services import parcours as svc
from smsi.models import Action, ActionOrigin
from smsi.services import actions
from tests.conftest import World, acting_as

TODAY = local_today()


def _errors(exc: pytest.ExceptionInfo[FieldError]) -> dict[str, str]:
    return {e.field: e.message for e in getattr(exc.value, "errors", [exc.value])}


def _setup(world: World) -> tuple[Any, Any, dict[PhaseKind, ParcoursPhase]]:
    """World A's syndicate with a parcours (in an acting_as block)."""
    org = db.session.merge(world.a.syndicate)
    parcours = svc.save_parcours(org, None, {"selected_on": dt.date(2021, 6, 1), "provider": "Provider"})
    return org, parcours, {p.kind: p for p in svc.phases(parcours)}


def _measure(world: World, phase: ParcoursPhase, **changes: Any) -> dict[str, Any]:
    data = {
        "theme": "T8",
        "phase_id": phase.id,
        "title": "Security event centralisation",
        "owner_id": world.a.users[Role.RSSI].id,
        "due_on": TODAY + dt.timedelta(days=30),
        "status": "planned",
        "planned_cost": "12 000,50",
        "amount_spent": "0",
        "hygiene_measures": ["36", "37", "99"],
        "control_ids": ["A.8.15", "A.99"],
    }
    return {**data, **changes}


def _late(measure: ParcoursMeasure, days: int = 10) -> None:
    """Move the measure's action past its due date, through the actions' service."""
    action = db.session.get(Action, measure.action_id)
    data = {name: getattr(action, name) for name in actions.FIELDS}
    actions.update_action(
        action, None, data | {"due_on": TODAY - dt.timedelta(days=days), "version": action.version}
    )


def test_parcours_phases_money_and_cofinancing(world: World, app: Flask) -> None:
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        _org, parcours, phases = _setup(world)
        # The programme's two phases, phase 2 co-financed at 30 % by the beneficiary.
        assert [p.kind for p in svc.phases(parcours)] == [PhaseKind.DIAGNOSTIC, PhaseKind.CORRECTIVE]
        assert phases[PhaseKind.DIAGNOSTIC].cofinancing_rate == 0
        assert phases[PhaseKind.CORRECTIVE].cofinancing_rate == 30
        first = svc.create_subsidy(
            parcours,
            None,
            {
                "label": "Tranche 1",
                "phase_id": phases[PhaseKind.DIAGNOSTIC].id,
                "amount_expected": "40 000",
                "amount_received": "40000",
                "received_on": dt.date(2021, 12, 1),
            },
        )
        svc.create_subsidy(
            parcours,
            None,
            {
                "label": "Tranche 2",
                "phase_id": phases[PhaseKind.CORRECTIVE].id,
                "amount_expected": "50 000,00 €",
                "expected_on": dt.date(2023, 6, 30),
            },
        )
        corrective = phases[PhaseKind.CORRECTIVE]
        svc.create_measure(
            parcours, None, _measure(world, corrective, planned_cost="60000", amount_spent="1500.5")
        )
        svc.create_measure(
            parcours, None, _measure(world, corrective, title="MFA", theme="T2", planned_cost="10000")
        )
        money = svc.funding(parcours)
        by_kind = {p.kind: m for p, m in money.phases if p is not None}
        phase2 = by_kind[PhaseKind.CORRECTIVE]
        assert phase2.planned == Decimal("70000.00")
        assert phase2.spent == Decimal("1500.50")
        assert phase2.expected == Decimal("50000.00")
        assert phase2.received == Decimal("0.00")
        assert phase2.cofinancing == Decimal("21000.00")  # 30 % of 70,000
        assert phase2.remaining == Decimal("0.00")  # 70,000 - 50,000 - 21,000 < 0
        assert phase2.to_receive == Decimal("50000.00")
        phase1 = by_kind[PhaseKind.DIAGNOSTIC]
        assert (phase1.expected, phase1.received, phase1.cofinancing) == (
            Decimal("40000.00"),
            Decimal("40000.00"),
            Decimal("0.00"),
        )
        assert money.total.expected == Decimal("90000.00")
        assert money.total.received == Decimal("40000.00")
        assert money.total.cofinancing == Decimal("21000.00")
        # A higher cost leaves something to finance.
        svc.update_phase(corrective, None, {"version": corrective.version, "cofinancing_rate": 20})
        money = svc.funding(parcours)
        phase2 = next(m for p, m in money.phases if p is not None and p.kind is PhaseKind.CORRECTIVE)
        assert phase2.cofinancing == Decimal("14000.00")
        assert phase2.remaining == Decimal("6000.00")
        # The measure's hygiene measures and controls: the known ones only.
        m = db.session.scalars(select(ParcoursMeasure).where(ParcoursMeasure.theme == "T8")).one()
        assert m.hygiene_measures == [36, 37]
        assert m.control_ids == ["A.8.15"]
        assert first.is_received


def test_negative_amounts_are_refused_and_nothing_is_written(world: World, app: Flask) -> None:
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        _org, parcours, phases = _setup(world)
        before = (
            db.session.scalar(select(func.count()).select_from(Action)),
            db.session.scalar(select(func.count()).select_from(Subsidy)),
        )
        with pytest.raises(FieldError) as exc:
            svc.create_subsidy(parcours, None, {"label": "Tranche 2", "amount_expected": "-50000"})
        assert _errors(exc) == {"amount_expected": "Un montant ne peut pas être négatif."}
        with pytest.raises(FieldError) as exc:
            svc.create_measure(
                parcours,
                None,
                _measure(
                    world, phases[PhaseKind.CORRECTIVE], planned_cost="-1", amount_spent="abc", title=""
                ),
            )
        errors = _errors(exc)
        assert errors["planned_cost"] == "Un montant ne peut pas être négatif."
        assert errors["amount_spent"].startswith("Montant invalide")
        assert errors["title"] == "Donnez un intitulé à l'action."  # the actions' own rule, in the same pass
        after = (
            db.session.scalar(select(func.count()).select_from(Action)),
            db.session.scalar(select(func.count()).select_from(Subsidy)),
        )
        assert after == before
        # A received amount asks for its date; a date in the future is refused.
        with pytest.raises(FieldError) as exc:
            svc.create_subsidy(
                parcours,
                None,
                {"label": "T1", "amount_expected": "1", "amount_received": "1", "received_on": None},
            )
        assert "received_on" in _errors(exc)


def test_late_measures_and_subsidies_at_risk(world: World, app: Flask) -> None:
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        org, parcours, phases = _setup(world)
        corrective = phases[PhaseKind.CORRECTIVE]
        named = svc.create_subsidy(
            parcours, None, {"label": "Tranche 2", "phase_id": corrective.id, "amount_expected": "50000"}
        )
        unnamed = svc.create_subsidy(
            parcours,
            None,
            {
                "label": "Tranche 3",
                "phase_id": corrective.id,
                "amount_expected": "10000",
                "expected_on": TODAY,
            },
        )
        siem = svc.create_measure(parcours, None, _measure(world, corrective, subsidy_id=named.id))
        mfa = svc.create_measure(parcours, None, _measure(world, corrective, title="MFA", theme="T2"))
        assert svc.subsidies_at_risk(parcours) == []
        assert svc.figures(org.id).late == 0
        # The measure naming tranche 2 slips: tranche 2 at risk; tranche 3 (named by nobody) too,
        # a measure of its phase being late.
        _late(siem)
        assert [r.is_late for r in svc.measure_rows(parcours)] == [False, True]  # T2 first, then T8
        assert {s.id for s in svc.subsidies_at_risk(parcours)} == {named.id, unnamed.id}
        assert [r.measure.id for r in svc.measure_rows(parcours, svc.MeasureFilters(late=True))] == [siem.id]
        figures = svc.figures(org.id)
        assert figures.late == 1
        assert figures.at_risk.id == unnamed.id  # the earliest expected first (dated before undated)
        # Carried out: no longer late, though its effectiveness is still to check.
        action = db.session.get(Action, siem.action_id)
        svc.update_measure(
            siem,
            None,
            _measure(
                world,
                corrective,
                subsidy_id=named.id,
                status="done",
                done_on=TODAY,
                due_on=action.due_on,
                version=siem.version,
                action_version=action.version,
            ),
        )
        assert action.is_open  # the SMSI still waits for the check
        assert svc.subsidies_at_risk(parcours) == []
        # Received subsidies are never at risk.
        _late(mfa)
        assert {s.id for s in svc.subsidies_at_risk(parcours)} == {unnamed.id}
        svc.update_subsidy(
            unnamed,
            None,
            {
                "version": unnamed.version,
                "label": "Tranche 3",
                "phase_id": corrective.id,
                "amount_expected": "10000",
                "amount_received": "10000",
                "received_on": TODAY,
            },
        )
        assert svc.subsidies_at_risk(parcours) == []


def test_measure_is_its_action_and_progress_follows_the_action(
    world: World, app: Flask, login_as: Any, session: Any
) -> None:
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        _org, parcours, phases = _setup(world)
        corrective = phases[PhaseKind.CORRECTIVE]
        siem = svc.create_measure(parcours, None, _measure(world, corrective))
        svc.create_measure(parcours, None, _measure(world, corrective, title="Log retention"))
        svc.create_measure(
            parcours, None, _measure(world, corrective, title="MFA", theme="T2", status="done", done_on=TODAY)
        )
        action = db.session.get(Action, siem.action_id)
        assert action.origin is ActionOrigin.PARCOURS
        assert "thème 8" in action.origin_detail
        progress = svc.progress(parcours)
        assert (progress.themes["T8"].total, progress.themes["T8"].done, progress.themes["T8"].rate) == (
            2,
            0,
            0,
        )
        assert progress.themes["T2"].rate == 100
        assert progress.themes["T1"].total == 0
        assert progress.overall.rate == 33
        # Effectiveness asked from the measure form: refused, the action's page does it.
        with pytest.raises(FieldError) as exc:
            svc.update_measure(
                siem,
                None,
                _measure(
                    world, corrective, status="effective", version=siem.version, action_version=action.version
                ),
            )
        assert "status" in _errors(exc)
        db.session.commit()
        action_id = siem.action_id
    # The SMSI's action page changes the status: the parcours' progress moves (one object).
    rssi = login_as(world.a.users[Role.RSSI], world.a.syndicate)
    page = rssi.get(f"/smsi/actions/{action_id}/edit").get_data(as_text=True)
    version = re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)
    action = session.get(Action, action_id)
    edited = rssi.post(
        f"/smsi/actions/{action_id}/edit",
        data={
            "version": version,
            "title": action.title,
            "origin": "parcours",
            "origin_detail": action.origin_detail,
            "type": "corrective",
            "priority": "normal",
            "owner_id": str(action.owner_id),
            "due_on": action.due_on.isoformat(),
            "status": "done",
            "done_on": TODAY.isoformat(),
        },
    )
    assert edited.status_code == 302, edited.get_data(as_text=True)[:2000]
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        parcours = svc.parcours_of(world.a.syndicate.id)
        progress = svc.progress(parcours)
        assert progress.themes["T8"].done == 1
        assert progress.overall.rate == 67
    # The SMSI's action list shows it (origin parcours), with no extra code.
    listing = rssi.get("/smsi/actions/?origin=parcours").get_data(as_text=True)
    assert "Security event centralisation" in listing


def test_journal_entries(world: World, app: Flask) -> None:
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        _org, parcours, phases = _setup(world)
        corrective = phases[PhaseKind.CORRECTIVE]
        subsidy = svc.create_subsidy(parcours, None, {"label": "T2", "amount_expected": "5"})
        measure = svc.create_measure(parcours, None, _measure(world, corrective, subsidy_id=subsidy.id))
        svc.delete_subsidy(subsidy, None, subsidy.version)
        assert measure.subsidy_id is None
        svc.delete_measure(measure, None, measure.version)
        assert db.session.get(Action, measure.action_id) is not None  # the action stays in the SMSI
        entries = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        for action in (
            "parcours.create",
            "parcours_phase.create",
            "subsidy.create",
            "action.create",
            "parcours_measure.create",
            "subsidy.delete",
            "parcours_measure.update",
            "parcours_measure.delete",
        ):
            assert action in entries, action


def _html(response: Any) -> str:
    return response.get_data(as_text=True)


def _version(page: str) -> str:
    return re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)


def test_pages(world: World, app: Flask, login_as: Any, session: Any) -> None:
    rssi = login_as(world.a.users[Role.RSSI], world.a.syndicate)
    empty = _html(rssi.get("/risks/parcours/"))
    assert "Aucun parcours de cybersécurité enregistré" in empty
    assert rssi.get("/risks/parcours/measures/new").status_code == 404  # no parcours yet
    bad = rssi.post("/risks/parcours/settings", data={"selected_on": "", "provider": "Prestataire X"})
    assert bad.status_code == 422
    assert "Prestataire X" in _html(bad)
    assert (
        rssi.post(
            "/risks/parcours/settings", data={"selected_on": "2021-06-01", "provider": "Prestataire X"}
        ).status_code
        == 302
    )
    page = _html(rssi.get("/risks/parcours/"))
    assert "Phase 2 — mesures correctives (pack relais)" in page
    phase2 = session.scalar(
        select(ParcoursPhase).where(
            ParcoursPhase.kind == PhaseKind.CORRECTIVE, ParcoursPhase.organisation_id == world.a.syndicate.id
        )
    )
    # A negative amount: the French message beside the field, what was typed kept, nothing written.
    bad = rssi.post(
        "/risks/parcours/subsidies/new",
        data={
            "label": "Tranche 2",
            "amount_expected": "-50 000",
            "phase_id": str(phase2.id),
            "condition": "Plan à jour",
        },
    )
    assert bad.status_code == 422
    html = _html(bad)
    assert "Un montant ne peut pas être négatif." in html
    assert "-50 000" in html
    assert "Plan à jour" in html
    assert session.scalar(select(func.count()).select_from(Subsidy)) == 0
    good = rssi.post(
        "/risks/parcours/subsidies/new",
        data={
            "label": "Tranche 2",
            "amount_expected": "50 000",
            "phase_id": str(phase2.id),
            "expected_on": "2023-06-30",
        },
    )
    assert good.status_code == 302
    subsidy = session.scalar(select(Subsidy))
    form = {
        "title": "Outil de centralisation des évènements",
        "theme": "T8",
        "phase_id": str(phase2.id),
        "owner_id": str(world.a.users[Role.RSSI].id),
        "due_on": (TODAY + dt.timedelta(days=60)).isoformat(),
        "status": "planned",
        "planned_cost": "-3",
        "amount_spent": "",
        "subsidy_id": str(subsidy.id),
        "hygiene_measures": ["36"],
        "control_ids": ["A.8.15"],
    }
    bad = rssi.post("/risks/parcours/measures/new", data=form)
    assert bad.status_code == 422
    assert "Un montant ne peut pas être négatif." in _html(bad)
    assert "Outil de centralisation des évènements" in _html(bad)
    assert session.scalar(select(func.count()).select_from(ParcoursMeasure)) == 0
    assert (
        rssi.post("/risks/parcours/measures/new", data=form | {"planned_cost": "25 000"}).status_code == 302
    )
    measure = session.scalar(select(ParcoursMeasure))
    assert measure.planned_cost == Decimal("25000.00")
    page = _html(rssi.get("/risks/parcours/"))
    assert "Outil de centralisation des évènements" in page
    assert "25\u202f000,00\xa0€" in page or "25 000,00" in page.replace("\u202f", " ").replace("\xa0", " ")
    assert 'role="img"' in page  # the progress chart
    assert "style=" not in page.split("<main", 1)[-1]
    # Filters: theme, phase, late only.
    assert "Outil de centralisation" not in _html(rssi.get("/risks/parcours/?theme=T1"))
    assert "Outil de centralisation" not in _html(rssi.get("/risks/parcours/?late=1"))
    assert "Outil de centralisation" in _html(rssi.get(f"/risks/parcours/?phase={phase2.id}&theme=T8"))
    # The edit form; a stale form is the conflict page with what was typed.
    edit = _html(rssi.get(f"/risks/parcours/measures/{measure.id}/edit"))
    action_version = re.search(r'name="action_version" value="(\d+)"', edit).group(1)
    data = form | {"planned_cost": "25000", "version": _version(edit), "action_version": action_version}
    assert (
        rssi.post(f"/risks/parcours/measures/{measure.id}/edit", data=data | {"title": "SIEM"}).status_code
        == 302
    )
    stale = rssi.post(
        f"/risks/parcours/measures/{measure.id}/edit", data=data | {"title": "Mes mots à garder"}
    )
    assert stale.status_code == 409
    assert "Mes mots à garder" in _html(stale)
    # The home card: no late measure yet, then the measure slips.
    home = _html(rssi.get("/"))
    assert 'data-widget="risks.parcours"' in home
    assert 'data-figure="parcours-late"' in home
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        _late(db.session.get(ParcoursMeasure, measure.id))
        db.session.commit()
    home = _html(rssi.get("/"))
    assert 'href="/risks/parcours/?late=1#h-measures"><span class="fs-5 fw-semibold text-danger">1<' in home
    assert "Versement menacé : Tranche 2" in home
    late = _html(rssi.get("/risks/parcours/?late=1"))
    assert 'data-late="1"' in late
    # Another organisation: 404 on every record, its own empty parcours page.
    other = login_as(world.b.users[Role.RSSI], world.b.syndicate)
    assert other.get(f"/risks/parcours/measures/{measure.id}/edit").status_code == 404
    assert (
        other.post(f"/risks/parcours/measures/{measure.id}/delete", data={"version": "1"}).status_code == 404
    )
    assert other.get(f"/risks/parcours/subsidies/{subsidy.id}/edit").status_code == 404
    assert (
        other.post(f"/risks/parcours/subsidies/{subsidy.id}/delete", data={"version": "1"}).status_code == 404
    )
    assert other.get(f"/risks/parcours/phases/{phase2.id}/edit").status_code == 404
    assert "SIEM" not in _html(other.get("/risks/parcours/"))
    # A reader reads, does not write.
    reader = login_as(world.a.users[Role.READER], world.a.syndicate)
    assert "SIEM" in _html(reader.get("/risks/parcours/"))
    assert reader.get("/risks/parcours/measures/new").status_code == 403
    assert reader.post(f"/risks/parcours/measures/{measure.id}/delete", data={}).status_code == 403
    # Removing the measure keeps its action; a page loaded before a change deletes nothing.
    edit = _html(rssi.get(f"/risks/parcours/measures/{measure.id}/edit"))
    version = re.findall(r'name="version" type="hidden" value="(\d+)"', edit)[-1]
    stale = rssi.post(f"/risks/parcours/measures/{measure.id}/delete", data={"version": int(version) - 1})
    assert stale.location == f"/risks/parcours/measures/{measure.id}/edit"
    assert "modifiée entre-temps : rien n&#39;a été retiré" in _html(rssi.get(stale.location))
    assert session.scalar(select(func.count()).select_from(ParcoursMeasure)) == 1
    assert (
        rssi.post(f"/risks/parcours/measures/{measure.id}/delete", data={"version": version}).status_code
        == 302
    )
    assert session.scalar(select(func.count()).select_from(ParcoursMeasure)) == 0
    assert session.get(Action, measure.action_id) is not None


def test_parcours_pdf(world: World, app: Flask, login_as: Any, session: Any, tmp_path: Any) -> None:
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        _org, parcours, phases = _setup(world)
        corrective = phases[PhaseKind.CORRECTIVE]
        svc.update_phase(
            corrective,
            None,
            {
                "version": corrective.version,
                "cofinancing_rate": 30,
                "starts_on": dt.date(2022, 9, 1),
                "ends_on": dt.date(2024, 6, 30),
            },
        )
        tranche = svc.create_subsidy(
            parcours,
            None,
            {
                "label": "Tranche 2",
                "phase_id": corrective.id,
                "amount_expected": "50000",
                "expected_on": dt.date(2023, 6, 30),
                "condition": "Plan de sécurisation à jour",
            },
        )
        siem = svc.create_measure(
            parcours, None, _measure(world, corrective, subsidy_id=tranche.id, planned_cost="20000")
        )
        _late(siem)
        db.session.commit()
    with app.test_request_context(), acting_as(world.b.users[Role.RSSI], world.b.syndicate):
        org_b = db.session.merge(world.b.syndicate)
        other = svc.save_parcours(org_b, None, {"selected_on": dt.date(2022, 1, 1)})
        other_phase = svc.phases(other)[1]
        svc.create_measure(
            other,
            None,
            {
                **_measure(world, other_phase, title="Other syndicate's measure"),
                "owner_id": world.b.users[Role.RSSI].id,
            },
        )
        db.session.commit()
    rssi = login_as(world.a.users[Role.RSSI], world.a.syndicate)
    texts = {}
    for audience in ("comite", "anssi"):
        assert rssi.post("/risks/parcours/pdf", data={"audience": audience}).status_code == 302
        report = session.scalars(
            select(GeneratedReport)
            .where(GeneratedReport.kind == "parcours_report")
            .order_by(GeneratedReport.id.desc())
        ).first()
        assert report.organisation_id == world.a.syndicate.id
        text = " ".join(
            " ".join(p.extract_text() for p in PdfReader(io.BytesIO(report.content)).pages).split()
        )
        texts[audience] = text
        assert "Security event centralisation" in text
        assert "Other syndicate's measure" not in text
        assert "Tranche 2" in text
        assert "Plan de sécurisation à jour" in text
        assert "Détection et réaction" in text or "Capacité à détecter" in text
        assert "6 000,00" in text  # 30 % of 20,000
        assert "Mesures en retard" in text
        assert "Calendrier" in text
        assert re.search(r"page 1 / \d+", text)
        if shutil.which("qpdf"):
            path = tmp_path / f"parcours-{audience}.pdf"
            path.write_bytes(report.content)
            result = subprocess.run(  # noqa: S603 — a fixed command on our own file
                ["qpdf", "--check", str(path)],  # noqa: S607 — qpdf from the PATH, as test_register does
                capture_output=True,
                text=True,
                check=False,
            )
            assert result.returncode == 0, result.stdout + result.stderr
    assert "comité syndical" in texts["comite"]
    assert "rapport d'avancement à l'ANSSI" in texts["anssi"]
    # The ANSSI report leads with the funding, the comité's with the progress.
    assert texts["anssi"].index("Financement") < texts["anssi"].index("Avancement par thème")
    assert texts["comite"].index("Avancement par thème") < texts["comite"].index("Financement")
    assert rssi.post("/risks/parcours/pdf", data={"audience": "nobody"}).status_code == 302
    other = login_as(world.b.users[Role.RSSI], world.b.syndicate)
    assert other.get(f"/reports/{report.id}").status_code == 404
    if shutil.which("qpdf") is None:
        pytest.skip("qpdf is not installed")
