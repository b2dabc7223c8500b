"""Open redirects: every redirect target taken from the request goes through core.redirects.safe_target,
and every Location header through core.redirects.guard_location.

Known open-redirect payloads are sent to every endpoint that takes a target (``next`` in the query
string of the login, second-factor, enrolment and re-authentication flows and of the organisation
chooser; ``next`` in the posted form of the language and organisation switches). The browser must
end up on this site: the Location header (read as a browser reads it) never names another host, a
rejected target gives the home page, and nothing answers 500. Pages that carry the target on (the
chooser's hidden fields, the recovery codes' "continue" link) carry the safe one.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import pyotp
import pytest
from flask import Flask, redirect
from flask.testing import FlaskClient
from werkzeug.urls import iri_to_uri

from core.redirects import guard_location, is_local_path, safe_target
from core.security import Role
from tests import factories as f
from tests.conftest import login, pass_second_factor

HOME = "/"
HOST = "localhost"  # the test client's host

# Targets that leave the site (or could, once a browser or a second decoding has read them).
BAD = [
    "//evil.invalid",
    "///evil.invalid",
    "////evil.invalid",
    "//evil.invalid/%2F..",
    "/\\evil.invalid",
    "\\\\evil.invalid",
    "\\/evil.invalid",
    "/\\/evil.invalid",
    "/\t/evil.invalid",
    "\t//evil.invalid",
    "/%09/evil.invalid",
    "%2F%09%2Fevil.invalid",
    "/%0a/evil.invalid",
    "/%0d%0a//evil.invalid",
    "/\r\n//evil.invalid",
    "/\n/evil.invalid",
    "%2F%2Fevil.invalid",
    "/%2F/evil.invalid",
    "/%2f%2fevil.invalid",
    "/%252F%252Fevil.invalid",
    "/%25252F%25252Fevil.invalid",
    "/%%32%66evil.invalid",
    "//%2F%2Fevil.invalid",
    "/%5Cevil.invalid",
    "/%5cevil.invalid",
    "/%255Cevil.invalid",
    "/%2509/evil.invalid",
    "https:evil.invalid",
    "https://evil.invalid",
    "http://evil.invalid/",
    "HTTP://EVIL.INVALID",
    "http:/evil.invalid",
    "http:\\\\evil.invalid",
    "http://127.0.0.1.evil.invalid",
    "http://localhost.evil.invalid/",
    "http://localhost@evil.invalid",
    "//localhost@evil.invalid",
    "ftp://evil.invalid",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "java%0ascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    " //evil.invalid",
    "/ /evil.invalid",
    "/\x0b/evil.invalid",
    "/\x7f/evil.invalid",
    "/%00/evil.invalid",
    "/\u3000/evil.invalid",
    "/\u200b/evil.invalid",
    "/\u2028/evil.invalid",
    "/\u202e/evil.invalid",
    "/\uff0f/evil.invalid",
    "/\uff3cevil.invalid",
    "/%EF%BC%8F/evil.invalid",
    "/%E2%80%8B/evil.invalid",
    "evil.invalid",
    "",
    "/" + "a" * 3000,
]
# Paths of this site, kept as they are (the rule must not refuse what the product itself sends).
GOOD = [
    "/",
    "/organisations/",
    "/organisations/?page=2",
    "/catalogue/?q=%C3%A9t%C3%A9",
    "/.evil.invalid",
    "/evil.invalid",
    "/https://evil.invalid",
]
EVIL_HOSTS = ("evil.invalid", "evil", "localhost.evil.invalid", "127.0.0.1.evil.invalid")


def _id(value: str) -> str:
    return ascii(value)[1:-1][:40] or "empty"


def lands_on(location: str) -> str:
    """The host a browser goes to when it follows ``location`` from a page of this site (WHATWG URL
    parsing, roughly: tabs and newlines removed, outer controls and spaces trimmed, "\\" read as "/")."""
    text = re.sub(r"[\t\n\r]", "", location).strip("".join(map(chr, range(33))))
    text = text.replace("\\", "/")
    scheme = re.match(r"([a-zA-Z][a-zA-Z0-9+.-]*):", text)
    if scheme:
        if scheme.group(1).lower() not in ("http", "https"):
            return f"{scheme.group(1).lower()}: URL"
        rest = text[scheme.end() :].lstrip("/")
        return urlsplit("http://" + rest).hostname or ""
    return urlsplit(urljoin(f"http://{HOST}/login", text)).hostname or ""


def test_lands_on_reads_locations_as_a_browser_does() -> None:
    # The detector the endpoint tests rely on.
    assert lands_on("/organisations/") == HOST
    assert lands_on("?next=x") == HOST
    for location in (
        "//evil.invalid",
        "/\t/evil.invalid",
        "/\\evil.invalid",
        "https:evil.invalid",
        " //evil",
    ):
        assert lands_on(location) in EVIL_HOSTS, location
    assert lands_on("javascript:alert(1)") == "javascript: URL"


# --- the rule itself ----------------------------------------------------------------------------


@pytest.mark.parametrize("target", BAD, ids=_id)
def test_safe_target_refuses_what_could_leave_the_site(app: Flask, target: str) -> None:
    assert not is_local_path(target)
    with app.test_request_context():
        assert safe_target(target) == HOME
        assert safe_target(target, "/account/") == "/account/"


@pytest.mark.parametrize("target", GOOD, ids=_id)
def test_safe_target_keeps_local_paths(app: Flask, target: str) -> None:
    with app.test_request_context():
        assert safe_target(target) == target


def test_safe_target_refuses_non_text(app: Flask) -> None:
    with app.test_request_context():
        for value in (None, 0, b"/organisations/", ["/"]):
            assert safe_target(value) == HOME


@pytest.mark.parametrize(
    "location",
    ["/\t/evil.invalid", "//evil.invalid", "/\\evil.invalid", "https://evil.invalid/x", "javascript:x"],
)
def test_guard_replaces_a_location_that_leaves_the_site(app: Flask, location: str) -> None:
    # werkzeug builds the header with iri_to_uri, which drops the tab: "/\t/evil" would go out as
    # "//evil". The guard checks what is actually sent.
    with app.test_request_context():
        assert guard_location(redirect(location)).headers["Location"] == HOME


@pytest.mark.parametrize(
    "location", ["/organisations/", "/login?next=%2Forganisations%2F", "http://localhost/x"]
)
def test_guard_keeps_locations_of_this_site(app: Flask, location: str) -> None:
    with app.test_request_context():
        assert guard_location(redirect(location)).headers["Location"] == location


def test_the_guard_is_on_for_every_response(app: Flask) -> None:
    assert guard_location in app.after_request_funcs[None]


# --- every endpoint that takes a target ---------------------------------------------------------


def _user(session: Any, role: Role, *, mfa: bool = True) -> Any:
    syndicate = f.SyndicateFactory()
    extra = {} if mfa else {"totp_secret_enc": None, "totp_enabled_at": None}
    user = f.UserFactory(**extra)
    f.MembershipFactory(user=user, organisation=syndicate, role=role)
    session.flush()
    user.test_org_id = syndicate.id
    return user


def _logged_in(app: Flask, user: Any) -> FlaskClient:
    client = app.test_client()
    assert login(client, user).status_code == 302
    return client


def _query(target: str) -> str:
    """The target written as is in the query string (its %-escapes are decoded once by the server)."""
    return "next=" + target


def _sent(target: str, *, in_query: bool) -> str:
    """The value the view receives."""
    return unquote(target) if in_query else target


def _login_reader(app: Flask, session: Any, target: str) -> tuple[Any, str | None]:
    user = _user(session, Role.READER, mfa=False)
    response = app.test_client().post(
        "/login", query_string=_query(target), data={"email": user.email, "password": f.PASSWORD}
    )
    return response, None


def _login_page(app: Flask, session: Any, target: str) -> tuple[Any, str | None]:
    response = app.test_client().get("/login", query_string=_query(target))
    assert response.status_code == 200
    return response, None


def _second_factor(app: Flask, session: Any, target: str) -> tuple[Any, str | None]:
    user = _user(session, Role.DPO)
    client = app.test_client()
    first = client.post(
        "/login", query_string=_query(target), data={"email": user.email, "password": f.PASSWORD}
    )
    assert first.location == "/login/second-factor"
    return pass_second_factor(client), None


def _enrolment(app: Flask, session: Any, target: str) -> tuple[Any, str | None]:
    user = _user(session, Role.RSSI, mfa=False)
    client = app.test_client()
    first = client.post(
        "/login", query_string=_query(target), data={"email": user.email, "password": f.PASSWORD}
    )
    assert first.location == "/account/mfa/enrol"
    page = client.get("/account/mfa/enrol").get_data(as_text=True)
    secret = re.search(r'data-secret="([A-Z2-7]+)"', page).group(1)  # type: ignore[union-attr]
    done = client.post("/account/mfa/enrol", data={"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200
    link = re.search(r'<a class="btn btn-primary" href="([^"]*)"', done.get_data(as_text=True))
    assert link, "the recovery codes page has its continue link"
    return done, html.unescape(link.group(1))


def _reauthenticate(app: Flask, session: Any, target: str) -> tuple[Any, str | None]:
    client = _logged_in(app, _user(session, Role.READER, mfa=False))
    response = client.post(
        "/account/reauthenticate", query_string=_query(target), data={"password": f.PASSWORD}
    )
    return response, None


def _language(app: Flask, session: Any, target: str) -> tuple[Any, str | None]:
    return app.test_client().post("/language", data={"lang": "en", "next": target}), None


def _switch(app: Flask, session: Any, target: str) -> tuple[Any, str | None]:
    user = _user(session, Role.READER, mfa=False)
    client = _logged_in(app, user)
    return client.post(
        "/active-organisation", data={"organisation_id": user.test_org_id, "next": target}
    ), None


def _chooser(app: Flask, session: Any, target: str) -> tuple[Any, str | None]:
    client = _logged_in(app, _user(session, Role.READER, mfa=False))
    response = client.get("/active-organisation", query_string=_query(target))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    # The chooser's own forms (the header's language form carries the current page on).
    fields = re.findall(r'name="next" value="([^"]*)"', page[page.index('role="search"') :])
    assert fields, "the chooser carries the target on"
    assert len(set(fields)) == 1
    return response, html.unescape(fields[0])


# endpoint → (how the target is sent, in the query string or not; the flow)
ENDPOINTS: dict[str, tuple[bool, Callable[..., tuple[Any, str | None]]]] = {
    "POST /login?next=": (True, _login_reader),
    "GET /login?next=": (True, _login_page),
    "POST /login?next= then second factor": (True, _second_factor),
    "POST /login?next= then MFA enrolment": (True, _enrolment),
    "POST /account/reauthenticate?next=": (True, _reauthenticate),
    "POST /language next=": (False, _language),
    "POST /active-organisation next=": (False, _switch),
    "GET /active-organisation?next=": (True, _chooser),
}


def test_every_endpoint_taking_a_target_is_walked(app: Flask) -> None:
    # Views whose code reads a target from the request; a new one must join ENDPOINTS above.
    import inspect  # noqa: PLC0415

    readers = {
        endpoint
        for endpoint, view in app.view_functions.items()
        if re.search(
            r"""["']next["']|safe_target|referrer|redirect\(request""",
            inspect.getsource(inspect.unwrap(view)),
        )
    }
    assert readers == {
        "accounts.login",
        "accounts.reauthenticate",
        "accounts.switch_organisation",
        "accounts.organisation_chooser",
        "core.set_language",
    }
    # The target kept at login is used after the second factor or the enrolment (both walked).
    assert "safe_target(target)" in inspect.getsource(
        __import__("accounts.views.auth").views.auth._second_factor_passed
    )


@pytest.mark.parametrize("target", BAD + GOOD, ids=_id)
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_no_endpoint_redirects_away(app: Flask, session: Any, endpoint: str, target: str) -> None:
    in_query, flow = ENDPOINTS[endpoint]
    response, carried = flow(app, session, target)
    assert response.status_code < 500
    location = response.headers.get("Location")
    received = _sent(target, in_query=in_query)
    expected = received if target in GOOD else HOME
    if location is not None:
        assert urlsplit(location).netloc in ("", HOST), location
        assert lands_on(location) == HOST, location
        assert location == iri_to_uri(expected), location
    if carried is not None:
        assert lands_on(carried) == HOST, carried
        assert carried == expected, carried
