"""Fiche pages: list, create with a validation error then corrected, edit conflict, history and
restore, model update accepted through the page, permissions and tenant isolation."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from core.security import Role
from registers.models import ActivityStatus, ProcessingActivity
from tests import factories as f

pytestmark = pytest.mark.usefixtures("world")


def blank_form() -> dict[str, Any]:
    """The posted fields of an empty fiche form (fixed rows included, as a browser sends them)."""
    from registers import reference as ref  # noqa: PLC0415

    data: dict[str, Any] = {"name": "", "status": "draft", "version": ""}
    for i, c in enumerate(ref.data_categories()):
        data[f"categories-{i}-category"] = c.id
    for i, m in enumerate(ref.security_measures()):
        data[f"measures-{i}-measure"] = m.id
    for i in range(3):
        data[f"recipients-{i}-type"] = ""
        data[f"recipients-{i}-name"] = ""
        data[f"recipients-{i}-organisation_id"] = ""
    return data


def fiche_of(session: Any, org_id: int, **where: Any) -> ProcessingActivity:
    stmt = select(ProcessingActivity).where(ProcessingActivity.organisation_id == org_id).filter_by(**where)
    session.expire_all()
    return session.scalar(stmt.order_by(ProcessingActivity.id).limit(1))


def edit(client: Any, fiche: ProcessingActivity, **changes: Any) -> Any:
    data = blank_form()
    data.update(
        {
            "name": fiche.name,
            "purpose": fiche.purpose or "",
            "version": fiche.version,
            "categories-0-selected": "y",
        }
    )
    data.update(changes)
    return client.post(f"/registers/activities/{fiche.id}/edit", data=data)


def create_fiche(client: Any, **extra: Any) -> Any:
    data = blank_form()
    data.update(
        {
            "name": "Gestion de l'état civil",
            "purpose": "Tenue des registres d'état civil",
            "legal_basis": "6.1.c",
            "legal_basis_text": "Code civil, art. 34 et suivants",
            "data_subjects": ["usagers"],
            "categories-0-selected": "y",
            "categories-0-active": "75 ans",
            "measures-0-selected": "y",
            "measures-0-details": "Comptes nominatifs",
            "recipients-0-type": "interne",
            "recipients-0-name": "Service état civil",
            **extra,
        }
    )
    return client.post("/registers/activities/new", data=data)


def test_referent_creates_a_fiche_after_a_validation_error(world: Any, login_as: Any, session: Any) -> None:
    client = login_as(world.a.member_referent, world.a.member)
    assert client.get("/registers/activities/").status_code == 200
    page = client.get("/registers/activities/new")
    assert page.status_code == 200
    # Missing name, and a recipient line without its type: both explained, what was typed kept.
    bad = create_fiche(client, name="", **{"recipients-1-name": "Trésorerie"})
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert "Tenue des registres d&#39;état civil" in html or "Tenue des registres d'état civil" in html
    assert "Choisissez le type de destinataire." in html
    assert "Trésorerie" in html
    good = create_fiche(client)
    assert good.status_code == 302
    fiche = fiche_of(session, world.a.member.id)
    assert fiche.organisation_id == world.a.member.id
    assert fiche.reference == "TRT-001"
    assert fiche.data_categories[0]["category"] == "etat_civil"
    assert fiche.data_categories[0]["active"] == "75 ans"
    assert fiche.completeness == 100
    listing = client.get("/registers/activities/").get_data(as_text=True)
    assert "Gestion de l&#39;état civil" in listing or "Gestion de l'état civil" in listing
    detail = client.get(good.location).get_data(as_text=True)
    assert "Code civil, art. 34" in detail


def test_referent_cannot_validate_but_dpo_can(world: Any, login_as: Any, session: Any) -> None:
    referent = login_as(world.a.member_referent, world.a.member)
    create_fiche(referent)
    fiche = fiche_of(session, world.a.member.id)
    response = referent.post(
        f"/registers/activities/{fiche.id}/status", data={"status": "validated", "version": fiche.version}
    )
    assert response.status_code == 403
    dpo = f.UserFactory(email="dpo.villea@example.org")
    f.MembershipFactory(user=dpo, organisation=world.a.member, role=Role.DPO)
    session.flush()
    client = login_as(dpo, world.a.member)
    response = client.post(
        f"/registers/activities/{fiche.id}/status", data={"status": "validated", "version": fiche.version}
    )
    assert response.status_code == 302
    fiche = fiche_of(session, world.a.member.id)
    assert fiche.status == ActivityStatus.VALIDATED


def test_edit_conflict_shows_both_versions_and_keeps_the_typing(
    world: Any, login_as: Any, session: Any
) -> None:
    client = login_as(world.a.member_referent, world.a.member)
    create_fiche(client)
    fiche = fiche_of(session, world.a.member.id)
    colleague = login_as(world.a.member_referent, world.a.member)
    assert edit(colleague, fiche, purpose="Changé par quelqu'un d'autre").status_code == 302
    response = edit(client, fiche, purpose="Ma saisie à garder")  # the version this page was loaded with
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Ma saisie à garder" in html
    assert "Changé par quelqu" in html


def test_history_lists_versions_and_restore_brings_back_the_old_content(
    world: Any, login_as: Any, session: Any
) -> None:
    client = login_as(world.a.member_referent, world.a.member)
    create_fiche(client)
    fiche = fiche_of(session, world.a.member.id)
    assert edit(client, fiche, purpose="Deuxième finalité").status_code == 302
    fiche = fiche_of(session, world.a.member.id)
    history = client.get(f"/registers/activities/{fiche.id}/history").get_data(as_text=True)
    assert len(re.findall(r"/versions/\d+\"", history)) == 2
    old = client.get(f"/registers/activities/{fiche.id}/versions/1")
    assert "Tenue des registres" in old.get_data(as_text=True)
    response = client.post(
        f"/registers/activities/{fiche.id}/versions/1/restore", data={"version": fiche.version}
    )
    assert response.status_code == 302
    fiche = fiche_of(session, world.a.member.id)
    assert fiche.purpose == "Tenue des registres d'état civil"
    history = client.get(f"/registers/activities/{fiche.id}/history").get_data(as_text=True)
    assert len(re.findall(r"/versions/\d+\"", history)) == 3


def test_model_update_accepted_through_the_page(world: Any, login_as: Any, session: Any) -> None:
    syndicate_dpo = login_as(world.a.users[Role.DPO], world.a.syndicate)
    data = blank_form()
    data.update(
        {
            "name": "Portail famille",
            "purpose": "Inscriptions",
            "application_ids": [world.a.application.id],
            "status": "validated",
        }
    )
    assert syndicate_dpo.post("/registers/models/new", data=data).status_code == 302
    model = fiche_of(session, world.a.syndicate.id, is_model=True)
    entry = fiche_of(session, world.a.member.id, model_id=model.id)
    data.update({"purpose": "Inscriptions et facturation", "version": model.version})
    assert syndicate_dpo.post(f"/registers/activities/{model.id}/edit", data=data).status_code == 302
    referent = login_as(world.a.member_referent, world.a.member)
    page = referent.get(f"/registers/activities/{entry.id}/model-update").get_data(as_text=True)
    assert "Inscriptions et facturation" in re.sub(r"<[^>]+>", "", page)  # new words marked inside the text
    assert '<ins class="diff-word"> et facturation</ins>' in page
    entry = fiche_of(session, world.a.member.id, model_id=model.id)
    response = referent.post(
        f"/registers/activities/{entry.id}/model-update",
        data={"decision_purpose": "model", "version": entry.version},
    )
    assert response.status_code == 302
    entry = fiche_of(session, world.a.member.id, model_id=model.id)
    assert entry.purpose == "Inscriptions et facturation"
    assert not entry.has_model_update


def test_reader_cannot_create_and_other_tenant_gets_404(world: Any, login_as: Any, session: Any) -> None:
    referent = login_as(world.a.member_referent, world.a.member)
    create_fiche(referent)
    fiche = fiche_of(session, world.a.member.id)
    reader = login_as(world.a.users[Role.READER], world.a.syndicate)
    assert reader.get("/registers/activities/new").status_code == 403
    other = login_as(world.b.member_referent, world.b.member)
    for url in (
        f"/registers/activities/{fiche.id}",
        f"/registers/activities/{fiche.id}/edit",
        f"/registers/activities/{fiche.id}/history",
    ):
        assert other.get(url).status_code == 404, url


def test_a_local_override_can_be_given_back_to_the_model(world: Any, login_as: Any, session: Any) -> None:
    syndicate_dpo = login_as(world.a.users[Role.DPO], world.a.syndicate)
    data = blank_form()
    data.update(
        {"name": "Portail famille", "purpose": "Inscriptions", "application_ids": [world.a.application.id]}
    )
    assert syndicate_dpo.post("/registers/models/new", data=data).status_code == 302
    model = fiche_of(session, world.a.syndicate.id, is_model=True)
    entry = fiche_of(session, world.a.member.id, model_id=model.id)
    referent = login_as(world.a.member_referent, world.a.member)
    assert edit(referent, entry, purpose="Notre finalité").status_code == 302
    page = referent.get(f"/registers/activities/{entry.id}").get_data(as_text=True)
    assert "reprendre la valeur du modèle" in page
    entry = fiche_of(session, world.a.member.id, model_id=model.id)
    response = referent.post(
        f"/registers/activities/{entry.id}/revert", data={"field": "purpose", "version": entry.version}
    )
    assert response.status_code == 302
    entry = fiche_of(session, world.a.member.id, model_id=model.id)
    assert entry.purpose == "Inscriptions"


def test_the_unfiltered_register_list_takes_its_total_from_the_register_figures(
    world: Any, login_as: Any, session: Any, app: Any
) -> None:
    """The untouched list counts its rows from the headline figures (no count query of its own), and
    says the same total a filtered list counts: archived fiches and models left out, other
    organisations' fiches too."""
    from sqlalchemy import event, func  # noqa: PLC0415

    from tests.registers.factories import ProcessingActivityFactory  # noqa: PLC0415

    member, other = world.a.member, world.b.member
    for i in range(5):
        ProcessingActivityFactory(organisation=member, name=f"Liste {i}")
    ProcessingActivityFactory(organisation=member, name="Archivée", status=ActivityStatus.ARCHIVED)
    ProcessingActivityFactory(organisation=other, name="Ailleurs")
    session.flush()
    expected = session.scalar(
        select(func.count())
        .select_from(ProcessingActivity)
        .where(
            ProcessingActivity.organisation_id == member.id,
            ProcessingActivity.is_model.is_(False),
            ProcessingActivity.status != ActivityStatus.ARCHIVED,
        )
    )
    drafts = session.scalar(
        select(func.count())
        .select_from(ProcessingActivity)
        .where(
            ProcessingActivity.organisation_id == member.id,
            ProcessingActivity.status == ActivityStatus.DRAFT,
        )
    )
    client = login_as(world.a.member_referent, member)
    statements: list[str] = []

    def listener(*args: Any) -> None:
        statements.append(args[2])

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", listener)
    try:
        whole = client.get("/registers/activities/?per_page=2").get_data(as_text=True)
        counted = [s for s in statements if _counts_fiches(s)]
        statements.clear()
        filtered = client.get("/registers/activities/?per_page=2&status=draft").get_data(as_text=True)
        filtered_counts = [s for s in statements if _counts_fiches(s)]
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert f"1 à 2 sur {expected}" in whole
    assert counted == []
    assert f"1 à 2 sur {drafts}" in filtered
    assert len(filtered_counts) == 1


def _counts_fiches(statement: str) -> bool:
    """core.pagination.count_statement over the fiches:
    ``SELECT count(*) FROM (SELECT 1 FROM processing_activities …)``."""
    text = " ".join(statement.lower().split())
    return text.startswith("select count(*)") and "from processing_activities" in text and "anon_1" in text
