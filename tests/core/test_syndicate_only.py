""" "Syndicate only" is one decorator (core.tenancy.syndicate_only) with one answer: 404 from a member,
whatever the role — found on every route that carries it, so a new domain's pages are covered too."""

from __future__ import annotations

import ast
from pathlib import Path
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


PRODUCT = Path(__file__).resolve().parents[2]
PACKAGES = ("accounts", "audits", "catalogue", "core", "registers", "reports", "risks", "smsi")


def _hand_written_syndicate_checks() -> list[str]:
    """``if … is_syndicate …: abort(…)`` written anywhere but in the decorator itself: the rule
    hand-written again (it answered 403 in one view while the decorator answers 404)."""
    found = []
    for package in PACKAGES:
        for path in sorted((PRODUCT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            the_decorator = {
                id(n)
                for f in ast.walk(tree)
                if isinstance(f, ast.FunctionDef) and f.name == "syndicate_only"
                for n in ast.walk(f)
            }
            for node in ast.walk(tree):
                outside = isinstance(node, ast.If) and id(node) not in the_decorator
                if outside and _names_is_syndicate(node.test) and _aborts(node):
                    found.append(f"{path.relative_to(PRODUCT)}:{node.lineno}")
    return found


def _names_is_syndicate(test: ast.expr) -> bool:
    return any(isinstance(n, ast.Attribute) and n.attr == "is_syndicate" for n in ast.walk(test))


def _aborts(node: ast.If) -> bool:
    return any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "abort"
        for stmt in [*node.body, *node.orelse]
        for n in ast.walk(stmt)
    )


def test_no_view_hand_writes_the_syndicate_only_rule() -> None:
    assert _hand_written_syndicate_checks() == [], "use @syndicate_only (core.tenancy): one rule, one 404"


def test_the_scan_finds_a_hand_written_check(tmp_path: Path) -> None:
    # The scan above passes only if it sees what it looks for.
    code = "def view():\n    if not current_org.is_syndicate:\n        abort(403)\n"
    tree = ast.parse(code)
    ifs = [n for n in ast.walk(tree) if isinstance(n, ast.If)]
    assert ifs
    assert _names_is_syndicate(ifs[0].test)
    assert _aborts(ifs[0])
    fine = ast.parse("def view():\n    if org.is_syndicate:\n        ranking = 1\n")
    assert not any(_aborts(n) for n in ast.walk(fine) if isinstance(n, ast.If))
