"""Wrong second-factor codes count towards the account lockout (ASVS 2.2.1), as wrong passwords do.

The hole: after the password, any number of wrong TOTP codes could be tried (only the per-IP rate
limit applied), then the right one was accepted. Now TOTP and recovery codes share the failure
counter of passwords and its escalation (LOGIN_LOCK_AFTER failures → 1, 2, 4 … minutes); while the
account is locked no code is checked, the right one is refused with the lockout message and the
half-open session goes nowhere. A good second factor resets the counter; so does the administrator.
"""

from __future__ import annotations

import datetime as dt
import html
from typing import Any

import pyotp
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from accounts.models import RecoveryCode, User
from accounts.services import auth
from core.audit import AuditEvent
from core.db import utcnow
from core.extensions import db
from core.security import Role
from tests import factories as f
from tests.conftest import World, login, pass_second_factor

LOCKED = "Trop d'échecs : le compte est bloqué quelques minutes."
WRONG_CODE = "Code incorrect ou déjà utilisé."
LOGIN_ERROR = "Adresse ou mot de passe incorrect."


def _reload(session: Any, user: User) -> User:
    session.expire_all()
    return session.get(User, user.id)


def _wrong_code() -> str:
    """Six digits that are none of the codes accepted now (the current step and its neighbours)."""
    totp = pyotp.TOTP(f.TOTP_SECRET)
    step = totp.timecode(utcnow())
    accepted = {totp.generate_otp(s) for s in (step - 1, step, step + 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in accepted)


def _code(client: FlaskClient, code: str) -> tuple[int, str]:
    response = client.post("/login/second-factor", data={"code": code})
    return response.status_code, html.unescape(response.get_data(as_text=True))


def _half_open(client: FlaskClient) -> bool:
    return client.get("/").location == "/login/second-factor"


def _lock_minutes(session: Any, user: User) -> int | None:
    stored = _reload(session, user)
    if stored.locked_until is None or stored.locked_until <= utcnow():
        return None
    return round((stored.locked_until - utcnow()).total_seconds() / 60)


def _mfa_failures(session: Any, user: User) -> int:
    return session.scalar(
        select(func.count(AuditEvent.id)).where(
            AuditEvent.action == "mfa.failure", AuditEvent.actor_id == user.id
        )
    )


def test_wrong_codes_lock_the_account_and_the_right_code_is_then_refused(
    app: Flask, world: World, session: Any
) -> None:
    user = world.a.users[Role.DPO]
    limit = app.config["LOGIN_LOCK_AFTER"]
    client = app.test_client()
    assert login(client, user).location == "/login/second-factor"

    for attempt in range(1, limit + 1):
        status, page = _code(client, _wrong_code())
        assert status == 200
        assert (LOCKED in page) is (attempt == limit), attempt  # the last one locks, and says so
        assert (WRONG_CODE in page) is (attempt < limit), attempt
    assert _lock_minutes(session, user) == 1
    assert _reload(session, user).failed_login_count == limit

    assert pass_second_factor(client).status_code == 200  # the right code (and neighbours) refused
    status, page = _code(client, pyotp.TOTP(f.TOTP_SECRET).now())
    assert (status, LOCKED in page) == (200, True)
    assert _half_open(client)
    assert _reload(session, user).totp_last_timecode is None  # the right code was not even checked
    assert _mfa_failures(session, user) == limit + 4  # every refusal is journalled, as before

    with time_machine.travel(utcnow() + dt.timedelta(minutes=2), tick=False):
        assert pass_second_factor(client).status_code == 302  # the same half-open session goes on
        assert client.get("/").status_code == 200
        stored = _reload(session, user)
        assert (stored.failed_login_count, stored.locked_until) == (0, None)  # a good factor resets


def test_the_right_password_is_refused_too_while_codes_have_locked_the_account(
    app: Flask, world: World, session: Any
) -> None:
    user = world.a.users[Role.RSSI]
    client = app.test_client()
    login(client, user)
    for _ in range(app.config["LOGIN_LOCK_AFTER"]):
        _code(client, _wrong_code())
    other = app.test_client()
    refused = login(other, user)
    assert refused.status_code == 200
    assert LOGIN_ERROR in html.unescape(refused.get_data(as_text=True))


def test_logging_in_again_does_not_give_a_fresh_series_of_attempts(
    app: Flask, world: World, session: Any
) -> None:
    """The lock grows as for passwords: the right password alone does not reset the counter."""
    user = world.a.users[Role.DPO]
    limit = app.config["LOGIN_LOCK_AFTER"]
    login(app.test_client(), user)
    client = app.test_client()
    login(client, user)
    for _ in range(limit):
        _code(client, _wrong_code())
    assert _lock_minutes(session, user) == 1

    later = utcnow() + dt.timedelta(minutes=2)
    with time_machine.travel(later, tick=False):
        again = app.test_client()
        assert login(again, user).location == "/login/second-factor"  # lock over: password accepted
        assert _reload(session, user).failed_login_count == limit  # ... the count is still there
        status, page = _code(again, _wrong_code())
        assert (status, LOCKED in page) == (200, True)  # one more wrong code locks at once...
        assert _lock_minutes(session, user) == 2  # ... for twice as long
        assert pass_second_factor(again).status_code == 200
        assert _half_open(again)


def test_password_and_code_failures_count_together(app: Flask, world: World, session: Any) -> None:
    user = world.a.users[Role.RSSI]
    limit = app.config["LOGIN_LOCK_AFTER"]
    client = app.test_client()
    for _ in range(2):
        assert login(client, user, password="wrong password!").status_code == 200
    assert login(client, user).location == "/login/second-factor"
    assert _reload(session, user).failed_login_count == 2
    for attempt in range(3, limit + 1):
        _status, page = _code(client, _wrong_code())
        assert (LOCKED in page) is (attempt == limit), attempt
    assert _lock_minutes(session, user) == 1
    assert pass_second_factor(client).status_code == 200
    assert _half_open(client)


def test_a_good_second_factor_resets_the_counter(app: Flask, world: World, session: Any) -> None:
    user = world.a.users[Role.DPO]
    limit = app.config["LOGIN_LOCK_AFTER"]
    client = app.test_client()
    login(client, user)
    for _ in range(limit - 1):
        _code(client, _wrong_code())
    assert _reload(session, user).failed_login_count == limit - 1
    assert pass_second_factor(client).status_code == 302
    assert _reload(session, user).failed_login_count == 0

    with time_machine.travel(utcnow() + dt.timedelta(minutes=1), tick=False):
        fresh = app.test_client()
        login(fresh, user)
        status, page = _code(fresh, _wrong_code())
        assert (status, WRONG_CODE in page, LOCKED in page) == (200, True, False)
        assert pass_second_factor(fresh).status_code == 302


def test_wrong_recovery_codes_count_and_a_good_one_is_refused_while_locked(
    app: Flask, world: World, session: Any
) -> None:
    user = world.a.users[Role.RSSI]
    with app.test_request_context():
        codes = auth.regenerate_recovery_codes(db.session.get(User, user.id))
        db.session.commit()
    client = app.test_client()
    login(client, user)
    for _ in range(app.config["LOGIN_LOCK_AFTER"]):
        _code(client, "aaaaa-bbbbb-ccccc-ddddd-eeeee")  # the shape of a recovery code, not one of them
    assert _lock_minutes(session, user) == 1
    status, page = _code(client, codes[0])
    assert (status, LOCKED in page) == (200, True)
    assert _half_open(client)
    unused = select(func.count(RecoveryCode.id)).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
    )
    assert session.scalar(unused) == len(codes)  # not spent by the refused attempt

    with time_machine.travel(utcnow() + dt.timedelta(minutes=2), tick=False):
        assert client.post("/login/second-factor", data={"code": codes[0]}).status_code == 302
        assert session.scalar(unused) == len(codes) - 1


def test_the_administrator_unlock_clears_a_lock_made_by_codes(
    app: Flask, world: World, session: Any, login_as: Any
) -> None:
    user = world.a.users[Role.DPO]
    client = app.test_client()
    login(client, user)
    for _ in range(app.config["LOGIN_LOCK_AFTER"]):
        _code(client, _wrong_code())
    assert _lock_minutes(session, user) == 1

    admin = login_as(world.a.users[Role.ADMIN])
    page = html.unescape(admin.get(f"/admin/users/{user.id}").get_data(as_text=True))
    assert "Débloquer" in page
    assert admin.post(f"/admin/users/{user.id}/unlock").status_code == 302
    stored = _reload(session, user)
    assert (stored.failed_login_count, stored.locked_until) == (0, None)

    assert pass_second_factor(client).status_code == 302  # the waiting session goes on at once
    assert client.get("/").status_code == 200
