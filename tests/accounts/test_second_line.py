"""The second line of defence of accounts: the TOTP window stays at one step either side of now
(clock drift, nothing more), and a reset or invitation link stops working once its account is
disabled (the link was sent, then the account disabled: no password set, nobody logged in)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pyotp
import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from accounts.models import AuthToken, User, UserSession
from core.audit import AuditEvent
from core.db import utcnow
from core.mail import outbox
from core.security import Role
from tests import factories as f
from tests.conftest import World, login

STRONG = "ardoise-Cantal-fenêtre-1789-violon"
INVALID_LINK = "Ce lien n'est plus valable"
WRONG_CODE = "Code incorrect ou déjà utilisé."


def _reload(session: Any, user: User) -> User:
    session.expire_all()
    return session.get(User, user.id)


# --- the TOTP window ---------------------------------------------------------------------------


def _middle_of_a_step() -> dt.datetime:
    """A moment 15 s into a 30-second step: the step cannot change between two requests."""
    now = utcnow()
    return now.replace(second=15 if now.second < 30 else 45, microsecond=0)


def _code(step_offset: int) -> str:
    totp = pyotp.TOTP(f.TOTP_SECRET)
    return totp.generate_otp(totp.timecode(utcnow()) + step_offset)


def _second_factor(client: FlaskClient, code: str) -> Any:
    return client.post("/login/second-factor", data={"code": code})


def test_totp_codes_beyond_one_step_of_drift_are_refused(
    app: Flask, world: World, session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "LOGIN_LOCK_AFTER", 100)  # the window is tested, not the lockout
    user = world.a.users[Role.DPO]
    with time_machine.travel(_middle_of_a_step(), tick=False):
        client = app.test_client()
        assert login(client, user).location == "/login/second-factor"
        for offset in (-20, -3, -2, 2, 3, 20):  # a minute or more away: a stolen or replayed code
            response = _second_factor(client, _code(offset))
            assert response.status_code == 200, offset
            assert WRONG_CODE in response.get_data(as_text=True), offset
        assert client.get("/").location == "/login/second-factor"  # still half-open
        assert _reload(session, user).totp_last_timecode is None  # no step was accepted
        assert _reload(session, user).locked_until is None
        assert _second_factor(client, _code(-1)).status_code == 302  # 30 s of drift is fine
        assert client.get("/").status_code == 200


def test_totp_code_one_step_ahead_is_accepted(app: Flask, world: World) -> None:
    user = world.a.users[Role.DPO]
    with time_machine.travel(_middle_of_a_step(), tick=False):
        client = app.test_client()
        login(client, user)
        assert _second_factor(client, _code(3)).status_code == 200
        assert _second_factor(client, _code(1)).status_code == 302
        assert client.get("/").status_code == 200


# --- links of a disabled account ---------------------------------------------------------------


def _disable(admin: FlaskClient, user: User) -> None:
    page = admin.get(f"/admin/users/{user.id}/edit").get_data(as_text=True)
    version = re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)
    response = admin.post(
        f"/admin/users/{user.id}/edit",
        data={"full_name": user.full_name, "email": user.email, "version": version},  # box unticked
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def _link(path: str) -> str:
    return re.search(rf"http://localhost({path}/\S+)", outbox[-1].body).group(1)


def _session_count(session: Any, user: User) -> int:
    return session.scalar(select(func.count(UserSession.id)).where(UserSession.user_id == user.id))


def _assert_link_dead(app: Flask, link: str, user: User, session: Any) -> None:
    """The link gives the "no longer valid" page and sets nothing: no password, no session."""
    before = _reload(session, user).password_hash
    sessions = _session_count(session, user)
    mails = len(outbox)
    client = app.test_client()
    shown = client.get(link)
    assert shown.status_code == 404
    assert INVALID_LINK in shown.get_data(as_text=True)
    used = client.post(link, data={"new_password": STRONG, "confirm": STRONG})
    assert used.status_code == 404
    assert INVALID_LINK in used.get_data(as_text=True)
    stored = _reload(session, user)
    assert stored.password_hash == before
    assert stored.is_enabled is False
    assert (
        session.scalar(select(func.count(UserSession.id)).where(UserSession.user_id == user.id)) == sessions
    )
    assert client.get("/").location.startswith("/login")  # nobody logged in
    assert len(outbox) == mails  # no "password changed" message
    token = session.scalar(select(AuthToken).where(AuthToken.user_id == user.id, AuthToken.used_at.is_(None)))
    assert token is not None  # the link was not consumed either
    changed = session.scalar(
        select(func.count(AuditEvent.id)).where(
            AuditEvent.action.in_(("password.reset", "password.invitation"))
        )
    )
    assert changed == 0


def test_reset_link_of_an_account_disabled_after_it_was_sent_is_refused(
    app: Flask, world: World, login_as: Any, session: Any
) -> None:
    reader = world.a.users[Role.READER]
    assert app.test_client().post("/password/forgot", data={"email": reader.email}).status_code == 302
    link = _link("/password/reset")
    assert app.test_client().get(link).status_code == 200  # the link works while the account does
    _disable(login_as(world.a.users[Role.ADMIN]), reader)
    _assert_link_dead(app, link, reader, session)


def test_invitation_of_an_account_disabled_after_it_was_sent_is_refused(
    app: Flask, world: World, login_as: Any, session: Any
) -> None:
    newcomer = f.UserFactory(password_hash=None, totp_secret_enc=None, totp_enabled_at=None)
    f.MembershipFactory(user=newcomer, organisation=world.a.syndicate, role=Role.READER)
    session.flush()
    admin = login_as(world.a.users[Role.ADMIN])
    assert admin.post(f"/admin/users/{newcomer.id}/invite").status_code == 302
    link = _link("/invitation")
    assert app.test_client().get(link).status_code == 200
    _disable(admin, newcomer)
    _assert_link_dead(app, link, newcomer, session)
    assert _reload(session, newcomer).password_hash is None


def test_a_link_of_a_disabled_account_stays_dead_when_the_account_is_enabled_again(
    app: Flask, world: World, login_as: Any, session: Any
) -> None:
    reader = world.a.users[Role.READER]
    assert app.test_client().post("/password/forgot", data={"email": reader.email}).status_code == 302
    link = _link("/password/reset")
    admin = login_as(world.a.users[Role.ADMIN])
    _disable(admin, reader)
    page = admin.get(f"/admin/users/{reader.id}/edit").get_data(as_text=True)
    version = re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)
    response = admin.post(
        f"/admin/users/{reader.id}/edit",
        data={"full_name": reader.full_name, "email": reader.email, "is_enabled": "y", "version": version},
    )
    assert response.status_code == 302
    assert _reload(session, reader).is_enabled is True
    shown = app.test_client().get(link)
    assert shown.status_code == 404
    assert INVALID_LINK in shown.get_data(as_text=True)
