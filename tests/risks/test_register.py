"""The risk register: levels on the default and on custom scales, the rules of a risk (scale, residual
rating, acceptance by a named person), treatment links to the SMSI's actions and to Annex A controls,
filters and heat-map cells, the pages (one pass shows every error, nothing typed is lost, another
organisation's risks are 404), the journal and the home card."""

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
from risks.models import Risk, Treatment
from risks.services import risks as svc
from risks.services import scale as scales
from smsi.services import actions
from tests.conftest import World, acting_as


def _risk(world: World, **changes: Any) -> dict[str, Any]:
    data = {
        "title": "Ransomware on shared servers",
        "asset_kind": "process",
        "asset": "Shared hosting",
        "likelihood": 3,
        "impact": 4,
        "impact_availability": True,
    }
    return {**data, **changes}


def _errors(exc: pytest.ExceptionInfo[FieldError]) -> dict[str, str]:
    errors = getattr(exc.value, "errors", [exc.value])
    return {e.field: e.message for e in errors}


# --- scales -------------------------------------------------------------------------------------


def test_default_scale_is_ebios_4x4(app: Flask) -> None:
    with app.test_request_context():
        scale = scales.default_scale()
    assert len(scale.likelihood_labels) == 4
    assert len(scale.impact_labels) == 4
    assert scale.likelihood_labels[0].startswith("V1")
    assert scale.impact_labels[3].startswith("G4")
    assert scale.level(1, 1).id == "low"
    assert scale.level(4, 1).id == "moderate"
    assert scale.level(3, 3).id == "high"
    assert scale.level(4, 4).id == "critical"
    assert scale.level(3, 4).id == "critical"
    # The stretched rule is the default matrix on 4 × 4.
    assert scales.stretched_matrix(4, 4) == [list(row) for row in scale.matrix]
    assert scale.is_accepted_level(2, 2)  # moderate, the default threshold
    assert not scale.is_accepted_level(3, 3)


def test_levels_on_a_custom_scale(world: World, app: Flask) -> None:
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        org = db.session.merge(world.a.syndicate)
        scales.save_scale(
            org,
            None,
            {
                "likelihood_labels": ["Rare", "Possible", "Likely", "Almost certain", "Certain"],
                "impact_labels": ["Low", "Medium", "High"],
                "matrix": None,  # re-drawn by the rule
                "acceptance_level": "low",
            },
        )
        scale = scales.scale_of(org.id)
        assert len(scale.likelihood_labels) == 5
        assert len(scale.impact_labels) == 3
        assert scale.level(1, 1).id == "low"
        assert scale.level(5, 3).id == "critical"
        assert scale.level(3, 2).id == "moderate"  # the middle of both axes, as (2.5, 2.5) on 4 × 4
        # An explicit matrix is kept cell by cell.
        matrix = [["low"] * 5, ["low"] * 5, ["low", "low", "low", "low", "critical"]]
        scales.save_scale(
            org,
            None,
            {
                "likelihood_labels": list(scale.likelihood_labels),
                "impact_labels": list(scale.impact_labels),
                "matrix": matrix,
                "acceptance_level": "moderate",
                "version": scale.stored.version,
            },
        )
        scale = scales.scale_of(org.id)
        assert scale.level(4, 3).id == "low"
        assert scale.level(5, 3).id == "critical"
        # A likelihood of 5 exists here, an impact of 4 does not.
        svc.create_risk(org, None, _risk(world, likelihood=5, impact=3))
        with pytest.raises(FieldError) as exc:
            svc.create_risk(org, None, _risk(world, likelihood=5, impact=4))
        assert _errors(exc) == {"impact": "Choisissez un niveau de l'échelle, de 1 à 3."}
        # Fewer levels would leave that risk outside: the scale page counts it.
        assert scales.out_of_scale(org.id, 4, 3) == 1
        assert scales.out_of_scale(org.id, 5, 3) == 0
        with pytest.raises(FieldError) as exc:
            scales.save_scale(
                org,
                None,
                {"likelihood_labels": ["Only"], "impact_labels": ["A", "A"], "acceptance_level": "x"},
            )
        assert set(_errors(exc)) == {"likelihood_labels", "impact_labels", "acceptance_level"}
    # Another organisation keeps the default scale.
    with app.test_request_context(), acting_as(world.b.users[Role.RSSI], world.b.syndicate):
        assert len(scales.scale_of(world.b.syndicate.id).likelihood_labels) == 4


# --- rules ----------------------------------------------------------------------------------------


def test_rules_of_a_risk(world: World, app: Flask) -> None:
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        org = db.session.merge(world.a.syndicate)
        with pytest.raises(FieldError) as exc:
            svc.create_risk(
                org,
                None,
                _risk(
                    world,
                    title="",
                    likelihood=7,
                    impact=0,
                    residual_likelihood=2,
                    treatment="accept",
                    accepted_on=local_today() + dt.timedelta(days=3),
                ),
            )
        errors = _errors(exc)
        assert errors["title"] == "Donnez un intitulé au risque."
        assert errors["likelihood"] == "Choisissez un niveau de l'échelle, de 1 à 4."
        assert errors["impact"] == "Choisissez un niveau de l'échelle, de 1 à 4."
        assert errors["residual_impact"] == "Le risque résiduel se note sur les deux axes."
        # Acceptance is checked once the rating is right.
        with pytest.raises(FieldError) as exc:
            svc.create_risk(org, None, _risk(world, treatment="accept"))
        assert _errors(exc) == {
            "accepted_by": "Un risque accepté l'est par une personne nommée.",
            "accepted_on": "Indiquez la date de l'acceptation.",
        }
        with pytest.raises(FieldError) as exc:
            svc.create_risk(org, None, _risk(world, accepted_by="Le président"))
        assert set(_errors(exc)) == {"accepted_on"}
        with pytest.raises(FieldError) as exc:
            svc.create_risk(org, None, _risk(world, asset_kind="application", application_id=None))
        assert set(_errors(exc)) == {"application_id"}
        # Another syndicate's application is refused.
        with pytest.raises(FieldError) as exc:
            svc.create_risk(
                org, None, _risk(world, asset_kind="application", application_id=world.b.application.id)
            )
        assert set(_errors(exc)) == {"application_id"}
        risk = svc.create_risk(
            org,
            None,
            _risk(world, treatment="accept", accepted_by="Le président", accepted_on=local_today()),
        )
        assert risk.reference == "RSK-001"
        assert risk.treatment is Treatment.ACCEPT
        assert risk.current_cell == (3, 4)


def test_treatment_links_to_actions_and_controls(world: World, app: Flask) -> None:
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        org = db.session.merge(world.a.syndicate)
        owner = world.a.users[Role.RSSI].id
        action = actions.create_action(
            org,
            None,
            {
                "title": "Offline backups",
                "origin": "risk",
                "origin_detail": "RSK-001",
                "type": "preventive",
                "owner_id": owner,
                "status": "planned",
                "due_on": local_today() + dt.timedelta(days=30),
            },
        )
        risk = svc.create_risk(
            org,
            None,
            _risk(
                world,
                treatment="reduce",
                action_ids=[action.id],
                control_ids=["A.8.13", "A.99.1", "A.5.1"],
                residual_likelihood=1,
                residual_impact=3,
            ),
        )
        assert risk.control_ids == ["A.5.1", "A.8.13"]  # unknown controls dropped
        assert svc.action_ids_of(risk) == [action.id]
        assert [a.id for a in svc.linked_actions([risk.id])[risk.id]] == [action.id]
        assert svc.action_counts([risk.id]) == {risk.id: 1}  # the list's count, one grouped query
        assert risk.current_cell == (1, 3)
        db.session.commit()
        risk_id, action_id = risk.id, action.id
    # Another organisation's action cannot be linked.
    with app.test_request_context(), acting_as(world.b.users[Role.RSSI], world.b.syndicate):
        org_b = db.session.merge(world.b.syndicate)
        with pytest.raises(FieldError) as exc:
            svc.create_risk(org_b, None, _risk(world, action_ids=[action_id]))
        assert set(_errors(exc)) == {"action_ids"}
        assert svc.linked_actions([risk_id]) == {risk_id: []}  # not visible from here
    # Unlinking is journalled with the actions' names.
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        risk = db.session.get(Risk, risk_id)
        data = {name: getattr(risk, name) for name in svc.FIELDS} | {
            "asset_kind": "process",
            "treatment": "reduce",
            "action_ids": [],
            "version": risk.version,
        }
        svc.update_risk(risk, None, data)
        assert svc.action_ids_of(risk) == []
        entries = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.object_type == "Risk", AuditEvent.object_id == risk_id)
        ).all()
        assert entries == ["risk.create", "risk.update"]


def test_filters_heat_map_and_figures(world: World, app: Flask) -> None:
    today = local_today()
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        org = db.session.merge(world.a.syndicate)
        scale = scales.scale_of(org.id)
        svc.create_risk(org, None, _risk(world, title="Critical untreated", likelihood=4, impact=4))
        svc.create_risk(
            org,
            None,
            _risk(
                world,
                title="Treated",
                likelihood=4,
                impact=4,
                treatment="reduce",
                residual_likelihood=1,
                residual_impact=2,
            ),
        )
        late = svc.create_risk(org, None, _risk(world, title="Low but late", likelihood=1, impact=1))
        late.next_review_on = today - dt.timedelta(days=1)
        accepted = svc.create_risk(
            org,
            None,
            _risk(world, title="High accepted", likelihood=3, impact=3, accepted_by="DG", accepted_on=today),
        )
        db.session.flush()

        def titles(**args: Any) -> list[str]:
            filters = svc.RiskFilters.from_args(args)
            query = svc.risks_query(filters, scale)
            rows = [r.title for r in db.session.execute(svc.list_rows(filters, scale))]
            assert rows == [r.title for r in db.session.scalars(query)]  # the page's rows, the PDF's
            return rows

        assert titles() == ["Critical untreated", "High accepted", "Treated", "Low but late"]
        assert titles(level="critical") == ["Critical untreated"]
        assert titles(level="low") == ["Treated", "Low but late"]  # the residual counts once rated
        assert titles(v="4", g="4") == ["Critical untreated", "Treated"]
        assert titles(v="1", g="2", stage="residual") == ["Treated"]
        assert titles(review="overdue") == ["Low but late"]
        assert titles(treatment="none") == ["Critical untreated", "High accepted", "Low but late"]
        assert titles(over="1") == ["Critical untreated"]  # "High accepted" is accepted by name
        assert titles(q="LATE") == ["Low but late"]
        assert titles(v="x", g="2") == titles()  # a malformed cell is no filter

        counts = svc.heat_map()
        assert counts.inherent == {(4, 4): 2, (1, 1): 1, (3, 3): 1}
        assert counts.residual == {(1, 2): 1}
        assert counts.not_rated == 3
        figures = svc.figures(org.id)
        assert (figures.total, figures.over_threshold, figures.review_overdue, figures.untreated) == (
            4,
            1,
            1,
            3,
        )
        assert accepted.accepted_by == "DG"
    with app.test_request_context(), acting_as(world.b.users[Role.RSSI], world.b.syndicate):
        assert svc.figures(world.b.syndicate.id).total == 0
        assert svc.heat_map().inherent == {}


# --- pages ----------------------------------------------------------------------------------------


def _html(response: Any) -> str:
    return response.get_data(as_text=True)


def test_pages(world: World, app: Flask, login_as: Any, session: Any) -> None:
    rssi = login_as(world.a.users[Role.RSSI], world.a.syndicate)
    page = rssi.get("/risks/new")
    assert page.status_code == 200
    # One post with several mistakes: every error at once, what was typed kept.
    bad = rssi.post(
        "/risks/new",
        data={
            "title": "",
            "asset_kind": "process",
            "asset": "Salle serveurs",
            "threat": "Inondation de la Seine",
            "likelihood": "9",
            "impact": "2",
            "treatment": "accept",
        },
    )
    assert bad.status_code == 422
    html = _html(bad)
    assert "Choisissez un niveau de l&#39;échelle, de 1 à 4." in html
    assert "Inondation de la Seine" in html
    assert "Salle serveurs" in html
    good = rssi.post(
        "/risks/new",
        data={
            "title": "Flood of the server room",
            "asset_kind": "site",
            "asset": "Server room",
            "likelihood": "2",
            "impact": "4",
            "treatment": "reduce",
            "control_ids": ["A.7.5"],
        },
    )
    assert good.status_code == 302
    risk = session.scalar(select(Risk).where(Risk.title == "Flood of the server room"))
    detail = _html(rssi.get(f"/risks/{risk.id}"))
    assert "A.7.5" in detail
    assert "élevé" in detail  # V2 × G4: high
    listing = _html(rssi.get("/risks/"))
    assert 'role="group"' in listing  # the heat maps, with links
    assert "/risks/?stage=inherent&amp;v=2&amp;g=4" in listing
    assert "style=" not in listing.split("<main", 1)[-1]
    # A stale form: the conflict page, nothing lost.
    edit = _html(rssi.get(f"/risks/{risk.id}/edit"))
    version = re.search(r'name="version" type="hidden" value="(\d+)"', edit).group(1)
    base = {
        "title": "Flood",
        "asset_kind": "site",
        "asset": "Server room",
        "likelihood": "2",
        "impact": "4",
        "version": version,
    }
    assert rssi.post(f"/risks/{risk.id}/edit", data=base).status_code == 302
    stale = rssi.post(f"/risks/{risk.id}/edit", data=base | {"title": "My lost words"})
    assert stale.status_code == 409
    assert "My lost words" in _html(stale)
    # Another organisation: 404 on the risk, its own empty register.
    other = login_as(world.b.users[Role.RSSI], world.b.syndicate)
    assert other.get(f"/risks/{risk.id}").status_code == 404
    assert other.get(f"/risks/{risk.id}/edit").status_code == 404
    assert "Flood" not in _html(other.get("/risks/"))
    # A reader sees, does not edit.
    reader = login_as(world.a.users[Role.READER], world.a.syndicate)
    assert reader.get(f"/risks/{risk.id}").status_code == 200
    assert reader.get("/risks/new").status_code == 403
    # Home card of the RSSI: the high risk above the threshold, not accepted.
    home = _html(rssi.get("/"))
    assert (
        'data-figure="risks-over" href="/risks/?over=1"><span class="fs-5 fw-semibold text-danger">1<' in home
    )


def test_list_totals_with_and_without_filters(world: World, app: Flask, login_as: Any) -> None:
    """Unfiltered, the list takes its total from the heat map's counts; filtered, it counts."""
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        org = db.session.merge(world.a.syndicate)
        for n, treatment in enumerate(("reduce", None, None)):
            svc.create_risk(
                org, None, _risk(world, title=f"Risk {n}", likelihood=2, impact=n + 1, treatment=treatment)
            )
        db.session.commit()
    rssi = login_as(world.a.users[Role.RSSI], world.a.syndicate)
    assert "1 à 2 sur 3" in _html(rssi.get("/risks/?per_page=2"))
    assert "3 à 3 sur 3" in _html(rssi.get("/risks/?per_page=2&page=2"))
    assert "1 à 2 sur 2" in _html(rssi.get("/risks/?per_page=2&treatment=none"))


def test_scale_page(world: World, login_as: Any) -> None:
    rssi = login_as(world.a.users[Role.RSSI], world.a.syndicate)
    page = _html(rssi.get("/risks/scale"))
    assert "V1" in page
    assert 'name="cell-4-4"' in page
    cells = {f"cell-{g}-{v}": "low" for g in range(1, 5) for v in range(1, 5)} | {"cell-4-4": "critical"}
    labels = {
        "likelihood_labels": "V1\nV2\nV3\nV4",
        "impact_labels": "G1\nG2\nG3\nG4",
        "acceptance_level": "high",
    }
    assert rssi.post("/risks/scale", data=labels | cells).status_code == 302
    page = _html(rssi.get("/risks/scale"))
    assert page.count('value="critical" selected') == 1
    bad = rssi.post("/risks/scale", data=labels | {"likelihood_labels": "Seul"})
    assert bad.status_code == 422
    assert "De 2 à 6 niveaux." in _html(bad)
    other = login_as(world.b.users[Role.RSSI], world.b.syndicate)
    # Its own default matrix: critical at V4G3, V3G4, V4G4.
    assert _html(other.get("/risks/scale")).count('value="critical" selected') == 3


def test_register_pdf(world: World, app: Flask, login_as: Any, session: Any, tmp_path: Any) -> None:
    import io  # noqa: PLC0415
    import shutil  # noqa: PLC0415
    import subprocess  # noqa: PLC0415

    from pypdf import PdfReader  # noqa: PLC0415

    from reports.models import GeneratedReport  # noqa: PLC0415

    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        org = db.session.merge(world.a.syndicate)
        svc.create_risk(
            org,
            None,
            _risk(
                world,
                title="Shared servers encrypted",
                treatment="reduce",
                treatment_plan="Offline copies",
                residual_likelihood=1,
                residual_impact=3,
                control_ids=["A.8.13"],
            ),
        )
        svc.create_risk(
            org,
            None,
            _risk(
                world,
                title="Editor outage",
                likelihood=2,
                impact=2,
                treatment="accept",
                accepted_by="Chair of the board",
                accepted_on=local_today(),
            ),
        )
        db.session.commit()
    with app.test_request_context(), acting_as(world.b.users[Role.RSSI], world.b.syndicate):
        svc.create_risk(
            db.session.merge(world.b.syndicate), None, _risk(world, title="Other syndicate's risk")
        )
        db.session.commit()
    rssi = login_as(world.a.users[Role.RSSI], world.a.syndicate)
    assert rssi.post("/risks/pdf").status_code == 302
    report = session.scalar(select(GeneratedReport).where(GeneratedReport.kind == "risk_register"))
    assert report.organisation_id == world.a.syndicate.id
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(report.content)).pages).split())
    assert "Registre des risques" in text
    assert "Shared servers encrypted" in text
    assert "Offline copies" in text
    assert "A.8.13" in text
    assert "Chair of the board" in text
    assert "Other syndicate's risk" not in text
    assert "Risques bruts (avant traitement)" in text
    assert re.search(r"page 1 / \d+", text)
    # The document is another organisation's 404.
    other = login_as(world.b.users[Role.RSSI], world.b.syndicate)
    assert other.get(f"/reports/{report.id}").status_code == 404
    if shutil.which("qpdf") is None:
        pytest.skip("qpdf is not installed")
    path = tmp_path / "risks.pdf"
    path.write_bytes(report.content)
    result = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True, check=False)  # noqa: S603, S607
    assert result.returncode == 0, result.stdout + result.stderr
