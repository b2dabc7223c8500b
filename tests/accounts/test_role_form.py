"""The role-assignment form: the least privileged role by default, no organisation picked for the
administrator, and the platform administrator role only with an explicit confirmation (server-side)."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from accounts.forms.users import ROLES_LEAST_PRIVILEGED_FIRST
from accounts.models import Membership
from core.security import ROLE_PERMISSIONS, Permission, Role
from tests import factories as f
from tests.conftest import World

WRITES = {p for p in Permission if p.name.endswith(("_EDIT", "_MANAGE", "_VALIDATE"))}


def body(response: Any) -> str:
    return response.get_data(as_text=True)


def options(page: str, name: str) -> list[tuple[str, bool, str]]:
    """(value, selected, label) of each option of the select named ``name``."""
    select_tag = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', page, re.S)
    assert select_tag is not None, name
    found = []
    for attrs, label in re.findall(r"<option([^>]*)>(.*?)</option>", select_tag.group(1), re.S):
        value = re.search(r'\bvalue="([^"]*)"', attrs)
        found.append(
            (
                value.group(1) if value else "",
                re.search(r"\bselected\b", attrs) is not None,
                html.unescape(label),
            )
        )
    return found


def field_error(response: Any, field_id: str) -> str | None:
    match = re.search(
        rf'<div id="{field_id}-error" class="invalid-feedback[^"]*">(.*?)</div>', body(response)
    )
    return html.unescape(match.group(1)) if match else None


def roles_of(session: Any, user: Any) -> list[tuple[int, Role]]:
    session.expire_all()
    rows = session.scalars(
        select(Membership).where(Membership.user_id == user.id, Membership.revoked_at.is_(None))
    )
    return sorted((m.organisation_id, m.role) for m in rows)


@pytest.fixture
def admin(world: World, login_as: Any) -> FlaskClient:
    return login_as(world.a.users[Role.ADMIN])


@pytest.fixture
def newcomer(session: Any) -> Any:
    user = f.UserFactory(full_name="Nina Nouvelle")
    session.flush()
    return user


def test_the_first_role_offered_is_the_least_privileged_one() -> None:
    first = ROLES_LEAST_PRIVILEGED_FIRST[0]
    assert ROLE_PERMISSIONS[first] & WRITES == set()  # writes nothing
    assert Permission.AUDIT_TRAIL_VIEW not in ROLE_PERMISSIONS[first]  # reads no journal
    assert ROLES_LEAST_PRIVILEGED_FIRST[-1] == Role.ADMIN
    assert set(ROLES_LEAST_PRIVILEGED_FIRST) == set(Role)


def test_the_form_selects_the_reader_role_and_no_organisation(
    world: World, admin: FlaskClient, newcomer: Any
) -> None:
    page = body(admin.get(f"/admin/users/{newcomer.id}"))
    roles = options(page, "role")
    assert [value for value, _selected, _label in roles] == [r.value for r in ROLES_LEAST_PRIVILEGED_FIRST]
    assert [value for value, selected, _label in roles if selected] == ["reader"]
    assert roles[-1][2] == "Administrateur de la plateforme"
    organisations = options(page, "organisation_id")
    assert organisations[0] == ("", True, "Choisissez…")  # the administrator picks it: no first one
    assert [selected for _v, selected, _l in organisations[1:]] == [False] * (len(organisations) - 1)
    assert "Je confirme donner le rôle « Administrateur de la plateforme »" in html.unescape(page)


def test_granting_the_administrator_role_without_confirmation_is_refused(
    world: World, admin: FlaskClient, newcomer: Any, session: Any
) -> None:
    org_id = world.a.syndicate.id
    response = admin.post(f"/admin/users/{newcomer.id}", data={"organisation_id": org_id, "role": "admin"})
    assert response.status_code == 422
    assert field_error(response, "confirm_admin") == (
        "Cochez la confirmation pour donner le rôle « Administrateur de la plateforme » : "
        "il gère toutes les organisations et tous les comptes."
    )
    assert roles_of(session, newcomer) == []  # nothing written
    page = body(response)  # what was chosen is shown again
    assert (str(org_id), True) in [(v, s) for v, s, _l in options(page, "organisation_id")]
    assert [v for v, s, _l in options(page, "role") if s] == ["admin"]


def test_granting_the_administrator_role_with_the_confirmation(
    world: World, admin: FlaskClient, newcomer: Any, session: Any
) -> None:
    org_id = world.a.syndicate.id
    response = admin.post(
        f"/admin/users/{newcomer.id}", data={"organisation_id": org_id, "role": "admin", "confirm_admin": "y"}
    )
    assert response.status_code == 302
    assert roles_of(session, newcomer) == [(org_id, Role.ADMIN)]


def test_other_roles_need_no_confirmation_and_an_organisation(
    world: World, admin: FlaskClient, newcomer: Any, session: Any
) -> None:
    missing = admin.post(f"/admin/users/{newcomer.id}", data={"organisation_id": "", "role": "reader"})
    assert missing.status_code == 422
    assert field_error(missing, "organisation_id") == "Choisissez l'organisation."
    assert roles_of(session, newcomer) == []
    granted = admin.post(
        f"/admin/users/{newcomer.id}", data={"organisation_id": world.a.member.id, "role": "dpo"}
    )
    assert granted.status_code == 302
    assert roles_of(session, newcomer) == [(world.a.member.id, Role.DPO)]


def test_the_form_reads_in_english(world: World, admin: FlaskClient, newcomer: Any) -> None:
    admin.post("/language", data={"lang": "en"})
    response = admin.post(
        f"/admin/users/{newcomer.id}", data={"organisation_id": world.a.member.id, "role": "admin"}
    )
    assert response.status_code == 422
    page = html.unescape(body(response))
    assert "I confirm granting the “Platform administrator” role" in page
    assert options(page, "organisation_id")[0][2] == "Choose…"
