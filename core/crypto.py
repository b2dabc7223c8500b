"""Encryption at rest (TOTP secrets today, evidence files later) with a rotatable key ring.

Keys come from ``ENCRYPTION_KEYS`` (comma-separated Fernet keys, newest first: set it from the
environment as ``EGIDE_ENCRYPTION_KEYS``) or, when unset, from ``instance/encryption_keys``, created
on first use with mode 0600 and never committed. MultiFernet decrypts with any key of the ring and
encrypts with the first, so adding a key in front and re-encrypting (``rotate``) retires old ones.
Keys are kept outside the database: a database dump alone does not reveal the secrets.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app

__all__ = ["InvalidToken", "decrypt", "decrypt_bytes", "encrypt", "encrypt_bytes", "rotate"]


def _instance_keys(instance_path: str) -> str:
    path = Path(instance_path) / "encryption_keys"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(Fernet.generate_key().decode() + "\n")
    return path.read_text().strip()


@cache
def _ring(keys: str) -> MultiFernet:
    return MultiFernet([Fernet(k.strip().encode()) for k in keys.replace("\n", ",").split(",") if k.strip()])


def _current_ring() -> MultiFernet:
    keys = current_app.config.get("ENCRYPTION_KEYS") or _instance_keys(current_app.instance_path)
    return _ring(keys)


def encrypt(plaintext: str) -> str:
    return _current_ring().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    return _current_ring().decrypt(token.encode()).decode()


def encrypt_bytes(plaintext: bytes) -> bytes:
    """Bytes sealed with the newest key of the ring (a file kept for a while, e.g. a pending import)."""
    return _current_ring().encrypt(plaintext)


def decrypt_bytes(token: bytes) -> bytes:
    """The bytes sealed by :func:`encrypt_bytes` (``InvalidToken`` if altered or under an unknown key)."""
    return _current_ring().decrypt(token)


def rotate(token: str) -> str:
    """Re-encrypt with the newest key of the ring."""
    return _current_ring().rotate(token.encode()).decode()
