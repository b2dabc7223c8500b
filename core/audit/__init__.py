"""The audit trail: every service write calls :func:`record`, which appends a hash-chained entry.

Design (STACK.md §2.4):

* **One chain per organisation.** ``chain`` is the organisation's id, or 0 for platform events
  (logins, accounts). Entries are numbered 1, 2, 3 … in their chain (``UNIQUE(chain, seq)``), so
  organisations never serialise on each other. Appends to one chain are serialised on its row of
  ``audit_heads`` (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite has a single writer).
* **Same transaction as the business change.** :func:`record` adds and flushes, never commits: a
  change that is rolled back leaves no entry, and an entry never exists without its change.
* **Hash chain.** ``hash = SHA-256(prev_hash || canonical JSON of {chain, seq, at, actor_id,
  organisation_id, action, object_type, object_id, payload_sha256})`` where ``prev_hash`` is the hex
  hash of the previous entry (64 zeros for the first), ``||`` is byte concatenation of its ASCII
  form with the UTF-8 JSON, and canonical JSON has sorted keys, ``(",", ":")`` separators and no
  ASCII escaping; ``at`` is ISO 8601 UTC with microseconds.
* **Erasable payload.** The field-by-field changes and the request context (IP address, user agent)
  are personal data: they live in ``audit_payloads``, outside the chain, which only holds their
  SHA-256. :func:`erase_payloads` empties them for the GDPR and journals the erasure itself on the
  platform chain: that entry's payload (bound to the chain by its ``payload_sha256``, never erasable)
  lists every emptied entry as ``{chain: [seq, …]}``. :func:`verify` counts a listed entry as
  "payload erased"; an empty or missing payload that no erasure lists is tampering.
* **Signed anchors.** An anchor signs ``(chain, seq, hash, signed_at)`` of a chain's head with an
  Ed25519 key kept in a file, outside the database (``AUDIT_SIGNING_KEY_FILE``, default
  ``instance/audit_signing_key.pem``, created with mode 0600 on first use). Without anchors, someone
  with write access to the database could rewrite the end of a chain, or cut it off and rewind its
  head. Anchors are written without an operator (:func:`init_app`, ``AUDIT_AUTO_ANCHOR``): every
  ``AUDIT_ANCHOR_EVERY`` entries as they are written; on the commit that appends to a chain whose last
  anchor is older than ``AUDIT_ANCHOR_MAX_AGE`` (or which has none); and by a throttled sweep after
  requests, for chains that moved and then went quiet. ``flask audit anchor`` does the same by hand.
* **Anchor file.** Every committed anchor is also appended, as one JSON line verifiable with the public
  key alone, to ``AUDIT_ANCHOR_FILE`` (default ``instance/audit_anchors.jsonl``). :func:`verify`
  checks the database against it: every anchor of the file must be in the database and match the
  entry at its seq, so a tail cut off with its head rewound, or rewritten with recomputed hashes and
  its database anchors deleted, is named. ``flask audit anchor --export`` hands the latest anchor of
  every chain to a witness on another machine.
* **Read-only.** The application never updates or deletes an entry; on PostgreSQL a trigger refuses
  UPDATE and DELETE on ``audit_events`` and ``audit_anchors``, and lets a payload change only to
  NULL (erasure). See migrations/20261124_b_audit_trail.py.

:func:`verify` walks each chain and names the first broken entry. Its limit, by design: entries
appended after the last anchor are vouched for by nothing yet — someone with write access to the
database can remove or rewrite them (and rewind ``audit_heads``) until the next anchor; the verdict
therefore says "vérifié jusqu'à l'ancre n° …". Someone who holds the signing key, the anchor file and
the database can rewrite everything; a witness copy of the anchors on another machine is then the
only trace.

Entries are also logged to the ``egide.audit`` logger (field names only, never values), and handed
to ``sinks`` (callables taking an :class:`AuditEntry`), for forwarding elsewhere.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import Flask, current_app, has_app_context, has_request_context, request
from flask_babel import format_datetime, format_decimal
from flask_babel import gettext as _
from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    event,
    func,
    inspect,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship
from werkzeug.local import LocalProxy

from core.concurrency import flush_or_conflict
from core.db import Base, UTCDateTime, utcnow
from core.extensions import db

logger = logging.getLogger("egide.audit")

GENESIS = "0" * 64
PLATFORM_CHAIN = 0
USER_AGENT_MAX = 300
ERASE_ACTION = "audit.payload_erase"
ERASED_KEY = "erased_entries"  # in an erasure entry's payload: {"<chain>": [seq, …]}

# session.info keys: chains appended to in the transaction; anchors to copy to the file once committed.
_APPENDED = "egide.audit.appended"
_FILE_LINES = "egide.audit.anchor_lines"
_AUTO_ANCHORING = "egide.audit.auto_anchoring"


# --- models ------------------------------------------------------------------------------------


class AuditEvent(Base):
    """One entry of the journal. Never updated, never deleted.

    Not tenant-scoped through the ORM safety net: the journal views scope by ``chain`` themselves.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        UniqueConstraint("chain", "seq"),
        CheckConstraint(
            "(chain = 0 AND organisation_id IS NULL) OR chain = organisation_id",
            name="chain_matches_organisation",
        ),
        Index("ix_audit_events_chain_at", "chain", "at"),
        Index("ix_audit_events_chain_action", "chain", "action"),
        Index("ix_audit_events_object", "object_type", "object_id"),
    )

    chain: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    action: Mapped[str] = mapped_column(String(100))
    object_type: Mapped[str] = mapped_column(String(100))
    object_id: Mapped[int | None] = mapped_column(Integer)
    payload_sha256: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    payload: Mapped[AuditPayload | None] = relationship(back_populates="event", lazy="raise")

    def content(self) -> dict[str, Any]:
        return chain_content(self)


class AuditPayload(Base):
    """The personal part of an entry: field-by-field changes and request context. Erasable."""

    __tablename__ = "audit_payloads"

    event_id: Mapped[int] = mapped_column(ForeignKey("audit_events.id"), unique=True)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    event: Mapped[AuditEvent] = relationship(back_populates="payload", lazy="raise")


class AuditHead(Base):
    """Last entry of each chain: the row appends lock, so that a chain never forks."""

    __tablename__ = "audit_heads"

    id = None  # type: ignore[assignment] — the chain number is the key
    chain: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))

    def __repr__(self) -> str:
        return f"<AuditHead {self.chain}#{self.seq}>"


class AuditAnchor(Base):
    """A chain head signed with the Ed25519 key held outside the database."""

    __tablename__ = "audit_anchors"
    __table_args__ = (Index("ix_audit_anchors_chain_seq", "chain", "seq"),)

    chain: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    signature: Mapped[str] = mapped_column(String(100))  # base64 of the 64-byte signature
    key_id: Mapped[str] = mapped_column(String(32))


# --- canonical form ----------------------------------------------------------------------------


def canonical(value: Any) -> bytes:
    """Canonical JSON: sorted keys, no spaces, UTF-8 without ASCII escaping."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def iso_utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


# What an entry's hash covers (besides the previous hash), in this order of names.
HASHED_FIELDS = (
    "chain",
    "seq",
    "at",
    "actor_id",
    "organisation_id",
    "action",
    "object_type",
    "object_id",
    "payload_sha256",
)


def chain_content(source: Any) -> dict[str, Any]:
    """The hashed content of an entry, read from an AuditEvent or a result row alike."""
    content = {name: getattr(source, name) for name in HASHED_FIELDS}
    content["at"] = iso_utc(content["at"])
    return content


def entry_hash(prev_hash: str, content: Mapping[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + canonical(content)).hexdigest()


def payload_hash(data: Any) -> str:
    return hashlib.sha256(canonical(data)).hexdigest()


def jsonable(value: Any) -> Any:
    """A JSON value for anything a service may put in ``changes`` (dates → ISO, enums → value …)."""
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [jsonable(v) for v in value]
        return sorted(items, key=lambda v: canonical(v)) if isinstance(value, set | frozenset) else items
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


# --- recording ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    organisation_id: int | None
    actor_id: int | None
    action: str
    object_type: str
    object_id: int | None
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    chain: int = PLATFORM_CHAIN
    seq: int | None = None
    hash: str | None = None


@dataclass(frozen=True)
class Ref:
    """What an event is about when there is no model instance (an export, the journal itself)."""

    object_type: str
    id: int | None = None


sinks: list[Callable[[AuditEntry], None]] = []


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def snapshot(obj: Any, fields: Iterable[str]) -> dict[str, Any]:
    return {name: _plain(getattr(obj, name, None)) for name in fields}


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {k: (before.get(k), after.get(k)) for k in after if before.get(k) != after.get(k)}


@contextmanager
def audited(org: Any, actor: Any, action: str, obj: Any, fields: Iterable[str]) -> Iterator[None]:
    """Change ``obj`` inside the block; on leaving, flush (a lost race is an EditConflict) and
    record what changed, field by field. A new object (add it inside the block) has no "before".
    """
    fields = tuple(fields)
    before = snapshot(obj, fields) if inspect(obj).has_identity else {}
    yield
    if not inspect(obj).has_identity:
        db.session.add(obj)
    flush_or_conflict(obj)
    record(org, actor, action, obj, diff(before, snapshot(obj, fields)))


def record(
    org: Any,
    actor: Any,
    action: str,
    obj: Any,
    changes: Mapping[str, tuple[Any, Any]] | None = None,
    *,
    detail: Mapping[str, Any] | None = None,
    request_context: bool = True,
) -> AuditEntry:
    """Append an entry to the organisation's chain (``org`` None: the platform chain).

    ``org`` is an Organisation or its id; ``obj`` a model instance (or a :class:`Ref`). Written with
    ``db.session`` in the caller's transaction, flushed, never committed. ``detail``: more keys for
    the payload (hashed with it); ``request_context`` False leaves the IP address and user agent out.
    """
    organisation_id = getattr(org, "id", org)
    if org is not None and organisation_id is None:  # a new organisation: give it its id first
        db.session.flush()
        organisation_id = getattr(org, "id", None)
        if organisation_id is None:
            raise ValueError(f"audit.record({action!r}): the organisation has no id")
    if isinstance(obj, LocalProxy):  # current_user: journal the User, not the proxy's class
        obj = obj._get_current_object()
    if isinstance(obj, Ref):
        object_type, object_id = obj.object_type, obj.id
    else:
        object_type, object_id = type(obj).__name__, getattr(obj, "id", None)
    entry = AuditEntry(
        at=utcnow(),
        organisation_id=organisation_id,
        actor_id=getattr(actor, "id", None),
        action=action,
        object_type=object_type,
        object_id=object_id,
        changes=dict(changes or {}),
        chain=organisation_id or PLATFORM_CHAIN,
    )
    # Field names only: values may hold personal data and belong in the journal, not in logs.
    logger.info(
        "%s %s#%s org=%s actor=%s fields=%s",
        action,
        entry.object_type,
        entry.object_id,
        entry.organisation_id,
        entry.actor_id,
        sorted(entry.changes),
    )
    entry = _append(entry, detail=detail, request_context=request_context)
    for sink in sinks:
        sink(entry)
    return entry


def _request_context() -> dict[str, Any]:
    if not has_request_context():
        return {}
    return {"ip": request.remote_addr, "user_agent": (request.user_agent.string or "")[:USER_AGENT_MAX]}


def _lock_head(chain: int) -> tuple[int, str]:
    """The chain's head, locked until the end of the transaction (created on the chain's first entry)."""
    table = AuditHead.__table__
    dialect = db.session.get_bind().dialect.name
    values = {"chain": chain, "seq": 0, "hash": GENESIS}
    if dialect == "postgresql":
        db.session.execute(pg_insert(table).values(**values).on_conflict_do_nothing(index_elements=["chain"]))
    elif dialect == "sqlite":
        # Also a write: the transaction takes SQLite's write lock before reading the head.
        db.session.execute(
            sqlite_insert(table).values(**values).on_conflict_do_nothing(index_elements=["chain"])
        )
    elif db.session.execute(select(table.c.chain).where(table.c.chain == chain)).first() is None:
        db.session.execute(table.insert().values(**values))
    row = db.session.execute(
        select(table.c.seq, table.c.hash).where(table.c.chain == chain).with_for_update()
    ).one()
    return row.seq, row.hash


def _append(
    entry: AuditEntry, *, detail: Mapping[str, Any] | None = None, request_context: bool = True
) -> AuditEntry:
    data = {
        "changes": {name: [before, after] for name, (before, after) in entry.changes.items()},
        "context": _request_context() if request_context else {},
    }
    for name, value in (detail or {}).items():
        if name in data:
            raise ValueError(f"audit.record: {name!r} is a reserved payload key")
        data[name] = value
    data = json.loads(canonical(jsonable(data)))  # stored exactly as hashed
    prev_seq, prev_hash = _lock_head(entry.chain)
    seq = prev_seq + 1
    event = AuditEvent(
        chain=entry.chain,
        seq=seq,
        at=entry.at,
        actor_id=entry.actor_id,
        organisation_id=entry.organisation_id,
        action=entry.action,
        object_type=entry.object_type,
        object_id=entry.object_id,
        payload_sha256=payload_hash(data),
        prev_hash=prev_hash,
    )
    event.hash = entry_hash(prev_hash, event.content())
    event.payload = AuditPayload(data=data)
    db.session.add(event)
    db.session.execute(
        update(AuditHead.__table__)
        .where(AuditHead.__table__.c.chain == entry.chain)
        .values(seq=seq, hash=event.hash)
    )
    db.session.flush()
    db.session.info.setdefault(_APPENDED, set()).add(entry.chain)  # for the anchoring on commit
    every = current_app.config.get("AUDIT_ANCHOR_EVERY") or 0
    if every and seq % every == 0:
        # Periodic anchor, signed as the entry is written: a burst of writes in one transaction is
        # anchored every AUDIT_ANCHOR_EVERY entries. It seals only what the application itself just
        # chained (the head is locked); ``anchor_heads`` verifies first.
        _new_anchor(entry.chain, seq, event.hash)
        db.session.flush()
    return dataclasses.replace(entry, seq=seq, hash=event.hash)


# --- GDPR erasure ------------------------------------------------------------------------------


def erase_payloads(event_ids: Iterable[int], actor: Any, *, subject_user_id: int | None = None) -> int:
    """Empty the payloads (changes, IP address, user agent) of these entries; the chain stays valid.

    The erasure is itself journalled on the platform chain: how many, for whom, and — in its payload,
    which its hash covers — every emptied entry as ``{"<chain>": [seq, …]}``, which :func:`verify`
    requires of an empty payload. Erasure entries are never erased themselves (they hold ids only,
    not even the request context), or the entries they list would look tampered with.
    """
    ids = sorted(set(event_ids))
    if not ids:
        return 0
    events, payloads = AuditEvent.__table__, AuditPayload.__table__
    targets: list[int] = []
    erased: dict[str, list[int]] = {}
    for start in range(0, len(ids), 500):
        rows = db.session.execute(
            select(events.c.id, events.c.chain, events.c.seq)
            .join(payloads, payloads.c.event_id == events.c.id)
            .where(events.c.id.in_(ids[start : start + 500]))
            .where(payloads.c.data.is_not(None))
            .where(events.c.action != ERASE_ACTION)
        ).all()
        for row in rows:
            targets.append(row.id)
            erased.setdefault(str(row.chain), []).append(row.seq)
    now = utcnow()
    for start in range(0, len(targets), 500):
        db.session.execute(
            update(payloads)
            .where(payloads.c.event_id.in_(targets[start : start + 500]))
            .values(data=None, erased_at=now)
        )
    record(
        None,
        actor,
        ERASE_ACTION,
        Ref("AuditPayload"),
        {"erased": (None, len(targets)), "subject_user_id": (None, subject_user_id)},
        detail={ERASED_KEY: {chain: sorted(seqs) for chain, seqs in sorted(erased.items())}},
        request_context=False,
    )
    return len(targets)


def erase_personal_data(user_id: int, actor: Any) -> int:
    """GDPR erasure for one person: the payloads of entries they made or that are about their account."""
    ids = db.session.scalars(
        select(AuditEvent.id).where(
            (AuditEvent.actor_id == user_id)
            | ((AuditEvent.object_type == "User") & (AuditEvent.object_id == user_id))
        )
    )
    return erase_payloads(list(ids), actor, subject_user_id=user_id)


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


# --- verification ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnchorInfo:
    seq: int
    hash: str
    signed_at: datetime
    key_id: str


@dataclass
class ChainVerdict:
    """What :func:`verify` found in one chain. ``reason`` is a (translated) French sentence."""

    chain: int
    ok: bool = True
    entries: int = 0
    last_seq: int = 0
    last_hash: str = GENESIS
    erased_payloads: int = 0
    first_broken_seq: int | None = None
    reason: str | None = None
    last_anchor: AnchorInfo | None = None
    verified_from: int = 1  # > 1: a quick check that started after a signed anchor

    @property
    def unanchored(self) -> int:
        return self.last_seq - (self.last_anchor.seq if self.last_anchor else 0)

    def message(self) -> str:
        if not self.ok:
            return _(
                "Journal altéré : première entrée en défaut n° %(seq)s — %(reason)s",
                seq=self.first_broken_seq,
                reason=self.reason,
            )
        if self.verified_from > 1:
            return _(
                "Journal intègre depuis l'ancre signée n° %(anchor)s : %(count)s entrée(s) suivante(s) "
                "vérifiée(s). Les entrées antérieures sont garanties par la signature de l'ancre ; "
                "la vérification complète les recalcule toutes.",
                anchor=self.verified_from - 1,
                count=format_decimal(self.entries),
            )
        if not self.entries:
            return _("Journal vide : aucune entrée à vérifier.")
        # One msgid per form rather than ngettext: French and English both have two forms, and 0
        # never reaches here.
        count = format_decimal(self.entries)
        if self.entries == 1:
            text = _("Journal intègre : %(count)s entrée vérifiée", count=count)
        else:
            text = _("Journal intègre : %(count)s entrées vérifiées", count=count)
        if self.last_anchor is None:
            text += _(
                ", aucune ancre signée pour l'instant : une suppression des dernières entrées ne serait "
                "pas détectée."
            )
        else:
            text += _(
                ", dernière ancre signée le %(when)s (vérifié jusqu'à l'ancre n° %(seq)s).",
                when=format_datetime(self.last_anchor.signed_at, "short"),
                seq=self.last_anchor.seq,
            )
            if self.unanchored:
                text += " " + (
                    _("La dernière entrée n'est pas encore ancrée : sa suppression ne serait pas détectée.")
                    if self.unanchored == 1
                    else _(
                        "Les %(count)s dernières entrées ne sont pas encore ancrées : leur suppression ne "
                        "serait pas détectée.",
                        count=format_decimal(self.unanchored),
                    )
                )
        if self.erased_payloads:
            text += " " + (
                _("Le détail d'une entrée a été effacé (RGPD) : l'entrée reste vérifiée.")
                if self.erased_payloads == 1
                else _(
                    "%(count)s détails effacés (RGPD) : les entrées restent vérifiées.",
                    count=format_decimal(self.erased_payloads),
                )
            )
        return text


def chains() -> list[int]:
    """Every chain the database knows of (entries, heads or anchors)."""
    found: set[int] = set()
    for model in (AuditEvent, AuditHead, AuditAnchor):
        found |= set(db.session.scalars(select(model.chain).distinct()))
    return sorted(found)


class Erasures:
    """The entries emptied by a journalled erasure, read (once, when first needed) from the erasure
    entries of the platform chain. An erasure entry counts only if it is intact in itself (its payload
    matches its ``payload_sha256`` and its hash recomputes); its place in the platform chain is checked
    when that chain is verified."""

    def __init__(self) -> None:
        self._by_chain: dict[int, set[int]] | None = None

    def of(self, chain: int) -> set[int]:
        if self._by_chain is None:
            self._by_chain = self._load()
        return self._by_chain.get(chain, set())

    @staticmethod
    def _load() -> dict[int, set[int]]:
        rows = db.session.execute(
            select(
                *(getattr(AuditEvent, name) for name in HASHED_FIELDS),
                AuditEvent.prev_hash,
                AuditEvent.hash,
                AuditPayload.data,
            )
            .join(AuditPayload, AuditPayload.event_id == AuditEvent.id)
            .where(AuditEvent.chain == PLATFORM_CHAIN, AuditEvent.action == ERASE_ACTION)
        )
        found: dict[int, set[int]] = {}
        for row in rows:
            if row.data is None or payload_hash(row.data) != row.payload_sha256:
                continue
            if entry_hash(row.prev_hash, chain_content(row)) != row.hash:
                continue
            try:
                for chain, seqs in (row.data.get(ERASED_KEY) or {}).items():
                    found.setdefault(int(chain), set()).update(int(s) for s in seqs)
            except (AttributeError, TypeError, ValueError):
                continue
        return found


def verify(
    chain: int | Sequence[int] | None = None, *, anchor_file: AnchorFile | bool | None = True
) -> list[ChainVerdict]:
    """Walk the chains (all of them, by default) and return one verdict per chain.

    For each chain, in ``seq`` order: numbering contiguous from 1, each ``prev_hash`` equal to the
    previous entry's hash, each hash recomputed from the entry's content, each payload still matching
    its ``payload_sha256`` — or empty and listed by a journalled erasure. Then every anchor: its
    signature with a trusted public key, and that the chain still holds an entry with the anchor's
    seq and hash — which detects a rewritten chain and a tail truncated below the last anchor. The
    anchors of ``anchor_file`` (default: ``AUDIT_ANCHOR_FILE``, see :func:`configured_anchor_file`;
    False: none) are checked the same way, and must be in the database: a tail cut off or rewritten
    *and* its database anchors deleted is named too, as is a chain missing altogether. A truncation
    above the last anchor is undetectable by design (unless ``audit_heads`` was left behind); the
    verdict says how far the anchors vouch for the journal. The first broken entry is the smallest
    faulty seq.
    """
    file = configured_anchor_file() if anchor_file is True else (anchor_file or None)
    if chain is None:
        wanted = sorted(set(chains()) | (file.chains() if file else set()))
    elif isinstance(chain, int):
        wanted = [chain]
    else:
        wanted = list(chain)
    keys = trusted_public_keys()
    erasures = Erasures()
    return [verify_chain(c, keys=keys, anchor_file=file, erasures=erasures) for c in wanted]


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


def verify_chain(
    chain: int,
    *,
    keys: Mapping[str, Ed25519PublicKey] | None = None,
    from_last_anchor: bool = False,
    last_anchor_only: bool = False,
    anchor_file: AnchorFile | None = None,
    erasures: Erasures | None = None,
) -> ChainVerdict:
    """Verify one chain (see :func:`verify`).

    ``from_last_anchor``: walk only the entries after the last anchor whose signature is valid,
    trusting what that signature vouches for — the journal page's quick check (about 50,000 entries
    a second: a full walk of a platform chain of millions of logins would take minutes). The verdict
    says so; ``flask audit verify`` and the page's "full verification" walk everything.
    ``last_anchor_only``: the same, but only the chain's last anchor is read and checked — what the
    automatic anchoring runs before signing, whose cost must not grow with the chain's history.
    ``anchor_file``: also check the anchors of that file (see :func:`verify`); none by default.
    """
    keys = trusted_public_keys() if keys is None else keys
    erasures = Erasures() if erasures is None else erasures
    from_last_anchor = from_last_anchor or last_anchor_only
    verdict = ChainVerdict(chain=chain)
    problems: list[tuple[int, str]] = []

    # Head and anchors are read before the entries: what they name was committed before the walk.
    head = db.session.execute(
        select(AuditHead.seq, AuditHead.hash).where(AuditHead.chain == chain)
    ).one_or_none()
    query = select(AuditAnchor).where(AuditAnchor.chain == chain)
    if last_anchor_only:
        query = query.order_by(AuditAnchor.seq.desc(), AuditAnchor.id.desc()).limit(1)
    else:
        query = query.order_by(AuditAnchor.seq, AuditAnchor.id)
    anchors = list(db.session.execute(query).scalars())
    valid: list[AuditAnchor] = []
    for anchor in anchors:
        problem = _signature_problem(anchor, keys)
        if problem is not None:
            problems.append(problem)
        else:
            valid.append(anchor)
    in_file = anchor_file.of(chain) if anchor_file is not None else []
    hashes_at: dict[int, str] = {}
    watched = {a.seq for a in valid} | {a.seq for a in in_file} | ({head.seq} if head is not None else set())
    start = max(valid, key=lambda a: a.seq) if from_last_anchor and valid else None
    if start is not None:
        verdict.verified_from = start.seq + 1
        verdict.last_seq, verdict.last_hash = start.seq, start.hash
        hashes_at[start.seq] = start.hash

    rows = db.session.execute(
        select(
            *(getattr(AuditEvent, name) for name in HASHED_FIELDS),
            AuditEvent.prev_hash,
            AuditEvent.hash,
            AuditPayload.id.label("payload_id"),
            AuditPayload.data,
        )
        .outerjoin(AuditPayload, AuditPayload.event_id == AuditEvent.id)
        .where(AuditEvent.chain == chain, AuditEvent.seq > (start.seq if start else 0))
        .order_by(AuditEvent.seq)
        .execution_options(yield_per=1000)
    )
    expected, prev = (start.seq + 1, start.hash) if start else (1, GENESIS)
    broken_in_walk = False
    for row in rows:
        problem = None
        if row.seq != expected:
            problem = (
                expected,
                _("entrée n° %(seq)s absente (la suivante porte le n° %(next)s)", seq=expected, next=row.seq)
                if row.seq - expected == 1
                else _(
                    "entrées n° %(seq)s à %(last)s absentes (la suivante porte le n° %(next)s)",
                    seq=expected,
                    last=row.seq - 1,
                    next=row.seq,
                ),
            )
        elif row.prev_hash != prev:
            problem = (
                row.seq,
                _(
                    "chaînage rompu : l'empreinte précédente ne correspond pas à l'entrée n° %(seq)s",
                    seq=row.seq - 1,
                ),
            )
        else:
            content = chain_content(row)
            if entry_hash(prev, content) != row.hash:
                problem = (row.seq, _("contenu modifié : l'empreinte recalculée ne correspond pas"))
            elif row.payload_id is None or row.data is None:
                if row.seq in erasures.of(chain):
                    verdict.erased_payloads += 1
                else:
                    problem = (
                        row.seq,
                        _("détail vidé ou supprimé sans effacement RGPD journalisé qui le désigne"),
                    )
            elif payload_hash(row.data) != row.payload_sha256:
                problem = (row.seq, _("détail modifié : l'empreinte du détail ne correspond pas"))
        if problem is not None:
            problems.append(problem)
            broken_in_walk = True
            break
        verdict.entries += 1
        verdict.last_seq, verdict.last_hash = row.seq, row.hash
        if row.seq in watched:
            hashes_at[row.seq] = row.hash
        expected, prev = row.seq + 1, row.hash
    rows.close()

    def looked_at(seq: int) -> bool:
        if broken_in_walk and seq >= expected:
            return False  # beyond the first break: not looked at
        # Below the anchor the quick check starts from: vouched for by that later anchor.
        return start is None or seq >= start.seq

    def against_entries(anchor: AuditAnchor | FileAnchor) -> tuple[int, str] | None:
        when = format_datetime(anchor.signed_at, "short")
        if anchor.seq > verdict.last_seq:
            return (
                verdict.last_seq + 1,
                _(
                    "fin du journal supprimée : l'ancre signée le %(when)s porte sur l'entrée "
                    "n° %(seq)s, le journal s'arrête au n° %(last)s",
                    when=when,
                    seq=anchor.seq,
                    last=verdict.last_seq,
                ),
            )
        if hashes_at.get(anchor.seq) != anchor.hash:
            return (anchor.seq, _("l'entrée ne correspond plus à l'ancre signée le %(when)s", when=when))
        return None

    for anchor in valid:
        if looked_at(anchor.seq) and (problem := against_entries(anchor)) is not None:
            problems.append(problem)
    if anchor_file is not None and not last_anchor_only:
        problems += _anchor_file_problems(anchor_file, in_file, valid, keys, looked_at, against_entries)
    if head is not None and not broken_in_walk:
        if head.seq > verdict.last_seq:
            problems.append(
                (
                    verdict.last_seq + 1,
                    _(
                        "fin du journal supprimée : la tête de chaîne annonce l'entrée n° %(seq)s, "
                        "le journal s'arrête au n° %(last)s",
                        seq=head.seq,
                        last=verdict.last_seq,
                    ),
                )
            )
        elif head.seq and hashes_at.get(head.seq) != head.hash:
            problems.append((head.seq, _("l'entrée ne correspond plus à la tête de chaîne")))

    if problems:
        verdict.ok = False
        verdict.first_broken_seq, verdict.reason = min(problems, key=lambda p: p[0])
    limit = verdict.first_broken_seq or verdict.last_seq + 1
    trusted = [a for a in valid if a.seq < limit and hashes_at.get(a.seq) == a.hash]
    if trusted:
        last = max(trusted, key=lambda a: (a.seq, a.signed_at))
        verdict.last_anchor = AnchorInfo(last.seq, last.hash, last.signed_at, last.key_id)
    return verdict


def _anchor_file_problems(
    anchor_file: AnchorFile,
    in_file: Sequence[FileAnchor],
    valid: Sequence[AuditAnchor],
    keys: Mapping[str, Ed25519PublicKey],
    looked_at: Callable[[int], bool],
    against_entries: Callable[[Any], tuple[int, str] | None],
) -> list[tuple[int, str]]:
    """One chain's database anchors against the anchor file, both ways.

    Every anchor of the file must be validly signed, match the entry at its seq (the chain reaching
    that far) and be in the database. For the application's own file (``complete``), every valid
    database anchor signed since the file's first line must be in it too: a database anchor the file
    never recorded was signed outside the application — or the file was lost or cut, which is worth
    knowing as well. (A crash between the commit and the file write leaves one such anchor: rare,
    reported all the same.) A witness's copy only holds some anchors: it is checked one way.
    """
    problems: list[tuple[int, str]] = []
    in_database = {anchor_key(a) for a in valid}
    for line in in_file:
        if not looked_at(line.seq):
            continue
        problem = _signature_problem(line, keys) or against_entries(line)
        if problem is None and anchor_key(line) not in in_database:
            when = format_datetime(line.signed_at, "short")
            problem = (
                line.seq,
                _(
                    "l'ancre n° %(seq)s signée le %(when)s, inscrite au fichier d'ancres, manque dans "
                    "la base",
                    seq=line.seq,
                    when=when,
                ),
            )
        if problem is not None:
            problems.append(problem)
    if not anchor_file.complete:
        return problems
    recorded = {anchor_key(line) for line in in_file}
    since = anchor_file.first_signed_at
    for anchor in valid:
        if not looked_at(anchor.seq) or anchor_key(anchor) in recorded:
            continue
        if anchor_file.exists and (since is None or anchor.signed_at < since):
            continue  # signed before the file began: not expected in it
        problems.append(
            (
                anchor.seq,
                _(
                    "l'ancre n° %(seq)s signée le %(when)s manque dans le fichier d'ancres",
                    seq=anchor.seq,
                    when=format_datetime(anchor.signed_at, "short"),
                ),
            )
        )
    return problems


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


# --- anchoring ---------------------------------------------------------------------------------


@dataclass
class AnchoringResult:
    anchors: list[AuditAnchor] = field(default_factory=list)
    refused: list[ChainVerdict] = field(default_factory=list)  # broken chains are never signed


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


def anchor_heads(chains: Iterable[int] | None = None, *, full: bool = True) -> AnchoringResult:
    """Sign the head of every chain (or of these ``chains``) that moved since its last anchor, after
    verifying it — entirely (``full``), or from its last anchor on (the automatic anchoring).

    Adds the anchors to ``db.session`` and flushes; the caller commits (the anchor file gets them
    then).
    """
    key = signing_key()
    keys = trusted_public_keys()
    heads_query = select(AuditHead.chain, AuditHead.seq).where(AuditHead.seq > 0).order_by(AuditHead.chain)
    anchored_query = select(AuditAnchor.chain, func.max(AuditAnchor.seq)).group_by(AuditAnchor.chain)
    if chains is not None:
        wanted = sorted(set(chains))
        heads_query = heads_query.where(AuditHead.chain.in_(wanted))
        anchored_query = anchored_query.where(AuditAnchor.chain.in_(wanted))
    anchored = dict(db.session.execute(anchored_query).all())
    result = AnchoringResult()
    erasures = Erasures()
    for head in db.session.execute(heads_query).all():
        if anchored.get(head.chain, 0) >= head.seq:
            continue
        verdict = verify_chain(head.chain, keys=keys, last_anchor_only=not full, erasures=erasures)
        if not verdict.ok:
            logger.error("audit chain %s is broken at %s: not anchored", head.chain, verdict.first_broken_seq)
            result.refused.append(verdict)
            continue
        result.anchors.append(_new_anchor(head.chain, verdict.last_seq, verdict.last_hash, key))
    db.session.flush()
    return result


# --- automatic anchoring -----------------------------------------------------------------------
#
# No job queue yet: anchors are placed by the writes themselves. (1) Every AUDIT_ANCHOR_EVERY entries
# of a chain, as they are appended (_append): a burst of writes, even in one transaction. (2) On the
# commit of a transaction that appended to a chain, if that chain has no anchor yet or a last anchor
# older than AUDIT_ANCHOR_MAX_AGE: one small query per such commit, and the anchor joins the
# transaction (the chain's head is locked by it: the anchor signs exactly what it wrote). (3) For a
# chain that moved and then went quiet, a sweep after a request, at most every
# AUDIT_ANCHOR_SWEEP_MINUTES per process: one small query, and a write only when a chain is due.
# Trade-off, stated: a request that only reads (a GET) may then write anchors — at most once per
# sweep interval per process, and only when some chain has entries older than the max age that no
# anchor covers; a GET with nothing to anchor never writes. The job queue will take this over.
# None of it may fail a request: errors are logged and the request goes on. AUDIT_AUTO_ANCHOR turns
# (2) and (3) off (the tests place their anchors themselves).


def _max_age() -> timedelta:
    value = current_app.config.get("AUDIT_ANCHOR_MAX_AGE") or timedelta(hours=24)
    return value if isinstance(value, timedelta) else timedelta(seconds=float(value))


def due_chains(chains: Iterable[int] | None = None) -> list[int]:
    """The chains (all, or among ``chains``) whose head moved since their last anchor and which have
    no anchor, or a last anchor older than ``AUDIT_ANCHOR_MAX_AGE``. One query (two index look-ups
    per head). (A burst of writes is anchored as it is written: see ``AUDIT_ANCHOR_EVERY``.)"""
    cutoff = utcnow() - _max_age()

    def last(column: Any) -> Any:
        return (
            select(column)
            .where(AuditAnchor.chain == AuditHead.chain)
            .order_by(AuditAnchor.seq.desc(), AuditAnchor.id.desc())
            .limit(1)
            .correlate(AuditHead)
            .scalar_subquery()
        )

    anchored_seq, anchored_at = func.coalesce(last(AuditAnchor.seq), 0), last(AuditAnchor.signed_at)
    query = select(AuditHead.chain).where(
        AuditHead.seq > anchored_seq, or_(anchored_at.is_(None), anchored_at < cutoff)
    )
    if chains is not None:
        query = query.where(AuditHead.chain.in_(sorted(set(chains))))
    return list(db.session.scalars(query.order_by(AuditHead.chain)))


@event.listens_for(Session, "before_commit")
def _anchor_on_commit(session: Session) -> None:
    appended = session.info.get(_APPENDED)
    if not appended or session.in_nested_transaction() or session.info.get(_AUTO_ANCHORING):
        return
    if not has_app_context() or not current_app.config.get("AUDIT_AUTO_ANCHOR"):
        return
    if session is not db.session:
        return
    session.info[_AUTO_ANCHORING] = True
    try:
        due = due_chains(appended)
        if due:
            with session.begin_nested():  # a failure undoes the anchors only, never the commit
                anchor_heads(due, full=False)
    except Exception:
        logger.exception("audit: automatic anchoring failed (chains %s); the commit goes on", appended)
    finally:
        session.info.pop(_AUTO_ANCHORING, None)


def sweep() -> list[AuditAnchor]:
    """Anchor every chain that is due (see :func:`due_chains`); the caller commits."""
    due = due_chains()
    return anchor_heads(due, full=False).anchors if due else []


_sweep_lock = threading.Lock()


def _sweep_slot(app: Flask) -> bool:
    """True at most once every ``AUDIT_ANCHOR_SWEEP_MINUTES`` per process (and application)."""
    state = app.extensions.setdefault("egide_audit", {"next_sweep": 0.0})
    now = time.monotonic()
    with _sweep_lock:
        if now < state["next_sweep"]:
            return False
        state["next_sweep"] = now + 60 * float(app.config.get("AUDIT_ANCHOR_SWEEP_MINUTES", 10))
    return True


def sweep_after_request(exc: BaseException | None = None) -> None:
    """``teardown_request``: the throttled sweep. Runs after the view, in the request's session once
    rolled back (what the view left uncommitted is dropped at teardown anyway); never raises."""
    if exc is not None or not has_request_context():
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not app.config.get("AUDIT_AUTO_ANCHOR") or request.endpoint == "static" or not _sweep_slot(app):
        return
    session = db.session
    try:
        session.rollback()
        if sweep():
            session.commit()
    except Exception:
        logger.exception("audit: anchoring sweep failed; the request goes on")
        try:
            session.rollback()
        except Exception:
            logger.exception("audit: rollback after the anchoring sweep failed")


def init_app(app: Flask) -> None:
    """Register the anchoring sweep (the anchoring on commit needs no registration)."""
    app.extensions.setdefault("egide_audit", {"next_sweep": 0.0})
    app.teardown_request(sweep_after_request)
