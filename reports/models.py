"""Generated documents: every PDF (or export) handed out is kept with its SHA-256.

An auditor can check a document they were given against this list (and the journal entry written
when it was generated) without trusting the server that produced it: the hash is computed on the
exact bytes served, shown on the download page and printed nowhere inside the PDF itself (a
document cannot contain its own hash).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, OrgScopedMixin, UTCDateTime, utcnow
from core.enums import LabelledEnum


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


class DocumentJobStatus(LabelledEnum):
    PENDING = "pending", _l("En attente")  # queued, no worker has taken it yet
    RUNNING = "running", _l("En préparation")  # being built: ``progress`` says how far
    DONE = "done", _l("Prêt")  # built and stored: ``report_id``
    # the job raised (logged, retried by the queue; a retry that succeeds sets DONE)
    FAILED = "failed", _l("Échec")


class DocumentJob(OrgScopedMixin, Base):
    """A document too large to build during a request, built by a background job (core.jobs).

    The documents page shows the organisation's jobs in progress and polls their state; when the
    job has stored the document (:func:`reports.services.store_report`, journalled as any other),
    ``report_id`` names it and the page lists it. Written by the job alone, in short transactions
    of their own (its progress is seen while the document is being built): nobody edits it, so it
    has no version column. ``options`` are what the person asked (e.g. drafts included) and
    ``locale`` the language they asked in: the document is printed in it.
    """

    __tablename__ = "document_jobs"
    __table_args__ = (Index("ix_document_jobs_org_status", "organisation_id", "status"),)

    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    locale: Mapped[str] = mapped_column(String(8), default="fr")
    status: Mapped[str] = mapped_column(String(16), default=DocumentJobStatus.PENDING.value)
    progress: Mapped[int] = mapped_column(Integer, default=0)  # percent
    item_count: Mapped[int] = mapped_column(Integer, default=0)  # e.g. the fiches to print
    error: Mapped[str | None] = mapped_column(Text)  # for the administrator (the page says less)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    report_id: Mapped[int | None] = mapped_column(
        ForeignKey("generated_reports.id", ondelete="SET NULL"), index=True
    )

    requested_by: Mapped[Any] = relationship("User", lazy="joined")

    @property
    def state(self) -> DocumentJobStatus:
        return DocumentJobStatus(self.status)

    @property
    def is_finished(self) -> bool:
        return self.status in (DocumentJobStatus.DONE, DocumentJobStatus.FAILED)
