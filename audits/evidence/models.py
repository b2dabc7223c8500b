"""The evidence store: an evidence (what it proves, whose, valid when), its file versions (each one
encrypted at rest under its own data key) and the objects it is linked to."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accounts.models import User
from core.db import Base, OrgScopedMixin, TimestampMixin, UTCDateTime, VersionedMixin, utcnow

# Object types an evidence may be linked to: the journal's names of the types (core.journal), so
# that their titles and pages are found through the journal's registry without importing their
# domain. "Activity" is a register fiche (journal type "ProcessingActivity"); "Finding" is the
# audits' finding (wired when it exists).
LINK_TYPES: dict[str, str] = {
    "Action": "Action",
    "Incident": "Incident",
    "SoaEntry": "SoaEntry",
    "Activity": "ProcessingActivity",
    "Finding": "Finding",
}


class Evidence(TimestampMixin, VersionedMixin, OrgScopedMixin, Base):
    __tablename__ = "evidence"
    __table_args__ = (
        Index("ix_evidence_org_valid_until", "organisation_id", "valid_until"),
        Index("ix_evidence_org_updated", "organisation_id", "updated_at"),
    )

    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    current_version: Mapped[int] = mapped_column(Integer, default=0)  # number of the latest file
    search_text: Mapped[str] = mapped_column(Text, default="")  # title folded (core.text.fold)

    owner: Mapped[User | None] = relationship(lazy="joined")
    versions: Mapped[list[EvidenceVersion]] = relationship(
        back_populates="evidence", order_by="EvidenceVersion.number.desc()", lazy="selectin"
    )
    links: Mapped[list[EvidenceLink]] = relationship(
        back_populates="evidence", order_by="EvidenceLink.id", lazy="selectin", cascade="all, delete-orphan"
    )

    def __str__(self) -> str:
        return self.title

    @property
    def latest(self) -> EvidenceVersion | None:
        return self.versions[0] if self.versions else None


class EvidenceVersion(OrgScopedMixin, Base):
    """One uploaded file of an evidence, written once: the file is ``EVIDENCE_DIR/<storage_id>``
    (a random name), encrypted with a data key wrapped by key-ring key ``kek_id``."""

    __tablename__ = "evidence_versions"
    __table_args__ = (UniqueConstraint("evidence_id", "number"),)

    evidence_id: Mapped[int] = mapped_column(ForeignKey("evidence.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    storage_id: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    media_type: Mapped[str] = mapped_column(String(120))
    kek_id: Mapped[str] = mapped_column(String(40), index=True)
    wrapped_key: Mapped[str] = mapped_column(String(80))
    uploaded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    evidence: Mapped[Evidence] = relationship(back_populates="versions")
    uploaded_by: Mapped[User | None] = relationship(lazy="joined")


class EvidenceLink(OrgScopedMixin, Base):
    """An evidence linked to an object of the organisation (``object_type`` in LINK_TYPES).
    ``object_label`` keeps the object's name as it was when linked (the packs read it outside any
    request, without the owning domain)."""

    __tablename__ = "evidence_links"
    __table_args__ = (
        UniqueConstraint("evidence_id", "object_type", "object_id"),
        Index("ix_evidence_links_org_object", "organisation_id", "object_type", "object_id"),
    )

    evidence_id: Mapped[int] = mapped_column(ForeignKey("evidence.id", ondelete="CASCADE"), index=True)
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[int] = mapped_column(Integer)
    object_label: Mapped[str] = mapped_column(String(300), default="")

    evidence: Mapped[Evidence] = relationship(back_populates="links")
