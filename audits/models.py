"""Audits: audit campaigns (their scope of organisations and frameworks), their findings on the
AFNOR scale, the corrective actions (SMSI actions) linked to a finding, and the re-checks of an
earlier audit's findings by a follow-up audit."""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Column, Date, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accounts.models import Organisation, User, str_enum
from audits.reference import level_facts
from core.db import Base, OrgScopedMixin, TimestampMixin, UTCDateTime, VersionedMixin, today
from core.enums import LabelledEnum


class AuditType(LabelledEnum):
    INTERNAL = "internal", _l("Audit interne")
    EXTERNAL = "external", _l("Audit externe")
    CERTIFICATION = "certification", _l("Audit de certification")
    ANSSI_DIAGNOSTIC = "anssi_diagnostic", _l("Diagnostic ANSSI")
    CNIL_PREPARATION = "cnil_preparation", _l("Préparation d'un contrôle CNIL")


class AuditStatus(LabelledEnum):
    PLANNED = "planned", _l("Planifié")
    IN_PROGRESS = "in_progress", _l("En cours")
    REPORT_ISSUED = "report_issued", _l("Rapport émis")
    CLOSED = "closed", _l("Clos")


class Framework(LabelledEnum):
    ANNEX_A = "annex_a", _l("Déclaration d'applicabilité (annexe A de l'ISO/IEC 27001)")
    HYGIENE = "hygiene", _l("Guide d'hygiène informatique de l'ANSSI")
    RGPD_REGISTER = "rgpd_register", _l("Registre des traitements (RGPD)")


class FindingLevel(LabelledEnum):
    """The AFNOR scale (audits/data/afnor_finding_levels.json: rank, whether a nonconformity)."""

    PF = "PF", _l("Point fort")
    OBS = "OBS", _l("Observation")
    PP = "PP", _l("Piste de progrès")
    PS = "PS", _l("Point sensible")
    NCMIN = "NCmin", _l("Non-conformité mineure")
    NCMAJ = "NCmaj", _l("Non-conformité majeure")

    @property
    def is_nonconformity(self) -> bool:
        return bool(level_facts()[self.value]["is_nonconformity"])

    @property
    def rank(self) -> int:
        return int(level_facts()[self.value]["rank"])

    @property
    def badge(self) -> str:
        return {"PF": "success", "OBS": "secondary", "PP": "info", "PS": "warning"}.get(self.value, "danger")


class FindingStatus(LabelledEnum):
    OPEN = "open", _l("Ouvert")
    ACTION_PLANNED = "action_planned", _l("Action planifiée")
    CLOSED = "closed", _l("Clos")


class RequirementKind(LabelledEnum):
    NONE = "none", _l("Aucune exigence précise")
    ANNEX_A = "annex_a", _l("Mesure de l'annexe A")
    HYGIENE = "hygiene", _l("Mesure du guide d'hygiène de l'ANSSI")
    REGISTER = "register", _l("Fiche du registre des traitements")


class RecheckResult(LabelledEnum):
    RESOLVED = "resolved", _l("Levé")
    STILL_OPEN = "still_open", _l("Toujours ouvert")


# The organisations an audit covers (the running organisation's own and chosen members).
audit_organisations = Table(
    "audit_organisations",
    Base.metadata,
    Column("audit_id", ForeignKey("audits.id", ondelete="CASCADE"), primary_key=True),
    Column("organisation_id", ForeignKey("organisations.id", ondelete="RESTRICT"), primary_key=True),
    Index("ix_audit_organisations_organisation_id", "organisation_id"),
)

# The SMSI actions that answer a finding (written through smsi.services only).
finding_actions = Table(
    "audit_finding_actions",
    Base.metadata,
    Column("finding_id", ForeignKey("audit_findings.id", ondelete="CASCADE"), primary_key=True),
    Column("action_id", ForeignKey("smsi_actions.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_audit_finding_actions_action_id", "action_id"),
)


class Audit(TimestampMixin, VersionedMixin, OrgScopedMixin, Base):
    """An audit campaign run by an organisation (the syndicate, usually) over a scope."""

    __tablename__ = "audits"
    __table_args__ = (
        UniqueConstraint("organisation_id", "reference"),
        Index("ix_audits_org_start", "organisation_id", "start_on"),
    )

    reference: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(200))
    type: Mapped[AuditType] = mapped_column(str_enum(AuditType, "audit_type"))
    frameworks: Mapped[list[str]] = mapped_column(JSON, default=list)
    start_on: Mapped[date] = mapped_column(Date)
    end_on: Mapped[date] = mapped_column(Date)
    lead_auditor_name: Mapped[str | None] = mapped_column(String(200))
    lead_auditor_firm: Mapped[str | None] = mapped_column(String(200))
    lead_auditor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    auditees: Mapped[str | None] = mapped_column(Text)
    status: Mapped[AuditStatus] = mapped_column(
        str_enum(AuditStatus, "audit_status"), default=AuditStatus.PLANNED
    )
    follow_up_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("audits.id", ondelete="SET NULL"), index=True
    )

    organisations: Mapped[list[Organisation]] = relationship(
        secondary=audit_organisations, order_by="Organisation.name", lazy="selectin"
    )
    follow_up_of: Mapped[Audit | None] = relationship(remote_side="Audit.id", lazy="joined")

    @property
    def organisation_ids(self) -> list[int]:
        return sorted(o.id for o in self.organisations)

    @property
    def framework_set(self) -> set[Framework]:
        return {Framework(v) for v in self.frameworks or () if v in {f.value for f in Framework}}

    def __str__(self) -> str:
        return f"{self.reference} — {self.title}"


class Finding(TimestampMixin, VersionedMixin, OrgScopedMixin, Base):
    """A finding of an audit (owned by the audit's organisation): AUD-2026-001-F03."""

    __tablename__ = "audit_findings"
    __table_args__ = (
        UniqueConstraint("audit_id", "number"),
        Index("ix_audit_findings_org_status_level", "organisation_id", "status", "level"),
    )

    audit_id: Mapped[int] = mapped_column(ForeignKey("audits.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    reference: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    level: Mapped[FindingLevel] = mapped_column(str_enum(FindingLevel, "audit_finding_level"))
    requirement_kind: Mapped[RequirementKind] = mapped_column(
        str_enum(RequirementKind, "audit_requirement_kind"), default=RequirementKind.NONE
    )
    requirement_ref: Mapped[str | None] = mapped_column(String(60))
    concerned_organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"), index=True
    )
    root_cause: Mapped[str | None] = mapped_column(Text)
    status: Mapped[FindingStatus] = mapped_column(
        str_enum(FindingStatus, "audit_finding_status"), default=FindingStatus.OPEN
    )
    closed_on: Mapped[date | None] = mapped_column(Date)

    audit: Mapped[Audit] = relationship(lazy="joined")
    concerned_organisation: Mapped[Organisation | None] = relationship(
        foreign_keys=[concerned_organisation_id], lazy="joined"
    )

    def __str__(self) -> str:
        return f"{self.reference} — {self.title}"


class FindingRecheck(OrgScopedMixin, Base):
    """A follow-up audit's re-check of an earlier audit's finding (append-only)."""

    __tablename__ = "audit_finding_rechecks"

    finding_id: Mapped[int] = mapped_column(ForeignKey("audit_findings.id", ondelete="CASCADE"), index=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audits.id", ondelete="CASCADE"), index=True)
    result: Mapped[RecheckResult] = mapped_column(str_enum(RecheckResult, "audit_recheck_result"))
    comment: Mapped[str | None] = mapped_column(Text)
    checked_on: Mapped[date] = mapped_column(Date)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    finding: Mapped[Finding] = relationship(lazy="joined")
    audit: Mapped[Audit] = relationship(lazy="joined")


class AuditorAccess(OrgScopedMixin, Base):
    """An auditor invited to ONE audit (owned by the audit's organisation): their account holds an
    AUDITOR membership in each organisation of the audit's scope, expiring at the audit's end date;
    this row says which audit, who invited them, and whether the access was revoked."""

    __tablename__ = "auditor_accesses"
    __table_args__ = (UniqueConstraint("audit_id", "user_id"),)

    audit_id: Mapped[int] = mapped_column(ForeignKey("audits.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_on: Mapped[date] = mapped_column(Date)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    audit: Mapped[Audit] = relationship(lazy="joined")
    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")

    @property
    def is_current(self) -> bool:
        return self.revoked_at is None and self.expires_on >= today()
