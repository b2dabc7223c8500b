"""Account security (OWASP ASVS 4.0.3 L2, V2/V3): MFA, lockout, sessions, resets, invitations."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pyotp
import pytest
import time_machine
from flask import Flask
from sqlalchemy import select

from accounts.models import AuthToken, RecoveryCode, User, UserSession
from accounts.services import auth
from core.db import utcnow
from core.extensions import db, limiter
from core.mail import outbox
from core.security import Role
from tests import factories as f
from tests.conftest import World, csrf_token_from, full_login, login, pass_second_factor

STRONG = "ardoise-Cantal-fenêtre-1789-violon"


def _unenrolled(role: Role, world: World, session: Any) -> User:
    user = f.UserFactory(totp_secret_enc=None, totp_enabled_at=None)
    f.MembershipFactory(user=user, organisation=world.a.syndicate, role=role)
    session.flush()
    return user


def _reload(session: Any, obj: Any) -> Any:
    session.expire_all()
    return session.get(type(obj), obj.id)


# --- second factor -----------------------------------------------------------------------------


def test_half_open_session_reaches_only_the_second_factor_pages(app: Flask, world: World) -> None:
    client = app.test_client()
    assert login(client, world.a.users[Role.RSSI]).location == "/login/second-factor"
    for url in ("/", "/organisations/", "/catalogue/", "/account/", "/admin/users/", "/registers/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.location == "/login/second-factor", url
    assert (
        client.post("/active-organisation", data={"organisation_id": world.a.syndicate.id}).status_code == 302
    )
    assert client.get("/login/second-factor").status_code == 200
    assert pass_second_factor(client).status_code == 302
    assert client.get("/organisations/").status_code == 200


def test_replayed_totp_code_is_refused(app: Flask, world: World) -> None:
    code = pyotp.TOTP(f.TOTP_SECRET).now()
    first = app.test_client()
    login(first, world.a.users[Role.DPO])
    assert first.post("/login/second-factor", data={"code": code}).status_code == 302
    second = app.test_client()
    login(second, world.a.users[Role.DPO])
    replay = second.post("/login/second-factor", data={"code": code})
    assert replay.status_code == 200
    assert "Code incorrect ou déjà utilisé." in replay.get_data(as_text=True)
    assert second.get("/").location == "/login/second-factor"


def test_wrong_or_malformed_code_is_refused(app: Flask, world: World) -> None:
    client = app.test_client()
    login(client, world.a.users[Role.DPO])
    for code in ("000000", "abcdef", "12345", "1" * 40):
        assert client.post("/login/second-factor", data={"code": code}).status_code == 200
    assert client.get("/").location == "/login/second-factor"


def test_mfa_is_mandatory_for_sensitive_roles_and_enrolment_works(
    app: Flask, world: World, session: Any
) -> None:
    user = _unenrolled(Role.AUDITOR, world, session)
    client = app.test_client()
    assert login(client, user).location == "/account/mfa/enrol"
    assert client.get("/organisations/").location == "/account/mfa/enrol"
    page = client.get("/account/mfa/enrol").get_data(as_text=True)
    assert "<svg" in page
    secret = re.search(r'id="totp-secret" data-secret="([A-Z2-7]+)"', page).group(1)
    stored = _reload(session, user)
    assert stored.totp_pending_secret_enc
    assert secret not in stored.totp_pending_secret_enc

    wrong = client.post("/account/mfa/enrol", data={"code": "000000"})
    assert wrong.status_code == 200
    assert "Code incorrect" in wrong.get_data(as_text=True)
    done = client.post("/account/mfa/enrol", data={"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200
    codes = re.findall(r"<li>([a-z2-7]{5}(?:-[a-z2-7]{5}){4})</li>", done.get_data(as_text=True))
    assert len(codes) == 10
    assert client.get("/organisations/").status_code == 200
    stored = _reload(session, user)
    assert stored.has_mfa
    assert secret not in (stored.totp_secret_enc or "")
    hashes = set(session.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)))
    assert len(hashes) == 10
    assert not any(c.replace("-", "") in h for c in codes for h in hashes)
    assert any("Double authentification activée" in m.subject for m in outbox if m.to == user.email)


def test_reader_without_mfa_logs_in_with_the_password_alone(app: Flask, world: World, session: Any) -> None:
    user = _unenrolled(Role.READER, world, session)
    client = app.test_client()
    assert login(client, user).location == "/"
    assert client.get("/organisations/").status_code == 200


def test_organisation_can_require_mfa_of_everybody(app: Flask, world: World, session: Any) -> None:
    user = _unenrolled(Role.READER, world, session)
    world.a.syndicate.mfa_required_for_all = True
    session.flush()
    assert login(app.test_client(), user).location == "/account/mfa/enrol"


def test_recovery_code_works_once(app: Flask, world: World) -> None:
    user = world.a.users[Role.RSSI]
    with app.test_request_context():  # popped before the client's requests (their own contexts)
        codes = auth.regenerate_recovery_codes(db.session.get(User, user.id))
        db.session.commit()
    first = app.test_client()
    login(first, user)
    assert first.post("/login/second-factor", data={"code": codes[0].upper()}).status_code == 302
    second = app.test_client()
    login(second, user)
    assert second.post("/login/second-factor", data={"code": codes[0]}).status_code == 200
    assert second.post("/login/second-factor", data={"code": codes[1]}).status_code == 302
    assert any("Code de secours utilisé" in m.subject for m in outbox)


def test_session_token_changes_after_the_second_factor(app: Flask, world: World, session: Any) -> None:
    client = app.test_client()
    login(client, world.a.users[Role.RSSI])
    before = set(session.scalars(select(UserSession.id).where(UserSession.revoked_at.is_(None))))
    pass_second_factor(client)
    session.expire_all()
    rows = list(
        session.scalars(select(UserSession).where(UserSession.user_id == world.a.users[Role.RSSI].id))
    )
    rotated = [r for r in rows if r.revoked_reason == "rotated"]
    live = [r for r in rows if r.revoked_at is None]
    assert len(rotated) == 1
    assert rotated[0].id in before
    assert len(live) == 1
    assert live[0].mfa_verified_at is not None


# --- lockout and rate limits -------------------------------------------------------------------


def test_locked_account_cannot_log_in_even_with_the_right_password(
    app: Flask, world: World, session: Any, login_as: Any
) -> None:
    user = world.a.users[Role.READER]
    client = app.test_client()
    for _ in range(app.config["LOGIN_LOCK_AFTER"]):
        login(client, user, password="wrong password!")
    stored = _reload(session, user)
    assert stored.locked_until is not None
    refused = login(app.test_client(), user)
    assert refused.status_code == 200  # same answer as a wrong password
    assert "Adresse ou mot de passe incorrect." in refused.get_data(as_text=True)

    with time_machine.travel(utcnow() + dt.timedelta(minutes=2), tick=False):
        assert full_login(app.test_client(), user).status_code == 302  # unlocked by time

    for _ in range(app.config["LOGIN_LOCK_AFTER"]):
        login(client, user, password="wrong password!")
    admin = login_as(world.a.users[Role.ADMIN])
    assert "Débloquer" in admin.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert admin.post(f"/admin/users/{user.id}/unlock").status_code == 302
    # (a later clock: the TOTP step used above cannot be replayed)
    with time_machine.travel(utcnow() + dt.timedelta(minutes=3), tick=False):
        assert full_login(app.test_client(), user).status_code == 302  # unlocked by an administrator


def test_lock_grows_with_repeated_failures(app: Flask, world: World, session: Any) -> None:
    user = world.a.users[Role.READER]
    client = app.test_client()
    durations = []
    for _ in range(app.config["LOGIN_LOCK_AFTER"] + 2):
        login(client, user, password="wrong password!")
        stored = _reload(session, user)
        if stored.locked_until:
            durations.append(round((stored.locked_until - utcnow()).total_seconds() / 60))
    assert durations == [1, 2, 4]


def test_rate_limit_is_reached_with_valid_csrf_tokens(
    app: Flask, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "3 per minute")
    limiter.reset()
    client = app.test_client()
    statuses = []
    for _ in range(4):
        token = csrf_token_from(client.get("/login").get_data(as_text=True))
        response = client.post(
            "/login", data={"email": "nobody@example.org", "password": "whatever!!", "csrf_token": token}
        )
        statuses.append(response.status_code)
    assert statuses == [200, 200, 200, 429]  # the first three were real attempts (valid tokens)
    assert "Trop de requêtes" in response.get_data(as_text=True)
    limiter.reset()


# --- sessions ----------------------------------------------------------------------------------


def test_logout_elsewhere_sends_the_other_session_to_the_login_page(
    app: Flask, world: World, login_as: Any
) -> None:
    user = world.a.users[Role.RSSI]
    laptop, phone = login_as(user), login_as(user)
    assert phone.get("/organisations/").status_code == 200
    page = laptop.get("/account/").get_data(as_text=True)
    assert page.count("Fermer</button>") == 1  # the other session, not this one
    assert laptop.post("/account/sessions/revoke-others").status_code == 302
    response = phone.get("/organisations/")
    assert response.status_code == 302
    assert response.location.startswith("/login")
    assert laptop.get("/organisations/").status_code == 200


def test_logout_revokes_the_server_side_session(app: Flask, world: World, login_as: Any) -> None:
    client = login_as(world.a.users[Role.RSSI])
    cookie = client.get_cookie("session").value
    assert client.post("/logout").status_code == 302
    stolen = app.test_client()
    stolen.set_cookie("session", cookie)  # a copy of the cookie taken before logout
    assert stolen.get("/organisations/").location.startswith("/login")


def test_one_cannot_revoke_somebody_elses_session(
    app: Flask, world: World, login_as: Any, session: Any
) -> None:
    login_as(world.b.users[Role.RSSI])
    theirs = session.scalar(
        select(UserSession).where(
            UserSession.user_id == world.b.users[Role.RSSI].id, UserSession.revoked_at.is_(None)
        )
    )
    me = login_as(world.a.users[Role.RSSI])
    assert me.post(f"/account/sessions/{theirs.id}/revoke").status_code == 404
    assert _reload(session, theirs).revoked_at is None


def test_idle_and_absolute_timeouts(app: Flask, world: World, login_as: Any) -> None:
    client = login_as(world.a.users[Role.RSSI])
    with time_machine.travel(utcnow() + dt.timedelta(minutes=31), tick=False):
        assert client.get("/organisations/").location.startswith("/login")
    busy = login_as(world.a.users[Role.DPO])
    start = utcnow()
    for minutes in range(20, 12 * 60, 20):  # active every 20 minutes …
        with time_machine.travel(start + dt.timedelta(minutes=minutes), tick=False):
            assert busy.get("/").status_code == 200
    with time_machine.travel(start + dt.timedelta(hours=12, minutes=5), tick=False):
        assert busy.get("/").location.startswith("/login")  # … but not beyond 12 hours


def test_disabling_an_account_logs_it_out_everywhere(
    app: Flask, world: World, login_as: Any, session: Any
) -> None:
    reader = world.a.users[Role.READER]
    client = login_as(reader)
    admin = login_as(world.a.users[Role.ADMIN])
    page = admin.get(f"/admin/users/{reader.id}/edit").get_data(as_text=True)
    version = re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)
    response = admin.post(
        f"/admin/users/{reader.id}/edit",
        data={"full_name": reader.full_name, "email": reader.email, "version": version},
    )
    assert response.status_code == 302
    assert client.get("/").location.startswith("/login")
    live = session.scalars(
        select(UserSession).where(UserSession.user_id == reader.id, UserSession.revoked_at.is_(None))
    )
    assert list(live) == []


# --- passwords ---------------------------------------------------------------------------------


def test_password_change_applies_the_policy_and_revokes_the_other_sessions(
    app: Flask, world: World, login_as: Any
) -> None:
    user = world.a.users[Role.RSSI]
    here, there = login_as(user), login_as(user)
    common = here.post(
        "/account/password",
        data={"current_password": f.PASSWORD, "new_password": "motdepasse2024", "confirm": "motdepasse2024"},
    )
    assert common.status_code == 422
    wrong = here.post(
        "/account/password", data={"current_password": "nope", "new_password": STRONG, "confirm": STRONG}
    )
    assert "Mot de passe actuel incorrect." in wrong.get_data(as_text=True)
    done = here.post(
        "/account/password", data={"current_password": f.PASSWORD, "new_password": STRONG, "confirm": STRONG}
    )
    assert done.status_code == 302
    assert here.get("/account/").status_code == 200  # this session stays
    assert there.get("/account/").location.startswith("/login")  # the other one is closed
    assert any(m.to == user.email and "Mot de passe modifié" in m.subject for m in outbox)
    with time_machine.travel(utcnow() + dt.timedelta(minutes=1), tick=False):  # next TOTP step
        assert full_login(app.test_client(), user, STRONG).status_code == 302


def test_forgotten_password_gives_the_same_answer_and_a_single_use_link(
    app: Flask, world: World, session: Any
) -> None:
    user = world.a.users[Role.READER]
    client = app.test_client()
    known = client.post("/password/forgot", data={"email": user.email.upper()})
    unknown = client.post("/password/forgot", data={"email": "personne@example.org"})
    assert known.status_code == unknown.status_code == 302
    assert known.location == unknown.location == "/login"
    assert [m.to for m in outbox] == [user.email]
    link = re.search(r"http://localhost(/password/reset/\S+)", outbox[0].body).group(1)
    raw = link.rsplit("/", 1)[1]
    assert session.scalar(select(AuthToken.token_hash)) != raw  # stored hashed

    assert client.get(link).status_code == 200
    weak = client.post(link, data={"new_password": "azertyuiop12", "confirm": "azertyuiop12"})
    assert weak.status_code == 422
    assert client.post(link, data={"new_password": STRONG, "confirm": STRONG}).status_code == 302
    assert client.get(link).status_code == 404  # used once
    assert full_login(app.test_client(), user, STRONG).status_code == 302


def test_expired_or_replaced_reset_link_is_refused(app: Flask, world: World) -> None:
    user = world.a.users[Role.READER]
    client = app.test_client()
    client.post("/password/forgot", data={"email": user.email})
    first = re.search(r"http://localhost(/password/reset/\S+)", outbox[-1].body).group(1)
    client.post("/password/forgot", data={"email": user.email})
    second = re.search(r"http://localhost(/password/reset/\S+)", outbox[-1].body).group(1)
    assert client.get(first).status_code == 404  # replaced by the newer link
    later = utcnow() + dt.timedelta(hours=app.config["RESET_TOKEN_HOURS"], minutes=1)
    with time_machine.travel(later, tick=False):
        expired = client.post(second, data={"new_password": STRONG, "confirm": STRONG})
        assert expired.status_code == 404
        assert "n'est plus valable" in expired.get_data(as_text=True)
    assert client.get("/password/reset/forged-token").status_code == 404


def test_admin_resets_a_lost_second_factor(app: Flask, world: World, login_as: Any, session: Any) -> None:
    rssi = world.a.users[Role.RSSI]
    phone = login_as(rssi)
    admin = login_as(world.a.users[Role.ADMIN])
    assert admin.post(f"/admin/users/{rssi.id}/mfa-reset").status_code == 302
    assert phone.get("/").location.startswith("/login")  # sessions closed
    assert not _reload(session, rssi).has_mfa
    assert login(app.test_client(), rssi).location == "/account/mfa/enrol"


def test_security_headers_on_authenticated_pages(world: World, login_as: Any) -> None:
    response = login_as(world.a.users[Role.RSSI]).get("/account/")
    assert response.headers["Cache-Control"] == "no-store"
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_strength_meter_scores_on_the_server(app: Flask) -> None:
    client = app.test_client()
    weak = client.post("/password/strength", data={"new_password": "azerty"}).get_data(as_text=True)
    strong = client.post("/password/strength", data={"new_password": STRONG}).get_data(as_text=True)
    assert 'id="password-meter"' in weak
    assert 'aria-valuenow="0"' in weak or 'aria-valuenow="1"' in weak
    assert 'aria-valuenow="4"' in strong or 'aria-valuenow="3"' in strong
