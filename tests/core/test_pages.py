"""Every page renders, in French and in English, loads nothing from a third-party server, runs no
inline script, and sends the security headers; junk input and error cases get French pages, never a 500.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient
from sqlalchemy import make_url, select

from accounts.models import Organisation
from core.config import TestConfig
from core.security import Role
from tests.conftest import (
    World,
    build_records,
    declared_status,
    is_api_rule,
    login,
    permissions_held,
    record_arguments,
)

ON_POSTGRESQL = make_url(TestConfig.DATABASE_URL).get_backend_name() == "postgresql"

# A URL that leaves the site: scheme-relative (//host) or absolute (http[s]://host).
EXTERNAL_URL_RE = re.compile(r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//""", re.I)
INLINE_SCRIPT_RE = re.compile(r"<script\b(?![^>]*\bsrc\s*=)[^>]*>", re.I)
EVENT_HANDLER_RE = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I)
INLINE_STYLE_RE = re.compile(r"<style\b|<[a-z][^>]*\sstyle\s*=", re.I)
JS_URL_RE = re.compile(r"""(?:src|href|action)\s*=\s*["']?\s*javascript:""", re.I)
CSP_SCRIPT_RE = re.compile(r"script-src 'self' 'nonce-([A-Za-z0-9_\-+/=]+)'")

# How each URL argument is filled from world A.
ID_SOURCES = {
    "org_id": lambda w: w.a.member.id,
    "application_id": lambda w: w.a.application.id,
    "subscription_id": lambda w: w.a.subscription.id,
    "user_id": lambda w: w.a.users[Role.READER].id,
    "membership_id": lambda w: w.a.users[Role.READER].memberships[0].id,
    "session_id": lambda w: 10**9,
    "api_token_id": lambda w: 10**9,
    "run_id": lambda w: 10**9,
    "token": lambda w: "not-a-real-token",
    **record_arguments(lambda w: w.a),  # each domain's records (tests/<domain>/records.py)
    "slug": lambda w: "registre-inconnu",
}


def body(response: Any) -> str:
    return response.get_data(as_text=True)


def assert_french_error(response: Any, code: int, title: str) -> None:
    assert response.status_code == code
    assert response.mimetype == "text/html"
    page = body(response)
    assert '<html lang="fr">' in page
    assert f'<h1 class="h2">{title}</h1>' in page
    assert "Traceback" not in page


# --- error pages --------------------------------------------------------------------------------


def test_unknown_url_gives_the_french_404_page_to_anonymous_visitors(app: Flask) -> None:
    assert_french_error(app.test_client().get("/no-such-page"), 404, "Page introuvable")


def test_unknown_url_gives_the_french_404_page_to_logged_in_users(world: World, login_as: Any) -> None:
    client = login_as(world.a.users[Role.RSSI])
    for url in ("/no-such-page", "/organisations/999999", "/catalogue/applications/999999"):
        response = client.get(url)
        assert_french_error(response, 404, "Page introuvable")
        assert 'href="/organisations/"' in body(response)  # the page keeps the navigation


def test_unknown_url_in_english_after_switching_language(app: Flask) -> None:
    client = app.test_client()
    client.post("/language", data={"lang": "en"})
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert '<html lang="en">' in body(response)
    assert "Page not found" in body(response)


JUNK = {
    "/organisations/": "?page=abc&per_page=-5&kind=zzz&relation=%FF&syndicate=x&status=%00&q=%27%22%3C",
    "/catalogue/": "?page=abc&per_page=-5&domain=zzz&hosting=%00&criticality=x&member=x&retired=%00&q=%25_",
    "/admin/users/": "?page=abc&per_page=-5&q=%27%20OR%201%3D1--",
}
LIST_CONTENT = {"/organisations/": "Ville A", "/catalogue/": "Application A", "/admin/users/": "rssi A"}


@pytest.mark.parametrize("url", list(JUNK))
@pytest.mark.parametrize(
    "extra", ["", "&page=99999&per_page=1000000", "&page=0&per_page=0", "&page=1e3&per_page=%20"]
)
def test_junk_query_parameters_on_list_pages_still_render(
    world: World, login_as: Any, url: str, extra: str
) -> None:
    client = login_as(world.a.users[Role.ADMIN])
    response = client.get(url + JUNK[url].replace("?page=abc&per_page=-5", "?page=abc&per_page=-5" + extra))
    assert response.status_code == 200
    assert response.mimetype == "text/html"


@pytest.mark.parametrize("url", list(JUNK))
def test_pagination_junk_falls_back_to_the_first_page(world: World, login_as: Any, url: str) -> None:
    client = login_as(world.a.users[Role.ADMIN])
    response = client.get(f"{url}?page=abc&per_page=-5&status=%00")
    assert response.status_code == 200
    assert LIST_CONTENT[url] in body(response)


@pytest.mark.parametrize("url", list(JUNK))
def test_nul_byte_in_the_search_box_is_not_a_server_error(world: World, login_as: Any, url: str) -> None:
    response = login_as(world.a.users[Role.ADMIN]).get(f"{url}?q=a%00b")
    assert response.status_code in (200, 400)  # searched for, or refused as junk: never a 500


def test_nul_byte_in_a_form_field_is_refused_and_nothing_is_stored(
    world: World, login_as: Any, session: Any
) -> None:
    client = login_as(world.a.users[Role.ADMIN])
    data = {"name": "Ville\x00C", "kind": "ville", "relation": "member", "syndicate_id": world.a.syndicate.id}
    response = client.post("/organisations/new", data=data)
    assert response.status_code in (400, 422)
    assert session.scalar(select(Organisation).where(Organisation.name.like("Ville%C"))) is None


def test_oversized_post_gets_the_french_413_page(
    world: World, app: Flask, login_as: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 2 * 1024 * 1024)
    big = "x" * (3 * 1024 * 1024)
    anonymous = app.test_client().post("/login", data={"email": "a@example.org", "password": big})
    assert_french_error(anonymous, 413, "Fichier ou formulaire trop volumineux")
    assert "(2 Mo)" in body(anonymous)
    client = login_as(world.a.users[Role.ADMIN])
    logged_in = client.post("/organisations/new", data={"name": "Grosse", "notes": big})
    assert_french_error(logged_in, 413, "Fichier ou formulaire trop volumineux")
    small = client.post("/organisations/new", data={"name": "", "notes": "x" * 100})
    assert small.status_code == 422


def test_healthz_answers_ok_as_json(app: Flask) -> None:
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.is_json
    assert response.get_json()["status"] == "ok"


# --- headers and cookies ------------------------------------------------------------------------


def _assert_csp(response: Any) -> str:
    csp = response.headers.get("Content-Security-Policy", "")
    match = CSP_SCRIPT_RE.search(csp)
    assert match, csp
    assert "frame-ancestors 'none'" in csp
    assert "object-src 'none'" in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    nonce = match.group(1)
    scripts = re.findall(r"<script\b[^>]*>", body(response))
    assert scripts, "every page loads the product's scripts"
    for tag in scripts:
        assert f'nonce="{nonce}"' in tag, tag
    return nonce


def test_csp_is_sent_on_every_kind_of_html_page(world: World, app: Flask, login_as: Any) -> None:
    anonymous = app.test_client()
    client = login_as(world.a.users[Role.RSSI])
    responses = {
        "login": anonymous.get("/login"),
        "anonymous 404": anonymous.get("/no-such-page"),
        "list": client.get("/organisations/"),
        "form": client.get(f"/organisations/{world.a.member.id}/edit"),
        "403": client.get("/admin/users/"),
        "404": client.get("/no-such-page"),
    }
    nonces = set()
    for name, response in responses.items():
        assert response.mimetype == "text/html", name
        nonces.add(_assert_csp(response))
    assert len(nonces) == len(responses)  # a fresh nonce per response


def test_authenticated_pages_are_not_stored(world: World, login_as: Any) -> None:
    client = login_as(world.a.users[Role.RSSI])
    for url in (
        "/",
        "/organisations/",
        f"/organisations/{world.a.member.id}",
        "/admin/users/",
        "/no-such-page",
    ):
        assert client.get(url).headers.get("Cache-Control") == "no-store", url


def test_session_cookie_is_httponly_and_samesite_lax(world: World, app: Flask) -> None:
    response = login(app.test_client(), world.a.users[Role.RSSI])
    assert response.status_code == 302
    cookies = [
        c
        for c in response.headers.getlist("Set-Cookie")
        if c.startswith(app.config["SESSION_COOKIE_NAME"] + "=")
    ]
    assert len(cookies) == 1
    attributes = {part.strip().split("=")[0].lower(): part.strip() for part in cookies[0].split(";")[1:]}
    assert "httponly" in attributes
    assert attributes["samesite"] == "SameSite=Lax"


def test_frame_and_referrer_headers(app: Flask) -> None:
    response = app.test_client().get("/login")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


# --- every page, every language -----------------------------------------------------------------


def _get_rules(app: Flask) -> list[Any]:
    return sorted(
        (
            r
            for r in app.url_map.iter_rules()
            if r.endpoint != "static" and "GET" in r.methods and not is_api_rule(r)  # JSON: tests/api
        ),
        key=lambda r: r.rule,
    )


def _page_urls(app: Flask, world: World) -> dict[str, str]:
    urls = {}
    build_records(world.a)  # built in the test's session, before any app context
    with app.test_request_context():
        for rule in _get_rules(app):
            values = {arg: ID_SOURCES[arg](world) for arg in rule.arguments}
            urls[rule.endpoint] = url_for(rule.endpoint, **values)
    return urls


def _page_problems(page: str) -> list[str]:
    problems = []
    for name, regex in (
        ("third-party URL", EXTERNAL_URL_RE),
        ("inline script", INLINE_SCRIPT_RE),
        ("inline event handler", EVENT_HANDLER_RE),
        ("inline style", INLINE_STYLE_RE),
        ("javascript: URL", JS_URL_RE),
    ):
        for match in regex.finditer(page):
            problems.append(f"{name}: {page[max(0, match.start() - 40) : match.end() + 60]!r}")
    # A page's title is text only: markup there is a block closed in the wrong place (a section of
    # "Mon compte" once sat in its title block, shown in the browser's tab).
    title = TITLE_RE.search(page)
    if title is not None and "<" in title.group(1):
        problems.append(f"markup in the title: {title.group(1)[:100]!r}")
    return problems


TITLE_RE = re.compile(r"<title>(.*?)</title>", re.S)


# GET routes that answer a file or JSON rather than a page.
NON_HTML_PAGES = {
    "core.healthz",
    "registers.document_download",
    "reports.document_download",
}

# What the walk expects of each page is what its view declares (tests.conftest.declared_status): 403
# when the walking user lacks a permission its ``@require`` names, 404 for a ``@syndicate_only`` page
# outside a syndicate, 200 otherwise — so a new domain's pages need no line here. NOT_200 holds only
# what declarations cannot say, a page's own behaviour, as endpoint: (status, why); a test below
# refuses a line the declarations already give.
EVERY_USER = {
    "accounts.login": (302, "already logged in"),
    "accounts.mfa_verify": (302, "second factor already passed"),
    "accounts.mfa_enrol": (302, "changing device asks for the password first"),
    "accounts.password_reset": (404, "forged link: the 'link no longer valid' page"),
    "accounts.invitation": (404, "forged link: the 'link no longer valid' page"),
    "registers.public_register": (404, "unknown slug"),
}
NOT_200: dict[Role, dict[str, tuple[int, str]]] = {
    Role.RSSI: {
        **EVERY_USER,
        "registers.index": (302, "redirects to the register"),
        "registers.document_list": (302, "the documents' list moved to reports"),
        "risks.hygiene_compare": (404, "no assessments named (?a=&b=)"),
        "smsi.soa_control": (404, "the control is named in the query string (?id=A.5.1)"),
    },
    # Everything else the administrator is refused (the registers', SMSI's, risks', audits' and
    # reports' pages: content the administrator does not read) follows from the permissions.
    Role.ADMIN: EVERY_USER,
}


def expected_statuses(app: Flask, world: World, role: Role, endpoints: Any) -> dict[str, int]:
    """What each of ``endpoints`` answers ``role`` of syndicate A (their one organisation, active from
    login): what its declarations say, or its line of NOT_200."""
    org = world.a.syndicate
    held = permissions_held(app, world.a.users[role], org)
    exceptions = NOT_200[role]
    return {
        e: exceptions[e][0] if e in exceptions else declared_status(app.view_functions[e], held, org)
        for e in endpoints
    }


def walk(client: FlaskClient, urls: dict[str, str], lang: str) -> tuple[dict[str, int], list[str]]:
    """GET each page: its status, and the problems found in the HTML pages (see _page_problems)."""
    statuses: dict[str, int] = {}
    problems: list[str] = []
    for endpoint, url in urls.items():
        response = client.get(url)
        statuses[endpoint] = response.status_code
        assert response.status_code < 500, f"{url}: {response.status_code}"
        if response.mimetype != "text/html":
            assert endpoint in NON_HTML_PAGES, endpoint
            continue
        page = body(response)
        if response.status_code != 302:
            assert f'<html lang="{lang}">' in page, url
            _assert_csp(response)
        problems += [f"{url}: {p}" for p in _page_problems(page)]
    return statuses, problems


def unexpected(statuses: dict[str, int], expected: dict[str, int]) -> dict[str, str]:
    return {e: f"answers {s}, expected {expected[e]}" for e, s in statuses.items() if s != expected[e]}


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize("role", [Role.RSSI, Role.ADMIN])
def test_every_page_renders_without_third_party_resources_or_inline_script(
    app: Flask, world: World, login_as: Any, role: Role, lang: str
) -> None:
    client: FlaskClient = login_as(world.a.users[role])
    switched = client.post("/language", data={"lang": lang, "next": "/organisations/"})
    assert switched.status_code == 302
    assert switched.location == "/organisations/"

    urls = _page_urls(app, world)
    assert {"accounts.organisation_edit", "catalogue.application_detail", "accounts.user_detail"} <= set(urls)
    statuses, problems = walk(client, urls, lang)
    assert problems == []
    expected = expected_statuses(app, world, role, urls)
    assert 403 in expected.values()  # the declarations are read: each role is refused some page
    assert unexpected(statuses, expected) == {}


def test_not_200_holds_only_what_the_declarations_do_not_say(app: Flask, world: World) -> None:
    """Each line of NOT_200 is a walked page's own behaviour, with its reason: never what the views'
    declarations already give (a plain permission 403 is derived, never listed)."""
    walked = {rule.endpoint for rule in _get_rules(app)}
    org = world.a.syndicate
    for role, exceptions in NOT_200.items():
        held = permissions_held(app, world.a.users[role], org)
        for endpoint, (status, why) in exceptions.items():
            assert endpoint in walked, f"{endpoint}: no page of that name is walked"
            assert status != 200, endpoint
            assert why.strip(), endpoint
            declared = declared_status(app.view_functions[endpoint], held, org)
            assert declared == 200, f"{role} {endpoint}: its declarations already say {declared}"


def test_english_pages_are_translated(world: World, login_as: Any) -> None:
    client = login_as(world.a.users[Role.RSSI])
    client.post("/language", data={"lang": "en"})
    page = body(client.get("/organisations/"))
    assert '<html lang="en">' in page
    assert "Se déconnecter" not in page
    assert ">Français</button>" in page


def test_anonymous_pages_load_nothing_from_elsewhere(app: Flask) -> None:
    client = app.test_client()
    for lang in ("fr", "en"):
        client.post("/language", data={"lang": lang})
        for url in ("/login", "/no-such-page"):
            response = client.get(url)
            assert f'<html lang="{lang}">' in body(response)
            assert _page_problems(body(response)) == []


def test_page_checks_catch_what_they_look_for() -> None:
    # The walker above passes only if these detectors work.
    bad = {
        '<script src="https://cdn.example.org/x.js"></script>': "third-party URL",
        '<link href="//fonts.example.org/css">': "third-party URL",
        '<form action="http://evil.example/post">': "third-party URL",
        "<script>alert(1)</script>": "inline script",
        '<button onclick="go()">': "inline event handler",
        '<div style="color:red">': "inline style",
        '<a href="javascript:void(0)">': "javascript: URL",
        '<title>Mon compte<section class="mt-4"> · Égide</title>': "markup in the title",
    }
    for snippet, kind in bad.items():
        found = _page_problems(snippet)
        assert found, snippet
        assert found[0].startswith(kind), snippet
    ok = '<script src="/static/js/egide.js" nonce="n"></script><a href="/organisations/">x</a>'
    assert _page_problems(ok) == []
