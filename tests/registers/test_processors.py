"""Processors (Art. 28): the rules and what is "à compléter", the syndicate derived as a member's
processor with the SaaS editors as sub-processors, fiche recipients pointing to processors (and
never to another organisation's), deletion guarded by the fiches, and the pages (re-display,
conflict, other organisation's 404, journal)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from catalogue.models import Hosting
from core.audit import AuditEvent
from core.extensions import db
from core.forms import FieldError
from core.security import Role
from registers import reference as ref
from registers.models import Processor, activity_processors
from registers.services import activities as acts
from registers.services import processors as procs
from tests.catalogue.factories import ApplicationFactory, SubscriptionFactory
from tests.conftest import World, acting_as
from tests.factories import MembershipFactory
from tests.registers.factories import ProcessorFactory

D = dt.date
ALL_YES = {c.id: "yes" for c in ref.processor_clauses()}
COMPLETE = {
    "name": "Hébergeur Exemple",
    "service": "Hébergement des serveurs de l'application",
    "siren": "123 456 789",
    "contract_reference": "MAR-2024-07",
    "contract_signed_on": D(2024, 3, 1),
    "clauses": ALL_YES,
    "data_location": "France (Paris)",
    "next_review_on": D(2027, 3, 1),
    "certifications": ["iso27001", "hds", "not-a-certification"],
}


def _errors(exc: pytest.ExceptionInfo[FieldError]) -> dict[str, str]:
    errors = getattr(exc.value, "errors", [exc.value])
    return {e.field: e.message for e in errors}


@pytest.fixture
def member(world: World, app_ctx: Flask) -> Any:
    with acting_as(world.a.member_referent, world.a.member):
        yield db.session.merge(world.a.member)


@pytest.fixture
def syndicate(world: World, app_ctx: Flask) -> Any:
    with acting_as(world.a.users[Role.DPO], world.a.syndicate):
        yield db.session.merge(world.a.syndicate)


# --- rules and "à compléter" -----------------------------------------------------------------------


def test_a_complete_record_lacks_nothing_and_an_empty_one_says_what_is_missing(member: Any) -> None:
    p = procs.create_processor(member, None, COMPLETE)
    assert p.siren == "123456789"
    assert p.certifications == ["hds", "iso27001"]  # unknown ids kept out
    assert procs.missing(p) == []
    assert p.to_complete == 0

    bare = procs.create_processor(member, None, {"name": "Prestataire sans contrat"})
    texts = [m.text for m in procs.missing(bare)]
    assert "la prestation confiée n'est pas décrite" in texts
    assert "la date de signature du contrat manque" in texts
    assert sum(t.startswith("clause à vérifier") for t in texts) == len(ref.processor_clauses())
    assert bare.to_complete == len(texts)

    absent = procs.create_processor(
        member, None, {**COMPLETE, "clauses": {**ALL_YES, "audits": "no"}, "transfers": [{"country": "Inde"}]}
    )
    texts = [m.text for m in procs.missing(absent)]
    assert texts == [
        "clause absente du contrat : Information du responsable et audits, y compris inspections",
        "transfert vers Inde sans garantie (art. 46)",
    ]


def test_every_bad_value_is_reported_at_once(member: Any) -> None:
    with pytest.raises(FieldError) as exc:
        procs.create_processor(
            member,
            None,
            {
                "name": "",
                "siren": "12345",
                "contract_signed_on": D(2026, 5, 1),
                "contract_ends_on": D(2025, 1, 1),
                "transfers": [{"safeguard": "cct_commission"}],
                "contact": "x" * 301,
            },
        )
    assert set(_errors(exc)) == {"name", "siren", "contract_ends_on", "transfers", "contact"}
    assert db.session.scalars(select(Processor)).all() == []


def test_a_processor_runs_only_applications_the_organisation_uses(world: World, member: Any) -> None:
    other = ApplicationFactory(syndicate=db.session.merge(world.a.syndicate), name="Non souscrite")
    db.session.flush()
    with pytest.raises(FieldError) as exc:
        procs.create_processor(member, None, {**COMPLETE, "application_ids": [other.id]})
    assert "application_ids" in _errors(exc)
    p = procs.create_processor(member, None, {**COMPLETE, "application_ids": [world.a.application.id]})
    assert [a.id for a in p.applications] == [world.a.application.id]


# --- the syndicate, derived ------------------------------------------------------------------------


def test_the_syndicate_is_the_members_processor_with_the_saas_editors_as_sub_processors(
    world: World, app: Flask
) -> None:
    with app.test_request_context(), acting_as(world.a.users[Role.DPO], world.a.syndicate):
        syndicate = db.session.merge(world.a.syndicate)
        member = db.session.merge(world.a.member)
        saas = ApplicationFactory(
            syndicate=syndicate, name="Parapheur SaaS", hosting=Hosting.SAAS, editor="Éditeur SaaS"
        )
        at_home = ApplicationFactory(syndicate=syndicate, name="Logiciel local", hosting=Hosting.MEMBER)
        ended = ApplicationFactory(syndicate=syndicate, name="Ancien logiciel")
        for app_, end in ((saas, None), (at_home, None), (ended, D(2020, 6, 30))):
            SubscriptionFactory(application=app_, member=member, ended_on=end)
        db.session.flush()
        # The syndicate keeps its contract with the editor, linked to the application.
        contract = procs.create_processor(
            syndicate, None, {**COMPLETE, "name": "Éditeur SaaS SAS", "application_ids": [saas.id]}
        )
        db.session.commit()
        assert procs.syndicate_entry(syndicate) is None  # a syndicate is nobody's member
        contract_id = contract.id

    with app.test_request_context(), acting_as(world.a.member_referent, world.a.member):
        entry = procs.syndicate_entry(db.session.merge(world.a.member))
        assert entry is not None
        assert entry.name == "Syndicat A"
        names = [name for _id, name, _hosting in entry.applications]
        assert names == ["Application A", "Parapheur SaaS"]  # not the one at home, not the ended one
        assert [(s.application, s.name, s.record.id) for s in entry.sub_processors] == [
            ("Parapheur SaaS", "Éditeur SaaS SAS", contract_id)
        ]
        assert entry.record is None
        prefill = procs.syndicate_prefill(entry)
        assert prefill["linked_organisation_id"] == world.a.syndicate.id
        assert "Parapheur SaaS" in prefill["service"]
        # Recording the convention makes it the entry's record.
        own = procs.create_processor(db.session.merge(world.a.member), None, {**COMPLETE, **prefill})
        assert procs.syndicate_entry(db.session.merge(world.a.member)).record.id == own.id


def test_a_member_links_only_its_own_syndicate(world: World, member: Any) -> None:
    with pytest.raises(FieldError) as exc:
        procs.create_processor(member, None, {**COMPLETE, "linked_organisation_id": world.b.syndicate.id})
    assert "linked_organisation_id" in _errors(exc)


# --- fiches naming a processor ---------------------------------------------------------------------


def test_fiche_recipients_point_to_the_organisations_own_processors_only(world: World, app: Flask) -> None:
    with app.test_request_context(), acting_as(world.b.users[Role.DPO], world.b.syndicate):
        foreign = ProcessorFactory(organisation=db.session.merge(world.b.syndicate))
        db.session.commit()
        foreign_id = foreign.id
    with app.test_request_context(), acting_as(world.a.member_referent, world.a.member):
        member = db.session.merge(world.a.member)
        mine = procs.create_processor(member, None, COMPLETE)
        fiche = acts.create_activity(
            member,
            None,
            {
                "name": "Paie",
                "recipients": [
                    {"type": "sous_traitant", "name": "Hébergeur", "processor_id": mine.id},
                    {"type": "sous_traitant", "name": "Autre", "processor_id": foreign_id},
                ],
            },
        )
        db.session.commit()
        assert [r["processor_id"] for r in fiche.recipients] == [mine.id, None]
        links = db.session.execute(select(activity_processors)).all()
        assert [(row.activity_id, row.processor_id) for row in links] == [(fiche.id, mine.id)]
        assert [(f.id, f.through) for f in procs.fiches_of(mine)] == [(fiche.id, "recipient")]

        with pytest.raises(procs.ProcessorInUse) as used:
            procs.delete_processor(mine, None)
        assert used.value.fiches == 1
        acts.update_activity(fiche, None, {"recipients": [], "version": fiche.version})
        assert db.session.execute(select(activity_processors)).all() == []
        procs.delete_processor(mine, None)
        db.session.commit()
        assert db.session.get(Processor, mine.id) is None


def test_a_model_names_no_processor(world: World, syndicate: Any) -> None:
    p = procs.create_processor(syndicate, None, COMPLETE)
    model = acts.create_activity(
        syndicate,
        None,
        {
            "name": "Modèle",
            "application_ids": [world.a.application.id],
            "recipients": [{"type": "sous_traitant", "name": "H", "processor_id": p.id}],
        },
        is_model=True,
    )
    assert model.recipients[0]["processor_id"] is None


def test_fiches_using_a_processors_applications_are_listed(world: World, member: Any) -> None:
    p = procs.create_processor(member, None, {**COMPLETE, "application_ids": [world.a.application.id]})
    fiche = acts.create_activity(
        member, None, {"name": "État civil", "application_ids": [world.a.application.id]}
    )
    assert [(f.id, f.through) for f in procs.fiches_of(p)] == [(fiche.id, "application")]
    # Named as a recipient too: still one fiche, counted as the list shows it.
    acts.update_activity(
        fiche,
        None,
        {
            "recipients": [{"type": "sous_traitant", "name": "H", "processor_id": p.id}],
            "version": fiche.version,
        },
    )
    assert [(f.id, f.through) for f in procs.fiches_of(p)] == [(fiche.id, "recipient")]
    assert procs.fiche_counts([p.id]) == {p.id: 1}


# --- pages -----------------------------------------------------------------------------------------


def _html(response: Any) -> str:
    return response.get_data(as_text=True)


def _input_value(html: str, name: str) -> str | None:
    tag = re.search(rf'<input[^>]*\bname="{name}"[^>]*>', html)
    assert tag, f"no input {name}"
    value = re.search(r'\bvalue="([^"]*)"', tag.group(0))
    return value.group(1) if value else None


def _form(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Sauvegardes Externes SARL",
        "service": "Sauvegarde chiffrée des bases",
        "contract_signed_on": "2025-01-15",
        "data_location": "France (Lille)",
        "next_review_on": "2027-01-15",
        "linked_organisation_id": "",
    }
    for n, clause in enumerate(ref.processor_clauses()):
        data[f"clauses-{n}-clause"] = clause.id
        data[f"clauses-{n}-answer"] = "yes"
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_referent_creates_edits_and_sees_what_is_missing(
    world: World, app: Flask, login_as: Any, session: Any
) -> None:
    client = login_as(world.a.member_referent, world.a.member)
    listing = _html(client.get("/registers/processors/"))
    assert "Syndicat A" in listing
    assert "automatique" in listing
    assert "Renseigner la convention avec le syndicat" in listing
    prefilled = _html(client.get("/registers/processors/new?from=syndicate"))
    assert _input_value(prefilled, "name") == "Syndicat A"

    response = client.post("/registers/processors/new", data=_form(**{"clauses-8-answer": "no"}))
    assert response.status_code == 302, _html(response)[:2000]
    p = session.scalar(select(Processor).where(Processor.name == "Sauvegardes Externes SARL"))
    assert p.organisation_id == world.a.member.id
    assert p.to_complete == 1
    detail = _html(client.get(f"/registers/processors/{p.id}"))
    assert "À compléter" in detail
    assert "clause absente du contrat" in detail

    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "processor.create")).one()
    assert event.object_id == p.id
    assert event.organisation_id == world.a.member.id

    # A bad save shows every error and keeps what was typed.
    edit_url = f"/registers/processors/{p.id}/edit"
    version = _input_value(_html(client.get(edit_url)), "version")
    bad = client.post(edit_url, data=_form(version=version, name="", siren="12", service="Texte tapé"))
    assert bad.status_code == 422
    page = _html(bad)
    assert "Texte tapé" in page
    assert "Un SIREN a 9 chiffres, un SIRET 14." in page  # beside the missing name: one pass
    good = client.post(edit_url, data=_form(version=version, **{"clauses-8-answer": "yes"}))
    assert good.status_code == 302
    session.expire_all()
    assert session.get(Processor, p.id).to_complete == 0

    # A second person's stale form: the conflict page, with both versions, nothing lost.
    stale = client.post(edit_url, data=_form(version=version, service="Ma version"))
    assert stale.status_code == 409
    assert "Ma version" in _html(stale)
    assert "Sauvegarde chiffrée des bases" in _html(stale)


def test_another_organisations_processor_is_not_found(world: World, app: Flask, login_as: Any) -> None:
    with app.test_request_context(), acting_as(world.a.users[Role.DPO], world.a.syndicate):
        p = ProcessorFactory(organisation=db.session.merge(world.a.syndicate))
        db.session.commit()
        pid = p.id
    client = login_as(world.b.users[Role.DPO], world.b.syndicate)
    for url in (f"/registers/processors/{pid}", f"/registers/processors/{pid}/edit"):
        assert client.get(url).status_code == 404
    assert client.post(f"/registers/processors/{pid}/delete", data={"version": "1"}).status_code == 404
    assert client.post(f"/registers/processors/{pid}/edit", data=_form(version="1")).status_code == 404


def test_processors_to_complete_or_review_are_on_the_home_page_and_the_portfolio(
    world: World, app: Flask, login_as: Any
) -> None:
    with app.test_request_context(), acting_as(world.a.member_referent, world.a.member):
        member = db.session.merge(world.a.member)
        procs.create_processor(member, None, COMPLETE)  # complete
        procs.create_processor(member, None, {"name": "Sans contrat"})  # to complete
        procs.create_processor(
            member, None, {**COMPLETE, "name": "Revue passée", "next_review_on": D(2020, 1, 1)}
        )
        db.session.commit()
    referent = login_as(world.a.member_referent, world.a.member)
    home = _html(referent.get("/"))
    figure = re.search(r'data-figure="processors" href="([^"]+)"><span[^>]*>(\d+)</span>', home)
    assert figure is not None
    assert figure.group(2) == "2"
    listing = _html(referent.get(figure.group(1).replace("&amp;", "&")))
    assert "Sans contrat" in listing
    assert "Revue passée" in listing
    assert "Hébergeur Exemple" not in listing
    # The syndicate's DPO, DPO of the member too: his portfolio finds it by that figure.
    with app.app_context():
        MembershipFactory(
            user=db.session.merge(world.a.users[Role.DPO]),
            organisation=db.session.merge(world.a.member),
            role=Role.DPO,
        )
        db.session.commit()
    dpo = login_as(world.a.users[Role.DPO], world.a.syndicate)
    portfolio = _html(dpo.get("/registers/portfolio/?only=processors"))
    assert "Ville A" in portfolio
    assert "Ville B" not in portfolio
