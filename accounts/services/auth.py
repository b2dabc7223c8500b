"""Authentication services: server-side sessions, login with lockout, TOTP MFA with recovery codes,
password changes, password-reset and invitation links.

Secrets never leave this module in clear except to the person they belong to: session tokens,
recovery codes and link tokens are stored as SHA-256 hashes (they are long random values, so a fast
hash is right), TOTP secrets are encrypted with core.crypto, passwords hashed with argon2id.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pyotp
import segno
from flask import after_this_request, current_app, g, request, session, url_for
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError

from accounts.models import AuthToken, RecoveryCode, TokenPurpose, User, UserSession, load_frame
from accounts.services.passwords import hash_password, needs_rehash, verify_password
from core import audit, crypto
from core.db import utcnow
from core.extensions import db
from core.forms import FieldError
from core.mail import send_mail
from core.tenancy import SESSION_KEY, UNSCOPED

logger = logging.getLogger(__name__)

RECOVERY_CODES = 10
TOTP_ISSUER = "Égide"


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _client() -> tuple[str | None, str | None]:
    if not request:
        return None, None
    return request.remote_addr, (request.user_agent.string or "")[:300]


# --- sessions ----------------------------------------------------------------------------------


def start_session(user: User, *, mfa_verified: bool = False) -> UserSession:
    """A new server-side session (a fresh token at every login and after MFA: ASVS 3.2.1)."""
    raw = secrets.token_urlsafe(32)
    ip, agent = _client()
    row = UserSession(
        token_hash=token_hash(raw),
        user_id=user.id,
        ip=ip,
        user_agent=agent,
        mfa_verified_at=utcnow() if mfa_verified else None,
    )
    db.session.add(row)
    db.session.flush()
    user.session_token = raw  # type: ignore[attr-defined] — read by User.get_id for Flask-Login
    g.user_session = row
    return row


def rotate_session(row: UserSession, *, mfa_verified: bool) -> UserSession:
    row.revoke("rotated")
    return start_session(row.user, mfa_verified=mfa_verified or row.mfa_verified_at is not None)


# How stale ``last_seen_at`` may get: a session is written to at most this often, not on each page. The
# idle timeout is checked against it, so a session left alone ends between SESSION_IDLE_MINUTES minus
# this and SESSION_IDLE_MINUTES after its last page: never later than the setting says.
SESSION_TOUCH_INTERVAL = timedelta(minutes=5)


def _active_org_id() -> int | None:
    """The active organisation the signed cookie names (core.tenancy checks the user holds it)."""
    value = session.get(SESSION_KEY)
    return value if type(value) is int else None


def load_session(raw: str) -> User | None:
    """Flask-Login's user loader: the user of a live session, or None (then the login page).

    A page that only reads writes nothing of its own (tests/core/test_read_only_requests.py). The one
    exception is this bookkeeping of the server-side session — ``last_seen_at``, moved forward at
    most every :data:`SESSION_TOUCH_INTERVAL`, and the revocation of a session found idle or too old
    — and it is kept out of the page's own transaction: see :func:`_write_session_row`.
    """
    # The session row, its user and the user's roles in the organisation the cookie names, at once
    # (core.tenancy reads the roles through User.roles_in).
    row = load_frame(token_hash(raw), _active_org_id())
    if row is None or row.is_revoked or not row.user.is_enabled:
        return None
    now = utcnow()
    cfg = current_app.config
    if now - row.last_seen_at > timedelta(minutes=cfg["SESSION_IDLE_MINUTES"]):
        _expire(row, "idle", now)
        return None
    if now - row.created_at > timedelta(hours=cfg["SESSION_ABSOLUTE_HOURS"]):
        _expire(row, "expired", now)
        return None
    if now - row.last_seen_at >= SESSION_TOUCH_INTERVAL:
        _write_session_row(
            row,
            {"last_seen_at": now},
            # Several pages of one session at once: the first one moves it, the others write nothing.
            UserSession.last_seen_at <= now - SESSION_TOUCH_INTERVAL,
        )
    row.user.session_token = raw  # type: ignore[attr-defined]
    g.user_session = row
    return row.user


def _expire(row: UserSession, reason: str, now: datetime) -> None:
    _write_session_row(row, {"revoked_at": now, "revoked_reason": reason}, UserSession.revoked_at.is_(None))


def _write_session_row(row: UserSession, values: dict[str, Any], *condition: Any) -> None:
    """Write the loader's bookkeeping of a session once the page is built, in a transaction of its
    own that begins with this one UPDATE; it never fails the request.

    The page's own transaction is over by then (committed by a view that wrote; what a view left
    uncommitted is dropped, as at the end of every request). So a page that only read never wrote in
    its transaction, and was never refused a lock for it; the UPDATE is a short write that waits for
    another writer (SQLite's busy timeout, a row lock on PostgreSQL) rather than failing. If it fails
    all the same, the page is served and the next one tries again (a warning in the log).
    """
    stmt = (
        update(UserSession.__table__)
        .where(UserSession.id == row.id, *condition)
        .values(**values)
        .execution_options(**UNSCOPED)  # unscoped: user_sessions is not a tenant's table
    )

    @after_this_request
    def _write_after_the_page(response: Any) -> Any:
        try:
            db.session.rollback()  # the page's transaction ends here (a view that wrote committed)
            db.session.execute(stmt)
            db.session.commit()
        except SQLAlchemyError:
            db.session.rollback()
            logger.warning("session %s: bookkeeping not written, the page goes on", row.id, exc_info=True)
        return response


def current_session() -> UserSession | None:
    return g.get("user_session")


def revoke_session(row: UserSession, actor: User, reason: str = "logout") -> None:
    row.revoke(reason)
    db.session.flush()
    audit.record(None, actor, f"session.revoke.{reason}", row.user, {"session_id": (row.id, None)})


def revoke_all_sessions(user: User, reason: str, *, keep: UserSession | None = None) -> int:
    rows = db.session.scalars(
        select(UserSession).where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
    )
    count = 0
    for row in rows:
        if keep is None or row.id != keep.id:
            row.revoke(reason)
            count += 1
    db.session.flush()
    return count


def active_sessions(user: User) -> list[UserSession]:
    stmt = (
        select(UserSession)
        .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
        .order_by(UserSession.last_seen_at.desc())
    )
    now, idle = utcnow(), timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])
    return [row for row in db.session.scalars(stmt) if now - row.last_seen_at <= idle]


def get_own_session(user: User, session_id: int) -> UserSession | None:
    return db.session.scalar(
        select(UserSession).where(UserSession.id == session_id, UserSession.user_id == user.id)
    )


# --- login and lockout -------------------------------------------------------------------------


def authenticate(email: str, password: str) -> User | None:
    """The user if the password is right, the account enabled and not locked; otherwise None, with
    the same answer whatever the reason (no account enumeration). Failures lock the account for
    1, 2, 4 … minutes after LOGIN_LOCK_AFTER consecutive failures (at most LOGIN_LOCK_MAX_MINUTES).

    Wrong second-factor codes count in the same counter (:func:`verify_second_factor`): for an
    account with a second factor the right password alone does not reset it, the second factor
    does; otherwise logging in again would give a code guesser a fresh series of attempts."""
    now = utcnow()
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    ok = verify_password(user.password_hash if user else None, password)
    if user is None:
        audit.record(None, None, "login.failure", User(), {"reason": (None, "unknown account")})
        return None
    if not ok or not user.is_enabled or user.is_locked(now):
        _record_failure(user, now, locked=user.is_locked(now), right_password=ok)
        return None
    values: dict[str, Any] = {"last_login_at": now}
    if not user.has_mfa:
        values |= {"failed_login_count": 0, "locked_until": None}
    if user.password_hash and needs_rehash(user.password_hash):
        values["password_hash"] = hash_password(password)
    # Bookkeeping, not an edit: no version bump, so an administrator's open form stays valid.
    _update_user_quietly(user, values)
    audit.record(None, user, "login.success", user, {})
    return user


def _record_failure(user: User, now: datetime, *, locked: bool, right_password: bool) -> None:
    count = user.failed_login_count or 0
    if not right_password:
        count = _count_failure(user, now)
    reason = "locked" if locked else ("disabled" if not user.is_enabled else "bad password")
    audit.record(None, user, "login.failure", user, {"reason": (None, reason), "failures": (None, count)})


def _count_failure(user: User, now: datetime) -> int:
    """One more failure (a wrong password or second-factor code); from LOGIN_LOCK_AFTER on, each one
    locks the account for 1, 2, 4 … minutes (at most LOGIN_LOCK_MAX_MINUTES). The new count."""
    cfg = current_app.config
    count = (user.failed_login_count or 0) + 1
    values: dict[str, Any] = {"failed_login_count": count}
    if count >= cfg["LOGIN_LOCK_AFTER"]:
        minutes = min(2 ** (count - cfg["LOGIN_LOCK_AFTER"]), cfg["LOGIN_LOCK_MAX_MINUTES"])
        values["locked_until"] = now + timedelta(minutes=minutes)
    _update_user_quietly(user, values)
    return count


def _update_user_quietly(user: User, values: dict[str, Any]) -> None:
    db.session.execute(
        update(User).where(User.id == user.id).values(**values).execution_options(synchronize_session="fetch")
    )


def unlock(user: User, actor: User) -> None:
    _update_user_quietly(user, {"failed_login_count": 0, "locked_until": None})
    audit.record(None, actor, "user.unlock", user, {"locked_until": (None, None)})


# --- TOTP --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Enrolment:
    secret: str
    uri: str
    qr_svg: str


def begin_enrolment(user: User) -> Enrolment:
    """A new secret, kept encrypted on the account until the first code confirms it."""
    secret = pyotp.random_base32()
    user.totp_pending_secret_enc = crypto.encrypt(secret)
    _update_user_quietly(user, {"totp_pending_secret_enc": user.totp_pending_secret_enc})
    return enrolment_for(user, secret)


def pending_enrolment(user: User) -> Enrolment | None:
    if not user.totp_pending_secret_enc:
        return None
    return enrolment_for(user, crypto.decrypt(user.totp_pending_secret_enc))


def enrolment_for(user: User, secret: str) -> Enrolment:
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=TOTP_ISSUER)
    qr = segno.make(uri, error="m").svg_inline(scale=4, title=_("QR code d'enrôlement"))
    return Enrolment(secret=secret, uri=uri, qr_svg=qr)


def _matching_timecode(secret: str, code: str, last: int | None) -> int | None:
    """The time step the code belongs to (now ±1 step), if it is newer than the last one accepted:
    a code is good once (ASVS 2.8.4), even within its 30-second window."""
    code = "".join(code.split())
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    now_step = totp.timecode(utcnow())
    for step in (now_step - 1, now_step, now_step + 1):
        if hmac.compare_digest(totp.generate_otp(step), code) and (last is None or step > last):
            return step
    return None


def confirm_enrolment(user: User, code: str) -> list[str]:
    enrolment = pending_enrolment(user)
    if enrolment is None:
        raise FieldError("code", _("L'enrôlement a expiré : recommencez."))
    step = _matching_timecode(enrolment.secret, code, None)
    if step is None:
        audit.record(None, user, "mfa.enrol.failure", user, {})
        raise FieldError(
            "code", _("Code incorrect. Vérifiez l'heure de votre téléphone et saisissez le code affiché.")
        )
    _update_user_quietly(
        user,
        {
            "totp_secret_enc": user.totp_pending_secret_enc,
            "totp_pending_secret_enc": None,
            "totp_enabled_at": utcnow(),
            "totp_last_timecode": step,
        },
    )
    codes = _new_recovery_codes(user)
    audit.record(None, user, "mfa.enrol", user, {"totp_enabled": (False, True)})
    notify(
        user,
        _("Double authentification activée"),
        _("La double authentification a été activée sur votre compte Égide."),
    )
    return codes


def _new_recovery_codes(user: User) -> list[str]:
    now = utcnow()
    db.session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        .values(used_at=now)
    )
    codes = []
    for _i in range(RECOVERY_CODES):
        # 25 base32 characters = 125 bits (ASVS 2.6.2 asks for at least 112), in groups of five.
        raw = base64.b32encode(secrets.token_bytes(16)).decode().lower()[:25]
        raw = "-".join(raw[i : i + 5] for i in range(0, 25, 5))
        codes.append(raw)
        db.session.add(RecoveryCode(user_id=user.id, code_hash=token_hash(_normalise_code(raw))))
    db.session.flush()
    return codes


def _normalise_code(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def regenerate_recovery_codes(user: User) -> list[str]:
    codes = _new_recovery_codes(user)
    audit.record(None, user, "mfa.recovery_codes.regenerate", user, {})
    notify(
        user,
        _("Nouveaux codes de secours"),
        _(
            "De nouveaux codes de secours ont été générés pour votre compte Égide ; les anciens ne "
            "fonctionnent plus."
        ),
    )
    return codes


class SecondFactorLocked(FieldError):
    """The account is locked (too many wrong passwords or codes): no code is even checked."""

    def __init__(self) -> None:
        super().__init__(
            "code",
            _(
                "Trop d'échecs : le compte est bloqué quelques minutes. Réessayez plus tard, ou "
                "demandez à l'administrateur de la plateforme de le débloquer."
            ),
        )


def verify_second_factor(user: User, code: str) -> bool:
    """A TOTP code (not replayed) or an unused recovery code.

    Wrong codes count towards the account lockout, in the counter of wrong passwords
    (:func:`_count_failure`): the code that locks the account, and any code while it is locked (not
    even checked: the right one fails too), raise :class:`SecondFactorLocked`. A good code resets
    the counter."""
    now = utcnow()
    if user.is_locked(now):
        audit.record(None, user, "mfa.failure", user, {"reason": (None, "locked")})
        raise SecondFactorLocked
    if _second_factor_matches(user, code):
        _update_user_quietly(user, {"failed_login_count": 0, "locked_until": None})
        return True
    audit.record(None, user, "mfa.failure", user, {})
    _count_failure(user, now)
    if user.is_locked(now):
        raise SecondFactorLocked
    return False


def _second_factor_matches(user: User, code: str) -> bool:
    if user.totp_secret_enc:
        step = _matching_timecode(crypto.decrypt(user.totp_secret_enc), code, user.totp_last_timecode)
        if step is not None:
            _update_user_quietly(user, {"totp_last_timecode": step})
            audit.record(None, user, "mfa.success", user, {"method": (None, "totp")})
            return True
    normalised = _normalise_code(code)
    if len(normalised) == 25:
        row = db.session.scalar(
            select(RecoveryCode).where(
                RecoveryCode.user_id == user.id,
                RecoveryCode.code_hash == token_hash(normalised),
                RecoveryCode.used_at.is_(None),
            )
        )
        if row is not None:
            row.used_at = utcnow()
            db.session.flush()
            audit.record(None, user, "mfa.success", user, {"method": (None, "recovery code")})
            notify(
                user,
                _("Code de secours utilisé"),
                _(
                    "Un code de secours a été utilisé pour vous connecter à Égide. Si ce n'était pas vous, "
                    "prévenez votre RSSI."
                ),
            )
            return True
    return False


def remaining_recovery_codes(user: User) -> int:
    rows = db.session.scalars(
        select(RecoveryCode.id).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )
    return len(list(rows))


def reset_mfa(user: User, actor: User) -> None:
    """Administrator's action when a phone is lost (identity checked out of band, ASVS 2.5.6)."""
    _update_user_quietly(
        user,
        {
            "totp_secret_enc": None,
            "totp_pending_secret_enc": None,
            "totp_enabled_at": None,
            "totp_last_timecode": None,
        },
    )
    db.session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
    )
    revoke_all_sessions(user, "mfa reset")
    audit.record(None, actor, "mfa.reset", user, {"totp_enabled": (True, False)})
    notify(
        user,
        _("Double authentification réinitialisée"),
        _(
            "Un administrateur a réinitialisé la double authentification de votre compte Égide. Vous "
            "devrez l'activer de nouveau à la prochaine connexion."
        ),
    )


# --- passwords, reset links, invitations -------------------------------------------------------


def expire_links(user: User) -> None:
    """Every reset or invitation link still out for ``user`` stops working now (a disabled
    account's links must not come back to life when the account is enabled again)."""
    now = utcnow()
    db.session.execute(
        update(AuthToken)
        .where(AuthToken.user_id == user.id, AuthToken.used_at.is_(None), AuthToken.expires_at > now)
        .values(expires_at=now)
    )


def set_password(user: User, password: str, *, reason: str, keep: UserSession | None = None) -> None:
    """New password: every other session is revoked (ASVS 3.3.3) and the owner is told (2.2.3)."""
    _update_user_quietly(
        user,
        {
            "password_hash": hash_password(password),
            "password_changed_at": utcnow(),
            "failed_login_count": 0,
            "locked_until": None,
        },
    )
    revoke_all_sessions(user, "password change", keep=keep)
    audit.record(None, user, f"password.{reason}", user, {})
    notify(
        user,
        _("Mot de passe modifié"),
        _(
            "Le mot de passe de votre compte Égide vient d'être modifié. Si ce n'était pas vous, "
            "prévenez immédiatement votre RSSI."
        ),
    )


def change_password(user: User, current: str, new: str) -> None:
    if not verify_password(user.password_hash, current):
        audit.record(None, user, "password.change.failure", user, {})
        raise FieldError("current_password", _("Mot de passe actuel incorrect."))
    set_password(user, new, reason="change", keep=current_session())


def _issue_token(user: User, purpose: TokenPurpose, lifetime: timedelta) -> str:
    now = utcnow()
    db.session.execute(
        update(AuthToken)
        .where(AuthToken.user_id == user.id, AuthToken.purpose == purpose, AuthToken.used_at.is_(None))
        .values(used_at=now)  # a new link replaces the previous ones
    )
    raw = secrets.token_urlsafe(32)
    db.session.add(
        AuthToken(purpose=purpose, token_hash=token_hash(raw), user_id=user.id, expires_at=now + lifetime)
    )
    db.session.flush()
    return raw


def valid_token(raw: str, purpose: TokenPurpose) -> AuthToken | None:
    row = db.session.scalar(select(AuthToken).where(AuthToken.token_hash == token_hash(raw or "")))
    if row is None or row.purpose != purpose or row.used_at is not None or row.expires_at <= utcnow():
        return None
    if not row.user.is_enabled:
        return None
    return row


def _send_link(
    user: User, purpose: TokenPurpose, lifetime: timedelta, endpoint: str, subject: str, body: Any
) -> None:
    """Issue a single-use link and e-mail it; ``body`` receives the link."""
    raw = _issue_token(user, purpose, lifetime)
    send_mail(user.email, subject, body(url_for(endpoint, token=raw, _external=True)))


def request_password_reset(email: str) -> None:
    """Always the same answer for the person asking; a link only if the account exists."""
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not user.is_enabled:
        audit.record(None, None, "password.reset.request.unknown", User(), {})
        return
    hours = current_app.config["RESET_TOKEN_HOURS"]
    _send_link(
        user,
        TokenPurpose.RESET,
        timedelta(hours=hours),
        "accounts.password_reset",
        _("Égide : réinitialisation de votre mot de passe"),
        lambda link: _(
            "Bonjour %(name)s,\n\nPour choisir un nouveau mot de passe, ouvrez ce lien (valable %(h)s "
            "heures, une seule fois) :\n%(link)s\n\nSi vous n'avez rien demandé, ignorez ce message.",
            name=user.full_name,
            h=hours,
            link=link,
        ),
    )
    audit.record(None, user, "password.reset.request", user, {})


def invite(user: User, actor: User | None) -> None:
    days = current_app.config["INVITATION_TOKEN_DAYS"]
    _send_link(
        user,
        TokenPurpose.INVITE,
        timedelta(days=days),
        "accounts.invitation",
        _("Invitation à rejoindre Égide"),
        lambda link: _(
            "Bonjour %(name)s,\n\nUn compte Égide a été créé pour vous. Pour choisir votre mot de "
            "passe, ouvrez ce lien (valable %(d)s jours, une seule fois) :\n%(link)s",
            name=user.full_name,
            d=days,
            link=link,
        ),
    )
    audit.record(None, actor, "user.invite", user, {})


def use_token(row: AuthToken, password: str) -> User:
    row.used_at = utcnow()
    db.session.flush()
    set_password(row.user, password, reason="reset" if row.purpose == TokenPurpose.RESET else "invitation")
    return row.user


def set_digest_subscription(user: User, subscribed: bool) -> None:
    """The user's own choice about the weekly digest (accounts.services.digest), journalled when it
    changes."""
    if user.is_digest_subscribed == subscribed:
        return
    audit.record(
        None, user, "account.digest", user, {"is_digest_subscribed": (user.is_digest_subscribed, subscribed)}
    )
    user.is_digest_subscribed = subscribed
    db.session.flush()


def notify(user: User, subject: str, body: str) -> None:
    send_mail(user.email, f"Égide : {subject}", f"{_('Bonjour %(name)s,', name=user.full_name)}\n\n{body}")
