"""Organisation, account and role services: the rules that hold whatever the page in front of them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask import Flask
from sqlalchemy import func, select

from accounts.forms.organisations import OrganisationForm
from accounts.models import Membership, Organisation, OrgKind, OrgRelation, User
from accounts.services import auth, organisations, users
from core.concurrency import EditConflict
from core.extensions import db
from core.forms import FieldError
from core.security import Role
from core.tenancy import UNSCOPED
from core.validators import normalise_siren, siren_is_valid
from tests import factories as f
from tests.conftest import World, acting_as

VALID_SIREN = "732829320"


def _org_data(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Commune de Vitry-sur-Seine",
        "short_name": "Vitry",
        "kind": "ville",
        "relation": "member",
        "syndicate_id": None,
        "parent_id": None,
        "siren": VALID_SIREN,
        "address": "2 avenue Youri Gagarine",
        "postal_code": "94400",
        "city": "Vitry-sur-Seine",
        "head_title": "Maire",
        "head_name": "Pierre Bell-Lloch",
        "dpo_name": "Camille Durand",
        "dpo_email": "dpo@vitry.example.org",
        "dpo_phone": "01 46 82 80 00",
        "cnil_dpo_number": "DPO-12345",
        "joined_on": dt.date(2012, 9, 1),
        "dpo_service_since": dt.date(2018, 5, 25),
        "notes": "Adhérente depuis la création du service mutualisé.",
    }
    data.update(changes)
    return data


def _names(stmt: Any) -> set[str]:
    return {o.name for o in db.session.scalars(stmt)}


def _syndicate_a(world: World) -> Organisation:
    return db.session.get(Organisation, world.a.syndicate.id)


def _count(model: type[Any]) -> int:
    return db.session.scalar(select(func.count()).select_from(model).execution_options(**UNSCOPED))


# --- SIREN -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "valid"),
    [
        ("732829320", True),
        ("732 829 320", True),
        ("732.829.320", True),
        ("732829321", False),  # wrong Luhn key
        ("73282932A", False),
        ("ABCDEFGHI", False),
        ("73282932", False),  # 8 digits
        ("7328293200", False),  # 10 digits
    ],
)
def test_siren_is_nine_digits_with_a_luhn_key(typed: str, valid: bool) -> None:
    assert siren_is_valid(normalise_siren(typed)) is valid


@pytest.mark.parametrize(
    ("typed", "stored", "error"),
    [
        ("732 829 320", "732829320", False),
        ("732829321", None, True),
        ("73282932A", None, True),
        ("", None, False),
    ],
)
def test_organisation_form_normalises_and_checks_the_siren(
    app: Flask, typed: str, stored: str | None, error: bool
) -> None:
    form_data = {"name": "X", "kind": "syndicat", "relation": "syndicate", "siren": typed}
    with app.test_request_context(method="POST", data=form_data):
        form = OrganisationForm()
        form.syndicate_id.choices = [("", "—")]
        form.parent_id.choices = [("", "—")]
        form.validate()
        assert bool(form.siren.errors) is error
        if not error:
            assert form.siren.data == stored
            assert form.errors == {}
        else:
            assert "Luhn" in str(form.siren.errors[0])


# --- organisations: create, update ----------------------------------------------------------


def test_create_organisation_stores_every_field(world: World, app_ctx: Flask) -> None:
    admin = world.a.users[Role.ADMIN]
    with acting_as(admin, world.a.syndicate):
        data = _org_data(syndicate_id=world.a.syndicate.id, parent_id=world.a.member.id)
        org = organisations.create_organisation(admin, data)
        db.session.expire_all()
        stored = db.session.get(Organisation, org.id)
        for name, value in data.items():
            got = getattr(stored, name)
            assert got == value, name
        assert stored.kind is OrgKind.VILLE
        assert stored.relation is OrgRelation.MEMBER
        assert stored.version == 1


def test_duplicate_name_is_refused_whatever_the_case(world: World, app_ctx: Flask) -> None:
    admin = world.a.users[Role.ADMIN]
    with acting_as(admin, world.a.syndicate):
        before = _count(Organisation)
        # "Ville B" belongs to the other syndicate: uniqueness is checked across every tenant.
        with pytest.raises(FieldError) as caught:
            organisations.create_organisation(
                admin, _org_data(name="VILLE b", syndicate_id=world.a.syndicate.id)
            )
        assert caught.value.field == "name"
        assert "porte déjà ce nom" in caught.value.message
        db.session.rollback()
        assert _count(Organisation) == before


def test_duplicate_siren_is_refused(world: World, app_ctx: Flask) -> None:
    admin = world.a.users[Role.ADMIN]
    with acting_as(admin, world.a.syndicate):
        organisations.create_organisation(admin, _org_data(syndicate_id=world.a.syndicate.id))
        with pytest.raises(FieldError) as caught:
            organisations.create_organisation(
                admin, _org_data(name="Autre commune", syndicate_id=world.a.syndicate.id)
            )
        assert caught.value.field == "siren"


def test_update_keeps_its_own_name_and_siren_without_a_duplicate_error(world: World, app_ctx: Flask) -> None:
    admin = world.a.users[Role.ADMIN]
    with acting_as(admin, world.a.syndicate):
        org = organisations.create_organisation(admin, _org_data(syndicate_id=world.a.syndicate.id))
        data = _org_data(syndicate_id=world.a.syndicate.id, city="Vitry", version=org.version)
        organisations.update_organisation(org, admin, data)
        assert org.city == "Vitry"
        assert org.version == 2


def test_update_with_a_stale_version_raises_a_conflict_and_changes_nothing(
    world: World, app_ctx: Flask
) -> None:
    admin = world.a.users[Role.ADMIN]
    with acting_as(admin, world.a.syndicate):
        org = db.session.get(Organisation, world.a.member.id)
        stale = org.version - 1
        with pytest.raises(EditConflict):
            organisations.update_organisation(
                org, admin, {"name": "Renommée", "kind": "ville", "relation": "member", "version": stale}
            )
        assert org.name == "Ville A"


def test_organisation_cannot_be_its_own_parent(world: World, app_ctx: Flask) -> None:
    admin = world.a.users[Role.ADMIN]
    with acting_as(admin, world.a.syndicate):
        org = db.session.get(Organisation, world.a.member.id)
        data = {"name": org.name, "parent_id": org.id, "version": org.version}
        with pytest.raises(FieldError) as caught:
            organisations.update_organisation(org, admin, data)
        assert caught.value.field == "parent_id"


# --- organisations: departure, merge, rejoin ------------------------------------------------


def _visible(status: str) -> set[str]:
    return _names(organisations.organisations_query(organisations.OrganisationFilters(status=status)))


def test_merged_member_leaves_the_active_list_but_stays_in_left_and_all(world: World, app_ctx: Flask) -> None:
    admin = world.a.users[Role.ADMIN]
    with acting_as(admin, world.a.syndicate):
        successor = f.OrganisationFactory(name="Commune nouvelle A", syndicate=_syndicate_a(world))
        org = db.session.get(Organisation, world.a.member.id)
        assert "Ville A" in _visible("active")

        organisations.record_departure(
            org,
            admin,
            {"left_on": dt.date(2024, 12, 31), "merged_into_id": successor.id, "version": org.version},
        )
        assert org.left_on == dt.date(2024, 12, 31)
        assert org.merged_into_id == successor.id
        assert "Ville A" not in _visible("active")
        assert "Ville A" in _visible("left")
        assert "Ville A" in _visible("all")
        assert "Commune nouvelle A" not in _visible("left")
        assert org in organisations.organisation_children(successor)


def test_rejoin_clears_departure_and_merge(world: World, app_ctx: Flask) -> None:
    admin = world.a.users[Role.ADMIN]
    with acting_as(admin, world.a.syndicate):
        org = db.session.get(Organisation, world.a.member.id)
        organisations.record_departure(
            org, admin, {"left_on": dt.date(2024, 1, 1), "merged_into_id": world.a.syndicate.id, "version": 1}
        )
        organisations.cancel_departure(org, admin, {"version": org.version})
        assert org.left_on is None
        assert org.merged_into_id is None
        assert "Ville A" in _visible("active")


def test_departure_before_joining_is_refused(world: World, app_ctx: Flask) -> None:
    admin = world.a.users[Role.ADMIN]
    with acting_as(admin, world.a.syndicate):
        org = db.session.get(Organisation, world.a.member.id)
        assert org.joined_on == dt.date(2010, 1, 1)
        with pytest.raises(FieldError) as caught:
            organisations.record_departure(
                org, admin, {"left_on": dt.date(2009, 12, 31), "version": org.version}
            )
        assert caught.value.field == "left_on"
        assert org.left_on is None


def test_syndicate_cannot_leave_and_nothing_merges_into_itself(world: World, app_ctx: Flask) -> None:
    admin = world.a.users[Role.ADMIN]
    with acting_as(admin, world.a.syndicate):
        syndicate = db.session.get(Organisation, world.a.syndicate.id)
        with pytest.raises(FieldError):
            organisations.record_departure(syndicate, admin, {"left_on": dt.date(2024, 1, 1), "version": 1})
        org = db.session.get(Organisation, world.a.member.id)
        with pytest.raises(FieldError) as caught:
            organisations.record_departure(
                org, admin, {"left_on": dt.date(2024, 1, 1), "merged_into_id": org.id, "version": org.version}
            )
        assert caught.value.field == "merged_into_id"


# --- organisations: who sees what -----------------------------------------------------------


def test_platform_admin_sees_every_organisation(world: World, app_ctx: Flask) -> None:
    with acting_as(world.a.users[Role.ADMIN], world.a.syndicate):
        assert _visible("all") >= {"Syndicat A", "Ville A", "Syndicat B", "Ville B"}


def test_syndicate_rssi_sees_its_syndicate_and_members_only(world: World, app_ctx: Flask) -> None:
    with acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        assert _visible("all") == {"Syndicat A", "Ville A"}
        assert {s.name for s in organisations.syndicates()} == {"Syndicat A"}


def test_member_referent_sees_only_its_own_organisation(world: World, app_ctx: Flask) -> None:
    with acting_as(world.a.member_referent, world.a.member):
        assert _visible("all") == {"Ville A"}
        assert [name for _id, name in organisations.organisation_choices()] == ["Ville A"]


def test_member_counts_ignore_members_that_left(world: World, app_ctx: Flask) -> None:
    with acting_as(world.a.users[Role.ADMIN], world.a.syndicate):
        f.OrganisationFactory(syndicate=_syndicate_a(world), left_on=dt.date(2020, 1, 1))
        f.OrganisationFactory(syndicate=_syndicate_a(world))
        counts = organisations.member_counts([world.a.syndicate.id, world.b.syndicate.id])
        assert counts == {world.a.syndicate.id: 2, world.b.syndicate.id: 1}


# --- accounts and roles ---------------------------------------------------------------------


def test_create_user_lowercases_the_email_and_hashes_the_password(world: World, app_ctx: Flask) -> None:
    admin = world.a.users[Role.ADMIN]
    with acting_as(admin, world.a.syndicate):
        user = users.create_user(
            admin, {"full_name": "Nouvel Agent", "email": "  Nouvel.Agent@Example.ORG ", "password": "x" * 12}
        )
        assert user.email == "nouvel.agent@example.org"
        assert user.password_hash.startswith("$argon2id$")
        assert "x" * 12 not in user.password_hash
        assert auth.authenticate("NOUVEL.AGENT@example.org", "x" * 12) == user


def test_duplicate_email_is_refused_whatever_the_case(world: World, app_ctx: Flask) -> None:
    admin = world.a.users[Role.ADMIN]
    with acting_as(admin, world.a.syndicate):
        with pytest.raises(FieldError) as caught:
            users.create_user(
                admin, {"full_name": "Doublon", "email": "RSSI.A@Example.org", "password": "y" * 12}
            )
        assert caught.value.field == "email"


def test_revoked_role_keeps_its_row_and_can_be_granted_again(world: World, app_ctx: Flask) -> None:
    admin = world.a.users[Role.ADMIN]
    with acting_as(admin, world.a.syndicate):
        user = f.UserFactory()
        in_a = users.grant_role(user, db.session.get(Organisation, world.a.member.id), Role.REFERENT, admin)
        users.grant_role(user, db.session.get(Organisation, world.b.member.id), Role.READER, admin)
        assert set(user.organisation_roles()) == {world.a.member.id, world.b.member.id}

        users.revoke_role(in_a, admin)
        rows = list(db.session.scalars(select(Membership).where(Membership.user_id == user.id)))
        assert len(rows) == 2
        assert in_a in rows
        assert in_a.revoked_at is not None
        assert [m.organisation_id for m in users.memberships_of([user])[user.id]] == [world.b.member.id]

        again = users.grant_role(user, db.session.get(Organisation, world.a.member.id), Role.REFERENT, admin)
        assert again.id == in_a.id
        assert again.revoked_at is None


def test_granting_a_role_twice_is_refused(world: World, app_ctx: Flask) -> None:
    admin = world.a.users[Role.ADMIN]
    with acting_as(admin, world.a.syndicate):
        user = db.session.get(User, world.a.member_referent.id)
        with pytest.raises(FieldError) as caught:
            users.grant_role(user, db.session.get(Organisation, world.a.member.id), Role.REFERENT, admin)
        assert caught.value.field == "role"


def test_admin_cannot_revoke_its_own_admin_role(world: World, app_ctx: Flask) -> None:
    admin = world.a.users[Role.ADMIN]
    with acting_as(admin, world.a.syndicate):
        own = db.session.scalar(select(Membership).where(Membership.user_id == admin.id))
        with pytest.raises(FieldError):
            users.revoke_role(own, db.session.get(User, admin.id))
        assert own.revoked_at is None
        other_admin = db.session.scalar(
            select(Membership).where(Membership.user_id == world.b.users[Role.ADMIN].id)
        )
        users.revoke_role(other_admin, db.session.get(User, admin.id))
        assert other_admin.revoked_at is not None


def test_admin_cannot_disable_its_own_account(world: World, app_ctx: Flask) -> None:
    admin_id = world.a.users[Role.ADMIN].id
    with acting_as(world.a.users[Role.ADMIN], world.a.syndicate):
        admin = db.session.get(User, admin_id)
        data = {
            "full_name": admin.full_name,
            "email": admin.email,
            "is_enabled": False,
            "version": admin.version,
        }
        with pytest.raises(FieldError) as caught:
            users.update_user(admin, admin, data)
        assert caught.value.field == "is_enabled"
        assert admin.is_enabled is True


# --- authentication -------------------------------------------------------------------------


def test_authenticate_refuses_wrong_password_unknown_address_and_disabled_account(
    world: World, app_ctx: Flask
) -> None:
    user = db.session.get(User, world.a.users[Role.READER].id)
    assert auth.authenticate(user.email, f.PASSWORD) == user
    assert auth.authenticate(user.email, "wrong password!") is None
    assert auth.authenticate("nobody@example.org", f.PASSWORD) is None
    user.is_enabled = False
    db.session.flush()
    assert auth.authenticate(user.email, f.PASSWORD) is None


def test_authenticate_upgrades_a_hash_made_with_other_parameters(world: World, app_ctx: Flask) -> None:
    user = db.session.get(User, world.a.users[Role.READER].id)
    user.password_hash = PasswordHasher(time_cost=2, memory_cost=128, parallelism=1).hash(f.PASSWORD)
    db.session.flush()
    old = user.password_hash
    assert auth.authenticate(user.email, f.PASSWORD) == user
    assert user.password_hash != old
    assert "$m=64,t=1,p=1$" in user.password_hash
    assert user.last_login_at is not None
