"""Tenant isolation, walked over every route of the application.

Every route must declare an access policy. Anonymous requests go to the login page. For every route
that takes an object id, a user of organisation B asking for organisation A's object gets 404 (and
A's data is unchanged), while A's own user with the same role succeeds — the positive control that
keeps the 404s from passing for the wrong reason (a broken URL, a 405, a CSRF 400).
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from core import create_app
from core.config import TestConfig
from core.security import (
    AUTHENTICATED,
    PLATFORM_PERMISSIONS,
    PUBLIC,
    ROLE_PERMISSIONS,
    Permission,
    Role,
    access_policy,
)
from tests.conftest import Tenant, World, is_api_rule, record_arguments
from tests.core.test_jobs import failed_run_id

_APP = create_app(TestConfig)  # the route inventory only; no database access
ROLE_PREFERENCE = (Role.RSSI, Role.DPO, Role.REFERENT, Role.READER, Role.AUDITOR, Role.ADMIN)

# How each URL argument is filled from a tenant's objects.
ID_SOURCES = {
    "org_id": lambda t: t.member.id,
    "application_id": lambda t: t.application.id,
    "subscription_id": lambda t: t.subscription.id,
    "user_id": lambda t: t.users[Role.READER].id,
    "membership_id": lambda t: t.users[Role.READER].memberships[0].id,
    "session_id": lambda t: 10**9,
    "api_token_id": lambda t: 10**9,  # own tokens: a foreign id answers 404 (tests/api)
    "run_id": failed_run_id,  # the jobs page (platform administrator): a failed job, to relaunch
    "token": lambda t: "not-a-real-token",  # own-session routes: a foreign id answers 404 (tests/accounts)
    **record_arguments(),  # each domain's records (tests/<domain>/records.py)
    "slug": lambda t: "registre-inconnu",  # public pages only
}


def _rules() -> list[Any]:
    return [r for r in _APP.url_map.iter_rules() if r.endpoint != "static"]


def _policy(rule: Any) -> tuple[str, ...] | None:
    return access_policy(_APP.view_functions[rule.endpoint])


def _methods(rule: Any) -> list[str]:
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


def _role_for(permissions: tuple[Permission, ...]) -> Role:
    for role in ROLE_PREFERENCE:
        if set(permissions) <= ROLE_PERMISSIONS[role]:
            return role
    raise AssertionError(f"no role holds {permissions}")


def _url(rule: Any, tenant: Tenant) -> str:
    values = {arg: ID_SOURCES[arg](tenant) for arg in rule.arguments}
    with _APP.test_request_context():
        from flask import url_for  # noqa: PLC0415

        return url_for(rule.endpoint, **values)


def _cases(kind: str) -> list[Any]:
    cases = []
    for rule in _rules():
        policy = _policy(rule)
        if policy is None or policy[0] == PUBLIC or is_api_rule(rule):
            continue  # the JSON API takes tokens, not the session: tests/api walks it
        for method in _methods(rule):
            if kind == "anonymous":
                cases.append(pytest.param(rule, method, id=f"{method} {rule.rule}"))
            elif rule.arguments and policy[0] == "permission":
                perms = policy[1:]
                platform = any(p in PLATFORM_PERMISSIONS for p in perms)
                if (kind == "platform") == platform:
                    cases.append(pytest.param(rule, method, perms, id=f"{method} {rule.rule}"))
    return cases


def test_every_route_declares_an_access_policy() -> None:
    missing = [r.rule for r in _rules() if _policy(r) is None]
    assert missing == []


def test_the_walker_sees_the_routes_it_should() -> None:
    # Guards the walker itself: if it stopped finding object routes, every test below would pass.
    tenant_routes = {p.values[0].endpoint for p in _cases("tenant")}
    assert {
        "accounts.organisation_detail",
        "catalogue.application_detail",
        "catalogue.subscription_end",
    } <= tenant_routes
    assert "accounts.user_detail" in {p.values[0].endpoint for p in _cases("platform")}
    assert all(arg in ID_SOURCES for r in _rules() for arg in r.arguments)


@pytest.mark.parametrize(("rule", "method"), _cases("anonymous"))
def test_anonymous_request_is_sent_to_login(app: Flask, world: World, rule: Any, method: str) -> None:
    response = app.test_client().open(_url(rule, world.a), method=method)
    assert response.status_code == 302
    assert response.location.startswith("/login")


def _snapshot(world: World) -> tuple[Any, ...]:
    t = world.a
    from tests.conftest import f  # noqa: PLC0415

    session = f._SessionHolder.session
    session.expire_all()
    return (
        t.member.version,
        t.member.name,
        t.member.left_on,
        t.application.version,
        t.application.name,
        t.subscription.version,
        t.subscription.ended_on,
    )


@pytest.mark.parametrize(("rule", "method", "perms"), _cases("tenant"))
def test_other_organisation_gets_404_and_changes_nothing(
    world: World, login_as: Any, rule: Any, method: str, perms: tuple[Permission, ...]
) -> None:
    role = _role_for(perms)
    url = _url(rule, world.a)
    before = _snapshot(world)

    outsider = login_as(world.b.users[role])
    response = outsider.open(url, method=method, data={"name": "changed by B", "ended_on": "2024-01-01"})
    assert response.status_code == 404, f"{role} of B got {response.status_code} on {url}"
    assert "CANARY-A" not in response.get_data(as_text=True)
    assert _snapshot(world) == before

    insider = login_as(world.a.users[role])
    control = insider.open(url, method=method, data={})
    if method == "GET":
        assert control.status_code == 200, f"{role} of A got {control.status_code} on {url}"
    else:
        assert control.status_code not in (403, 404, 405)
        assert control.status_code < 500


@pytest.mark.parametrize(("rule", "method", "perms"), _cases("platform"))
def test_platform_routes_refuse_non_admins(
    world: World, login_as: Any, rule: Any, method: str, perms: tuple[Permission, ...]
) -> None:
    url = _url(rule, world.a)
    for role in (Role.RSSI, Role.DPO, Role.REFERENT, Role.READER, Role.AUDITOR):
        response = login_as(world.b.users[role]).open(url, method=method, data={})
        assert response.status_code == 403, f"{role} got {response.status_code} on {url}"
    control = login_as(world.a.users[Role.ADMIN]).open(url, method=method, data={})
    assert control.status_code not in (403, 404, 405)
    assert control.status_code < 500


def test_authenticated_only_routes_are_few() -> None:
    # Routes open to any logged-in user must not expose tenant data: keep the list deliberate.
    open_routes = {r.endpoint for r in _rules() if _policy(r) == (AUTHENTICATED,)}
    assert open_routes == {
        "core.index",
        "accounts.logout",
        "accounts.switch_organisation",
        "accounts.organisation_chooser",  # the user's own organisations only
        # own account: the logged-in user's password, second factor and sessions only
        "accounts.mfa_verify",
        "accounts.mfa_enrol",
        "accounts.account",
        "accounts.session_revoke",
        "accounts.sessions_revoke_others",
        "accounts.password_change",
        "accounts.reauthenticate",
        "accounts.recovery_codes_regenerate",
        "accounts.digest_subscription",  # the user's own weekly digest, on or off
        "accounts.api_token_new",  # the user's own API tokens, for organisations where he has a role
        "accounts.api_token_revoke",
        # the organisations where the logged-in user is DPO, from its own memberships only
        "registers.portfolio",
    }
