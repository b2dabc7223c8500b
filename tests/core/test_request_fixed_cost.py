"""What every page does before and around its view, made cheaper without changing what it decides:
the rate limiter's check before the request (core.extensions.PageLimiter), the session cookie's
signature (core.cookies) and the page's CSRF token (core.layout.csrf_token)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from core import cookies, layout
from core.extensions import limiter
from core.security import Role
from tests.conftest import World, csrf_token_from


def test_a_page_without_a_limit_skips_the_check_before_the_request(
    world: World, login_as: Any, limiter_checks: list[bool]
) -> None:
    client = login_as(world.a.users[Role.RSSI])  # its login form's POSTs: checked by their decorator
    limiter_checks.clear()
    assert client.get("/organisations/").status_code == 200
    assert client.get("/login").status_code in (200, 302)
    assert True not in limiter_checks  # (the login view's decorator checks its own limit, as before)


def test_app_wide_limits_keep_the_check(
    app: Flask, world: World, login_as: Any, limiter_checks: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = login_as(world.a.users[Role.RSSI])
    monkeypatch.setitem(app.config, "RATELIMIT_DEFAULT", "1000 per minute")
    limiter_checks.clear()
    assert client.get("/organisations/").status_code == 200
    assert limiter_checks == [True]  # configured app-wide: every page is checked again
    # (the JSON API's blueprint limit: tests/api/test_api.py)


def test_a_limited_view_is_still_checked_by_its_decorator(
    app: Flask, limiter_checks: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "2 per minute")
    limiter.reset()
    client = app.test_client()
    statuses = [
        client.post("/login", data={"email": "nobody@example.org", "password": "whatever!!"}).status_code
        for _ in range(3)
    ]
    assert statuses[-1] == 429
    assert limiter_checks
    assert not any(limiter_checks)  # checked by the view's decorator, none before the request
    limiter.reset()


# --- the session cookie ------------------------------------------------------------------------


def test_a_cookie_is_read_alike_from_the_cache_and_a_forged_one_is_refused(
    app: Flask, world: World, login_as: Any
) -> None:
    client = login_as(world.a.users[Role.RSSI])
    assert client.get("/organisations/").status_code == 200
    assert client.get("/organisations/").status_code == 200  # the cookie's second reading
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    forged = cookie.value[:-2] + ("AA" if not cookie.value.endswith("AA") else "BB")
    client.set_cookie(app.config["SESSION_COOKIE_NAME"], forged)
    response = client.get("/organisations/")
    assert response.status_code == 302
    assert response.location.startswith("/login")


def test_a_cookie_past_the_session_lifetime_is_refused_even_once_checked(app: Flask) -> None:
    interface = app.session_interface
    assert isinstance(interface, cookies.CheckedCookieSessionInterface)
    value = interface.get_signing_serializer(app).dumps({"flash": ["kept apart"], "n": 1})
    with app.test_request_context(headers={"Cookie": f"{app.config['SESSION_COOKIE_NAME']}={value}"}):
        from flask import request  # noqa: PLC0415

        first = interface.open_session(app, request)
        assert dict(first) == {"flash": ["kept apart"], "n": 1}
        first["flash"].append("changed in this request only")
        assert dict(interface.open_session(app, request))["flash"] == ["kept apart"]
        original = app.permanent_session_lifetime
        try:
            app.permanent_session_lifetime = type(original)(seconds=-1)
            assert dict(interface.open_session(app, request)) == {}
        finally:
            app.permanent_session_lifetime = original


# --- the page's CSRF token ---------------------------------------------------------------------


def test_the_pages_token_is_reused_a_while_and_accepted(
    app: Flask, world: World, login_as: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import flask_wtf.csrf  # noqa: PLC0415

    client = login_as(world.a.users[Role.RSSI])  # (its forms posted without a token)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    signed: list[str] = []
    original = flask_wtf.csrf.generate_csrf

    def spy(*args: Any, **kwargs: Any) -> str:
        from flask import g  # noqa: PLC0415

        fresh = "csrf_token" not in g  # else Flask-WTF hands back the request's token
        token = original(*args, **kwargs)
        if fresh:
            signed.append(token)
        return token

    monkeypatch.setattr(flask_wtf.csrf, "generate_csrf", spy)
    client.get("/account/")  # the session's CSRF secret is drawn at its first token
    first = csrf_token_from(client.get("/organisations/").get_data(as_text=True))
    kept = len(signed)
    second = csrf_token_from(client.get("/account/").get_data(as_text=True))
    assert second == first
    assert len(signed) == kept  # not signed again for this session in this worker
    response = client.post("/language", data={"csrf_token": second, "lang": "en", "next": "/account/"})
    assert response.status_code == 302
    monkeypatch.setattr(layout, "CSRF_TOKEN_REUSE_SECONDS", 0)
    before = len(signed)
    third = csrf_token_from(client.get("/organisations/").get_data(as_text=True))
    assert len(signed) == before + 1  # past the reuse: signed anew
    assert client.post("/language", data={"csrf_token": third, "lang": "fr", "next": "/"}).status_code == 302
    bad = client.post("/language", data={"csrf_token": third[:-3] + "xyz", "lang": "en", "next": "/"})
    assert bad.status_code == 400
