"""SMSI (ISO/IEC 27001 ISMS): security incidents with their timeline and the organisations they
affect, and the Statement of Applicability (Annex A controls) with its approved versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from accounts.models import str_enum
from core.db import Base, OrgScopedMixin, TimestampMixin, UTCDateTime, VersionedMixin, utcnow
from core.enums import LabelledEnum

# === Statement of Applicability (ISO/IEC 27001:2022 §6.1.3 d) ===================================
# One row per (organisation, Annex A control), created when somebody first saves that control: a
# control without a row is "not assessed" (a page never writes). Approved versions are frozen
# snapshots of the 93 controls, never changed afterwards.


class ImplementationStatus(LabelledEnum):
    NOT_STARTED = "not_started", _l("Non commencée")
    PARTIAL = "partial", _l("Partiellement mise en œuvre")
    IMPLEMENTED = "implemented", _l("Mise en œuvre")
    NOT_APPLICABLE = "not_applicable", _l("Sans objet (exclue)")

    @property
    def badge(self) -> str:
        return {
            "not_started": "secondary",
            "partial": "warning",
            "implemented": "success",
            "not_applicable": "light",
        }[self.value]


class InclusionReason(LabelledEnum):
    LEGAL = "legal", _l("Exigence légale ou réglementaire")
    CONTRACTUAL = "contractual", _l("Obligation contractuelle")
    BUSINESS = "business", _l("Exigence métier")
    BEST_PRACTICE = "best_practice", _l("Bonne pratique")
    RISK = "risk", _l("Résultat de l'appréciation des risques")


class SoaEntry(TimestampMixin, VersionedMixin, OrgScopedMixin, Base):
    """What an organisation declares about one Annex A control (``control_id``: "A.5.1")."""

    __tablename__ = "soa_entries"
    __table_args__ = (UniqueConstraint("organisation_id", "control_id"),)

    control_id: Mapped[str] = mapped_column(String(10))
    applicable: Mapped[bool] = mapped_column(Boolean, default=True)
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    exclusion_justification: Mapped[str | None] = mapped_column(Text)
    status: Mapped[ImplementationStatus] = mapped_column(
        str_enum(ImplementationStatus, "soa_implementation_status"), default=ImplementationStatus.NOT_STARTED
    )
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    implementation: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[str | None] = mapped_column(Text)


class SoaVersion(OrgScopedMixin, Base):
    """An approved Statement of Applicability: who approved it (name as written then), when, why,
    and the 93 controls as they stood (``snapshot``: control id → the entry's fields, owner's name
    included). Written once, never updated."""

    __tablename__ = "soa_versions"
    __table_args__ = (
        UniqueConstraint("organisation_id", "number"),
        Index("ix_soa_versions_org_at", "organisation_id", "approved_at"),
    )

    number: Mapped[int] = mapped_column(Integer)
    approved_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    approved_by_name: Mapped[str] = mapped_column(String(200))
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    comment: Mapped[str | None] = mapped_column(Text)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
