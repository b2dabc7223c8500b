"""Generated documents: every PDF (or export) handed out is kept with its SHA-256.

An auditor can check a document they were given against this list (and the journal entry written
when it was generated) without trusting the server that produced it: the hash is computed on the
exact bytes served, shown on the download page and printed nowhere inside the PDF itself (a
document cannot contain its own hash).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, OrgScopedMixin, UTCDateTime, utcnow


class GeneratedReport(OrgScopedMixin, Base):
    __tablename__ = "generated_reports"
    __table_args__ = (
        Index("ix_generated_reports_org_kind_created", "organisation_id", "kind", "created_at"),
    )

    kind: Mapped[str] = mapped_column(String(40))  # e.g. "register", "processor_register", "activity"
    title: Mapped[str] = mapped_column(String(300))
    filename: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(100), default="application/pdf")
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    object_id: Mapped[int | None] = mapped_column(Integer)  # e.g. the fiche of a single-fiche PDF

    # Named, not imported: reports sits below the accounts (the mapper finds "User" when configured).
    created_by: Mapped[Any] = relationship("User", lazy="joined")
