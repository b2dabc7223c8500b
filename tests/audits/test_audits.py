"""Audits: the campaign's rules (dates, scope, reference), findings closed only when every linked
action is verified effective (a nonconformity needs one), re-checks shown on both audits, the
findings PDF, and the forms' messages on bad input."""

from __future__ import annotations

import datetime as dt
import html
import io
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import func, select

from accounts.models import Organisation
from audits.models import Audit, Finding, FindingLevel, FindingRecheck, FindingStatus
from audits.services import audits as audit_svc
from audits.services import findings as svc
from core.db import local_today, today
from core.extensions import db
from core.forms import FieldError
from core.security import Role
from smsi.models import ActionStatus
from smsi.services import actions as smsi_actions
from tests.conftest import World, acting_as


def _fields(exc: pytest.ExceptionInfo[FieldError]) -> set[str]:
    return {e.field for e in getattr(exc.value, "errors", [exc.value])}


def _audit_data(world: World, **changes: Any) -> dict[str, Any]:
    return {
        "title": "Audit interne du SMSI",
        "type": "internal",
        "status": "in_progress",
        "frameworks": ["annex_a"],
        "organisation_ids": [world.a.syndicate.id, world.a.member.id],
        "start_on": dt.date(2026, 11, 2),
        "end_on": dt.date(2026, 12, 18),
        "lead_auditor_name": "Claire Martin",
        **changes,
    }


def _finding_data(**changes: Any) -> dict[str, Any]:
    return {
        "title": "Sauvegardes non testées",
        "level": "NCmin",
        "requirement_kind": "annex_a",
        "requirement_ref": "A.8.13",
        "status": "open",
        **changes,
    }


@pytest.fixture
def rssi(world: World, app: Flask) -> Any:
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        yield db.session.merge(world.a.users[Role.RSSI])


def _syndicate(world: World) -> Any:
    return db.session.merge(world.a.syndicate)


def _effective(action: Any, world: World) -> None:
    data = {name: getattr(action, name) for name in smsi_actions.FIELDS}
    data.update(
        status=ActionStatus.EFFECTIVE.value,
        done_on=today(),
        check_method="Restauration d'essai",
        checked_on=today(),
        checked_by_id=world.a.users[Role.RSSI].id,
        check_result="Restauration complète en 2 h",
        version=action.version,
    )
    smsi_actions.update_action(action, None, data)


def test_an_audit_is_numbered_per_organisation_and_checks_its_dates_and_scope(
    world: World, rssi: Any
) -> None:
    org = _syndicate(world)
    first = audit_svc.create_audit(org, rssi, _audit_data(world))
    second = audit_svc.create_audit(org, rssi, _audit_data(world, follow_up_of_id=first.id))
    assert (first.reference, second.reference) == ("AUD-2026-001", "AUD-2026-002")
    assert second.follow_up_of_id == first.id
    assert sorted(o.id for o in first.organisations) == sorted([world.a.syndicate.id, world.a.member.id])
    with pytest.raises(FieldError) as exc:
        audit_svc.create_audit(
            org,
            rssi,
            _audit_data(
                world,
                title="",
                end_on=dt.date(2026, 10, 1),
                frameworks=[],
                organisation_ids=[world.b.member.id],  # another tenant's member
            ),
        )
    assert _fields(exc) == {"title", "end_on", "frameworks", "organisation_ids"}
    assert "ne peut pas précéder" in str([e.message for e in exc.value.errors])


def test_a_nonconformity_needs_an_action_and_closes_only_when_every_action_is_effective(
    world: World, rssi: Any
) -> None:
    audit = audit_svc.create_audit(_syndicate(world), rssi, _audit_data(world))
    finding = svc.create_finding(audit, rssi, _finding_data())
    assert finding.reference == "AUD-2026-001-F01"
    with pytest.raises(FieldError) as exc:
        svc.update_finding(finding, rssi, _finding_data(status="closed", version=finding.version))
    assert exc.value.message == "Une non-conformité ne peut être close sans au moins une action corrective."

    action = svc.create_action_for(
        finding,
        rssi,
        {
            "title": "Tester les restaurations",
            "type": "corrective",
            "owner_id": rssi.id,
            "due_on": local_today() + dt.timedelta(days=30),
        },
    )
    assert action.origin.value == "audit_finding"
    assert finding.reference in action.origin_detail
    assert finding.status is FindingStatus.ACTION_PLANNED
    with pytest.raises(FieldError) as exc:
        svc.update_finding(finding, rssi, _finding_data(status="closed", version=finding.version))
    assert action.reference in exc.value.message
    assert "efficacité" in exc.value.message

    _effective(action, world)
    closed = svc.update_finding(finding, rssi, _finding_data(status="closed", version=finding.version))
    assert closed.status is FindingStatus.CLOSED
    assert closed.closed_on == today()


def test_a_strength_closes_without_an_action_and_a_linked_open_action_blocks_it(
    world: World, rssi: Any
) -> None:
    audit = audit_svc.create_audit(_syndicate(world), rssi, _audit_data(world))
    strength = svc.create_finding(audit, rssi, _finding_data(level="PF", requirement_kind="none"))
    assert (
        svc.update_finding(
            strength, rssi, _finding_data(level="PF", status="closed", version=strength.version)
        ).status
        is FindingStatus.CLOSED
    )
    other = svc.create_finding(audit, rssi, _finding_data(level="PP"))
    existing = smsi_actions.create_action(
        _syndicate(world),
        rssi,
        {
            "title": "Plan de sauvegarde",
            "origin": "other",
            "origin_detail": "Revue",
            "type": "corrective",
            "owner_id": rssi.id,
            "due_on": local_today() + dt.timedelta(days=10),
            "status": "planned",
        },
    )
    assert svc.link_actions(other, rssi, [existing.id]) == [existing.id]
    with pytest.raises(FieldError):
        svc.update_finding(other, rssi, _finding_data(level="PP", status="closed", version=other.version))


def test_finding_checks_its_requirement_and_organisation(world: World, rssi: Any) -> None:
    audit = audit_svc.create_audit(
        _syndicate(world), rssi, _audit_data(world, organisation_ids=[world.a.syndicate.id])
    )
    with pytest.raises(FieldError) as exc:
        svc.create_finding(
            audit, rssi, _finding_data(requirement_ref="A.99.1", concerned_organisation_id=world.a.member.id)
        )
    assert _fields(exc) == {"requirement_ref", "concerned_organisation_id"}
    ok = svc.create_finding(audit, rssi, _finding_data(requirement_kind="hygiene", requirement_ref="7"))
    assert svc.requirement_label(ok.requirement_kind, ok.requirement_ref).startswith("7.")


def test_a_follow_up_audit_rechecks_a_finding_shown_on_both_audits(
    app: Flask, world: World, login_as: Any, session: Any
) -> None:
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        rssi = db.session.merge(world.a.users[Role.RSSI])
        first = audit_svc.create_audit(
            _syndicate(world),
            rssi,
            _audit_data(world, start_on=dt.date(2025, 3, 1), end_on=dt.date(2025, 3, 5)),
        )
        finding = svc.create_finding(first, rssi, _finding_data(level="PS"))
        second = audit_svc.create_audit(_syndicate(world), rssi, _audit_data(world, follow_up_of_id=first.id))
        with pytest.raises(FieldError):
            svc.record_recheck(
                second,
                rssi,
                {
                    "finding_id": finding.id,
                    "result": "resolved",
                    "checked_on": today() + dt.timedelta(days=2),
                },
            )
        db.session.commit()
        ids = (first.id, second.id, finding.id, first.reference)
    client = login_as(world.a.users[Role.RSSI])
    first_id, second_id, finding_id, _ref = ids
    response = client.post(
        f"/audits/{second_id}/rechecks",
        data={
            "finding_id": finding_id,
            "result": "resolved",
            "checked_on": today().isoformat(),
            "comment": "Corrigé en juin",
        },
    )
    assert response.status_code == 302
    assert session.scalar(select(func.count()).select_from(FindingRecheck)) == 1
    for audit_id in (first_id, second_id):
        page = client.get(f"/audits/{audit_id}").get_data(as_text=True)
        assert "Corrigé en juin" in page
        assert "Levé" in page
    # a finding of an audit the follow-up does not follow: refused, with the message, nothing written
    bad = client.post(
        f"/audits/{first_id}/rechecks",
        data={"finding_id": finding_id, "result": "resolved", "checked_on": today().isoformat()},
    )
    assert bad.status_code == 422
    assert "Choisissez un constat de l'audit suivi." in html.unescape(bad.get_data(as_text=True))
    assert session.scalar(select(func.count()).select_from(FindingRecheck)) == 1


def test_the_audit_form_says_what_is_wrong_and_keeps_what_was_typed(
    world: World, login_as: Any, session: Any
) -> None:
    client = login_as(world.a.users[Role.RSSI])
    response = client.post(
        "/audits/new",
        data={
            "title": "Audit des sauvegardes",
            "type": "internal",
            "status": "planned",
            "start_on": "2026-12-10",
            "end_on": "2026-12-01",
            "frameworks": ["annex_a"],
            "organisation_ids": [str(world.a.syndicate.id)],
        },
    )
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 422
    assert "La fin de l'audit ne peut pas précéder son début." in page
    assert 'value="Audit des sauvegardes"' in page
    assert session.scalar(select(func.count()).select_from(Audit)) == 0
    ok = client.post(
        "/audits/new",
        data={
            "title": "Audit des sauvegardes",
            "type": "internal",
            "status": "planned",
            "start_on": "2026-12-01",
            "end_on": "2026-12-10",
            "frameworks": ["annex_a"],
            "organisation_ids": [str(world.a.syndicate.id)],
        },
    )
    assert ok.status_code == 302
    audit = session.scalar(select(Audit))
    stale = client.post(
        f"/audits/{audit.id}/edit",
        data={
            "title": "Autre",
            "type": "internal",
            "status": "planned",
            "start_on": "2026-12-01",
            "end_on": "2026-12-10",
            "frameworks": ["annex_a"],
            "organisation_ids": [str(world.a.syndicate.id)],
            "version": str(audit.version + 5),
        },
    )
    assert stale.status_code == 409


def test_the_list_filters_by_status_type_and_year(world: World, rssi: Any, login_as: Any) -> None:
    org = _syndicate(world)
    audit_svc.create_audit(
        org,
        rssi,
        _audit_data(
            world,
            title="Audit 2025",
            start_on=dt.date(2025, 5, 1),
            end_on=dt.date(2025, 5, 2),
            status="closed",
        ),
    )
    audit_svc.create_audit(
        org, rssi, _audit_data(world, title="Campagne de diagnostic", type="anssi_diagnostic")
    )
    db.session.commit()
    client = login_as(world.a.users[Role.RSSI])
    by_year = client.get("/audits/?year=2025").get_data(as_text=True)
    assert "Audit 2025" in by_year
    assert "Campagne de diagnostic" not in by_year
    by_type = client.get("/audits/?type=anssi_diagnostic").get_data(as_text=True)
    assert "Campagne de diagnostic" in by_type
    assert "Audit 2025" not in by_type
    by_status = client.get("/audits/?status=closed").get_data(as_text=True)
    assert "Audit 2025" in by_status
    assert "Campagne de diagnostic" not in by_status


def test_the_findings_pdf_lists_the_findings_by_level(
    app: Flask, world: World, login_as: Any, tmp_path: Path
) -> None:
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        rssi = db.session.merge(world.a.users[Role.RSSI])
        audit = audit_svc.create_audit(_syndicate(world), rssi, _audit_data(world))
        svc.create_finding(audit, rssi, _finding_data(title="Sauvegardes non testées", level="NCmaj"))
        svc.create_finding(
            audit,
            rssi,
            _finding_data(title="Revue des accès exemplaire", level="PF", requirement_kind="none"),
        )
        db.session.commit()
        audit_id, reference = audit.id, audit.reference
    client = login_as(world.a.users[Role.RSSI])
    response = client.post(f"/audits/{audit_id}/findings.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert f"Constats de l'audit {reference}" in text
    assert "Synthèse par niveau" in text
    assert "Non-conformité majeure" in text
    assert f"{reference}-F01" in text
    assert "Revue des accès exemplaire" in text
    assert text.index("Sauvegardes non testées") < text.index("Revue des accès exemplaire")  # NC first
    assert f"1 / {len(reader.pages)}" in text or f"1/{len(reader.pages)}" in text
    if shutil.which("qpdf") is None:
        pytest.skip("qpdf is not installed")
    path = tmp_path / "findings.pdf"
    path.write_bytes(response.data)
    result = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True, check=False)  # noqa: S603, S607
    assert result.returncode == 0, result.stdout + result.stderr


def test_levels_come_from_the_afnor_reference() -> None:
    assert FindingLevel.NCMAJ.is_nonconformity
    assert FindingLevel.NCMIN.is_nonconformity
    assert not FindingLevel.PS.is_nonconformity
    assert [lv.value for lv in sorted(FindingLevel, key=lambda lv: lv.rank)] == [
        "PF",
        "OBS",
        "PP",
        "PS",
        "NCmin",
        "NCmaj",
    ]
    assert Finding.__tablename__ == "audit_findings"


def test_yearly_figures_count_audits_done_findings_by_level_and_closed(world: World, rssi: Any) -> None:
    from audits import figures  # noqa: PLC0415 — the module under test

    org = _syndicate(world)
    done = audit_svc.create_audit(org, rssi, _audit_data(world, status="report_issued"))
    svc.create_finding(done, rssi, _finding_data(level="NCmaj"))
    strength = svc.create_finding(done, rssi, _finding_data(level="PF", requirement_kind="none"))
    svc.update_finding(
        strength,
        rssi,
        _finding_data(level="PF", requirement_kind="none", status="closed", version=strength.version),
    )
    audit_svc.create_audit(org, rssi, _audit_data(world, title="En cours", status="in_progress"))
    orgs = select(Organisation.id).where(Organisation.id == org.id)
    (section,) = figures.yearly(orgs, 2026)
    values = {str(f.label): f.value for f in section.figures}
    assert values["Audits réalisés"] == 1
    assert values["Non-conformités relevées"] == 1
    assert values["Constats de ces audits"] == 2
    assert values["Constats clos dans l'année"] == (1 if today().year == 2026 else 0)
    rows = {r[0]: r[1] for r in section.tables[0].rows}
    assert rows["NCmaj — Non-conformité majeure"] == "1"
