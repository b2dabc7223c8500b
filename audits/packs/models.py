"""An evidence pack: a signed ZIP of the documents and evidence files of a scope and a period, built
by the job queue (:mod:`audits.packs.services`) and kept on disk until it expires."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, OrgScopedMixin, UTCDateTime, utcnow
from core.enums import ColouredEnum


class PackStatus(ColouredEnum):
    QUEUED = "queued", _l("En attente"), "secondary"  # waiting for a worker
    BUILDING = "building", _l("En préparation"), "primary"  # ``progress`` says how far
    READY = "ready", _l("Prêt"), "success"  # the ZIP is on disk: ``file_path``, ``size``, ``sha256``
    # ``error`` says why (an evidence file whose hash no longer matches…)
    FAILED = "failed", _l("Échec"), "danger"
    EXPIRED = "expired", _l("Expiré"), "light"  # the file was deleted by the purge; the row stays


class EvidencePack(OrgScopedMixin, Base):
    """Asked by someone of ``organisation_id`` for ``scope_org_ids`` (that organisation, or members of
    the syndicate chosen by its RSSI) over a period. Written by the job alone (status, progress, the
    file) and by the purge: nobody edits it, so it has no version column (as reports' DocumentJob)."""

    __tablename__ = "evidence_packs"
    __table_args__ = (Index("ix_evidence_packs_org_requested", "organisation_id", "requested_at"),)

    title: Mapped[str] = mapped_column(String(300))
    scope_org_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    # The audit the pack was asked for (a plain integer: the foreign key to audits comes with them).
    audit_id: Mapped[int | None] = mapped_column(ForeignKey("audits.id", ondelete="SET NULL"), index=True)
    linked_to: Mapped[str | None] = mapped_column(String(200))  # what asked for it, e.g. "audit:12"
    locale: Mapped[str] = mapped_column(String(8), default="fr")
    status: Mapped[str] = mapped_column(String(16), default=PackStatus.QUEUED.value)
    progress: Mapped[int] = mapped_column(Integer, default=0)  # percent
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    file_path: Mapped[str | None] = mapped_column(String(500))  # relative to PACK_DIR
    size: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))  # of the ZIP
    manifest_sha256: Mapped[str | None] = mapped_column(String(64))
    file_count: Mapped[int] = mapped_column(Integer, default=0)
    report_count: Mapped[int] = mapped_column(Integer, default=0)
    evidence_count: Mapped[int] = mapped_column(Integer, default=0)
    evidence_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    error: Mapped[str | None] = mapped_column(Text)

    requested_by: Mapped[Any] = relationship("User", lazy="joined")

    @property
    def state(self) -> PackStatus:
        return PackStatus(self.status)

    @property
    def is_finished(self) -> bool:
        return self.status not in (PackStatus.QUEUED, PackStatus.BUILDING)
