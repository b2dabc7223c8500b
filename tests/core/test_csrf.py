"""CSRF protection, the second line of defence behind SameSite cookies: every POST route refuses a
request without a valid token, for anonymous visitors and logged-in users alike, and a valid token
(form field or htmx header) gets through.

The test configuration switches CSRF off (the rest of the suite posts without tokens), so these
tests switch it back on with the values the production configuration gives: if CSRF were switched
off for the whole app (in BaseConfig, ProdConfig, or by unwiring the extension), they fail.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Config, Flask, url_for
from flask.testing import FlaskClient
from sqlalchemy import func, select

from accounts.models import Organisation
from core.config import PROJECT_ROOT, BaseConfig, DevConfig, ProdConfig, config_for_environment
from core.extensions import csrf
from core.security import Role
from tests.conftest import World, build_records, csrf_token_from, is_api_rule
from tests.core import test_pages as pages

CSRF_MESSAGE = "Le formulaire a expiré ou a été envoyé depuis une autre page."
CSRF_DEFAULTS = {"WTF_CSRF_ENABLED": True, "WTF_CSRF_CHECK_DEFAULT": True}  # Flask-WTF's own defaults
CANARY = "CANARY-CSRF"
# Whatever a form might read: if a POST got through, it would have something to write.
FORM_DATA = {
    "name": CANARY,
    "full_name": CANARY,
    "email": "canary.csrf@example.org",
    "kind": "ville",
    "relation": "member",
    "organisation_id": "1",
    "reference": "CSRF-1",
    "title": CANARY,
    "purpose": CANARY,
    "password": "x",
    "new_password": "ardoise-Cantal-fenêtre-1789-violon",
    "confirm": "ardoise-Cantal-fenêtre-1789-violon",
}


def _production_csrf_settings(config_class: type[BaseConfig]) -> dict[str, Any]:
    """The CSRF settings an app built from ``config_class`` runs with (Flask-WTF's defaults apply
    to what the class leaves unset)."""
    config = Config(str(PROJECT_ROOT))
    config.from_object(config_class)
    return {key: config.get(key, default) for key, default in CSRF_DEFAULTS.items()}


@pytest.fixture
def switch_csrf_on(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``switch_csrf_on()``: the session app takes the production configuration's CSRF settings
    (restored after the test). Clients log in before (the login helpers post without a token)."""

    def _switch() -> Flask:
        for key, value in _production_csrf_settings(ProdConfig).items():
            monkeypatch.setitem(app.config, key, value)
        return app

    return _switch


@pytest.fixture
def csrf_on(switch_csrf_on: Any) -> Flask:
    return switch_csrf_on()


def _post_urls(app: Flask, world: World) -> dict[str, str]:
    """Every POST route, its arguments filled from world A (1 for an argument the page walker does
    not know: the CSRF check runs before the view looks anything up)."""
    build_records(world.a)  # built in the test's session, before any app context
    urls = {}
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if "POST" not in (rule.methods or ()) or is_api_rule(rule):
                continue  # the JSON API is CSRF-exempt: no cookie is accepted there (tests/api)
            values = {arg: pages.ID_SOURCES.get(arg, lambda w: 1)(world) for arg in rule.arguments}
            urls[rule.endpoint] = url_for(rule.endpoint, **values)
    return urls


def _assert_refused_for_csrf(client: FlaskClient, urls: dict[str, str], **extra: Any) -> None:
    not_refused = {}
    for endpoint, url in urls.items():
        response = client.post(url, data={**FORM_DATA, **extra})
        page = response.get_data(as_text=True)
        if response.status_code != 400 or CSRF_MESSAGE not in page:
            not_refused[endpoint] = response.status_code
    assert not_refused == {}


# --- the configuration -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "config_class",
    [BaseConfig, DevConfig, ProdConfig, config_for_environment()],
    ids=["base", "development", "production", "default"],
)
def test_every_configuration_but_the_tests_enables_csrf(config_class: type[BaseConfig]) -> None:
    assert _production_csrf_settings(config_class) == CSRF_DEFAULTS
    methods = getattr(config_class, "WTF_CSRF_METHODS", ["POST", "PUT", "PATCH", "DELETE"])
    assert "POST" in methods


def test_the_csrf_extension_is_wired_on_the_app(app: Flask) -> None:
    assert app.extensions.get("csrf") is csrf
    hooks = [getattr(hook, "__qualname__", "") for hook in app.before_request_funcs[None]]
    assert any(name.startswith("CSRFProtect.") and name.endswith("csrf_protect") for name in hooks)
    assert not csrf._exempt_views  # no route opts out…
    # …nor any blueprint but the JSON API's, which accept no cookie (tokens only: tests/api)
    api_blueprints = {d.api.name for d in app.extensions["egide_domains"] if d.api is not None}
    assert {bp.name for bp in csrf._exempt_blueprints} == api_blueprints
    assert api_blueprints >= {"accounts_api", "registers_api", "catalogue_api"}


# --- every POST route --------------------------------------------------------------------------


def test_every_post_route_refuses_a_logged_in_user_without_a_token(
    world: World, login_as: Any, switch_csrf_on: Any, session: Any
) -> None:
    client = login_as(world.a.users[Role.ADMIN], world.a.syndicate)
    csrf_on = switch_csrf_on()
    urls = _post_urls(csrf_on, world)
    assert {"accounts.logout", "registers.import_confirm", "accounts.user_new"} <= set(urls)
    _assert_refused_for_csrf(client, urls)
    _assert_refused_for_csrf(client, urls, csrf_token="forged-token")
    # Nothing got through: no organisation written, the session still open (logout was refused too).
    assert session.scalar(select(func.count(Organisation.id)).where(Organisation.name == CANARY)) == 0
    assert client.get("/organisations/").status_code == 200


def test_every_post_route_refuses_an_anonymous_visitor_without_a_token(world: World, csrf_on: Flask) -> None:
    urls = _post_urls(csrf_on, world)
    assert {"accounts.login", "core.set_language", "accounts.password_forgot"} <= set(urls)
    _assert_refused_for_csrf(csrf_on.test_client(), urls)


# --- a valid token gets through ----------------------------------------------------------------


def test_a_valid_token_gets_past_the_csrf_check(csrf_on: Flask) -> None:
    client = csrf_on.test_client()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post("/language", data={"lang": "en", "next": "/login", "csrf_token": token})
    assert response.status_code == 302
    assert '<html lang="en">' in client.get("/login").get_data(as_text=True)
    # htmx sends the token in a header.
    meter = client.post("/password/strength", data={"password": "x"}, headers={"X-CSRFToken": token})
    assert meter.status_code == 200
    # A token is bound to its session: another browser cannot use it.
    other = csrf_on.test_client()
    stolen = other.post("/language", data={"lang": "en", "csrf_token": token})
    assert stolen.status_code == 400
    assert CSRF_MESSAGE in stolen.get_data(as_text=True)


def test_a_logged_in_form_with_its_token_reaches_the_form_validation(
    world: World, login_as: Any, switch_csrf_on: Any
) -> None:
    client = login_as(world.a.users[Role.RSSI])
    switch_csrf_on()
    token = csrf_token_from(client.get("/account/password").get_data(as_text=True))
    response = client.post(
        "/account/password",
        data={"current_password": "wrong", "new_password": "x", "confirm": "y", "csrf_token": token},
    )
    assert response.status_code == 422  # the form's own errors, not the CSRF page
    assert CSRF_MESSAGE not in response.get_data(as_text=True)
