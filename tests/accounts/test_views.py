"""Organisation and account pages, login and logout, through the HTTP client."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask.testing import FlaskClient
from sqlalchemy import func, select

from accounts.models import Membership, Organisation, User
from core.mail import outbox
from core.security import Role
from tests import factories as f
from tests.conftest import World, login, pass_second_factor

LOGIN_ERROR = (
    "Adresse ou mot de passe incorrect. Après plusieurs échecs, le compte est bloqué quelques minutes."
)


# --- helpers -----------------------------------------------------------------------------------


def body(response: Any) -> str:
    return response.get_data(as_text=True)


def text(response: Any) -> str:
    return html.unescape(body(response))


def field_error(response: Any, field_id: str) -> str | None:
    """The message shown beside one field (the ``invalid-feedback`` div tied to it), or None."""
    match = re.search(
        rf'<div id="{re.escape(field_id)}-error" class="invalid-feedback[^"]*">(.*?)</div>',
        body(response),
        re.S,
    )
    return html.unescape(match.group(1)) if match else None


def input_value(response: Any, name: str) -> str | None:
    tag = re.search(rf'<input[^>]*\bname="{re.escape(name)}"[^>]*>', body(response))
    if tag is None:
        return None
    value = re.search(r'\bvalue="([^"]*)"', tag.group(0))
    return html.unescape(value.group(1)) if value else None


def count(session: Any, model: type[Any]) -> int:
    return session.scalar(select(func.count()).select_from(model))


def org_form(**changes: Any) -> dict[str, Any]:
    data = {
        "name": "Commune de Choisy-le-Roi",
        "short_name": "Choisy",
        "kind": "ville",
        "relation": "member",
        "syndicate_id": "",
        "parent_id": "",
        "siren": "",
        "address": "Place Gabriel Péri",
        "postal_code": "94600",
        "city": "Choisy-le-Roi",
        "head_title": "Maire",
        "head_name": "Tom Ducouret",
        "dpo_name": "Alix Martin",
        "dpo_email": "dpo@choisy.example.org",
        "dpo_phone": "01 48 92 44 44",
        "cnil_dpo_number": "DPO-67890",
        "joined_on": "2015-03-01",
        "dpo_service_since": "2018-05-25",
        "notes": "Note de test",
    }
    data.update(changes)
    return data


def org_link(org_id: int) -> str:
    return f'href="/organisations/{org_id}"'


@pytest.fixture
def admin(world: World, login_as: Any) -> FlaskClient:
    return login_as(world.a.users[Role.ADMIN])


# --- organisations: create --------------------------------------------------------------------


def test_admin_creates_an_organisation_with_every_field(
    world: World, admin: FlaskClient, session: Any
) -> None:
    form = org_form(
        syndicate_id=world.a.syndicate.id, parent_id=world.a.member.id, siren="732 829 320", kind="ccas"
    )
    response = admin.post("/organisations/new", data=form)
    assert response.status_code == 302
    org = session.scalar(select(Organisation).where(Organisation.name == "Commune de Choisy-le-Roi"))
    assert response.location == f"/organisations/{org.id}"
    assert org.siren == "732829320"  # spaces dropped
    assert org.kind.value == "ccas"
    assert org.syndicate_id == world.a.syndicate.id
    assert org.parent_id == world.a.member.id
    assert org.joined_on == dt.date(2015, 3, 1)
    assert org.dpo_service_since == dt.date(2018, 5, 25)
    for name in ("short_name", "address", "postal_code", "city", "head_title", "head_name", "dpo_name"):
        assert getattr(org, name) == form[name], name
    assert (org.dpo_email, org.dpo_phone, org.cnil_dpo_number, org.notes) == (
        form["dpo_email"],
        form["dpo_phone"],
        form["cnil_dpo_number"],
        form["notes"],
    )
    detail = admin.get(response.location)
    assert detail.status_code == 200
    assert "Tom Ducouret" in text(detail)


@pytest.mark.parametrize("siren", ["732829321", "73282932A", "ABCDEFGHI", "7328293"])
def test_invalid_siren_is_refused_beside_the_field(
    world: World, admin: FlaskClient, session: Any, siren: str
) -> None:
    before = count(session, Organisation)
    response = admin.post("/organisations/new", data=org_form(syndicate_id=world.a.syndicate.id, siren=siren))
    assert response.status_code == 422
    assert "SIREN invalide" in field_error(response, "siren")
    assert input_value(response, "siren") == siren
    assert count(session, Organisation) == before


def _assert_typed_values_kept(response: Any, form: dict[str, Any], skip: str) -> None:
    for name in ("name", "short_name", "siren", "address", "postal_code", "city", "head_name", "dpo_email"):
        if name != skip:
            assert input_value(response, name) == form[name], name
    assert input_value(response, "joined_on") == form["joined_on"]
    assert "Note de test" in text(response)
    selected = re.search(r'<select[^>]*name="syndicate_id".*?</select>', body(response), re.S).group(0)
    assert re.search(rf'<option selected value="{form["syndicate_id"]}"', selected)


def test_duplicate_name_whatever_the_case_is_refused_and_typed_values_are_kept(
    world: World, admin: FlaskClient, session: Any
) -> None:
    before = count(session, Organisation)
    # "Ville B" belongs to the other syndicate: names are unique across the platform.
    form = org_form(name="ville b", syndicate_id=world.a.syndicate.id, siren="732829320")
    response = admin.post("/organisations/new", data=form)
    assert response.status_code == 422
    assert field_error(response, "name") == "Une organisation porte déjà ce nom."
    assert field_error(response, "siren") is None
    assert input_value(response, "name") == "ville b"
    _assert_typed_values_kept(response, form, skip="name")
    assert count(session, Organisation) == before


def test_duplicate_siren_is_refused_and_typed_values_are_kept(
    world: World, admin: FlaskClient, session: Any
) -> None:
    world.b.member.siren = "732829320"
    session.flush()
    before = count(session, Organisation)
    form = org_form(syndicate_id=world.a.syndicate.id, siren="732829320")
    response = admin.post("/organisations/new", data=form)
    assert response.status_code == 422
    assert field_error(response, "siren") == "Ce SIREN est déjà celui d'une autre organisation."
    assert field_error(response, "name") is None
    _assert_typed_values_kept(response, form, skip="")
    assert count(session, Organisation) == before


def test_empty_required_fields_get_a_french_message_beside_each(admin: FlaskClient, session: Any) -> None:
    before = count(session, Organisation)
    response = admin.post("/organisations/new", data={"name": "  ", "kind": "", "relation": ""})
    assert response.status_code == 422
    for field in ("name", "kind", "relation"):
        assert field_error(response, field) == "Ce champ est requis.", field
    assert "Le formulaire contient des erreurs" in text(response)
    assert count(session, Organisation) == before


def test_member_without_a_syndicate_is_refused(admin: FlaskClient, session: Any) -> None:
    before = count(session, Organisation)
    response = admin.post("/organisations/new", data=org_form(relation="member", syndicate_id=""))
    assert response.status_code == 422
    assert (
        field_error(response, "syndicate_id") == "Choisissez le syndicat auquel l'organisation est rattachée."
    )
    assert count(session, Organisation) == before


def test_syndicate_attached_to_a_syndicate_is_refused(world: World, admin: FlaskClient, session: Any) -> None:
    form = org_form(
        name="Syndicat C", kind="syndicat", relation="syndicate", syndicate_id=world.a.syndicate.id
    )
    response = admin.post("/organisations/new", data=form)
    assert response.status_code == 422
    assert field_error(response, "syndicate_id") == "Un syndicat n'est rattaché à aucun autre syndicat."
    assert session.scalar(select(Organisation).where(Organisation.name == "Syndicat C")) is None

    ok = admin.post("/organisations/new", data={**form, "syndicate_id": ""})
    assert ok.status_code == 302
    assert session.scalar(select(Organisation).where(Organisation.name == "Syndicat C")) is not None


# --- organisations: edit and concurrent edits -------------------------------------------------


def test_stale_version_shows_the_conflict_page_then_a_second_save_overwrites(
    world: World, login_as: Any, session: Any
) -> None:
    client = login_as(world.a.users[Role.RSSI])
    org = world.a.member
    page = client.get(f"/organisations/{org.id}/edit")
    assert page.status_code == 200
    loaded_version = int(input_value(page, "version"))

    # Somebody else saves the record in the meantime.
    org.city = "Ville enregistrée"
    session.flush()
    assert org.version == loaded_version + 1

    form = {
        "name": org.name,
        "kind": "ville",
        "relation": "member",
        "syndicate_id": world.a.syndicate.id,
        "city": "Ville saisie",
        "postal_code": "94200",
        "joined_on": "2010-01-01",
        "version": loaded_version,
    }
    conflict = client.post(f"/organisations/{org.id}/edit", data=form)
    assert conflict.status_code == 409
    page_text = text(conflict)
    assert "Votre saisie" in page_text
    assert "Version enregistrée" in page_text
    row = re.search(r"<tr[^>]*>\s*<th scope=\"row\">Commune.*?</tr>", body(conflict), re.S).group(0)
    assert "Ville saisie" in row
    assert "Ville enregistrée" in html.unescape(row)
    assert input_value(conflict, "city") == "Ville saisie"
    assert input_value(conflict, "postal_code") == "94200"
    assert int(input_value(conflict, "version")) == org.version
    session.expire_all()
    assert org.city == "Ville enregistrée"

    resubmit = client.post(
        f"/organisations/{org.id}/edit", data={**form, "version": input_value(conflict, "version")}
    )
    assert resubmit.status_code == 302
    session.expire_all()
    assert org.city == "Ville saisie"
    assert org.postal_code == "94200"


def test_member_referent_cannot_edit_its_organisation(world: World, login_as: Any) -> None:
    client = login_as(world.a.member_referent)
    assert client.get(f"/organisations/{world.a.member.id}").status_code == 200
    assert client.get(f"/organisations/{world.a.member.id}/edit").status_code == 403


# --- organisations: departure, merge, rejoin --------------------------------------------------


def test_merge_hides_the_member_from_the_active_list_but_keeps_it_readable(
    world: World, admin: FlaskClient, session: Any
) -> None:
    successor = f.OrganisationFactory(name="Commune nouvelle A", syndicate=world.a.syndicate)
    member = world.a.member
    form_page = admin.get(f"/organisations/{member.id}/departure")
    assert form_page.status_code == 200
    response = admin.post(
        f"/organisations/{member.id}/departure",
        data={
            "left_on": "2024-12-31",
            "merged_into_id": successor.id,
            "version": input_value(form_page, "version"),
        },
    )
    assert response.status_code == 302
    session.expire_all()
    assert member.left_on == dt.date(2024, 12, 31)
    assert member.merged_into_id == successor.id

    assert org_link(member.id) not in body(admin.get("/organisations/"))
    assert org_link(member.id) not in body(admin.get("/organisations/?status=active"))
    assert org_link(member.id) in body(admin.get("/organisations/?status=left"))
    assert org_link(member.id) in body(admin.get("/organisations/?status=all"))
    assert org_link(successor.id) not in body(admin.get("/organisations/?status=left"))

    detail = admin.get(f"/organisations/{member.id}")
    assert detail.status_code == 200
    assert "Fusionnée dans Commune nouvelle A" in text(detail)
    successor_page = admin.get(f"/organisations/{successor.id}")
    assert org_link(member.id) in body(successor_page)

    rejoin = admin.post(f"/organisations/{member.id}/rejoin")
    assert rejoin.status_code == 302
    session.expire_all()
    assert (member.left_on, member.merged_into_id) == (None, None)
    assert org_link(member.id) in body(admin.get("/organisations/"))


def test_departure_before_joining_is_refused_beside_the_date(
    world: World, admin: FlaskClient, session: Any
) -> None:
    member = world.a.member
    response = admin.post(
        f"/organisations/{member.id}/departure", data={"left_on": "2009-12-31", "version": member.version}
    )
    assert response.status_code == 422
    assert field_error(response, "left_on") == "La date de départ précède la date d'adhésion."
    assert input_value(response, "left_on") == "2009-12-31"
    session.expire_all()
    assert member.left_on is None


# --- organisations: who sees what -------------------------------------------------------------


def test_platform_admin_lists_every_organisation(world: World, admin: FlaskClient) -> None:
    page = body(admin.get("/organisations/?status=all"))
    for org in (world.a.syndicate, world.a.member, world.b.syndicate, world.b.member):
        assert org_link(org.id) in page


def test_syndicate_rssi_lists_its_syndicate_and_members_only(world: World, login_as: Any) -> None:
    client = login_as(world.a.users[Role.RSSI])
    page = body(client.get("/organisations/?status=all"))
    assert org_link(world.a.syndicate.id) in page
    assert org_link(world.a.member.id) in page
    assert org_link(world.b.syndicate.id) not in page
    assert org_link(world.b.member.id) not in page
    assert "Syndicat B" not in page


def test_member_referent_lists_only_its_own_organisation(world: World, login_as: Any) -> None:
    client = login_as(world.a.member_referent)
    page = body(client.get("/organisations/?status=all"))
    assert org_link(world.a.member.id) in page
    assert org_link(world.a.syndicate.id) not in page
    assert org_link(world.b.member.id) not in page
    assert client.get(f"/organisations/{world.a.syndicate.id}").status_code == 404


# --- accounts ---------------------------------------------------------------------------------

NEW_USER = {"full_name": "Nina Nouvelle", "email": "nina.nouvelle@example.org", "is_enabled": "y"}
NEW_PASSWORD = "fenêtre-ardoise-Cantal-1789-violon"


def test_admin_creates_an_account_grants_and_revokes_roles(
    world: World, admin: FlaskClient, session: Any, app: Any
) -> None:
    before = count(session, User)
    duplicate = admin.post("/admin/users/new", data={**NEW_USER, "email": "RSSI.A@Example.ORG"})
    assert duplicate.status_code == 422
    assert field_error(duplicate, "email") == "Un compte existe déjà avec cette adresse."
    assert input_value(duplicate, "full_name") == NEW_USER["full_name"]
    assert count(session, User) == before

    created = admin.post("/admin/users/new", data=NEW_USER)  # invited: no password typed by the admin
    assert created.status_code == 302
    user = session.scalar(select(User).where(User.email == NEW_USER["email"]))
    assert created.location == f"/admin/users/{user.id}"
    assert user.password_hash is None
    invitation = [m for m in outbox if m.to == NEW_USER["email"]]
    assert len(invitation) == 1
    link = re.search(r"http://localhost(/invitation/\S+)", invitation[0].body).group(1)

    grants = [
        (world.a.member.id, "referent"),
        (world.a.member.id, "auditor"),
        (world.b.syndicate.id, "reader"),
    ]
    for org_id, role in grants:
        response = admin.post(f"/admin/users/{user.id}", data={"organisation_id": org_id, "role": role})
        assert response.status_code == 302, (org_id, role)
    again = admin.post(
        f"/admin/users/{user.id}", data={"organisation_id": world.a.member.id, "role": "auditor"}
    )
    assert again.status_code == 422
    assert field_error(again, "role") == "Cet utilisateur a déjà ce rôle dans cette organisation."

    auditor = session.scalar(
        select(Membership).where(Membership.user_id == user.id, Membership.role == Role.AUDITOR)
    )
    revoked = admin.post(f"/admin/users/{user.id}/memberships/{auditor.id}/revoke")
    assert revoked.status_code == 302
    session.expire_all()
    rows = list(session.scalars(select(Membership).where(Membership.user_id == user.id)))
    assert len(rows) == 3  # kept, not deleted
    assert auditor.revoked_at is not None
    assert sorted(m.role.value for m in rows if m.revoked_at is None) == ["reader", "referent"]
    detail = text(admin.get(f"/admin/users/{user.id}"))
    assert f"/memberships/{auditor.id}/revoke" not in detail

    # The invited person chooses a password through the link, logs in, switches organisations.
    client = app.test_client()
    chosen = client.post(link, data={"new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert chosen.status_code == 302
    assert client.post(link, data={"new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 404
    assert login(client, NEW_USER["email"], NEW_PASSWORD).status_code == 302
    home = client.get("/")
    assert home.status_code == 200
    switcher = re.search(r'<select[^>]*\bname="organisation_id"[^>]*>.*?</select>', body(home), re.S)
    assert switcher is not None
    options = re.findall(r'<option value="(\d+)"', switcher.group(0))
    assert sorted(int(o) for o in options) == sorted([world.a.member.id, world.b.syndicate.id])
    switched = client.post("/active-organisation", data={"organisation_id": world.b.syndicate.id})
    assert switched.status_code == 302
    assert "Syndicat B" in text(client.get("/organisations/"))
    assert client.post("/active-organisation", data={"organisation_id": world.b.member.id}).status_code == 404
    assert client.post("/active-organisation", data={"organisation_id": "abc"}).status_code == 404


def test_admin_cannot_revoke_its_own_admin_role(world: World, admin: FlaskClient, session: Any) -> None:
    me = world.a.users[Role.ADMIN]
    own = session.scalar(select(Membership).where(Membership.user_id == me.id))
    response = admin.post(f"/admin/users/{me.id}/memberships/{own.id}/revoke", follow_redirects=True)
    assert response.status_code == 200
    assert "Vous ne pouvez pas retirer votre propre rôle d'administrateur." in text(response)
    session.expire_all()
    assert own.revoked_at is None
    assert admin.get("/admin/users/").status_code == 200


def test_admin_cannot_disable_its_own_account(world: World, admin: FlaskClient, session: Any) -> None:
    me = world.a.users[Role.ADMIN]
    version = input_value(admin.get(f"/admin/users/{me.id}/edit"), "version")
    response = admin.post(
        f"/admin/users/{me.id}/edit", data={"full_name": me.full_name, "email": me.email, "version": version}
    )
    assert response.status_code == 422
    assert field_error(response, "is_enabled") == "Vous ne pouvez pas désactiver votre propre compte."
    session.expire_all()
    assert me.is_enabled is True


def test_admin_disables_another_account_which_then_cannot_log_in(
    world: World, admin: FlaskClient, session: Any, app: Any
) -> None:
    reader = world.a.users[Role.READER]
    version = input_value(admin.get(f"/admin/users/{reader.id}/edit"), "version")
    response = admin.post(
        f"/admin/users/{reader.id}/edit",
        data={"full_name": reader.full_name, "email": reader.email, "version": version},
    )
    assert response.status_code == 302
    session.expire_all()
    assert reader.is_enabled is False
    attempt = login(app.test_client(), reader)
    assert attempt.status_code == 200
    assert field_error(attempt, "password") == LOGIN_ERROR


def test_disabled_account_is_logged_out_on_its_next_request(
    world: World, login_as: Any, session: Any
) -> None:
    reader = world.a.users[Role.READER]
    client = login_as(reader)
    assert client.get("/organisations/").status_code == 200
    session.refresh(reader)  # the login wrote last_login_at
    reader.is_enabled = False
    session.flush()
    response = client.get("/organisations/")
    assert response.status_code == 302
    assert response.location.startswith("/login")


def test_non_admins_cannot_reach_account_administration(world: World, login_as: Any) -> None:
    client = login_as(world.a.users[Role.RSSI])
    assert client.get("/admin/users/").status_code == 403
    assert client.post("/admin/users/new", data={**NEW_USER, "password": NEW_PASSWORD}).status_code == 403


# --- login and logout -------------------------------------------------------------------------


def test_wrong_password_and_unknown_address_get_the_same_answer(world: World, app: Any) -> None:
    wrong = login(app.test_client(), world.a.users[Role.RSSI], password="not the password")
    unknown = login(app.test_client(), "nobody@example.org")
    assert wrong.status_code == unknown.status_code == 200
    assert field_error(wrong, "password") == field_error(unknown, "password") == LOGIN_ERROR
    assert field_error(wrong, "email") is None
    assert field_error(unknown, "email") is None


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/organisations/?status=all", "/organisations/?status=all"),
        ("//evil.example", "/"),
        ("https://evil.example", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
    ],
)
def test_login_redirects_only_to_local_paths(world: World, app: Any, target: str, expected: str) -> None:
    client = app.test_client()
    response = client.post(
        "/login",
        query_string={"next": target},
        data={"email": world.a.users[Role.RSSI].email, "password": f.PASSWORD},
    )
    assert response.status_code == 302
    assert response.location == "/login/second-factor"  # the target waits for the second factor
    assert pass_second_factor(client).location == expected


def test_logout_is_post_only_and_ends_the_session(world: World, login_as: Any) -> None:
    client = login_as(world.a.users[Role.RSSI])
    assert client.get("/logout").status_code == 405
    assert client.get("/organisations/").status_code == 200  # GET did not log out
    response = client.post("/logout")
    assert response.status_code == 302
    assert response.location == "/login"
    after = client.get("/organisations/")
    assert after.status_code == 302
    assert after.location.startswith("/login")


def test_login_starts_a_new_session(world: World, app: Any) -> None:
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["planted"] = "by an attacker"
    client.post("/language", data={"lang": "en"})
    before = client.get_cookie("session").value
    assert login(client, world.a.users[Role.RSSI]).status_code == 302
    after = client.get_cookie("session").value
    assert after != before
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert sess["lang"] == "en"  # the chosen language survives the new session
        assert "_user_id" in sess


def test_logging_in_does_not_make_an_open_account_form_stale(
    world: World, admin: FlaskClient, app: Any
) -> None:
    reader = world.a.users[Role.READER]
    version = input_value(admin.get(f"/admin/users/{reader.id}/edit"), "version")
    assert login(app.test_client(), reader).status_code == 302
    response = admin.post(
        f"/admin/users/{reader.id}/edit",
        data={"full_name": "Nom corrigé", "email": reader.email, "is_enabled": "y", "version": version},
    )
    assert response.status_code == 302


def test_login_upgrades_a_hash_made_with_other_parameters(world: World, app: Any, session: Any) -> None:
    user = world.a.users[Role.READER]
    user.password_hash = PasswordHasher(time_cost=2, memory_cost=256, parallelism=2).hash(f.PASSWORD)
    session.flush()
    old = user.password_hash
    assert login(app.test_client(), user).status_code == 302
    session.expire_all()
    assert user.password_hash != old
    assert "$m=64,t=1,p=1$" in user.password_hash
    assert login(app.test_client(), user).status_code == 302
