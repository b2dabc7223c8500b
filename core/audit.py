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
  SHA-256. :func:`erase_payloads` empties them for the GDPR; the chain stays verifiable and
  :func:`verify` counts those entries as "payload erased", not broken.
* **Signed anchors.** :func:`anchor_heads` signs ``(chain, seq, hash, signed_at)`` of every chain
  that moved with an Ed25519 key kept in a file, outside the database (``AUDIT_SIGNING_KEY_FILE``,
  default ``instance/audit_signing_key.pem``, created with mode 0600 on first use). Without anchors,
  someone with write access to the database could rewrite the whole chain, or cut its end. Anchors
  are also appended to ``AUDIT_ANCHOR_COPY_FILE`` (JSON lines) when it is set: keep that copy
  elsewhere.
* **Read-only.** The application never updates or deletes an entry; on PostgreSQL a trigger refuses
  UPDATE and DELETE on ``audit_events`` and ``audit_anchors``, and lets a payload change only to
  NULL (erasure). See migrations/20261124_b_audit_trail.py.

:func:`verify` walks each chain and names the first broken entry. Its limit, by design: entries
appended after the last signed anchor can be removed from the end without trace by someone who also
rewinds ``audit_heads`` — the verdict therefore says "vérifié jusqu'à l'ancre n° …".

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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app, has_request_context, request
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
    func,
    inspect,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.concurrency import flush_or_conflict
from core.db import Base, UTCDateTime, utcnow
from core.extensions import db

logger = logging.getLogger("egide.audit")

GENESIS = "0" * 64
PLATFORM_CHAIN = 0
USER_AGENT_MAX = 300


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
) -> AuditEntry:
    """Append an entry to the organisation's chain (``org`` None: the platform chain).

    ``org`` is an Organisation or its id; ``obj`` a model instance (or a :class:`Ref`). Written with
    ``db.session`` in the caller's transaction, flushed, never committed.
    """
    organisation_id = getattr(org, "id", org)
    if org is not None and organisation_id is None:  # a new organisation: give it its id first
        db.session.flush()
        organisation_id = getattr(org, "id", None)
        if organisation_id is None:
            raise ValueError(f"audit.record({action!r}): the organisation has no id")
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
    entry = _append(entry)
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


def _append(entry: AuditEntry) -> AuditEntry:
    data = {
        "changes": {name: [before, after] for name, (before, after) in entry.changes.items()},
        "context": _request_context(),
    }
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
    every = current_app.config.get("AUDIT_ANCHOR_EVERY") or 0
    if every and seq % every == 0:
        _sign_head(entry.chain, seq, event.hash)
    return dataclasses.replace(entry, seq=seq, hash=event.hash)


def _sign_head(chain: int, seq: int, hash_: str) -> AuditAnchor:
    """Periodic anchor, signed as the entry is written (every AUDIT_ANCHOR_EVERY entries of a chain):
    truncating the journal below it is then detectable even if nobody runs ``flask audit anchor``.
    It seals only what the application itself just chained; ``anchor_heads`` also verifies first."""
    key = signing_key()
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
    db.session.flush()
    _copy_anchors([anchor])
    return anchor


# --- GDPR erasure ------------------------------------------------------------------------------


def erase_payloads(event_ids: Iterable[int], actor: Any, *, subject_user_id: int | None = None) -> int:
    """Empty the payloads (changes, IP address, user agent) of these entries; the chain stays valid.

    The erasure is itself journalled on the platform chain (how many, for whom; no content).
    """
    ids = sorted(set(event_ids))
    if not ids:
        return 0
    now = utcnow()
    count = 0
    for start in range(0, len(ids), 500):
        result = db.session.execute(
            update(AuditPayload.__table__)
            .where(AuditPayload.__table__.c.event_id.in_(ids[start : start + 500]))
            .where(AuditPayload.__table__.c.data.is_not(None))
            .values(data=None, erased_at=now)
        )
        count += result.rowcount or 0  # type: ignore[attr-defined]
    record(
        None,
        actor,
        "audit.payload_erase",
        Ref("AuditPayload"),
        {"erased": (None, count), "subject_user_id": (None, subject_user_id)},
    )
    return count


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


def verify(chain: int | Sequence[int] | None = None) -> list[ChainVerdict]:
    """Walk the chains (all of them, by default) and return one verdict per chain.

    For each chain, in ``seq`` order: numbering contiguous from 1, each ``prev_hash`` equal to the
    previous entry's hash, each hash recomputed from the entry's content, each payload still matching
    its ``payload_sha256`` (unless erased). Then every anchor: its signature with a trusted public
    key, and that the chain still holds an entry with the anchor's seq and hash — which detects a
    rewritten chain and a tail truncated below the last anchor. A truncation *above* the last anchor
    is undetectable by design (unless ``audit_heads`` was left behind); the verdict says how far the
    anchors vouch for the journal. The first broken entry is the smallest faulty seq.
    """
    if chain is None:
        wanted = chains()
    elif isinstance(chain, int):
        wanted = [chain]
    else:
        wanted = list(chain)
    keys = trusted_public_keys()
    return [verify_chain(c, keys=keys) for c in wanted]


def verify_chain(
    chain: int, *, keys: Mapping[str, Ed25519PublicKey] | None = None, from_last_anchor: bool = False
) -> ChainVerdict:
    """Verify one chain (see :func:`verify`).

    ``from_last_anchor``: walk only the entries after the last anchor whose signature is valid,
    trusting what that signature vouches for — the journal page's quick check (about 50,000 entries
    a second: a full walk of a platform chain of millions of logins would take minutes). The verdict
    says so; ``flask audit verify`` and the page's "full verification" walk everything.
    """
    keys = trusted_public_keys() if keys is None else keys
    verdict = ChainVerdict(chain=chain)
    problems: list[tuple[int, str]] = []

    # Head and anchors are read before the entries: what they name was committed before the walk.
    head = db.session.execute(
        select(AuditHead.seq, AuditHead.hash).where(AuditHead.chain == chain)
    ).one_or_none()
    anchors = list(
        db.session.execute(
            select(AuditAnchor).where(AuditAnchor.chain == chain).order_by(AuditAnchor.seq, AuditAnchor.id)
        ).scalars()
    )
    valid: list[AuditAnchor] = []
    for anchor in anchors:
        key = keys.get(anchor.key_id)
        if key is None:
            problems.append(
                (
                    anchor.seq,
                    _(
                        "ancre n° %(seq)s signée par une clé inconnue (%(key)s)",
                        seq=anchor.seq,
                        key=anchor.key_id,
                    ),
                )
            )
            continue
        try:
            key.verify(
                base64.b64decode(anchor.signature),
                anchor_message(anchor.chain, anchor.seq, anchor.hash, anchor.signed_at),
            )
        except (InvalidSignature, ValueError):
            problems.append((anchor.seq, _("signature invalide de l'ancre n° %(seq)s", seq=anchor.seq)))
            continue
        valid.append(anchor)
    anchored: dict[int, list[AuditAnchor]] = {}
    for anchor in valid:
        anchored.setdefault(anchor.seq, []).append(anchor)
    hashes_at: dict[int, str] = {}
    watched = set(anchored) | ({head.seq} if head is not None else set())
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
                verdict.erased_payloads += 1
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

    for anchor in valid:
        if broken_in_walk and anchor.seq >= expected:
            continue  # beyond the first break: not looked at
        if start is not None and anchor.seq < start.seq:
            continue  # vouched for by the later anchor the quick check starts from
        when = format_datetime(anchor.signed_at, "short")
        if anchor.seq > verdict.last_seq:
            problems.append(
                (
                    verdict.last_seq + 1,
                    _(
                        "fin du journal supprimée : l'ancre signée le %(when)s porte sur l'entrée "
                        "n° %(seq)s, le journal s'arrête au n° %(last)s",
                        when=when,
                        seq=anchor.seq,
                        last=verdict.last_seq,
                    ),
                )
            )
        elif hashes_at.get(anchor.seq) != anchor.hash:
            problems.append(
                (anchor.seq, _("l'entrée ne correspond plus à l'ancre signée le %(when)s", when=when))
            )
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


# --- anchoring ---------------------------------------------------------------------------------


@dataclass
class AnchoringResult:
    anchors: list[AuditAnchor] = field(default_factory=list)
    refused: list[ChainVerdict] = field(default_factory=list)  # broken chains are never signed


def anchor_heads() -> AnchoringResult:
    """Sign the head of every chain that moved since its last anchor (after verifying the chain).

    Adds the anchors to ``db.session`` and flushes; the caller commits.
    """
    key = signing_key()
    kid = key_id(key.public_key())
    keys = trusted_public_keys()
    anchored = dict(
        db.session.execute(
            select(AuditAnchor.chain, func.max(AuditAnchor.seq)).group_by(AuditAnchor.chain)
        ).all()
    )
    heads = db.session.execute(select(AuditHead.chain, AuditHead.seq).order_by(AuditHead.chain)).all()
    result = AnchoringResult()
    for head in heads:
        if head.seq == 0 or anchored.get(head.chain, 0) >= head.seq:
            continue
        verdict = verify_chain(head.chain, keys=keys)
        if not verdict.ok:
            logger.error("audit chain %s is broken at %s: not anchored", head.chain, verdict.first_broken_seq)
            result.refused.append(verdict)
            continue
        signed_at = utcnow()
        message = anchor_message(head.chain, verdict.last_seq, verdict.last_hash, signed_at)
        anchor = AuditAnchor(
            chain=head.chain,
            seq=verdict.last_seq,
            hash=verdict.last_hash,
            signed_at=signed_at,
            signature=base64.b64encode(key.sign(message)).decode("ascii"),
            key_id=kid,
        )
        db.session.add(anchor)
        result.anchors.append(anchor)
    db.session.flush()
    _copy_anchors(result.anchors)
    return result


def _copy_anchors(anchors: list[AuditAnchor]) -> None:
    """Append the new anchors, as JSON lines, to ``AUDIT_ANCHOR_COPY_FILE`` when it is set: a copy
    outside the database (ship it to WORM storage, the DPO …) so that deleting anchors from the
    database can be noticed too."""
    name = current_app.config.get("AUDIT_ANCHOR_COPY_FILE")
    if not name or not anchors:
        return
    path = Path(name)
    path = path if path.is_absolute() else Path(current_app.instance_path) / path
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        for a in anchors:
            line = {
                "chain": a.chain,
                "seq": a.seq,
                "hash": a.hash,
                "signed_at": iso_utc(a.signed_at),
                "signature": a.signature,
                "key_id": a.key_id,
            }
            fh.write(canonical(line).decode("utf-8") + "\n")
