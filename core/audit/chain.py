"""Recording: every service write calls :func:`record`, which appends a hash-chained entry to the
organisation's chain, in the caller's transaction (flushed, never committed); and the GDPR erasure of
payloads (:func:`erase_payloads`), itself journalled. See :mod:`core.audit` for the design.

Entries are also logged to the ``egide.audit`` logger (field names only, never values), and handed
to ``sinks`` (callables taking an :class:`AuditEntry`), for forwarding elsewhere.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Any

from flask import current_app, has_request_context, request
from sqlalchemy import Integer, any_, bindparam, func, insert, inspect, literal, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from werkzeug.local import LocalProxy

from core.audit.hashing import canonical, chain_content, entry_hash, jsonable, payload_hash
from core.audit.models import (
    _APPENDED,
    ERASE_ACTION,
    ERASED_KEY,
    GENESIS,
    PLATFORM_CHAIN,
    USER_AGENT_MAX,
    AuditEvent,
    AuditHead,
    AuditPayload,
)
from core.audit.signing import _new_anchor
from core.concurrency import flush_or_conflict
from core.db import utcnow
from core.extensions import db

logger = logging.getLogger("egide.audit")


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


def _object_ref(obj: Any) -> tuple[str, int | None]:
    if isinstance(obj, LocalProxy):
        obj = obj._get_current_object()
    if isinstance(obj, Ref):
        return obj.object_type, obj.id
    return type(obj).__name__, getattr(obj, "id", None)


def record_many(
    org: Any,
    actor: Any,
    items: Sequence[tuple[str, Any, Mapping[str, tuple[Any, Any]]]],
    *,
    request_context: bool = True,
    json_ready: bool = False,
) -> list[AuditEntry]:
    """Append one entry per ``(action, obj, changes)`` to the organisation's chain, in order: the
    entries :func:`record` would append one by one (same payloads, same hashes, the periodic anchors
    at the same places), written with one INSERT per table instead of one per entry — for the writes
    of a bulk import, in the caller's transaction (flushed, never committed).

    ``json_ready``: every before/after value is already what :func:`jsonable` gives (JSON types
    only), so it is not converted again."""
    if not items:
        return []
    organisation_id = getattr(org, "id", org)
    chain = organisation_id or PLATFORM_CHAIN
    actor_id = getattr(actor, "id", None)
    context = _request_context() if request_context else {}
    at = utcnow()
    prev_seq, prev_hash = _lock_head(chain)
    entries: list[AuditEntry] = []
    events: list[dict[str, Any]] = []
    payloads: list[Any] = []
    context_json = jsonable(context)
    for action, obj, changes in items:
        object_type, object_id = _object_ref(obj)
        pairs = {str(name): [before, after] for name, (before, after) in changes.items()}
        data = {"changes": pairs if json_ready else jsonable(pairs), "context": context_json}
        text = canonical(data)
        if not json_ready:
            data = json.loads(text)  # stored exactly as hashed (canonical(data) == text)
        prev_seq += 1
        event = {
            "chain": chain,
            "seq": prev_seq,
            "at": at,
            "actor_id": actor_id,
            "organisation_id": organisation_id,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "payload_sha256": hashlib.sha256(text).hexdigest(),  # payload_hash(data), hashed once
            "prev_hash": prev_hash,
        }
        event["hash"] = prev_hash = entry_hash(event["prev_hash"], chain_content(_Row(event)))
        events.append(event)
        payloads.append(data)
        entries.append(
            AuditEntry(
                at=at,
                organisation_id=organisation_id,
                actor_id=actor_id,
                action=action,
                object_type=object_type,
                object_id=object_id,
                changes=dict(changes),
                chain=chain,
                seq=prev_seq,
                hash=prev_hash,
            )
        )
    table = AuditEvent.__table__
    ids = db.session.scalars(insert(table).returning(table.c.id, sort_by_parameter_order=True), events).all()
    db.session.execute(
        insert(AuditPayload.__table__),
        [{"event_id": event_id, "data": data} for event_id, data in zip(ids, payloads, strict=True)],
    )
    db.session.execute(
        update(AuditHead.__table__)
        .where(AuditHead.__table__.c.chain == chain)
        .values(seq=prev_seq, hash=prev_hash)
    )
    db.session.info.setdefault(_APPENDED, set()).add(chain)
    every = current_app.config.get("AUDIT_ANCHOR_EVERY") or 0
    if every:
        for entry in entries:
            if entry.seq % every == 0:  # the anchors record() would have signed on the way
                _new_anchor(chain, entry.seq, entry.hash or "")
    db.session.flush()
    logger.info(
        "%d entries org=%s actor=%s actions=%s seq=%s..%s",
        len(entries),
        organisation_id,
        actor_id,
        sorted({entry.action for entry in entries}),
        entries[0].seq,
        entries[-1].seq,
    )
    for entry in entries:
        for sink in sinks:
            sink(entry)
    return entries


def record_each(
    items: Sequence[tuple[Any, str, Any, Mapping[str, tuple[Any, Any]]]],
    actor: Any,
    *,
    request_context: bool = True,
) -> list[AuditEntry]:
    """One entry per ``(org, action, obj, changes)``, each appended to its own organisation's chain:
    the entries :func:`record` would append one by one, in this order (same payloads, same hashes,
    the periodic anchors at the same places), with every chain head locked in one statement (in
    chain order, as concurrent callers lock them) and one INSERT per table — for one write that
    touches many organisations (an incident opening a breach in each affected member's register).
    In the caller's transaction, flushed, never committed. ``org``: an Organisation or its id (None:
    the platform chain)."""
    if not items:
        return []
    actor_id = getattr(actor, "id", None)
    context = jsonable(_request_context() if request_context else {})
    at = utcnow()
    heads = _lock_heads(getattr(org, "id", org) or PLATFORM_CHAIN for org, *_rest in items)
    entries: list[AuditEntry] = []
    events: list[dict[str, Any]] = []
    payloads: list[Any] = []
    for org, action, obj, changes in items:
        organisation_id = getattr(org, "id", org)
        chain = organisation_id or PLATFORM_CHAIN
        object_type, object_id = _object_ref(obj)
        pairs = {name: [before, after] for name, (before, after) in changes.items()}
        text = canonical(jsonable({"changes": pairs, "context": context}))
        prev_seq, prev_hash = heads[chain]
        event = {
            "chain": chain,
            "seq": prev_seq + 1,
            "at": at,
            "actor_id": actor_id,
            "organisation_id": organisation_id,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "payload_sha256": hashlib.sha256(text).hexdigest(),  # payload_hash(data), hashed once
            "prev_hash": prev_hash,
        }
        event["hash"] = entry_hash(prev_hash, chain_content(_Row(event)))
        heads[chain] = (event["seq"], event["hash"])
        events.append(event)
        payloads.append(json.loads(text))  # stored exactly as hashed
        entries.append(
            AuditEntry(
                at=at,
                organisation_id=organisation_id,
                actor_id=actor_id,
                action=action,
                object_type=object_type,
                object_id=object_id,
                changes=dict(changes),
                chain=chain,
                seq=event["seq"],
                hash=event["hash"],
            )
        )
    table = AuditEvent.__table__
    ids = db.session.scalars(insert(table).returning(table.c.id, sort_by_parameter_order=True), events).all()
    db.session.execute(
        insert(AuditPayload.__table__),
        [{"event_id": event_id, "data": data} for event_id, data in zip(ids, payloads, strict=True)],
    )
    head_table = AuditHead.__table__
    db.session.execute(
        update(head_table)
        .where(head_table.c.chain == bindparam("head_chain"))
        .values(seq=bindparam("head_seq"), hash=bindparam("head_hash")),
        [{"head_chain": c, "head_seq": seq, "head_hash": h} for c, (seq, h) in sorted(heads.items())],
    )
    db.session.info.setdefault(_APPENDED, set()).update(heads)
    every = current_app.config.get("AUDIT_ANCHOR_EVERY") or 0
    if every:
        for entry in entries:
            if entry.seq % every == 0:  # the anchors record() would have signed on the way
                _new_anchor(entry.chain, entry.seq, entry.hash or "")
    db.session.flush()
    logger.info(  # one line for the batch, as record_many (field names only, never values)
        "%d entries on %d chains actor=%s actions=%s objects=%s",
        len(entries),
        len(heads),
        actor_id,
        sorted({entry.action for entry in entries}),
        sorted({entry.object_type for entry in entries}),
    )
    for entry in entries:
        for sink in sinks:
            sink(entry)
    return entries


def _lock_heads(chains: Iterable[int]) -> dict[int, tuple[int, str]]:
    """:func:`_lock_head` for several chains at once: their heads (created if new), locked in chain
    order until the end of the transaction."""
    table = AuditHead.__table__
    ordered = sorted(set(chains))
    dialect = db.session.get_bind().dialect.name
    rows = [{"chain": chain, "seq": 0, "hash": GENESIS} for chain in ordered]
    wanted = table.c.chain.in_(ordered)
    if dialect == "postgresql":  # one array parameter, not a placeholder per chain
        chain_ids = bindparam("chain_ids", ordered, type_=ARRAY(Integer))
        wanted = table.c.chain == any_(chain_ids)
        new = select(func.unnest(chain_ids).label("chain"), literal(0), literal(GENESIS))
        db.session.execute(
            pg_insert(table)
            .from_select(["chain", "seq", "hash"], new)
            .on_conflict_do_nothing(index_elements=["chain"])
        )
    elif dialect == "sqlite":
        db.session.execute(sqlite_insert(table).values(rows).on_conflict_do_nothing(index_elements=["chain"]))
    else:
        known = set(db.session.scalars(select(table.c.chain).where(wanted)))
        missing = [row for row in rows if row["chain"] not in known]
        if missing:
            db.session.execute(table.insert(), missing)
    locked = db.session.execute(
        select(table.c.chain, table.c.seq, table.c.hash)
        .where(wanted)
        .order_by(table.c.chain)
        .with_for_update()
    )
    return {row.chain: (row.seq, row.hash) for row in locked}


class _Row:
    """Attribute access to an event's dict, for :func:`chain_content`."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.__dict__.update(values)


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
