"""An organisation's place in the structure (type, relation, syndicate, parent, departure) changes only
with the platform-wide permission (Permission.ORGANISATIONS_MANAGE).

The hole: the DPO or RSSI of a member city posted the organisation form with ``relation=syndicate``
and an empty syndicate; the city became a syndicate, left its syndicate's sight and could create
applications and templates. Now the form leaves the structural fields out for everybody but a
platform administrator, and the service refuses a change of them whatever it is given.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from wtforms.fields.core import UnboundField

from accounts.forms.organisations import OrganisationForm
from accounts.models import Organisation, OrgKind, OrgRelation
from accounts.services import organisations
from core.extensions import db
from core.security import Permission, Role, permissions_for
from tests import factories as f
from tests.conftest import World, acting_as

# A forged value for each structural field of the organisation form: (posted, as stored).
FORGED: dict[str, Callable[[World], tuple[Any, Any]]] = {
    "kind": lambda world: ("ccas", OrgKind.CCAS),
    "relation": lambda world: ("partner", OrgRelation.PARTNER),
    "syndicate_id": lambda world: (world.b.syndicate.id, world.b.syndicate.id),
    "parent_id": lambda world: (world.a.syndicate.id, world.a.syndicate.id),
}
FORM_STRUCTURAL_FIELDS = [
    name
    for name in organisations.STRUCTURAL_FIELDS
    if isinstance(getattr(OrganisationForm, name, None), UnboundField)
]
DEPARTURE_FIELDS = [name for name in organisations.STRUCTURAL_FIELDS if name not in FORM_STRUCTURAL_FIELDS]
PLACES = ("member", "syndicate")  # the role is held in the member city itself, or in its syndicate


def _may_edit(role: Role) -> bool:
    return Permission.ORGANISATIONS_EDIT in permissions_for({role}, is_platform_admin=role == Role.ADMIN)


def _is_platform(role: Role) -> bool:
    return Permission.ORGANISATIONS_MANAGE in permissions_for({role}, is_platform_admin=role == Role.ADMIN)


def _actor(world: World, role: Role, place: str, session: Any) -> Any:
    if place == "syndicate":
        return world.a.users[role]
    current = f.current_session()  # the test's session, or the app context's in service tests
    user = f.UserFactory(email=f"{role.value}.ville-a@example.org")
    f.MembershipFactory(user=user, organisation=current.get(Organisation, world.a.member.id), role=role)
    current.flush()
    return user


def _form(world: World, **changes: Any) -> dict[str, Any]:
    """The member's edit form as its page shows it, with ``changes``."""
    member = world.a.member
    data = {
        "name": member.name,
        "kind": member.kind.value,
        "relation": member.relation.value,
        "syndicate_id": member.syndicate_id,
        "parent_id": "",
        "joined_on": "2010-01-01",
        "city": "Ville modifiée",
        "version": member.version,
    }
    return data | changes


def _stored(session: Any, org_id: int) -> Organisation:
    session.expire_all()
    return session.get(Organisation, org_id)


def _field_names(response: Any) -> set[str]:
    return set(
        re.findall(r'<(?:input|select|textarea)[^>]*\bname="([^"]+)"', response.get_data(as_text=True))
    )


def test_the_forged_values_cover_every_structural_field_of_the_form() -> None:
    assert set(FORGED) == set(FORM_STRUCTURAL_FIELDS)
    assert {"kind", "relation", "syndicate_id", "parent_id"} <= set(organisations.STRUCTURAL_FIELDS)
    assert set(DEPARTURE_FIELDS) == {"left_on", "merged_into_id"}


# --- the edit form, every role × every structural field ----------------------------------------


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("field", FORM_STRUCTURAL_FIELDS)
@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_posting_a_forged_structural_value(
    role: Role, field: str, place: str, world: World, login_as: Any, session: Any
) -> None:
    member_id = world.a.member.id
    before = getattr(world.a.member, field)
    posted, expected = FORGED[field](world)
    assert posted != before
    assert expected != before
    client = login_as(_actor(world, role, place, session))

    response = client.post(f"/organisations/{member_id}/edit", data=_form(world, **{field: posted}))

    stored = _stored(session, member_id)
    if not _may_edit(role):
        assert response.status_code == 403
        assert getattr(stored, field) == before
        assert stored.city != "Ville modifiée"
    elif _is_platform(role):
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        assert getattr(stored, field) == expected
    else:
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        assert getattr(stored, field) == before  # the forged value is ignored...
        assert stored.city == "Ville modifiée"  # ...the rest of the form is saved


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_the_form_shows_the_structural_fields_to_the_platform_admin_only(
    role: Role, place: str, world: World, login_as: Any, session: Any
) -> None:
    client = login_as(_actor(world, role, place, session))
    page = client.get(f"/organisations/{world.a.member.id}/edit")
    if not _may_edit(role):
        assert page.status_code == 403
        return
    assert page.status_code == 200
    fields = _field_names(page)
    assert {"name", "city", "dpo_email", "version"} <= fields
    text = html.unescape(page.get_data(as_text=True))
    if _is_platform(role):
        assert set(FORM_STRUCTURAL_FIELDS) <= fields
        assert 'id="structure"' not in text
    else:
        assert not fields & set(organisations.STRUCTURAL_FIELDS)
        structure = re.search(r'<div class="form-narrow mb-3" id="structure">(.*?)</div>', text, re.S)
        assert structure, "the structure is shown read-only"
        assert "Syndicat A" in structure.group(1)
        assert "Adhérent" in structure.group(1)
        assert "Seul un administrateur de la plateforme" in structure.group(1)


@pytest.mark.parametrize("role", [Role.DPO, Role.RSSI], ids=lambda r: r.value)
def test_member_city_cannot_make_itself_a_syndicate(
    role: Role, world: World, login_as: Any, session: Any
) -> None:
    """The reported attack, as posted."""
    member_id, syndicate_id = world.a.member.id, world.a.syndicate.id
    client = login_as(_actor(world, role, "member", session))
    forged = _form(world, relation="syndicate", syndicate_id="", kind="syndicat")
    assert client.post(f"/organisations/{member_id}/edit", data=forged).status_code == 302
    stored = _stored(session, member_id)
    assert (stored.relation, stored.kind, stored.syndicate_id) == (
        OrgRelation.MEMBER,
        OrgKind.VILLE,
        syndicate_id,
    )
    assert not stored.is_syndicate


# --- the service, whatever the caller gives it --------------------------------------------------


def _values(world: World) -> dict[str, Any]:
    return {
        **{name: forged(world)[0] for name, forged in FORGED.items()},
        "left_on": dt.date(2026, 1, 1),
        "merged_into_id": world.a.syndicate.id,
    }


@pytest.mark.parametrize("field", organisations.STRUCTURAL_FIELDS)
@pytest.mark.parametrize("role", [r for r in Role if not _is_platform(r)], ids=lambda r: r.value)
def test_service_refuses_a_structural_change_by_anybody_but_the_platform_admin(
    role: Role, field: str, world: World, app_ctx: Flask, session: Any
) -> None:
    actor = _actor(world, role, "member", session)
    with acting_as(actor, world.a.member):
        org = db.session.get(Organisation, world.a.member.id)
        before = getattr(org, field)
        data = {"name": org.name, "city": "Ailleurs", "version": org.version, field: _values(world)[field]}
        with pytest.raises(organisations.StructureChangeDenied) as denied:
            organisations.update_organisation(org, db.session.merge(actor), data)
        assert denied.value.code == 403
        assert denied.value.fields == [field]
        assert "administrateur de la plateforme" in denied.value.description
        assert getattr(org, field) == before
        assert org.city != "Ailleurs"


def test_service_ignores_structural_values_that_repeat_the_stored_ones(
    world: World, app_ctx: Flask, session: Any
) -> None:
    actor = _actor(world, Role.DPO, "member", session)
    with acting_as(actor, world.a.member):
        org = db.session.get(Organisation, world.a.member.id)
        same = {"kind": "ville", "relation": OrgRelation.MEMBER, "syndicate_id": str(org.syndicate_id)}
        data = {"name": org.name, "city": "Ailleurs", "parent_id": "", "left_on": None, **same}
        organisations.update_organisation(org, db.session.merge(actor), {**data, "version": org.version})
        assert org.city == "Ailleurs"
        assert (org.kind, org.relation, org.syndicate_id) == (
            OrgKind.VILLE,
            OrgRelation.MEMBER,
            world.a.syndicate.id,
        )


def test_service_lets_the_platform_admin_change_every_structural_field(
    world: World, app_ctx: Flask, session: Any
) -> None:
    admin = _actor(world, Role.ADMIN, "member", session)
    with acting_as(admin, world.a.member):
        org = db.session.get(Organisation, world.a.member.id)
        data = {"name": org.name, "version": org.version, **{n: v(world)[0] for n, v in FORGED.items()}}
        organisations.update_organisation(org, db.session.merge(admin), data)
        assert {name: getattr(org, name) for name in FORGED} == {n: v(world)[1] for n, v in FORGED.items()}
        organisations.record_departure(org, admin, {"left_on": dt.date(2026, 1, 1), "version": org.version})
        assert org.left_on == dt.date(2026, 1, 1)
        organisations.cancel_departure(org, admin, {"version": org.version})
        assert org.left_on is None


def test_service_refuses_creation_departure_and_rejoin_without_the_platform_permission(
    world: World, app_ctx: Flask, session: Any
) -> None:
    rssi = world.a.users[Role.RSSI]
    with acting_as(rssi, world.a.syndicate):
        rssi = db.session.merge(rssi)
        new = {"name": "Commune fantôme", "kind": "ville", "relation": "member"}
        with pytest.raises(organisations.StructureChangeDenied):
            organisations.create_organisation(rssi, {**new, "syndicate_id": world.a.syndicate.id})
        org = db.session.get(Organisation, world.a.member.id)
        with pytest.raises(organisations.StructureChangeDenied):
            organisations.record_departure(
                org, rssi, {"left_on": dt.date(2026, 1, 1), "version": org.version}
            )
        assert org.left_on is None
        org.left_on = dt.date(2025, 1, 1)
        db.session.flush()
        with pytest.raises(organisations.StructureChangeDenied):
            organisations.cancel_departure(org, rssi, {"version": org.version})
        assert org.left_on == dt.date(2025, 1, 1)


def test_departure_pages_stay_closed_to_non_platform_roles(world: World, login_as: Any, session: Any) -> None:
    member_id = world.a.member.id
    for role in (Role.RSSI, Role.DPO):
        client: FlaskClient = login_as(_actor(world, role, "member", session))
        departure = {"left_on": "2026-01-01", "merged_into_id": "", "version": world.a.member.version}
        assert client.post(f"/organisations/{member_id}/departure", data=departure).status_code == 403
        assert client.post(f"/organisations/{member_id}/rejoin").status_code == 403
    assert _stored(session, member_id).left_on is None
