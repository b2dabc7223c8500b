"""A request that only reads writes nothing to the database.

Every GET page, walked as each role, anonymously and as a referent of a member organisation: no
INSERT, UPDATE or DELETE reaches the database while it is served. A write during a GET is the bug
behind the 500s seen under load on SQLite (the session's ``last_seen_at`` was flushed from the page's
transaction, which had already read: "database is locked" when another worker wrote in between).

The single documented exception is the server-side session's bookkeeping (accounts.services.auth.load_session:
``last_seen_at`` at most every five minutes, the revocation of a session found idle or too old). It is
written apart — once the page is built, in a transaction of its own that begins with that UPDATE, never
in the page's transaction — so it is excluded here by its table name; the tests below check it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import time_machine
from flask import Flask
from sqlalchemy import event, select

from accounts.models import UserSession
from accounts.services.auth import SESSION_TOUCH_INTERVAL
from core.db import utcnow
from core.extensions import db
from core.security import Role
from tests.conftest import World
from tests.core.test_pages import _page_urls

WRITE_RE = re.compile(r"^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\"?(\w+)\"?", re.IGNORECASE)
# The one exception, by table name: the session bookkeeping of accounts.services.auth (see the module
# docstring).
SESSION_BOOKKEEPING = "user_sessions"
# Downloads that journal what they hand out (the journal's CSV, the register, a PIA file) are POST
# actions, a button with its CSRF token: none is a GET, so none is excepted here. Were one to come back
# as a GET, the walk below would find its journal write.
JOURNALLED_DOWNLOADS = frozenset(
    {"journal.export", "registers.export_csv", "registers.export_xlsx", "registers.activity_pia_export"}
)


@contextmanager
def recorded_writes(app: Flask) -> Iterator[list[tuple[str, str]]]:
    """(table, statement) of every INSERT, UPDATE or DELETE sent to the database meanwhile."""
    with app.app_context():
        engine = db.engine
    writes: list[tuple[str, str]] = []

    def listener(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        match = WRITE_RE.match(statement)
        if match:
            writes.append((match.group(1).lower(), " ".join(statement.split())[:160]))

    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield writes
    finally:
        event.remove(engine, "before_cursor_execute", listener)


def _walk(app: Flask, client: Any, urls: dict[str, str]) -> dict[str, list[tuple[str, str]]]:
    """Every page of ``urls`` with GET: the writes each one made, session bookkeeping left out."""
    found = {}
    for endpoint, url in urls.items():
        with recorded_writes(app) as writes:
            response = client.get(url)
        assert response.status_code < 500, f"{url}: {response.status_code}"
        others = [w for w in writes if w[0] != SESSION_BOOKKEEPING]
        if others:
            found[endpoint] = others
    return found


@pytest.mark.parametrize("role", list(Role))
def test_no_get_page_writes_to_the_database_whatever_the_role(
    app: Flask, world: World, login_as: Any, role: Role
) -> None:
    urls = _page_urls(app, world)
    assert len(urls) > 50  # the walker sees the whole application
    client = login_as(world.a.users[role])
    assert _walk(app, client, urls) == {}


def test_no_get_page_writes_to_the_database_for_a_member_or_anonymously(
    app: Flask, world: World, login_as: Any
) -> None:
    urls = _page_urls(app, world)
    assert _walk(app, login_as(world.a.member_referent), urls) == {}
    assert _walk(app, app.test_client(), urls) == {}


def test_no_get_page_writes_with_automatic_anchoring_on(
    app: Flask, world: World, login_as: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = login_as(world.a.users[Role.RSSI])  # journalled, not anchored (TestConfig: no anchoring)
    monkeypatch.setitem(app.config, "AUDIT_AUTO_ANCHOR", True)  # production's setting
    monkeypatch.setitem(app.extensions, "egide_audit", {"next_sweep": 0.0})  # a sweep is due
    with recorded_writes(app) as writes:
        assert client.get("/").status_code == 200
    assert [w for w in writes if w[0] != SESSION_BOOKKEEPING] == []


def test_journalled_downloads_are_post_actions(app: Flask) -> None:
    methods = {rule.endpoint: rule.methods - {"OPTIONS"} for rule in app.url_map.iter_rules()}
    assert {endpoint: methods[endpoint] for endpoint in JOURNALLED_DOWNLOADS} == {
        endpoint: {"POST"} for endpoint in JOURNALLED_DOWNLOADS
    }


def test_the_walker_sees_a_write() -> None:
    # The walker above passes only if its pattern recognises writes.
    assert WRITE_RE.match('INSERT INTO "audit_events" (chain) VALUES (?)').group(1) == "audit_events"
    assert WRITE_RE.match("UPDATE user_sessions SET last_seen_at=?").group(1) == "user_sessions"
    assert WRITE_RE.match("  delete from memberships where id = 1").group(1) == "memberships"
    assert WRITE_RE.match("SELECT * FROM organisations") is None


# --- the one exception: the session's bookkeeping ---------------------------------------------------


def _session_of(session: Any, user: Any) -> UserSession:
    return session.scalars(
        select(UserSession)
        .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
        .order_by(UserSession.id.desc())
    ).first()


def test_last_seen_is_written_at_most_every_five_minutes(
    app: Flask, world: World, login_as: Any, session: Any
) -> None:
    user = world.a.users[Role.RSSI]
    client = login_as(user)
    row = _session_of(session, user)
    start = row.last_seen_at
    fresh = start + SESSION_TOUCH_INTERVAL - dt.timedelta(seconds=5)
    with recorded_writes(app) as writes, time_machine.travel(fresh, tick=False):
        assert client.get("/organisations/").status_code == 200
    assert writes == []  # not stale enough: nothing written at all
    later = start + SESSION_TOUCH_INTERVAL + dt.timedelta(seconds=5)
    with recorded_writes(app) as writes, time_machine.travel(later, tick=False):
        assert client.get("/organisations/").status_code == 200
        assert client.get("/").status_code == 200  # the next page: already fresh, nothing written
    assert [table for table, _sql in writes] == [SESSION_BOOKKEEPING]
    session.expire_all()
    assert _session_of(session, user).last_seen_at == later


def test_a_page_is_served_when_the_session_bookkeeping_cannot_be_written(
    app: Flask, world: World, login_as: Any, session: Any, caplog: pytest.LogCaptureFixture
) -> None:
    user = world.a.users[Role.RSSI]
    client = login_as(user)
    start = _session_of(session, user).last_seen_at
    with app.app_context():
        engine = db.engine

    def locked(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE USER_SESSIONS"):
            raise engine.dialect.dbapi.OperationalError("database is locked")

    event.listen(engine, "before_cursor_execute", locked)
    try:
        with time_machine.travel(start + dt.timedelta(minutes=10), tick=False):
            response = client.get("/organisations/")
    finally:
        event.remove(engine, "before_cursor_execute", locked)
    assert response.status_code == 200
    assert "bookkeeping not written" in caplog.text
    session.expire_all()
    assert _session_of(session, user).last_seen_at == start  # tried again at the next page


def test_an_idle_session_is_revoked_apart_and_the_page_asks_to_log_in(
    app: Flask, world: World, login_as: Any, session: Any
) -> None:
    user = world.a.users[Role.READER]
    client = login_as(user)
    row = _session_of(session, user)
    with time_machine.travel(utcnow() + dt.timedelta(minutes=31), tick=False):
        assert client.get("/organisations/").location.startswith("/login")
    session.expire_all()
    assert session.get(UserSession, row.id).revoked_reason == "idle"
