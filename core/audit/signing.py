"""Signing the chains' heads: the Ed25519 key kept outside the database, anchors, the anchor file.

An anchor signs ``(chain, seq, hash, signed_at)`` of a chain's head (:func:`anchor_message`) with the
key of ``AUDIT_SIGNING_KEY_FILE``. Every committed anchor is also appended, as one JSON line checkable
with the public key alone, to ``AUDIT_ANCHOR_FILE`` (see :mod:`core.audit`). Choosing *which* heads to
sign, after verifying them, is :mod:`core.audit.anchoring`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import event, func, inspect, select
from sqlalchemy.orm import Session

from core.audit.hashing import canonical, iso_utc
from core.audit.models import _APPENDED, _FILE_LINES, AuditAnchor
from core.db import utcnow
from core.extensions import db

logger = logging.getLogger("egide.audit")


# --- signing key -------------------------------------------------------------------------------


def _key_path() -> Path:
    configured = current_app.config.get("AUDIT_SIGNING_KEY_FILE") or "audit_signing_key.pem"
    path = Path(configured)
    return path if path.is_absolute() else Path(current_app.instance_path) / path


def signing_key() -> Ed25519PrivateKey:
    """The Ed25519 private key, read from its file; created (mode 0600) on first use."""
    path = _key_path()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # created meanwhile by another process: use that one
            pass
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
            logger.warning("audit signing key created in %s", path)
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, Ed25519PrivateKey):
        raise TypeError(f"{path} does not hold an Ed25519 private key")
    return loaded


def public_key_pem(key: Ed25519PublicKey | None = None) -> str:
    key = key or signing_key().public_key()
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def key_id(key: Ed25519PublicKey) -> str:
    """First 16 hex digits of the SHA-256 of the raw public key."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def trusted_public_keys() -> dict[str, Ed25519PublicKey]:
    """Keys anchors may be signed with: the current one (if its file exists — verifying never
    creates a key) and the former ones listed in ``AUDIT_TRUSTED_PUBLIC_KEY_FILES`` (PEM files)."""
    keys: list[Ed25519PublicKey] = []
    if _key_path().exists():
        keys.append(signing_key().public_key())
    for name in current_app.config.get("AUDIT_TRUSTED_PUBLIC_KEY_FILES", ()):
        loaded = serialization.load_pem_public_key(Path(name).read_bytes())
        if isinstance(loaded, Ed25519PublicKey):
            keys.append(loaded)
    return {key_id(k): k for k in keys}


def anchor_message(chain: int, seq: int, hash_: str, signed_at: datetime) -> bytes:
    """The bytes an anchor signs: canonical JSON of {chain, hash, seq, signed_at}."""
    return canonical({"chain": chain, "seq": seq, "hash": hash_, "signed_at": iso_utc(signed_at)})


def _signature_problem(
    anchor: AuditAnchor | FileAnchor, keys: Mapping[str, Ed25519PublicKey]
) -> tuple[int, str] | None:
    key = keys.get(anchor.key_id)
    if key is None:
        return (
            anchor.seq,
            _("ancre n° %(seq)s signée par une clé inconnue (%(key)s)", seq=anchor.seq, key=anchor.key_id),
        )
    try:
        key.verify(
            base64.b64decode(anchor.signature),
            anchor_message(anchor.chain, anchor.seq, anchor.hash, anchor.signed_at),
        )
    except (InvalidSignature, ValueError):
        return (anchor.seq, _("signature invalide de l'ancre n° %(seq)s", seq=anchor.seq))
    return None


def signature_checks(anchor: AuditAnchor | FileAnchor, keys: Mapping[str, Ed25519PublicKey]) -> bool:
    """The anchor is signed by one of ``keys`` (see :func:`trusted_public_keys`)."""
    return _signature_problem(anchor, keys) is None


# --- the anchor file ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FileAnchor:
    """One line of an anchor file: an anchor, checkable with the public key alone."""

    chain: int
    seq: int
    hash: str
    signed_at: datetime
    key_id: str
    signature: str
    line: int = 0


def anchor_key(anchor: AuditAnchor | FileAnchor) -> tuple[int, int, str, str, str]:
    """What identifies an anchor in the database and in a file alike."""
    return (anchor.chain, anchor.seq, anchor.hash, iso_utc(anchor.signed_at), anchor.signature)


def anchor_line(anchor: AuditAnchor | FileAnchor) -> str:
    """The JSON line of an anchor: {chain, seq, hash, signed_at, key_id, signature}, canonical form.

    Its signature checks with Ed25519 over the canonical JSON of {chain, hash, seq, signed_at}."""
    return canonical(
        {
            "chain": anchor.chain,
            "seq": anchor.seq,
            "hash": anchor.hash,
            "signed_at": iso_utc(anchor.signed_at),
            "key_id": anchor.key_id,
            "signature": anchor.signature,
        }
    ).decode("utf-8")


@dataclass
class AnchorFile:
    """The anchors read from a file. ``complete``: the application's own file, which holds every
    anchor signed since it began; otherwise a witness's copy, holding only some of them."""

    path: Path
    complete: bool
    exists: bool = True
    anchors: list[FileAnchor] = field(default_factory=list)
    bad_lines: list[int] = field(default_factory=list)

    def of(self, chain: int) -> list[FileAnchor]:
        return [a for a in self.anchors if a.chain == chain]

    def chains(self) -> set[int]:
        return {a.chain for a in self.anchors}

    @property
    def first_signed_at(self) -> datetime | None:
        return min((a.signed_at for a in self.anchors), default=None)


def anchor_file_path() -> Path | None:
    """``AUDIT_ANCHOR_FILE`` (relative: in the instance folder), or None when it is not set."""
    name = current_app.config.get("AUDIT_ANCHOR_FILE")
    if not name:
        return None
    path = Path(name)
    return path if path.is_absolute() else Path(current_app.instance_path) / path


def read_anchor_file(path: Path, *, complete: bool) -> AnchorFile:
    """Read an anchor file; lines that do not parse are listed in ``bad_lines`` (1-based)."""
    result = AnchorFile(path=path, complete=complete, exists=path.exists())
    if not result.exists:
        return result
    seen: set[tuple[int, int, str, str, str]] = set()
    with path.open(encoding="utf-8") as fh:
        for number, text in enumerate(fh, start=1):
            if not text.strip():
                continue
            try:
                data = json.loads(text)
                line = FileAnchor(
                    chain=int(data["chain"]),
                    seq=int(data["seq"]),
                    hash=str(data["hash"]),
                    signed_at=datetime.fromisoformat(data["signed_at"]).astimezone(UTC),
                    key_id=str(data["key_id"]),
                    signature=str(data["signature"]),
                    line=number,
                )
            except (ValueError, TypeError, KeyError, AttributeError):
                result.bad_lines.append(number)
                continue
            if anchor_key(line) not in seen:  # a witness's copy may hold the same anchor twice
                seen.add(anchor_key(line))
                result.anchors.append(line)
    return result


def configured_anchor_file() -> AnchorFile | None:
    """The application's own anchor file (``AUDIT_ANCHOR_FILE``), or None when none is configured."""
    path = anchor_file_path()
    return None if path is None else read_anchor_file(path, complete=True)


def append_anchor_lines(path: Path, lines: Sequence[str]) -> None:
    """Append lines to an anchor file (created mode 0640), in one write, synced to disk. A last line
    left unfinished by a crash is closed first, so that it stays the only unreadable one."""
    if not lines:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        size = os.fstat(fd).st_size
        text = "".join(f"{line}\n" for line in lines)
        if size and os.pread(fd, 1, size - 1) != b"\n":
            text = "\n" + text
        os.write(fd, text.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


def latest_anchors() -> list[AuditAnchor]:
    """The latest anchor of every chain (highest seq, then latest signature), for a witness."""
    last = (
        select(AuditAnchor.chain, func.max(AuditAnchor.seq).label("seq"))
        .group_by(AuditAnchor.chain)
        .subquery()
    )
    rows = db.session.scalars(
        select(AuditAnchor)
        .join(last, (AuditAnchor.chain == last.c.chain) & (AuditAnchor.seq == last.c.seq))
        .order_by(AuditAnchor.chain, AuditAnchor.signed_at, AuditAnchor.id)
    )
    return list({a.chain: a for a in rows}.values())


@event.listens_for(Session, "after_commit")
def _write_committed_anchors(session: Session) -> None:
    """Anchors reach the file only once committed: an anchor of a transaction rolled back (whose seq
    another entry will take) must never be in it. Writing never fails the commit (logged)."""
    if session.in_nested_transaction():
        return
    pending = session.info.pop(_FILE_LINES, None)
    if not pending:
        return
    by_path: dict[Path, list[str]] = {}
    for anchor, path, line in pending:
        if inspect(anchor).persistent:  # not expunged by the rollback of a savepoint
            by_path.setdefault(path, []).append(line)
    for path, lines in by_path.items():
        try:
            append_anchor_lines(path, lines)
        except OSError:
            logger.exception("audit anchors not written to %s: `flask audit verify` will report them", path)


@event.listens_for(Session, "after_transaction_end")
def _forget_transaction(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the session's outermost transaction
        session.info.pop(_APPENDED, None)
        session.info.pop(_FILE_LINES, None)


def _new_anchor(chain: int, seq: int, hash_: str, key: Ed25519PrivateKey | None = None) -> AuditAnchor:
    """Sign a head, add the anchor to ``db.session`` (unflushed) and have it copied to the anchor
    file once committed."""
    key = key or signing_key()
    signed_at = utcnow()
    anchor = AuditAnchor(
        chain=chain,
        seq=seq,
        hash=hash_,
        signed_at=signed_at,
        signature=base64.b64encode(key.sign(anchor_message(chain, seq, hash_, signed_at))).decode("ascii"),
        key_id=key_id(key.public_key()),
    )
    db.session.add(anchor)
    path = anchor_file_path()
    if path is not None:
        db.session.info.setdefault(_FILE_LINES, []).append((anchor, path, anchor_line(anchor)))
    return anchor
