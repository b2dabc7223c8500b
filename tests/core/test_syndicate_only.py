""" "Syndicate only" is one decorator (core.tenancy.syndicate_only) with one answer: 404 from a member,
whatever the role — found on every route that carries it, so a new domain's pages are covered too."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from core.security import Role
from tests import factories as f
from tests.conftest import World


def _syndicate_only_rules(app: Flask) -> list[tuple[str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if getattr(view, "__syndicate_only__", False) and not rule.arguments:
            method = "POST" if "GET" not in rule.methods else "GET"
            found.append((rule.rule, method))
    return sorted(found)


def test_the_decorator_is_on_the_pages_that_exist_only_for_a_syndicate(app: Flask) -> None:
    rules = {r for r, _ in _syndicate_only_rules(app)}
    assert {"/registers/models/", "/registers/models/new", "/registers/processor/"} <= rules
    assert "/catalogue/applications/new" in rules


@pytest.mark.parametrize("role", [Role.DPO, Role.RSSI])
def test_a_member_gets_404_on_every_syndicate_only_route_and_the_syndicate_does_not(
    app: Flask, world: World, login_as: Any, session: Any, role: Role
) -> None:
    member_user = f.UserFactory(email=f"{role.value}.membre@example.org")
    f.MembershipFactory(user=member_user, organisation=world.a.member, role=role)
    session.flush()
    member = login_as(member_user, world.a.member)
    syndicate = login_as(world.a.users[role], world.a.syndicate)
    for url, method in _syndicate_only_rules(app):
        at_syndicate = syndicate.open(url, method=method).status_code
        at_member = member.open(url, method=method).status_code
        assert at_syndicate != 404, url
        # The role's permission is checked first (403 everywhere without it); with it, 404 at a member.
        assert at_member == (403 if at_syndicate == 403 else 404), url
