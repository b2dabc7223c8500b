"""DPIA (AIPD) screening: the verdict rule, the screening page (save, justification, conflict,
permissions, tenants) and the export to the CNIL's PIA software."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from core.audit import AuditEvent
from core.db import today
from core.extensions import db
from core.security import Role
from registers import reference as ref
from registers.forms.dpia import CRITERIA_HELP, DpiaForm
from registers.models import DpiaStatus, ProcessingActivity
from registers.services import activities as acts
from registers.services import dpia
from tests.conftest import World, acting_as

FICHE = {
    "name": "Instruction des demandes d'aide sociale facultative",
    "purpose": "Instruire les demandes d'aides facultatives du CCAS",
    "sub_purposes": ["Suivi des versements"],
    "legal_basis": "6.1.e",
    "legal_basis_text": "Code de l'action sociale et des familles, art. L123-5",
    "data_subjects": ["beneficiaires_action_sociale"],
    "data_categories": [
        {
            "category": "economique_financier",
            "details": "ressources du foyer",
            "active": "durée de l'instruction",
            "intermediate": "5 ans après la dernière aide",
            "final": "destruction",
        }
    ],
    "sensitive_data": ["sante"],
    "recipients": [
        {"type": "interne", "name": "Service social", "organisation_id": None},
        {"type": "sous_traitant", "name": "Éditeur SaaS Social", "organisation_id": None},
    ],
    "transfers": [],
    "security_measures": [
        {"measure": "controle_acces", "details": "habilitations par profil"},
        {"measure": "chiffrement", "details": "chiffrement des sauvegardes"},
    ],
}


def make_fiche(app: Flask, world: World, **extra: Any) -> int:
    """A fiche of tenant A's syndicate, committed like a request would (visible to the clients)."""
    with app.test_request_context(), acting_as(world.a.users[Role.DPO], world.a.syndicate):
        activity = acts.create_activity(db.session.merge(world.a.syndicate), None, {**FICHE, **extra})
        db.session.commit()
        return activity.id


def load(session: Any, activity_id: int) -> ProcessingActivity:
    session.expire_all()
    return session.get(ProcessingActivity, activity_id)


def screening_post(version: int, criteria: list[str], **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "version": version,
        "dpia_cnil_required": "",
        "dpia_cnil_exempt": "",
        "dpia_status": "not_started",
        "dpia_done_on": "",
        "dpia_justification": "",
    }
    data.update({f"criterion_{c}": "y" for c in criteria})
    data.update(extra)
    return data


def events(session: Any, action: str, object_id: int) -> list[AuditEvent]:
    return list(
        session.scalars(
            select(AuditEvent).where(AuditEvent.action == action, AuditEvent.object_id == object_id)
        )
    )


# --- the rule ------------------------------------------------------------------------------------


@pytest.mark.usefixtures("app_ctx")
class TestVerdict:
    def test_no_criterion_no_dpia(self) -> None:
        verdict = acts.dpia_verdict({"dpia_criteria": []})
        assert verdict.required is False
        assert dpia.justification_reason({"dpia_criteria": []}) is None

    def test_one_criterion_is_not_enough_but_must_be_justified(self) -> None:
        content = {"dpia_criteria": ["grande_echelle"]}
        assert acts.dpia_verdict(content).required is False
        assert "Un seul critère" in dpia.justification_reason(content)

    def test_two_criteria_make_the_dpia_required(self) -> None:
        content = {"dpia_criteria": ["grande_echelle", "croisement"]}
        verdict = acts.dpia_verdict(content)
        assert verdict.required is True
        assert [c.id for c in verdict.criteria_met] == ["grande_echelle", "croisement"]
        assert dpia.justification_reason(content) is None

    def test_the_cnil_required_list_overrides_the_count(self) -> None:
        content = {"dpia_criteria": [], "dpia_cnil_required": ref.dpia_required_types()[11].id}
        verdict = acts.dpia_verdict(content)
        assert verdict.required is True
        assert "logements sociaux" in verdict.reasons[0]

    def test_the_exemption_list_overrides_the_count_and_asks_why(self) -> None:
        content = {
            "dpia_criteria": ["grande_echelle", "croisement", "usage_innovant"],
            "dpia_cnil_exempt": ref.dpia_exempt_types()[0].id,
        }
        assert acts.dpia_verdict(content).required is False
        assert "dispense" in dpia.justification_reason(content)

    def test_both_lists_the_required_list_wins(self) -> None:
        content = {
            "dpia_criteria": [],
            "dpia_cnil_required": ref.dpia_required_types()[0].id,
            "dpia_cnil_exempt": ref.dpia_exempt_types()[0].id,
        }
        assert acts.dpia_verdict(content).required is True
        assert dpia.justification_reason(content) is not None

    @pytest.mark.parametrize(
        "content",
        [
            {"dpia_criteria": []},
            {"dpia_criteria": ["grande_echelle"]},
            {"dpia_criteria": ["grande_echelle", "croisement"]},
            {"dpia_criteria": ["grande_echelle", "inconnu"]},
            {"dpia_criteria": [], "dpia_cnil_required": "required-0"},
            {"dpia_criteria": ["grande_echelle", "croisement"], "dpia_cnil_exempt": "exempt-0"},
            {"dpia_criteria": [], "dpia_cnil_required": "required-0", "dpia_cnil_exempt": "exempt-0"},
        ],
    )
    def test_dpia_required_says_what_the_verdict_says(self, content: dict) -> None:
        """The bulk import's shortcut (no reasons, no translation) agrees with the full verdict."""
        content = dict(content)
        if content.get("dpia_cnil_required"):
            content["dpia_cnil_required"] = ref.dpia_required_types()[0].id
        if content.get("dpia_cnil_exempt"):
            content["dpia_cnil_exempt"] = ref.dpia_exempt_types()[0].id
        assert acts.dpia_required(content) is acts.dpia_verdict(content).required

    def test_content_suggests_criteria(self) -> None:
        verdict = acts.dpia_verdict(
            {"dpia_criteria": [], "sensitive_data": ["sante"], "data_subjects": ["enfants_mineurs"]}
        )
        assert {c.id for c in verdict.suggested} == {"donnees_sensibles", "personnes_vulnerables"}

    def test_the_form_offers_the_nine_criteria_with_help(self) -> None:
        assert list(CRITERIA_HELP) == [c.id for c in ref.dpia_criteria()]
        form = DpiaForm(meta={"csrf": False})
        fields = form.criteria_fields()
        assert len(fields) == 9
        assert all(str(f.description) for f in fields)
        assert fields[0].label.text == ref.dpia_criteria()[0].label


# --- service ---------------------------------------------------------------------------------------


def test_save_screening_changes_only_the_dpia_fields(app: Flask, world: World, session: Any) -> None:
    activity_id = make_fiche(app, world)
    with app.test_request_context(), acting_as(world.a.users[Role.DPO], world.a.syndicate):
        activity = db.session.get(ProcessingActivity, activity_id)
        dpia.save_screening(
            activity,
            None,
            {
                "version": activity.version,
                "dpia_criteria": ["donnees_sensibles", "personnes_vulnerables", "not-a-criterion"],
                "dpia_status": "in_progress",
                "name": "ignored",
                "purpose": "ignored",
            },
        )
        db.session.commit()
    activity = load(session, activity_id)
    assert activity.dpia_criteria == ["donnees_sensibles", "personnes_vulnerables"]
    assert activity.is_dpia_required is True
    assert activity.dpia_status == DpiaStatus.IN_PROGRESS
    assert activity.name == FICHE["name"]
    assert activity.purpose == FICHE["purpose"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"dpia_status": "done", "dpia_done_on": today() + timedelta(days=1)}, "futur"),
        ({"dpia_status": "in_progress", "dpia_done_on": today()}, "Réalisée"),
        ({"dpia_status": "done", "dpia_done_on": None}, "date de réalisation"),
    ],
)
def test_dates_of_the_dpia_are_checked(app: Flask, world: World, extra: dict[str, Any], message: str) -> None:
    from core.forms import FieldError  # noqa: PLC0415

    activity_id = make_fiche(app, world)
    with app.test_request_context(), acting_as(world.a.users[Role.DPO], world.a.syndicate):
        activity = db.session.get(ProcessingActivity, activity_id)
        with pytest.raises(FieldError, match=message) as error:
            dpia.save_screening(activity, None, {"version": activity.version, "dpia_criteria": [], **extra})
        assert error.value.field == "dpia_done_on"


# --- the page --------------------------------------------------------------------------------------


def test_dpo_saves_the_screening_and_the_column_follows(
    app: Flask, world: World, login_as: Any, session: Any
) -> None:
    activity_id = make_fiche(app, world)
    client = login_as(world.a.users[Role.DPO])
    page = client.get(f"/registers/activities/{activity_id}/dpia")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "deux critères ou plus" in text
    assert "Critères suggérés par le contenu de la fiche" in text  # sensitive data → criterion 4
    assert str(CRITERIA_HELP["croisement"]) in text.replace("&#39;", "'")

    version = load(session, activity_id).version
    saved = client.post(
        f"/registers/activities/{activity_id}/dpia",
        data=screening_post(version, ["donnees_sensibles", "personnes_vulnerables"]),
    )
    assert saved.status_code == 302
    activity = load(session, activity_id)
    assert activity.is_dpia_required is True
    assert events(session, "activity.update", activity_id)

    # Back to one criterion: the justification becomes mandatory, nothing is saved without it.
    one = screening_post(activity.version, ["donnees_sensibles"])
    refused = client.post(f"/registers/activities/{activity_id}/dpia", data=one)
    assert refused.status_code == 422
    assert "Un seul critère" in refused.get_data(as_text=True)
    assert load(session, activity_id).is_dpia_required is True

    one["dpia_justification"] = "Données de santé limitées au strict nécessaire, pas d'autre critère."
    accepted = client.post(f"/registers/activities/{activity_id}/dpia", data=one)
    assert accepted.status_code == 302
    activity = load(session, activity_id)
    assert activity.is_dpia_required is False
    assert activity.dpia_criteria == ["donnees_sensibles"]
    assert activity.dpia_justification.startswith("Données de santé")


def test_the_cnil_list_through_the_page(app: Flask, world: World, login_as: Any, session: Any) -> None:
    activity_id = make_fiche(app, world)
    client = login_as(world.a.users[Role.DPO])
    required = ref.dpia_required_types()[12].id  # accompagnement social
    response = client.post(
        f"/registers/activities/{activity_id}/dpia",
        data=screening_post(load(session, activity_id).version, [], dpia_cnil_required=required),
    )
    assert response.status_code == 302
    assert load(session, activity_id).is_dpia_required is True
    page = client.get(f"/registers/activities/{activity_id}/dpia").get_data(as_text=True)
    assert "AIPD requise" in page
    assert "Accompagnement social" in page


def test_a_stale_form_gets_the_conflict_page(app: Flask, world: World, login_as: Any, session: Any) -> None:
    activity_id = make_fiche(app, world)
    client = login_as(world.a.users[Role.DPO])
    version = load(session, activity_id).version
    first = client.post(
        f"/registers/activities/{activity_id}/dpia",
        data=screening_post(version, ["grande_echelle", "croisement"]),
    )
    assert first.status_code == 302
    stale = client.post(
        f"/registers/activities/{activity_id}/dpia",
        data=screening_post(version, ["usage_innovant", "croisement"]),
    )
    assert stale.status_code == 409
    text = stale.get_data(as_text=True)
    assert 'id="conflict"' in text
    assert load(session, activity_id).dpia_criteria == ["grande_echelle", "croisement"]


def test_reader_sees_the_screening_read_only_and_cannot_post(
    app: Flask, world: World, login_as: Any, session: Any
) -> None:
    activity_id = make_fiche(app, world, dpia_criteria=["grande_echelle", "croisement"])
    client = login_as(world.a.users[Role.READER])
    page = client.get(f"/registers/activities/{activity_id}/dpia")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "AIPD requise" in text
    assert 'name="criterion_grande_echelle"' not in text
    version = load(session, activity_id).version
    response = client.post(f"/registers/activities/{activity_id}/dpia", data=screening_post(version, []))
    assert response.status_code == 403
    assert load(session, activity_id).dpia_criteria == ["grande_echelle", "croisement"]


def test_another_organisation_gets_404(app: Flask, world: World, login_as: Any, session: Any) -> None:
    activity_id = make_fiche(app, world)
    outsider = login_as(world.b.users[Role.DPO])
    base = f"/registers/activities/{activity_id}"
    assert outsider.get(f"{base}/dpia").status_code == 404
    assert outsider.post(f"{base}/pia-export").status_code == 404
    version = load(session, activity_id).version
    assert (
        outsider.post(
            f"{base}/dpia", data=screening_post(version, ["croisement", "grande_echelle"])
        ).status_code
        == 404
    )
    assert load(session, activity_id).dpia_criteria == []
    assert events(session, "activity.pia_export", activity_id) == []


# --- export to the PIA software -------------------------------------------------------------------


def test_pia_export_is_an_importable_pia_file(app: Flask, world: World, login_as: Any, session: Any) -> None:
    activity_id = make_fiche(app, world, dpia_criteria=["donnees_sensibles", "personnes_vulnerables"])
    client = login_as(world.a.users[Role.READER])
    response = client.post(f"/registers/activities/{activity_id}/pia-export")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Content-Disposition"].endswith('-pia.json"')

    data = json.loads(response.get_data(as_text=True))
    # What PiaService.importData reads: a "pia" object and four lists.
    assert set(data) == {"pia", "answers", "measures", "evaluations", "comments"}
    assert data["pia"]["name"] == FICHE["name"]
    assert data["pia"]["category"] == world.a.syndicate.name
    assert data["pia"]["status"] == 0
    raw = {a["reference_to"]: a["data"]["text"] for a in data["answers"]}
    answers = {k: html.unescape(v) for k, v in raw.items()}
    assert all(set(a["data"]) == {"text", "gauge", "list"} for a in data["answers"])
    assert FICHE["purpose"] in answers[111]
    assert "Éditeur SaaS Social" in answers[112]  # processor named in the responsibilities
    assert "L123-5" in answers[113]
    assert "5 ans après la dernière aide" in answers[121]
    assert "5 ans après la dernière aide" in answers[215]
    assert "d&#39;aide" in raw[111]  # text is escaped HTML
    assert [m["title"] for m in data["measures"]] == [
        "Contrôle d'accès des utilisateurs",
        "Chiffrement des données",
    ]
    assert data["measures"][0]["content"] == "<p>habilitations par profil</p>"
    assert data["evaluations"] == []
    assert data["comments"] == []

    journal = events(session, "activity.pia_export", activity_id)
    assert len(journal) == 1
    assert journal[0].actor_id == world.a.users[Role.READER].id


def test_pia_export_is_a_post_action_offered_as_a_button(
    app: Flask, world: World, login_as: Any, session: Any
) -> None:
    # Handing out the file is journalled: a GET never does it (see test_read_only_requests).
    activity_id = make_fiche(app, world)
    client = login_as(world.a.users[Role.READER])
    assert client.get(f"/registers/activities/{activity_id}/pia-export").status_code == 405
    assert client.get(f"/registers/activities/{activity_id}/pia.json").status_code == 404  # the old link
    assert events(session, "activity.pia_export", activity_id) == []
    page = client.get(f"/registers/activities/{activity_id}/dpia").get_data(as_text=True)
    action = f"/registers/activities/{activity_id}/pia-export"
    form = re.search(rf'<form method="post" action="{action}">(.*?)</form>', page, re.S)
    assert form is not None
    assert 'name="csrf_token"' in form.group(1)
    assert "Exporter pour le logiciel PIA de la CNIL</button>" in form.group(1)


def test_the_administrator_cannot_export_a_pia_file(
    app: Flask, world: World, login_as: Any, session: Any
) -> None:
    activity_id = make_fiche(app, world)
    response = login_as(world.a.users[Role.ADMIN]).post(f"/registers/activities/{activity_id}/pia-export")
    assert response.status_code == 403
    assert events(session, "activity.pia_export", activity_id) == []
