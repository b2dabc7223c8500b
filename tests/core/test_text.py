"""French names sort and match the way people expect, whatever the accents and case."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from accounts.models import Organisation
from catalogue.services import applications
from core.extensions import db
from core.security import Role
from core.text import fold
from tests import factories as f
from tests.conftest import World, acting_as


def test_fold_drops_accents_and_case() -> None:
    assert fold("  Écoles d'Ivry-sur-Seine ") == "ecoles d'ivry-sur-seine"
    assert fold("Théâtre Antoine Vitez") == "theatre antoine vitez"
    assert fold(None) == ""


def test_sort_name_follows_every_rename(app_ctx: Flask) -> None:
    org = f.OrganisationFactory(name="Évry")
    assert org.sort_name == "evry"
    org.name = "Orly"
    assert org.sort_name == "orly"


def test_catalogue_sorts_and_searches_without_accents(app_ctx: Flask, world: World) -> None:
    for name in ("DOCTOLIB", "Décisionnel GF", "Dalle"):
        f.ApplicationFactory(syndicate=world.a.syndicate, name=name)
    db.session.flush()
    with acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        names = [
            a.name
            for a in db.session.scalars(applications.applications_query(applications.ApplicationFilters()))
        ]
        found = db.session.scalars(
            applications.applications_query(applications.ApplicationFilters(q="decisionnel"))
        )
        assert [a.name for a in found] == ["Décisionnel GF"]
    d_names = [n for n in names if n.startswith("D")]
    assert d_names == ["Dalle", "Décisionnel GF", "DOCTOLIB"]
    assert (
        db.session.scalar(select(Organisation.sort_name).where(Organisation.id == world.a.member.id))
        == "ville a"
    )
