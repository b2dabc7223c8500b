"""The public register: the DPO's settings (journalled, versioned, DPO only) and the public page
(no login, validated fiches only, chosen fields only, nothing internal)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from core.audit import AuditEvent
from core.extensions import db
from core.security import Role
from registers.models import RegisterPublication
from registers.services import activities as acts
from registers.services import publication as pub
from tests.conftest import World, acting_as

VALIDATED = {
    "name": "Gestion des listes électorales",
    "status": "validated",
    "purpose": "Tenue des listes électorales de la commune",
    "legal_basis": "6.1.c",
    "legal_basis_text": "Code électoral, art. L16",
    "data_subjects": ["electeurs"],
    "data_categories": [
        {
            "category": "etat_civil",
            "details": "",
            "active": "inscription",
            "intermediate": "",
            "final": "destruction",
        }
    ],
    "recipients": [{"type": "sous_traitant", "name": "CANARY-Prestataire", "organisation_id": None}],
    "security_measures": [{"measure": "controle_acces", "details": "CANARY-mot-de-passe-du-serveur"}],
}
DRAFT = {"name": "CANARY-Brouillon vidéoprotection", "status": "draft", "purpose": "Surveillance"}


def make_fiches(app: Flask, world: World, *contents: dict[str, Any]) -> None:
    with app.test_request_context(), acting_as(world.a.users[Role.DPO], world.a.syndicate):
        org = db.session.merge(world.a.syndicate)
        for content in contents:
            acts.create_activity(org, None, content)
        db.session.commit()


def settings_post(version: Any = "", **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "version": version,
        "is_published": "y",
        "slug": "syndicat-a",
        "introduction": "Registre tenu par le délégué à la protection des données.",
        "fields": ["name", "purpose", "legal_basis", "recipients", "security_measures"],
    }
    data.update(extra)
    return data


def publication_row(session: Any, org_id: int) -> RegisterPublication | None:
    session.expire_all()
    return session.scalar(select(RegisterPublication).where(RegisterPublication.organisation_id == org_id))


def events(session: Any, action: str) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


@pytest.fixture
def published(app: Flask, world: World, login_as: Any, session: Any) -> Any:
    """Tenant A's syndicate publishes name, purpose, legal basis, recipients and measures."""
    make_fiches(app, world, VALIDATED, DRAFT)
    dpo = login_as(world.a.users[Role.DPO])
    response = dpo.post("/registers/publication", data=settings_post())
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return dpo


# --- settings ------------------------------------------------------------------------------------


def test_dpo_creates_then_changes_the_settings_journalled(
    app: Flask, world: World, login_as: Any, session: Any
) -> None:
    dpo = login_as(world.a.users[Role.DPO])
    page = dpo.get("/registers/publication")
    assert page.status_code == 200
    assert 'value="syndicat-a"' in page.get_data(as_text=True)  # slug proposed from the name
    assert publication_row(session, world.a.syndicate.id) is None  # nothing stored by a visit

    assert dpo.post("/registers/publication", data=settings_post(is_published="")).status_code == 302
    row = publication_row(session, world.a.syndicate.id)
    assert row.is_published is False
    assert row.fields == ["name", "purpose", "legal_basis", "recipients", "security_measures"]
    created = events(session, "register_publication.create")
    assert len(created) == 1
    assert created[0].organisation_id == world.a.syndicate.id

    changed = dpo.post("/registers/publication", data=settings_post(row.version, noindex="y"))
    assert changed.status_code == 302
    row = publication_row(session, world.a.syndicate.id)
    assert row.is_published is True
    assert "noindex" in row.fields
    assert len(events(session, "register_publication.update")) == 1

    stale = dpo.post("/registers/publication", data=settings_post(row.version - 1, slug="autre"))
    assert stale.status_code == 409
    assert publication_row(session, world.a.syndicate.id).slug == "syndicat-a"


@pytest.mark.parametrize(
    ("slug", "message"),
    [("Avec Espaces", "minuscules"), ("tiret-final-", "minuscules"), ("é-accent", "minuscules")],
)
def test_slug_rules(world: World, login_as: Any, session: Any, slug: str, message: str) -> None:
    dpo = login_as(world.a.users[Role.DPO])
    response = dpo.post("/registers/publication", data=settings_post(slug=slug))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert publication_row(session, world.a.syndicate.id) is None


def test_slug_is_unique_across_organisations(
    published: Any, world: World, login_as: Any, session: Any
) -> None:
    other = login_as(world.b.users[Role.DPO])
    response = other.post("/registers/publication", data=settings_post(slug="syndicat-a"))
    assert response.status_code == 422
    assert "déjà prise" in response.get_data(as_text=True)
    assert publication_row(session, world.b.syndicate.id) is None


@pytest.mark.parametrize("role", [Role.REFERENT, Role.RSSI, Role.READER])
def test_only_the_dpo_chooses(world: World, login_as: Any, session: Any, role: Role) -> None:
    client = login_as(world.a.users[role])
    assert client.get("/registers/publication").status_code == 403
    assert client.post("/registers/publication", data=settings_post()).status_code == 403
    assert publication_row(session, world.a.syndicate.id) is None


def test_default_slug_folds_the_name() -> None:
    assert pub.default_slug("Ville d'Ivry-sur-Seine") == "ville-d-ivry-sur-seine"
    assert pub.default_slug("É.P.T. « Grand-Orly »") == "e-p-t-grand-orly"
    assert pub.default_slug("!!!") == "registre"


# --- the public page -------------------------------------------------------------------------------


def test_unknown_or_unpublished_register_is_404(app: Flask, world: World, login_as: Any) -> None:
    make_fiches(app, world, VALIDATED)
    dpo = login_as(world.a.users[Role.DPO])
    assert dpo.post("/registers/publication", data=settings_post(is_published="")).status_code == 302
    anonymous = app.test_client()
    assert anonymous.get("/registers/public/syndicat-a").status_code == 404
    assert anonymous.get("/registers/public/nobody").status_code == 404


def test_anonymous_visitor_sees_validated_fiches_and_chosen_fields_only(app: Flask, published: Any) -> None:
    response = app.test_client().get("/registers/public/syndicat-a")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "Syndicat A" in text
    assert "Registre tenu par le délégué" in text
    assert VALIDATED["name"] in text
    assert VALIDATED["purpose"] in text
    assert "Code électoral, art. L16" in text
    assert "Sous-traitants (hébergeurs" in text  # recipient type label...
    assert "Contrôle d" in text  # ...and measure label
    # Not chosen, not validated, never published.
    assert "Électeurs (listes électorales)" not in text  # data subjects were not chosen
    assert "CANARY" not in text  # draft fiche, recipient name, measure details
    assert "Déconnexion" not in text
    assert "X-Robots-Tag" not in response.headers


def test_noindex_when_the_dpo_asks(app: Flask, world: World, published: Any, session: Any) -> None:
    row = publication_row(session, world.a.syndicate.id)
    assert (
        published.post("/registers/publication", data=settings_post(row.version, noindex="y")).status_code
        == 302
    )
    response = app.test_client().get("/registers/public/syndicat-a")
    assert response.status_code == 200
    assert response.headers["X-Robots-Tag"] == "noindex"


def test_user_of_another_organisation_sees_the_same_page(
    app: Flask, world: World, published: Any, login_as: Any
) -> None:
    # The request's session is bound to tenant B: the public read must not be filtered by it.
    response = login_as(world.b.users[Role.READER]).get("/registers/public/syndicat-a")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert VALIDATED["name"] in text
    assert "1 à 1 sur 1" in text


def test_public_page_is_paginated_without_names_when_not_chosen(
    app: Flask, world: World, session: Any
) -> None:
    make_fiches(app, world, *({**VALIDATED, "name": f"Traitement {i:02d}"} for i in range(5)))
    with app.test_request_context(), acting_as(world.a.users[Role.DPO], world.a.syndicate):
        org = db.session.merge(world.a.syndicate)
        pub.save_publication(
            org, None, {"is_published": True, "slug": "s-a", "fields": ["purpose", "dpo_contact"]}
        )
        db.session.commit()
        register = pub.public_register("s-a")
        assert register is not None
        second = pub.public_page(register, 2, 2)
    assert (second.total, second.page, second.pages) == (5, 2, 3)
    assert [f.title for f in second.items] == ["Traitement n° 3", "Traitement n° 4"]
    assert [r.label for r in second.items[0].rows] == ["Finalité principale"]
