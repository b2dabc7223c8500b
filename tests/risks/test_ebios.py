"""EBIOS Risk Manager studies: what the five workshops produce flows into the register (one risk per
operational scenario, kept in step, the link cleared when the scenario goes), measures become SMSI
actions linked to the risk with their Annex A controls, the baseline pre-filled from the SoA and the
hygiene self-assessment without duplicates, the stakeholders' threat level, the SR/OV relevance, the
workshops' progress, ratings outside the scale refused in French with nothing written, the pages
(conflict page, another organisation's 404), the PDF."""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess
from typing import Any

import pytest
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import func, select

from core.audit.models import AuditEvent, AuditPayload
from core.concurrency import EditConflict
from core.db import local_today
from core.extensions import db
from core.forms import FieldError
from core.security import Role
from reports.models import GeneratedReport
from risks.models import (
    EbiosBaselineGap,
    EbiosOperationalScenario,
    EbiosSrOv,
    EbiosStakeholder,
    EbiosStudy,
    Risk,
    Treatment,
    risk_actions,
)
from risks.services import ebios as svc
from risks.services import hygiene
from smsi import reference as annex_a
from smsi.services import actions, soa
from tests.conftest import World, acting_as

K = svc.KINDS


def _errors(exc: pytest.ExceptionInfo[FieldError]) -> dict[str, str]:
    errors = getattr(exc.value, "errors", [exc.value])
    return {e.field: e.message for e in errors}


def _study(org: Any) -> EbiosStudy:
    return svc.create_study(
        org,
        None,
        {
            "title": "Plateforme d'hébergement mutualisée",
            "scope": "Les serveurs mutualisés du syndicat",
            "missions": "Héberger les applications des adhérents",
            "started_on": dt.date(2026, 11, 2),
        },
    )


def _build(study: EbiosStudy) -> dict[str, Any]:
    """Workshops 1 to 4 through the service: one of each, one operational scenario."""
    bv = svc.save_item(K["business_value"], study, None, {"name": "État civil", "nature": "information"})
    asset = svc.save_item(
        K["asset"],
        study,
        None,
        {"name": "Serveurs mutualisés", "kind": "infrastructure", "business_value_ids": [bv.id]},
    )
    fe = svc.save_item(
        K["feared_event"],
        study,
        None,
        {"business_value_id": bv.id, "description": "Registres chiffrés", "gravity": 3},
    )
    pair = svc.save_item(
        K["srov"],
        study,
        None,
        {
            "risk_origin": "Cybercriminel",
            "target_objective": "Rançon",
            "motivation": 4,
            "resources": 3,
            "activity": 4,
            "is_selected": True,
        },
    )
    sh = svc.save_item(
        K["stakeholder"],
        study,
        None,
        {
            "name": "Hébergeur",
            "category": "provider",
            "dependency": 4,
            "penetration": 3,
            "maturity": 2,
            "trust": 2,
        },
    )
    strategic = svc.save_item(
        K["strategic"],
        study,
        None,
        {"srov_id": pair.id, "title": "Rançongiciel via l'hébergeur", "feared_event_ids": [fe.id]},
    )
    path = svc.save_item(
        K["attack_path"],
        study,
        None,
        {"scenario_id": strategic.id, "stakeholder_id": sh.id, "description": "Accès VPN"},
    )
    op = svc.save_item(
        K["operational"],
        study,
        None,
        {
            "strategic_scenario_id": strategic.id,
            "title": "Hameçonnage puis chiffrement",
            "description": "Courriel piégé, élévation, chiffrement",
            "asset_ids": [asset.id],
            "likelihood": 2,
        },
    )
    return {
        "bv": bv,
        "asset": asset,
        "fe": fe,
        "pair": pair,
        "sh": sh,
        "strategic": strategic,
        "path": path,
        "op": op,
    }


def _risk_of(op: EbiosOperationalScenario) -> Risk | None:
    return db.session.scalar(select(Risk).where(Risk.ebios_scenario_id == op.id))


def test_workshops_feed_the_register(world: World, app: Flask) -> None:
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        org = db.session.merge(world.a.syndicate)
        study = _study(org)
        assert study.reference == "EBIOS-001"
        objs = _build(study)
        # The strategic scenario's gravity defaults to the highest of its feared events.
        assert objs["strategic"].gravity == 3
        risk = _risk_of(objs["op"])
        assert risk is not None
        assert (risk.likelihood, risk.impact) == (2, 3)
        assert risk.title == "Hameçonnage puis chiffrement"
        assert risk.threat == "Cybercriminel — Rançon"
        assert "EBIOS-001" in risk.scenario
        assert risk.asset == "Serveurs mutualisés"
        risk_id, version = risk.id, risk.version
        # Editing the scenario updates the same risk.
        op = objs["op"]
        data = {name: getattr(op, name) for name in svc.FIELDS["operational"]} | {
            "likelihood": 4,
            "version": op.version,
        }
        svc.save_item(K["operational"], study, None, data, op)
        risk = _risk_of(op)
        assert risk.id == risk_id
        assert risk.likelihood == 4
        assert risk.version > version
        # The strategic scenario's gravity moves the risk's impact.
        st = objs["strategic"]
        data = {name: getattr(st, name) for name in svc.FIELDS["strategic"]} | {
            "gravity": 4,
            "version": st.version,
        }
        svc.save_item(K["strategic"], study, None, data, st)
        assert _risk_of(op).impact == 4
        # The register's filter "study".
        from risks.services import risks as register  # noqa: PLC0415
        from risks.services import scale as scales  # noqa: PLC0415

        found = db.session.scalars(
            register.risks_query(
                register.RiskFilters.from_args({"study": str(study.id)}), scales.scale_of(org.id)
            )
        ).all()
        assert [r.id for r in found] == [risk_id]
        # Deleting the scenario keeps the risk, its link cleared.
        svc.delete_item(K["operational"], op, None)
        db.session.expire_all()
        risk = db.session.get(Risk, risk_id)
        assert risk is not None
        assert risk.ebios_scenario_id is None
        kinds = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.action.like("ebios.%")).order_by(AuditEvent.id)
        ).all()
        assert "ebios.operational.delete" in kinds
        assert "ebios.study.create" in kinds


def test_treatment_and_measures_become_actions_and_controls(world: World, app: Flask) -> None:
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        org = db.session.merge(world.a.syndicate)
        study = _study(org)
        op = _build(study)["op"]
        svc.save_item(
            K["treatment"],
            study,
            None,
            {
                "treatment": "reduce",
                "treatment_plan": "Sauvegardes hors ligne",
                "control_ids": ["A.8.13"],
                "residual_likelihood": 1,
                "residual_impact": 3,
                "version": op.version,
            },
            op,
        )
        measure = svc.save_item(
            K["measure"],
            study,
            None,
            {
                "scenario_id": op.id,
                "title": "MFA sur le VPN",
                "control_ids": ["A.8.5"],
                "owner_id": world.a.users[Role.RSSI].id,
                "due_on": local_today() + dt.timedelta(days=60),
            },
        )
        risk = _risk_of(op)
        assert risk.treatment is Treatment.REDUCE
        assert (risk.residual_likelihood, risk.residual_impact) == (1, 3)
        assert risk.control_ids == ["A.8.13", "A.8.5"]
        action = actions.actions_by_ids([measure.action_id])[measure.action_id]
        assert action.title == "MFA sur le VPN"
        assert action.origin.value == "risk"
        links = db.session.execute(
            select(risk_actions.c.action_id).where(risk_actions.c.risk_id == risk.id)
        ).scalars()
        assert list(links) == [action.id]
        # Renaming the measure renames the action (through the SMSI's service).
        data = {name: getattr(measure, name) for name in svc.FIELDS["measure"]} | {
            "title": "MFA partout",
            "version": measure.version,
        }
        svc.save_item(K["measure"], study, None, data, measure)
        assert actions.actions_by_ids([action.id])[action.id].title == "MFA partout"
        # A measure without owner or due date: French messages, nothing written.
        before = db.session.scalar(select(func.count()).select_from(risk_actions))
        with pytest.raises(FieldError) as exc:
            svc.save_item(K["measure"], study, None, {"scenario_id": op.id, "title": "X"})
        assert _errors(exc) == {
            "owner_id": "Désignez le responsable de l'action.",
            "due_on": "Indiquez l'échéance.",
        }
        assert db.session.scalar(select(func.count()).select_from(risk_actions)) == before


def test_out_of_scale_ratings_are_refused_in_french_with_nothing_written(world: World, app: Flask) -> None:
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        org = db.session.merge(world.a.syndicate)
        study = _study(org)
        objs = _build(study)
        before = db.session.scalar(select(func.count()).select_from(Risk))
        with pytest.raises(FieldError) as exc:
            svc.save_item(
                K["operational"],
                study,
                None,
                {"strategic_scenario_id": objs["strategic"].id, "title": "Trop", "likelihood": 9},
            )
        assert _errors(exc) == {"likelihood": "Choisissez un niveau de l'échelle, de 1 à 4."}
        with pytest.raises(FieldError) as exc:
            svc.save_item(
                K["feared_event"],
                study,
                None,
                {"business_value_id": objs["bv"].id, "description": "x", "gravity": 0},
            )
        assert _errors(exc) == {"gravity": "Choisissez un niveau de l'échelle, de 1 à 4."}
        with pytest.raises(FieldError) as exc:
            svc.save_item(
                K["srov"],
                study,
                None,
                {"risk_origin": "A", "target_objective": "B", "motivation": 5, "resources": 1, "activity": 1},
            )
        assert _errors(exc) == {"motivation": "Choisissez une valeur de 1 à 4."}
        assert db.session.scalar(select(func.count()).select_from(Risk)) == before
        assert db.session.scalar(select(func.count()).select_from(EbiosSrOv)) == 1
        # A pair not selected leads to no strategic scenario; what others build on is not deleted.
        pair = svc.save_item(
            K["srov"],
            study,
            None,
            {
                "risk_origin": "Hacktiviste",
                "target_objective": "Défiguration",
                "motivation": 1,
                "resources": 1,
                "activity": 1,
            },
        )
        with pytest.raises(FieldError) as exc:
            svc.save_item(K["strategic"], study, None, {"srov_id": pair.id, "title": "X", "gravity": 2})
        assert "retenus" in _errors(exc)["srov_id"]
        with pytest.raises(FieldError) as exc:
            svc.delete_item(K["business_value"], objs["bv"], None)
        assert "supprimez-les d'abord" in exc.value.message


def test_threat_level_relevance_and_progress(world: World, app: Flask) -> None:
    sh = EbiosStakeholder(dependency=4, penetration=3, maturity=2, trust=2)
    assert sh.threat_level == 3.0
    assert sh.is_critical
    assert not EbiosStakeholder(dependency=1, penetration=2, maturity=3, trust=4).is_critical
    assert EbiosSrOv(motivation=4, resources=3, activity=4).suggested_relevance == 3
    assert EbiosSrOv(motivation=2, resources=3, activity=3).suggested_relevance == 2
    assert EbiosSrOv(motivation=1, resources=2, activity=1).suggested_relevance == 1
    pair = EbiosSrOv(motivation=1, resources=2, activity=1, relevance=3)
    assert pair.effective_relevance == 3
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        org = db.session.merge(world.a.syndicate)
        study = _study(org)
        assert [w.percent for w in svc.progress(svc.study_data(study))] == [20, 0, 0, 0, 0]
        _build(study)
        steps = svc.progress(svc.study_data(study))
        assert [w.complete for w in steps] == [False, True, True, True, False]
        assert steps[0].percent == 80  # the baseline not yet examined
        assert steps[0].title == "Cadrage et socle de sécurité"


def test_baseline_prefilled_from_soa_and_hygiene_without_duplicates(world: World, app: Flask) -> None:
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        org = db.session.merge(world.a.syndicate)
        rssi = world.a.users[Role.RSSI]
        for control, status in (("A.5.1", "implemented"), ("A.8.13", "partial"), ("A.8.5", "not_started")):
            found = next(c for c in annex_a.controls() if c.id == control)
            soa.save_entry(
                org, rssi, found, {"applicable": True, "status": status, "reasons": ["risk"], "version": ""}
            )
        assessment = hygiene.create_assessment(org, rssi, dt.date(2026, 10, 1))
        rows = [{"measure": m.number, "status": "implemented"} for m in hygiene.measures()]
        rows[11]["status"] = "not_implemented"
        hygiene.save_answers(assessment, rssi, {"note": "", "version": assessment.version}, rows)
        study = _study(org)
        assert svc.prefill_baseline(study, None) == 3
        gaps = db.session.scalars(select(EbiosBaselineGap).order_by(EbiosBaselineGap.id)).all()
        assert [(g.source.value, g.reference) for g in gaps] == [
            ("soa", "A.8.5"),
            ("soa", "A.8.13"),
            ("hygiene", "H-12"),
        ]
        assert svc.prefill_baseline(study, None) == 0


def _html(response: Any) -> str:
    return response.get_data(as_text=True)


def test_pages_forms_conflict_and_other_organisation(world: World, login_as: Any, session: Any) -> None:
    rssi = login_as(world.a.users[Role.RSSI], world.a.syndicate)
    assert "Études EBIOS RM" in _html(rssi.get("/risks/ebios/"))
    bad = rssi.post(
        "/risks/ebios/new", data={"title": "", "scope": "Messagerie mutualisée", "started_on": "2026-11-02"}
    )
    assert bad.status_code == 422
    assert "Messagerie mutualisée" in _html(bad)
    assert 'id="title-error"' in _html(bad)
    good = rssi.post(
        "/risks/ebios/new",
        data={"title": "Messagerie", "scope": "Messagerie mutualisée", "started_on": "2026-11-02"},
    )
    assert good.status_code == 302
    study = session.scalar(select(EbiosStudy).where(EbiosStudy.title == "Messagerie"))
    assert good.location.endswith(f"/risks/ebios/{study.id}/atelier-1")
    # A business value through its form, one post showing every error first.
    url = f"/risks/ebios/{study.id}/valeurs-metier/new"
    assert rssi.get(url).status_code == 200
    bad = rssi.post(url, data={"name": "", "nature": "nothing", "description": "Les courriels des élus"})
    assert bad.status_code == 422
    assert "Les courriels des élus" in _html(bad)
    assert rssi.post(url, data={"name": "Courriels des élus", "nature": "information"}).status_code == 302
    page = _html(rssi.get(f"/risks/ebios/{study.id}/atelier-1"))
    assert "Courriels des élus" in page
    assert "Au moins une valeur métier" not in page.split("Reste à faire", 1)[-1].split("</p>", 1)[0]
    # A feared event out of the scale: the register's message.
    bad = rssi.post(
        f"/risks/ebios/{study.id}/evenements-redoutes/new",
        data={"business_value_id": "1" * 3, "description": "Fuite", "gravity": "7"},
    )
    assert bad.status_code == 422
    assert "Choisissez un niveau de l&#39;échelle, de 1 à 4." in _html(bad)
    # A stale edit: the conflict page, what was typed kept.
    from risks.models import EbiosBusinessValue  # noqa: PLC0415

    bv = session.scalar(select(EbiosBusinessValue).where(EbiosBusinessValue.study_id == study.id))
    edit_url = f"/risks/ebios/valeurs-metier/{bv.id}/edit"
    version = re.search(r'name="version" type="hidden" value="(\d+)"', _html(rssi.get(edit_url))).group(1)
    base = {"name": "Courriels", "nature": "information", "version": version}
    assert rssi.post(edit_url, data=base).status_code == 302
    stale = rssi.post(edit_url, data=base | {"name": "Mes mots perdus"})
    assert stale.status_code == 409
    assert "Mes mots perdus" in _html(stale)
    # A business value its feared events still name: the delete is refused, said, nothing deleted.
    from risks.models import EbiosFearedEvent  # noqa: PLC0415

    added = rssi.post(
        f"/risks/ebios/{study.id}/evenements-redoutes/new",
        data={"business_value_id": bv.id, "description": "Courriels divulgués", "gravity": 3},
    )
    assert added.status_code == 302
    named = (
        select(func.count()).select_from(EbiosFearedEvent).where(EbiosFearedEvent.business_value_id == bv.id)
    )
    assert session.scalar(named) > 0
    refused = rssi.post(f"/risks/ebios/valeurs-metier/{bv.id}/delete")
    assert refused.status_code == 302
    assert "supprimez-les d&#39;abord" in _html(rssi.get(refused.location))
    assert session.get(EbiosBusinessValue, bv.id) is not None
    # Another organisation: 404 on the study and its objects (every route: tests/core/test_tenancy.py).
    other = login_as(world.b.users[Role.RSSI], world.b.syndicate)
    assert other.get(f"/risks/ebios/{study.id}").status_code == 404
    assert other.get(edit_url).status_code == 404
    assert other.post(f"/risks/ebios/valeurs-metier/{bv.id}/delete").status_code == 404
    assert "Messagerie" not in _html(other.get("/risks/ebios/"))
    # A reader reads, does not write.
    reader = login_as(world.a.users[Role.READER], world.a.syndicate)
    assert reader.get(f"/risks/ebios/{study.id}/atelier-2").status_code == 200
    assert reader.get(url).status_code == 403


def test_study_pdf(world: World, app: Flask, login_as: Any, session: Any, tmp_path: Any) -> None:
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        org = db.session.merge(world.a.syndicate)
        study = _study(org)
        _build(study)
        db.session.commit()
        study_id = study.id
    rssi = login_as(world.a.users[Role.RSSI], world.a.syndicate)
    assert "Risques résiduels (atelier 5)" in _html(rssi.get(f"/risks/ebios/{study_id}/carte"))
    assert rssi.post(f"/risks/ebios/{study_id}/pdf").status_code == 302
    report = session.scalar(select(GeneratedReport).where(GeneratedReport.kind == "ebios_study"))
    assert report.organisation_id == world.a.syndicate.id
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(report.content)).pages).split())
    for expected in (
        "Étude EBIOS Risk Manager",
        "Atelier 1 — Cadrage et socle de sécurité",
        "Atelier 5 — Traitement du risque",
        "État civil",
        "Cybercriminel",
        "Hébergeur",
        "Hameçonnage puis chiffrement",
        "Risques bruts (avant traitement)",
    ):
        assert expected in text, expected
    assert re.search(r"page 1 / \d+", text)
    other = login_as(world.b.users[Role.RSSI], world.b.syndicate)
    assert other.get(f"/reports/{report.id}").status_code == 404
    if shutil.which("qpdf") is None:
        pytest.skip("qpdf is not installed")
    path = tmp_path / "ebios.pdf"
    path.write_bytes(report.content)
    result = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True, check=False)  # noqa: S603, S607
    assert result.returncode == 0, result.stdout + result.stderr


def test_controls_the_study_no_longer_gives_leave_the_risk(world: World, app: Flask) -> None:
    """A control removed from a scenario's treatment, or a measure deleted with its control, leaves
    the scenario's risk; a control added on the risk's own page stays through the study's changes."""
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        org = db.session.merge(world.a.syndicate)
        study = _study(org)
        op = _build(study)["op"]
        treatment = {
            "treatment": "reduce",
            "treatment_plan": "Sauvegardes hors ligne",
            "control_ids": ["A.8.13", "A.5.1"],
            "residual_likelihood": 1,
            "residual_impact": 3,
        }
        svc.save_item(K["treatment"], study, None, {**treatment, "version": op.version}, op)
        measure = svc.save_item(
            K["measure"],
            study,
            None,
            {
                "scenario_id": op.id,
                "title": "MFA sur le VPN",
                "control_ids": ["A.8.5"],
                "owner_id": world.a.users[Role.RSSI].id,
                "due_on": local_today() + dt.timedelta(days=60),
            },
        )
        risk = _risk_of(op)
        assert risk.control_ids == ["A.5.1", "A.8.13", "A.8.5"]
        # added by hand on the risk's page
        from risks.services import risks as register  # noqa: PLC0415

        data = {name: getattr(risk, name) for name in register.FIELDS}
        data |= {
            "control_ids": [*risk.control_ids, "A.5.15"],
            "action_ids": register.action_ids_of(risk),
            "version": risk.version,
        }
        register.update_risk(risk, None, data)
        # A.5.1 taken out of the treatment: it leaves the risk; A.5.15 stays
        db.session.refresh(op)
        svc.save_item(
            K["treatment"], study, None, {**treatment, "control_ids": ["A.8.13"], "version": op.version}, op
        )
        assert _risk_of(op).control_ids == ["A.5.15", "A.8.13", "A.8.5"]
        # the measure deleted: its control A.8.5 leaves the risk, its SMSI action stays linked
        action_id = measure.action_id
        svc.delete_item(K["measure"], measure, None)
        risk = _risk_of(op)
        assert risk.control_ids == ["A.5.15", "A.8.13"]
        assert action_id in register.action_ids_of(risk)


def test_deleting_a_study_keeps_its_risks_and_actions(world: World, app: Flask) -> None:
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        org = db.session.merge(world.a.syndicate)
        study = _study(org)
        other = _study(org)
        _build(other)
        op = _build(study)["op"]
        measure = svc.save_item(
            K["measure"],
            study,
            None,
            {
                "scenario_id": op.id,
                "title": "MFA sur le VPN",
                "control_ids": ["A.8.5"],
                "owner_id": world.a.users[Role.RSSI].id,
                "due_on": local_today() + dt.timedelta(days=60),
            },
        )
        risk_id, action_id, study_id = _risk_of(op).id, measure.action_id, study.id
        other_counts = {kind.model: _count(kind.model, other.id) for kind in K.values()}
        with pytest.raises(EditConflict):  # the page's version is stale: nothing deleted
            svc.delete_study(study, None, study.version - 1)
        assert db.session.get(EbiosStudy, study_id) is not None
        kept = svc.delete_study(study, None, study.version)
        assert kept == 1
        assert db.session.get(EbiosStudy, study_id) is None
        for kind in K.values():
            assert _count(kind.model, study_id) == 0
            assert _count(kind.model, other.id) == other_counts[kind.model]  # the other study untouched
        risk = db.session.get(Risk, risk_id)
        assert risk is not None
        assert risk.ebios_scenario_id is None
        assert actions.actions_by_ids([action_id]).get(action_id) is not None
        changes = db.session.scalar(
            select(AuditPayload.data["changes"])
            .join(AuditEvent, AuditEvent.id == AuditPayload.event_id)
            .where(AuditEvent.action == "ebios.study.delete", AuditEvent.object_id == study_id)
        )
        assert changes["risks_kept"] == [1, 1]
        assert changes["reference"][0] == "EBIOS-001"
        # the eight objects of _build and the measure
        assert changes["deleted_with_it"] == [9, None]


def _count(model: Any, study_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(model.study_id == study_id)) or 0


def test_the_study_is_deleted_from_its_page_once_confirmed(world: World, login_as: Any, session: Any) -> None:
    rssi = login_as(world.a.users[Role.RSSI], world.a.syndicate)
    assert (
        rssi.post(
            "/risks/ebios/new", data={"title": "À supprimer", "scope": "Test", "started_on": "2026-11-02"}
        ).status_code
        == 302
    )
    study = session.scalar(select(EbiosStudy).where(EbiosStudy.title == "À supprimer"))
    study_id, version = study.id, study.version
    edit = _html(rssi.get(f"/risks/ebios/{study_id}/edit"))
    assert f'action="/risks/ebios/{study_id}/delete"' in edit
    # not ticked: nothing deleted, said in French
    unticked = rssi.post(f"/risks/ebios/{study_id}/delete", data={"version": version}, follow_redirects=True)
    assert "Cochez la case pour confirmer la suppression" in _html(unticked)
    session.expire_all()
    assert session.get(EbiosStudy, study_id) is not None
    # another organisation: 404, nothing deleted
    other = login_as(world.b.users[Role.RSSI], world.b.syndicate)
    assert (
        other.post(f"/risks/ebios/{study_id}/delete", data={"version": version, "confirm": "1"}).status_code
        == 404
    )
    # a reader may not
    reader = login_as(world.a.users[Role.READER], world.a.syndicate)
    assert (
        reader.post(f"/risks/ebios/{study_id}/delete", data={"version": version, "confirm": "1"}).status_code
        == 403
    )
    done = rssi.post(
        f"/risks/ebios/{study_id}/delete",
        data={"version": version, "confirm": "1"},
        follow_redirects=True,
    )
    assert "Étude supprimée" in _html(done)
    session.expire_all()
    assert session.get(EbiosStudy, study_id) is None
