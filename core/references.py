"""Per-organisation references (``TRT-001``, ``DRO-2026-004``…): the next free number and the
uniqueness check, the same way for fiches, rights requests, breaches and incidents.

Reads skip the tenant filter: a reference is unique in its organisation whoever asks, and the
database's unique constraint on ``(organisation_id, reference)`` stays the last word
(:func:`core.concurrency.with_fresh_reference` retries when a race hits it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select

from core.extensions import db
from core.tenancy import UNSCOPED


def next_reference(model: Any, org_id: int, prefix: str) -> str:
    """The next free ``<prefix>NNN`` of an organisation (gaps are not reused)."""
    refs = db.session.scalars(
        select(model.reference)
        .where(model.organisation_id == org_id, model.reference.like(f"{prefix}%"))
        .execution_options(**UNSCOPED)  # unscoped: filtered on org_id explicitly (numbering of one register)
    )
    pattern = re.compile(re.escape(prefix) + r"(\d+)")
    numbers = [int(m.group(1)) for r in refs if (m := pattern.fullmatch(r))]
    return f"{prefix}{max(numbers, default=0) + 1:03d}"


def next_references(model: Any, org_ids: Iterable[int], prefix: str) -> dict[int, str]:
    """:func:`next_reference` of several organisations at once (one query)."""
    ids = sorted(set(org_ids))
    if not ids:
        return {}
    rows = db.session.execute(
        select(model.organisation_id, model.reference)
        .where(model.organisation_id.in_(ids), model.reference.like(f"{prefix}%"))
        .execution_options(**UNSCOPED)  # unscoped: filtered on the organisations explicitly
    )
    pattern = re.compile(re.escape(prefix) + r"(\d+)")
    highest = dict.fromkeys(ids, 0)
    for org_id, reference in rows:
        if m := pattern.fullmatch(reference):
            highest[org_id] = max(highest[org_id], int(m.group(1)))
    return {org_id: f"{prefix}{n + 1:03d}" for org_id, n in highest.items()}


def is_reference_taken(model: Any, org_id: int, reference: str, exclude_id: int | None) -> bool:
    """Whether another record of the organisation has ``reference`` (case-insensitive)."""
    stmt = select(model.id).where(model.organisation_id == org_id, func.upper(model.reference) == reference)
    if exclude_id is not None:
        stmt = stmt.where(model.id != exclude_id)
    # unscoped: filtered on org_id explicitly (uniqueness in one register)
    return db.session.scalar(stmt.execution_options(**UNSCOPED).limit(1)) is not None
