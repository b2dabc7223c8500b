"""The page frame (header and menu) is rendered once per worker for each key (core/layout.py): what
it shows must never be another request's — another user's name, an old organisation name, a menu of
permissions since revoked, another session's CSRF token or an unescaped URL."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from flask import Flask, render_template_string

from core import layout
from core.security import Role
from tests.conftest import World, csrf_token_from


def _header(page: str) -> str:
    return page.split("</header>")[0]


def test_two_users_never_share_a_header(world: World, login_as: Any) -> None:
    dpo, rssi = world.a.users[Role.DPO], world.a.users[Role.RSSI]
    first = _header(login_as(dpo, world.a.syndicate).get("/").get_data(as_text=True))
    second = _header(login_as(rssi, world.a.syndicate).get("/").get_data(as_text=True))
    assert dpo.full_name in first
    assert rssi.full_name not in first
    assert rssi.full_name in second
    assert dpo.full_name not in second


def test_each_session_gets_its_own_csrf_token_in_the_cached_header(world: World, login_as: Any) -> None:
    dpo = world.a.users[Role.DPO]
    one, two = login_as(dpo, world.a.syndicate), login_as(dpo, world.a.syndicate)
    token_one = csrf_token_from(one.get("/").get_data(as_text=True))
    token_two = csrf_token_from(two.get("/").get_data(as_text=True))
    assert token_one != token_two
    # The token the cached header carries is the session's own: logging out with it works.
    response = one.post("/logout", data={"csrf_token": token_one})
    assert response.status_code == 302
    assert two.get("/").status_code == 200  # the other session is still logged in


def test_a_renamed_organisation_shows_at_the_next_request(world: World, login_as: Any, session: Any) -> None:
    client = login_as(world.a.users[Role.DPO], world.a.syndicate)
    assert "Syndicat A" in _header(client.get("/").get_data(as_text=True))
    world.a.syndicate.name = "Syndicat renommé"
    session.flush()
    header = _header(client.get("/").get_data(as_text=True))
    assert "Syndicat renommé" in header
    assert "Syndicat A" not in header


def test_a_revoked_role_leaves_the_menu_at_the_next_request(
    world: World, login_as: Any, session: Any
) -> None:
    from accounts.models import Membership  # noqa: PLC0415

    dpo = world.a.users[Role.DPO]
    extra = Membership(user=dpo, organisation=world.a.syndicate, role=Role.ADMIN)
    session.add(extra)
    session.flush()
    client = login_as(dpo, world.a.syndicate)
    assert 'href="/admin/users/"' in client.get("/").get_data(as_text=True)
    extra.revoked_at = extra.created_at
    session.flush()
    assert 'href="/admin/users/"' not in client.get("/").get_data(as_text=True)


def test_the_current_url_is_escaped_into_the_cached_header(world: World, login_as: Any) -> None:
    client = login_as(world.a.users[Role.DPO], world.a.syndicate)
    page = client.get('/?q="><script>alert(1)</script>').get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&#34;&gt;&lt;script&gt;" in page  # in the language switch's "next" field, escaped


def test_the_menu_marks_the_page_it_is_on(world: World, login_as: Any) -> None:
    client = login_as(world.a.users[Role.DPO], world.a.syndicate)
    on_register = client.get("/registers/activities/").get_data(as_text=True)
    on_catalogue = client.get("/catalogue/").get_data(as_text=True)
    assert 'aria-current="page" href="/registers/activities/"' in on_register
    assert 'aria-current="page" href="/catalogue/"' in on_catalogue
    assert 'aria-current="page" href="/registers/activities/"' not in on_catalogue


def test_the_second_request_draws_no_frame(world: World, login_as: Any, app: Flask) -> None:
    client = login_as(world.a.users[Role.DPO], world.a.syndicate)
    client.get("/catalogue/")
    cache = app.extensions["egide_frame_cache"]
    before = (cache.hits, cache.misses)
    client.get("/catalogue/")
    assert cache.misses == before[1]  # header and menu both found in the cache
    assert cache.hits == before[0] + 2


@pytest.mark.parametrize("name", ["request", "current_user", "current_org", "g", "session", "csrf_token"])
def test_a_frame_template_reading_outside_its_key_fails_loudly(app_ctx: Flask, name: str) -> None:
    with pytest.raises(RuntimeError, match="cached frame template"):
        render_template_string("{{ " + name + ".anything }}", **layout._OUTSIDE)
    with pytest.raises(RuntimeError, match="cached frame template"):
        render_template_string("{% if " + name + " %}x{% endif %}", **layout._OUTSIDE)


def test_the_cache_keeps_a_bounded_number_of_frames() -> None:
    cache = layout.FrameCache(size=3)
    for i in range(10):
        cache.get_or_render(i, lambda i=i: f"frame {i}")
    assert cache.get_or_render(9, lambda: "drawn again") == "frame 9"
    assert cache.get_or_render(0, lambda: "drawn again") == "drawn again"
    assert len(cache._items) == 3


def test_no_async_teardown_runs_at_the_end_of_each_request(app: Flask) -> None:
    # Flask-SQLAlchemy-Lite's async-session teardown cost an event loop per request (core/__init__.py).
    assert app.teardown_appcontext_funcs
    assert not [f for f in app.teardown_appcontext_funcs if inspect.iscoroutinefunction(f)]
