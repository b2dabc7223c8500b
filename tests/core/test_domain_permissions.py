"""A new domain names its own permissions and grants them in its Domain record: core.security's
vocabulary needs no edit (KNOWN_PERMISSIONS), and a name nobody declared is a loud error."""

from __future__ import annotations

import enum
from typing import Any

import pytest
from flask import Blueprint, Flask, render_template_string

from core import security
from core.security import Role, can, login_and_org_required, require
from tests.conftest import World, acting_as, install_blueprint


class ProbePermission(enum.StrEnum):
    """What a new domain would declare in its own package."""

    VIEW = "probe_own_view"


def _probe() -> Blueprint:
    bp = Blueprint("probeperm", __name__, url_prefix="/probeperm")
    bp.before_request(login_and_org_required)

    @bp.route("/")
    @require(ProbePermission.VIEW)
    def index() -> str:
        return render_template_string("{{ 'can' if can('probe_own_view') else 'cannot' }}")

    return bp


@pytest.fixture
def granted(monkeypatch: pytest.MonkeyPatch) -> None:
    """The domain's grant, installed as core.domains installs a Domain record's ``permissions``."""
    monkeypatch.setattr(security, "KNOWN_PERMISSIONS", set(security.KNOWN_PERMISSIONS))
    for role in Role:
        monkeypatch.setitem(security.ROLE_PERMISSIONS, role, security.ROLE_PERMISSIONS[role])
    security.grant_permissions({Role.RSSI: [ProbePermission.VIEW]})


def test_a_domains_own_permission_guards_its_pages_without_editing_core(
    app: Flask, world: World, login_as: Any, monkeypatch: pytest.MonkeyPatch, granted: None
) -> None:
    install_blueprint(app, _probe(), monkeypatch)
    rssi = login_as(world.a.users[Role.RSSI], world.a.syndicate)
    answer = rssi.get("/probeperm/")
    assert answer.status_code == 200
    assert answer.get_data(as_text=True) == "can"
    assert login_as(world.a.users[Role.DPO], world.a.syndicate).get("/probeperm/").status_code == 403
    assert "probe_own_view" in security.ROLE_PERMISSIONS[Role.RSSI]
    assert "probe_own_view" not in security.ROLE_PERMISSIONS[Role.DPO]


def test_a_permission_nobody_declared_is_an_error_not_a_no(app: Flask, world: World, granted: None) -> None:
    with app.test_request_context("/"), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        assert can(ProbePermission.VIEW)
        assert can("probe_own_view")
        assert not can(security.Permission.USERS_MANAGE)
        with pytest.raises(ValueError, match="probe_typo"):
            can("probe_typo")
