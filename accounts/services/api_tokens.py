"""Personal access tokens of the JSON API (core.api): created and revoked on "Mon compte".

A token is ``egide_pat_`` + 43 URL-safe characters (256 random bits). It is shown once, at creation;
the database keeps its SHA-256 (a long random value needs no slow hash: argon2 would cost tens of
milliseconds on every API call for no gain) and its first characters (``prefix``) so its owner can
tell tokens apart. A token is bound to one organisation where its owner holds a role, has a scope
(read, or read and write) and an expiry (at most :data:`MAX_DAYS` days); revoked, never deleted.
Each call runs with its owner's roles *at that time*: a role withdrawn or an account disabled stops
the token (401).

Journal: creation and revocation on the organisation's chain; **every use** too — method, path and
the answer's status, with ``last_used_at`` — written after the response in a short transaction of
its own, so a read stays a read in its own transaction (the journal shows who read what through
the API, as the issue asks: a token is a key held outside, its every use is accounted for); every
write through the API is also journalled by the domain's service, as on the pages.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask import after_this_request, request
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError

from accounts.models import ORGANISATION_COUNT_CAP, ApiToken, ApiTokenScope, User
from accounts.services.auth import token_hash
from core import audit
from core.api import TOKEN_PREFIX
from core.db import today, utcnow
from core.extensions import db
from core.forms import FieldError, enum_value, raise_field_errors
from core.tenancy import UNSCOPED

logger = logging.getLogger(__name__)

MAX_DAYS = 366
PREFIX_SHOWN = len(TOKEN_PREFIX) + 6
AUDITED_FIELDS = ("name", "scope", "expires_on", "prefix", "revoked_at")


@dataclass(frozen=True)
class CreatedToken:
    token: ApiToken
    secret: str  # shown once, never stored


def organisation_choices(user: User, active_org_id: int | None = None) -> list[tuple[int, str]]:
    """The organisations the token form offers: those where the user holds a role today — all of
    them up to the header's limit (``ORGANISATION_COUNT_CAP``); beyond, as in the header, only the
    active organisation (a mutualised DPO of 5,000 members got a 5,000-option select, built from
    every membership on each view of "Mon compte": 650 ms). The DPO changes the active organisation
    to create a token for another one."""
    if user.organisation_count() < ORGANISATION_COUNT_CAP:
        return [(org_id, org.name) for org_id, (org, _roles) in user.organisation_roles().items()]
    found = user.roles_in(active_org_id)
    return [] if found is None else [(found[0].id, found[0].name)]


def _may_name(user: User, org_id: int) -> bool:
    """The one rule for a token's organisation: the user holds a role there today."""
    found = user.roles_in(org_id) if org_id else None
    return found is not None and not found[0].has_left


def create_token(user: User, data: Mapping[str, Any]) -> CreatedToken:
    errors: list[FieldError] = []
    name = str(data.get("name") or "").strip()[:100]
    if not name:
        errors.append(FieldError("name", _("Donnez un nom au jeton (à quoi il sert).")))
    scope = enum_value(ApiTokenScope, data.get("scope"), "scope", errors)
    expires_on = data.get("expires_on")
    if not isinstance(expires_on, date):
        errors.append(FieldError("expires_on", _("Indiquez la date d'expiration du jeton.")))
    elif expires_on <= today():
        errors.append(FieldError("expires_on", _("La date d'expiration doit être dans le futur.")))
    elif expires_on > today() + timedelta(days=MAX_DAYS):
        errors.append(FieldError("expires_on", _("Un jeton vaut un an au plus.")))
    try:
        org_id = int(data.get("organisation_id") or 0)
    except (TypeError, ValueError):
        org_id = 0
    if not _may_name(user, org_id):
        errors.append(FieldError("organisation_id", _("Vous n'avez pas de rôle dans cette organisation.")))
    raise_field_errors(errors)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        organisation_id=org_id,
        name=name,
        prefix=secret[:PREFIX_SHOWN],
        token_hash=token_hash(secret),
        scope=scope,
        expires_on=expires_on,
    )
    with audit.audited(org_id, user, "api_token.create", token, AUDITED_FIELDS):
        db.session.add(token)
    return CreatedToken(token, secret)


def own_tokens(user: User) -> list[ApiToken]:
    stmt = (
        select(ApiToken)
        .where(ApiToken.user_id == user.id)
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.expires_on.desc(), ApiToken.id.desc())
        .execution_options(**UNSCOPED)  # unscoped: the user's own tokens, in every organisation
    )
    return list(db.session.scalars(stmt))


def get_own_token(user: User, token_id: int) -> ApiToken | None:
    stmt = select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id)
    return db.session.scalar(stmt.execution_options(**UNSCOPED))  # unscoped: the user's own token


def revoke_token(token: ApiToken, actor: User) -> None:
    if token.revoked_at is not None:
        return
    with audit.audited(token.organisation_id, actor, "api_token.revoke", token, AUDITED_FIELDS):
        token.revoked_at = utcnow()


def authenticate(raw: str) -> ApiToken | None:
    """The token a request presents, if it may still be used: known, neither revoked nor expired,
    its owner enabled and still holding a role in its organisation (core.api's ``token_loader``)."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    stmt = select(ApiToken).where(ApiToken.token_hash == token_hash(raw))
    token = db.session.scalar(stmt.execution_options(**UNSCOPED))  # unscoped: before any tenant
    if token is None or not token.is_usable(today()) or not token.user.is_enabled:
        return None
    if token.user.roles_in(token.organisation_id) is None:
        return None
    _note_use(token)
    return token


def _note_use(token: ApiToken) -> None:
    """``last_used_at`` and a journal entry for this call, after the response in a short transaction
    of their own (a GET never writes in its own transaction)."""
    now = utcnow()
    token_id, org_id, user_id = token.id, token.organisation_id, token.user_id
    method, path = request.method, request.path[:200]

    @after_this_request
    def _write_after_the_response(response: Any) -> Any:
        try:
            db.session.rollback()  # the request's transaction is over (a write committed)
            db.session.execute(
                update(ApiToken.__table__)
                .where(ApiToken.id == token_id)
                .values(last_used_at=now)
                .execution_options(**UNSCOPED)  # unscoped: by id, the token just checked
            )
            actor = db.session.get(User, user_id)
            audit.record(
                org_id,
                actor,
                "api_token.use",
                audit.Ref("ApiToken", token_id),
                detail={"method": method, "path": path, "status": response.status_code},
            )
            db.session.commit()
        except SQLAlchemyError:
            db.session.rollback()
            logger.warning("API token %s: use not written, the response goes on", token_id, exc_info=True)
        return response


def token_titles(ids: Any) -> dict[int, str]:
    """The journal's names of tokens: "name (egide_pat_abc123…)"."""
    ids = {int(i) for i in ids}
    if not ids:
        return {}
    stmt = select(ApiToken.id, ApiToken.name, ApiToken.prefix).where(ApiToken.id.in_(ids))
    rows = db.session.execute(stmt.execution_options(**UNSCOPED))  # unscoped: names only, by id
    return {r.id: f"{r.name} ({r.prefix}…)" for r in rows}


def is_expired(token: ApiToken, on: date | None = None) -> bool:
    return token.expires_on < (on or today())
