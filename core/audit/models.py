"""The journal's tables and constants: entries, their erasable payloads, the chain heads, the anchors.

See :mod:`core.audit` for the design. Read-only by construction: the application never updates or
deletes an entry (on PostgreSQL, triggers refuse it: migrations/20261124_b_audit_trail.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.audit.hashing import chain_content
from core.db import Base, UTCDateTime

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
