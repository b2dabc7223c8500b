"""The processor register (Art. 30.2) an inspector accepts: each application served described once
by its models (never by the catalogue's blurb), described security measures only, sub-processors
with their contracts, what is missing listed "à compléter" with the page that fixes it and never
printed as a placeholder, and the PDF dated and signed off by the syndicate's DPO."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import select

from catalogue.models import Hosting
from core.audit import AuditEvent
from core.extensions import db
from core.security import Role
from registers import reference as ref
from registers.documents import data as doc_data
from registers.documents import pdf as doc_pdf
from registers.models import ProcessorRegisterSignoff
from registers.services import activities as acts
from registers.services import processor
from registers.services import processors as procs
from tests.catalogue.factories import ApplicationFactory, SubscriptionFactory
from tests.conftest import World, acting_as

MODEL = {
    "name": "Paie des agents",
    "purpose": "Calcul et versement de la paie",
    "legal_basis": "6.1.c",
    "data_categories": [{"category": "etat_civil"}],
    "security_measures": [
        {"measure": "sauvegarde", "details": "Sauvegarde chiffrée quotidienne, copie hors site"},
        {"measure": "tracabilite", "details": ""},  # ticked, not described
    ],
}
BLURB = "Ancien logiciel d'action sociale, remplacé en 2017 [donnée incertaine]"


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.fixture
def served(world: World, app: Flask) -> dict[str, int]:
    """Tenant A: a hosted application with a model, a SaaS one without model nor contract, one at
    the member's (not the syndicate's processing), each with the catalogue blurb of the demo."""
    a = world.a
    with app.test_request_context(), acting_as(a.users[Role.DPO], a.syndicate):
        syndicate = db.session.merge(a.syndicate)
        member = db.session.merge(a.member)
        hosted = db.session.merge(a.application)
        hosted.description = BLURB
        saas = ApplicationFactory(
            syndicate=syndicate, name="Prise de RDV", hosting=Hosting.SAAS, editor="RDV SAS"
        )
        saas.description = BLURB
        local = ApplicationFactory(syndicate=syndicate, name="Logiciel local", hosting=Hosting.MEMBER)
        for application in (saas, local):
            SubscriptionFactory(application=application, member=member)
        db.session.flush()
        model = acts.create_activity(
            syndicate, None, {**MODEL, "application_ids": [hosted.id]}, is_model=True
        )
        db.session.commit()
        return {"hosted": hosted.id, "saas": saas.id, "local": local.id, "model": model.id}


def test_each_application_is_described_by_its_models_and_gaps_name_the_page_that_fixes_them(
    world: World, app: Flask, served: dict[str, int]
) -> None:
    with app.test_request_context(), acting_as(world.a.users[Role.DPO], world.a.syndicate):
        register = processor.processor_register(db.session.merge(world.a.syndicate))
    assert list(register.applications) == [served["hosted"], served["saas"]]  # not the one at home
    hosted, saas = register.applications[served["hosted"]], register.applications[served["saas"]]
    [category] = hosted.categories
    assert category.purpose == "Calcul et versement de la paie"
    assert [m.label for m in category.measures] == [ref.label_of(ref.security_measures(), "sauvegarde")]
    assert saas.categories == []  # no model: no purpose taken from the catalogue
    gaps = {
        (g.endpoint, g.url_args.get("application_id") or g.url_args.get("activity_id")) for g in register.gaps
    }
    assert gaps == {
        ("registers.activity_edit", served["model"]),  # the measure ticked without description
        ("registers.model_new", served["saas"]),  # no model
        ("registers.processor_new", served["saas"]),  # the editor's contract
    }
    texts = [g.text for g in register.gaps]
    assert any("mesures cochées sans description" in t for t in texts)
    assert any("RDV SAS" in t and "n'est pas décrit" in t for t in texts)


def test_a_described_contract_fills_the_sub_processor_and_its_gap_goes(
    world: World, app: Flask, served: dict[str, int]
) -> None:
    with app.test_request_context(), acting_as(world.a.users[Role.DPO], world.a.syndicate):
        syndicate = db.session.merge(world.a.syndicate)
        procs.create_processor(
            syndicate,
            None,
            {
                "name": "RDV SAS",
                "service": "Prise de rendez-vous en ligne",
                "contract_reference": "MAR-2025-09",
                "contract_signed_on": "2025-02-03",
                "clauses": {c.id: "yes" for c in ref.processor_clauses()},
                "data_location": "France (Roubaix)",
                "next_review_on": "2027-02-03",
                "certifications": ["hds"],
                "application_ids": [served["saas"]],
            },
        )
        register = processor.processor_register(syndicate)
        [sub] = register.applications[served["saas"]].sub_processors
        assert (sub.name, sub.contract_reference, sub.clauses_present, sub.clauses_total) == (
            "RDV SAS",
            "MAR-2025-09",
            9,
            9,
        )
        assert not any(g.endpoint == "registers.processor_new" for g in register.gaps)
        text = _text(doc_pdf.processor_register_pdf(doc_data.processor_register_data(syndicate)))
    assert "MAR-2025-09" in text
    assert "Clauses de l'article 28.3 présentes : 9 sur 9" in text
    assert "France (Roubaix)" in text


def test_the_pdf_prints_no_placeholder_and_is_signed_off_by_the_dpo(
    world: World, app: Flask, served: dict[str, int], login_as: Any, session: Any
) -> None:
    with app.test_request_context(), acting_as(world.a.users[Role.DPO], world.a.syndicate):
        syndicate = db.session.merge(world.a.syndicate)
        before = _text(doc_pdf.processor_register_pdf(doc_data.processor_register_data(syndicate)))
    assert "Non validé par le délégué à la protection des données" in before
    assert "donnée incertaine" not in before
    assert "Ancien logiciel" not in before  # the catalogue's blurb never stands for a purpose
    assert "sans modèle" not in before
    assert "3 points restent à compléter" in before
    assert "Sauvegarde chiffrée quotidienne" in before
    assert ref.label_of(ref.security_measures(), "tracabilite") not in before  # ticked, not described
    assert "Logiciel local" not in before

    # The DPO signs off through the page; the journal keeps it; the PDF prints it.
    dpo = login_as(world.a.users[Role.DPO], world.a.syndicate)
    page = dpo.get("/registers/processor/").get_data(as_text=True)
    assert "À compléter : 3 points" in page
    assert "1 application sans modèle de fiche" in page
    assert f"/registers/models/new?application_id={served['saas']}" in page
    assert dpo.post("/registers/processor/signoff", data={"note": "Revu avec le RSSI"}).status_code == 302
    assert session.scalars(select(ProcessorRegisterSignoff)).all() == []  # not confirmed: nothing
    assert (
        dpo.post(
            "/registers/processor/signoff", data={"confirm": "y", "note": "Revu avec le RSSI"}
        ).status_code
        == 302
    )
    signoff = session.scalars(select(ProcessorRegisterSignoff)).one()
    assert (signoff.signed_by_name, signoff.controllers, signoff.to_complete) == (
        world.a.users[Role.DPO].full_name,
        1,
        3,
    )
    assert session.scalars(select(AuditEvent).where(AuditEvent.action == "processor_register.signoff")).one()
    with app.test_request_context(), acting_as(world.a.users[Role.DPO], world.a.syndicate):
        after = _text(
            doc_pdf.processor_register_pdf(
                doc_data.processor_register_data(db.session.merge(world.a.syndicate))
            )
        )
    assert f"Validé par {world.a.users[Role.DPO].full_name}, délégué à la protection des données" in after
    assert "Observation du DPO : Revu avec le RSSI" in after


def test_only_the_syndicates_dpo_signs_off(world: World, login_as: Any) -> None:
    rssi = login_as(world.a.users[Role.RSSI], world.a.syndicate)
    assert rssi.post("/registers/processor/signoff", data={"confirm": "y"}).status_code == 403
    referent = login_as(world.a.member_referent, world.a.member)
    assert referent.post("/registers/processor/signoff", data={"confirm": "y"}).status_code in (403, 404)
