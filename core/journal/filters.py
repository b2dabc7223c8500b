"""The journal's filters (who, which object, which action, which dates) and the query they make,
always within one chain."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import get_timezone
from sqlalchemy import Select, or_, select

from core import params
from core.audit import AuditEvent, AuditPayload
from core.db import Base
from core.extensions import db
from core.journal.labels import action_label, object_type_label

PLATFORM = "platform"  # the ``chain`` parameter that asks for the platform chain


def _users() -> Any:
    return Base.metadata.tables["users"]


def _int(value: Any) -> int | None:
    return params.parse_int(value)  # 1 .. 2**31 - 1, else no filter


def _date(value: Any) -> date | None:
    return params.parse_date(value)  # years 1900 .. 2200, else no filter


@dataclass
class JournalFilters:
    user: int | None = None
    object_type: str = ""
    object_id: int | None = None
    action: str = ""
    date_from: date | None = None
    date_to: date | None = None

    @classmethod
    def parse(cls, args: Mapping[str, Any]) -> JournalFilters:
        """Junk gives no filter, never an error."""
        return cls(
            user=_int(args.get("user")),
            object_type=str(args.get("object_type", "")).strip()[:100],
            object_id=_int(args.get("object_id")),
            action=str(args.get("action", "")).strip()[:100],
            date_from=_date(args.get("from", "")),
            date_to=_date(args.get("to", "")),
        )

    def as_args(self) -> dict[str, str]:
        """As query parameters (hidden fields of the export form)."""
        values = {
            "user": self.user,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "action": self.action,
            "from": self.date_from,
            "to": self.date_to,
        }
        return {k: str(v) if not isinstance(v, date) else v.isoformat() for k, v in values.items() if v}

    def as_record(self) -> dict[str, Any]:
        return {k: v.isoformat() if isinstance(v, date) else v for k, v in asdict(self).items() if v}


def _local_midnight_utc(day: date) -> datetime:
    """Midnight of ``day`` where the users are (the pages show local times), as UTC."""
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(str(get_timezone())))


def journal_query(chain: int, filters: JournalFilters) -> Select[Any]:
    users = _users()
    stmt = (
        select(AuditEvent, AuditPayload.data, AuditPayload.erased_at, users.c.full_name)
        .outerjoin(AuditPayload, AuditPayload.event_id == AuditEvent.id)
        .outerjoin(users, users.c.id == AuditEvent.actor_id)
        .where(AuditEvent.chain == chain)
    )
    if filters.user:
        stmt = stmt.where(AuditEvent.actor_id == filters.user)
    if filters.object_type:
        stmt = stmt.where(AuditEvent.object_type == filters.object_type)
    if filters.object_id:
        stmt = stmt.where(AuditEvent.object_id == filters.object_id)
    if filters.action:  # "login" also finds login.success and login.failure
        stmt = stmt.where(
            or_(AuditEvent.action == filters.action, AuditEvent.action.startswith(filters.action + "."))
        )
    if filters.date_from:
        stmt = stmt.where(AuditEvent.at >= _local_midnight_utc(filters.date_from))
    if filters.date_to:
        stmt = stmt.where(AuditEvent.at < _local_midnight_utc(filters.date_to + timedelta(days=1)))
    return stmt.order_by(AuditEvent.seq.desc())


def filter_choices(chain: int) -> dict[str, list[tuple[Any, str]]]:
    in_chain = AuditEvent.chain == chain
    users = _users()
    actors = db.session.execute(
        select(users.c.id, users.c.full_name)
        .where(users.c.id.in_(select(AuditEvent.actor_id).where(in_chain)))
        .order_by(users.c.full_name, users.c.id)
    )
    actions = db.session.scalars(
        select(AuditEvent.action).where(in_chain).distinct().order_by(AuditEvent.action)
    )
    types = db.session.scalars(
        select(AuditEvent.object_type).where(in_chain).distinct().order_by(AuditEvent.object_type)
    )
    return {
        "users": [(row.id, row.full_name) for row in actors],
        "actions": [(a, action_label(a)) for a in actions],
        "object_types": sorted(((t, object_type_label(t)) for t in types), key=lambda c: c[1].lower()),
    }
