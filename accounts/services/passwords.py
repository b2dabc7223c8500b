"""Password hashing with argon2id (argon2-cffi defaults: RFC 9106 low-memory profile).

``ARGON2_PARAMS`` in the configuration may lower the cost; only the test configuration does, so
that hundreds of logins in the suite stay fast. Hashes made with other parameters are upgraded at
the next successful login (``needs_rehash``).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context


@cache
def _hasher(params: tuple[tuple[str, Any], ...]) -> tuple[PasswordHasher, str]:
    hasher = PasswordHasher(**dict(params))
    # A real hash of a random string: verifying against it when the account does not exist keeps
    # the answer time the same, so timing does not tell whether an address has an account.
    return hasher, hasher.hash("dummy-password-for-timing-equalisation")


def _current() -> tuple[PasswordHasher, str]:
    params = current_app.config.get("ARGON2_PARAMS") or {} if has_app_context() else {}
    return _hasher(tuple(sorted(params.items())))


def hash_password(password: str) -> str:
    return _current()[0].hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    hasher, dummy = _current()
    try:
        return hasher.verify(stored_hash or dummy, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _current()[0].check_needs_rehash(stored_hash)
