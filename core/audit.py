"""Audit hook: every service write calls :func:`record`.

The tamper-evident, hash-chained journal is the account-security issue's work; until then entries go
to the ``egide.audit`` logger so that the call sites — the part that is easy to forget — exist now
and the journal only has to add a sink. A sink is a callable taking an :class:`AuditEntry`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import inspect

from core.concurrency import flush_or_conflict
from core.db import utcnow
from core.extensions import db

logger = logging.getLogger("egide.audit")


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    organisation_id: int | None
    actor_id: int | None
    action: str
    object_type: str
    object_id: int | None
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)


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
    entry = AuditEntry(
        at=utcnow(),
        organisation_id=getattr(org, "id", org),
        actor_id=getattr(actor, "id", None),
        action=action,
        object_type=type(obj).__name__,
        object_id=getattr(obj, "id", None),
        changes=dict(changes or {}),
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
    for sink in sinks:
        sink(entry)
    return entry
