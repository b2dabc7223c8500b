"""The risk register (ISO/IEC 27005 style): each organisation's risks, their treatment — linked to the
SMSI's corrective actions and to Annex A controls of the Statement of Applicability — and the scale
they are rated on (likelihood × impact, the matrix of levels, the acceptance threshold)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accounts.models import User, str_enum
from catalogue.models import Application
from core.db import Base, OrgScopedMixin, TimestampMixin, VersionedMixin
from core.enums import LabelledEnum


class AssetKind(LabelledEnum):
    APPLICATION = "application", _l("Application du catalogue")
    SITE = "site", _l("Site")
    PROCESS = "process", _l("Processus")
    SUPPLIER = "supplier", _l("Fournisseur")
    OTHER = "other", _l("Autre")


class Treatment(LabelledEnum):
    REDUCE = "reduce", _l("Réduire (mesures de sécurité)")
    ACCEPT = "accept", _l("Accepter")
    TRANSFER = "transfer", _l("Transférer ou partager")
    AVOID = "avoid", _l("Éviter")


class RiskScale(TimestampMixin, VersionedMixin, OrgScopedMixin, Base):
    """An organisation's own scale; without one, the EBIOS RM 4 × 4 scale (risks.reference)."""

    __tablename__ = "risk_scales"
    __table_args__ = (UniqueConstraint("organisation_id"),)

    likelihood_labels: Mapped[list[str]] = mapped_column(JSON)  # rank 1 first
    impact_labels: Mapped[list[str]] = mapped_column(JSON)
    matrix: Mapped[list[list[str]]] = mapped_column(JSON)  # level id by [impact - 1][likelihood - 1]
    acceptance_level: Mapped[str] = mapped_column(String(20))  # the highest level accepted without sign-off


risk_actions = Table(
    "risk_actions",
    Base.metadata,
    Column("risk_id", ForeignKey("risks.id", ondelete="CASCADE"), primary_key=True),
    Column("action_id", ForeignKey("smsi_actions.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_risk_actions_action_id", "action_id"),
)


class Risk(TimestampMixin, VersionedMixin, OrgScopedMixin, Base):
    """A risk on a supporting asset: what could happen (threat, vulnerability, scenario), how likely
    and how bad before treatment (inherent) and after (residual), how it is treated, who owns it,
    who accepted what remains, and when it is next reviewed. Levels are not stored: they follow the
    organisation's scale (risks.services.scale)."""

    __tablename__ = "risks"
    __table_args__ = (
        UniqueConstraint("organisation_id", "reference"),
        Index("ix_risks_org_cell", "organisation_id", "impact", "likelihood"),
        Index("ix_risks_org_review", "organisation_id", "next_review_on"),
    )

    reference: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(200))
    asset_kind: Mapped[AssetKind] = mapped_column(str_enum(AssetKind, "risk_asset_kind"))
    application_id: Mapped[int | None] = mapped_column(
        ForeignKey("applications.id", ondelete="SET NULL"), index=True
    )
    asset: Mapped[str | None] = mapped_column(String(200))  # the site, process or supplier named
    threat: Mapped[str | None] = mapped_column(Text)
    vulnerability: Mapped[str | None] = mapped_column(Text)
    scenario: Mapped[str | None] = mapped_column(Text)
    impact_confidentiality: Mapped[bool] = mapped_column(Boolean, default=False)
    impact_integrity: Mapped[bool] = mapped_column(Boolean, default=False)
    impact_availability: Mapped[bool] = mapped_column(Boolean, default=False)
    likelihood: Mapped[int] = mapped_column(Integer)
    impact: Mapped[int] = mapped_column(Integer)
    existing_measures: Mapped[str | None] = mapped_column(Text)
    treatment: Mapped[Treatment | None] = mapped_column(str_enum(Treatment, "risk_treatment"))
    treatment_plan: Mapped[str | None] = mapped_column(Text)
    control_ids: Mapped[list[str]] = mapped_column(JSON, default=list)  # Annex A controls ("A.8.13")
    residual_likelihood: Mapped[int | None] = mapped_column(Integer)
    residual_impact: Mapped[int | None] = mapped_column(Integer)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    accepted_by: Mapped[str | None] = mapped_column(String(200))
    accepted_on: Mapped[date | None] = mapped_column(Date)
    next_review_on: Mapped[date | None] = mapped_column(Date)
    # The operational scenario of an EBIOS RM study this risk comes from (risks.services.ebios keeps
    # it in step); cleared when the scenario is deleted, the risk staying in the register.
    ebios_scenario_id: Mapped[int | None] = mapped_column(
        ForeignKey("ebios_operational_scenarios.id", ondelete="SET NULL"), unique=True
    )

    owner: Mapped[User | None] = relationship(lazy="joined")
    application: Mapped[Application | None] = relationship(lazy="joined")

    def __str__(self) -> str:
        return f"{self.reference} — {self.title}"

    @property
    def has_residual(self) -> bool:
        return self.residual_likelihood is not None and self.residual_impact is not None

    @property
    def current_cell(self) -> tuple[int, int]:
        """(likelihood, impact) as the risk stands now: residual once assessed, else inherent."""
        if self.residual_likelihood is not None and self.residual_impact is not None:
            return (self.residual_likelihood, self.residual_impact)
        return (self.likelihood, self.impact)


# --- EBIOS Risk Manager studies ------------------------------------------------------------------
# A study (risks.services.ebios, the only writer) and what its five workshops produce; every operational
# scenario becomes one risk of the register (Risk.ebios_scenario_id).


class EbiosNature(LabelledEnum):
    PROCESS = "process", _l("Processus")
    INFORMATION = "information", _l("Information")


class EbiosAssetKind(LabelledEnum):
    APPLICATION = "application", _l("Application ou logiciel")
    INFRASTRUCTURE = "infrastructure", _l("Serveurs, réseau, infrastructure")
    SERVICE = "service", _l("Service externalisé (SaaS, hébergeur)")
    PEOPLE = "people", _l("Personnes, équipes")
    SITE = "site", _l("Site, locaux")
    OTHER = "other", _l("Autre")


class EbiosGapSource(LabelledEnum):
    SOA = "soa", _l("Déclaration d'applicabilité")
    HYGIENE = "hygiene", _l("Guide d'hygiène de l'ANSSI")
    OTHER = "other", _l("Autre référentiel")


class EbiosStakeholderCategory(LabelledEnum):
    CLIENT = "client", _l("Client, adhérent")
    PARTNER = "partner", _l("Partenaire")
    PROVIDER = "provider", _l("Prestataire, fournisseur")


class EbiosStudy(TimestampMixin, VersionedMixin, OrgScopedMixin, Base):
    """An EBIOS Risk Manager study of one object (its scope), run in five workshops."""

    __tablename__ = "ebios_studies"
    __table_args__ = (
        UniqueConstraint("organisation_id", "reference"),
        Index("ix_ebios_studies_org_started", "organisation_id", "started_on"),
    )

    reference: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(200))
    scope: Mapped[str] = mapped_column(Text)
    missions: Mapped[str | None] = mapped_column(Text)
    objectives: Mapped[str | None] = mapped_column(Text)
    participants: Mapped[str | None] = mapped_column(Text)
    started_on: Mapped[date] = mapped_column(Date)
    baseline_notes: Mapped[str | None] = mapped_column(Text)
    monitoring_plan: Mapped[str | None] = mapped_column(Text)
    next_review_on: Mapped[date | None] = mapped_column(Date)

    def __str__(self) -> str:
        return f"{self.reference} — {self.title}"


class _StudyPart(TimestampMixin, VersionedMixin, OrgScopedMixin):
    """What every workshop object shares: its study (deleted with it)."""

    study_id: Mapped[int] = mapped_column(ForeignKey("ebios_studies.id", ondelete="CASCADE"), index=True)


class EbiosBusinessValue(_StudyPart, Base):
    __tablename__ = "ebios_business_values"

    name: Mapped[str] = mapped_column(String(200))
    nature: Mapped[EbiosNature] = mapped_column(str_enum(EbiosNature, "ebios_nature"))
    description: Mapped[str | None] = mapped_column(Text)
    responsible: Mapped[str | None] = mapped_column(String(200))

    def __str__(self) -> str:
        return self.name


class EbiosSupportingAsset(_StudyPart, Base):
    __tablename__ = "ebios_supporting_assets"

    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[EbiosAssetKind] = mapped_column(str_enum(EbiosAssetKind, "ebios_asset_kind"))
    application_id: Mapped[int | None] = mapped_column(
        ForeignKey("applications.id", ondelete="SET NULL"), index=True
    )
    business_value_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    description: Mapped[str | None] = mapped_column(Text)

    def __str__(self) -> str:
        return self.name


class EbiosFearedEvent(_StudyPart, Base):
    __tablename__ = "ebios_feared_events"

    business_value_id: Mapped[int] = mapped_column(
        ForeignKey("ebios_business_values.id", ondelete="RESTRICT"), index=True
    )
    description: Mapped[str] = mapped_column(Text)
    impacts: Mapped[str | None] = mapped_column(Text)
    gravity: Mapped[int] = mapped_column(Integer)

    def __str__(self) -> str:
        return self.description


class EbiosBaselineGap(_StudyPart, Base):
    __tablename__ = "ebios_baseline_gaps"

    source: Mapped[EbiosGapSource] = mapped_column(str_enum(EbiosGapSource, "ebios_gap_source"))
    reference: Mapped[str | None] = mapped_column(String(30))  # "A.8.13", "H-12"
    description: Mapped[str] = mapped_column(Text)
    justification: Mapped[str | None] = mapped_column(Text)

    def __str__(self) -> str:
        return self.reference or self.description[:60]


class EbiosSrOv(_StudyPart, Base):
    """A risk origin and the objective it targets, rated, and selected or not for workshop 3."""

    __tablename__ = "ebios_sr_ov"

    risk_origin: Mapped[str] = mapped_column(String(200))
    target_objective: Mapped[str] = mapped_column(String(200))
    motivation: Mapped[int] = mapped_column(Integer)
    resources: Mapped[int] = mapped_column(Integer)
    activity: Mapped[int] = mapped_column(Integer)
    relevance: Mapped[int | None] = mapped_column(Integer)  # None: the suggested one
    is_selected: Mapped[bool] = mapped_column(Boolean, default=False)
    justification: Mapped[str | None] = mapped_column(Text)

    def __str__(self) -> str:
        return f"{self.risk_origin} / {self.target_objective}"

    @property
    def suggested_relevance(self) -> int:
        """1 (low) to 3 (high) from motivation + resources + activity (3–12): 3–6, 7–9, 10–12."""
        total = self.motivation + self.resources + self.activity
        return 1 if total <= 6 else 2 if total <= 9 else 3

    @property
    def effective_relevance(self) -> int:
        return self.relevance or self.suggested_relevance


STAKEHOLDER_CRITICAL_THREAT = 2.5  # the "danger zone" of the ecosystem's threat map


class EbiosStakeholder(_StudyPart, Base):
    __tablename__ = "ebios_stakeholders"

    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[EbiosStakeholderCategory] = mapped_column(
        str_enum(EbiosStakeholderCategory, "ebios_stakeholder_category")
    )
    dependency: Mapped[int] = mapped_column(Integer)
    penetration: Mapped[int] = mapped_column(Integer)
    maturity: Mapped[int] = mapped_column(Integer)
    trust: Mapped[int] = mapped_column(Integer)

    def __str__(self) -> str:
        return self.name

    @property
    def threat_level(self) -> float:
        """(dependency × penetration) / (maturity × trust), EBIOS RM's threat level."""
        return round(self.dependency * self.penetration / (self.maturity * self.trust), 2)

    @property
    def is_critical(self) -> bool:
        return self.threat_level >= STAKEHOLDER_CRITICAL_THREAT


class EbiosStrategicScenario(_StudyPart, Base):
    __tablename__ = "ebios_strategic_scenarios"

    srov_id: Mapped[int] = mapped_column(ForeignKey("ebios_sr_ov.id", ondelete="RESTRICT"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    gravity: Mapped[int] = mapped_column(Integer)
    feared_event_ids: Mapped[list[int]] = mapped_column(JSON, default=list)

    def __str__(self) -> str:
        return self.title


class EbiosAttackPath(_StudyPart, Base):
    __tablename__ = "ebios_attack_paths"

    scenario_id: Mapped[int] = mapped_column(
        ForeignKey("ebios_strategic_scenarios.id", ondelete="CASCADE"), index=True
    )
    stakeholder_id: Mapped[int | None] = mapped_column(
        ForeignKey("ebios_stakeholders.id", ondelete="SET NULL"), index=True
    )
    description: Mapped[str] = mapped_column(Text)

    def __str__(self) -> str:
        return self.description[:80]


class EbiosOperationalScenario(_StudyPart, Base):
    """A mode of operation of a strategic scenario, its likelihood, and (workshop 5) its treatment —
    all kept in step with its risk in the register."""

    __tablename__ = "ebios_operational_scenarios"

    strategic_scenario_id: Mapped[int] = mapped_column(
        ForeignKey("ebios_strategic_scenarios.id", ondelete="RESTRICT"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    asset_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    likelihood: Mapped[int] = mapped_column(Integer)
    treatment: Mapped[Treatment | None] = mapped_column(str_enum(Treatment, "ebios_treatment"))
    treatment_plan: Mapped[str | None] = mapped_column(Text)
    control_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    residual_likelihood: Mapped[int | None] = mapped_column(Integer)
    residual_impact: Mapped[int | None] = mapped_column(Integer)
    accepted_by: Mapped[str | None] = mapped_column(String(200))
    accepted_on: Mapped[date | None] = mapped_column(Date)

    def __str__(self) -> str:
        return self.title


class EbiosMeasure(_StudyPart, Base):
    """A security measure of workshop 5: an action of the SMSI (action_id), linked to the risk."""

    __tablename__ = "ebios_measures"

    scenario_id: Mapped[int] = mapped_column(
        ForeignKey("ebios_operational_scenarios.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    control_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    due_on: Mapped[date] = mapped_column(Date)
    action_id: Mapped[int | None] = mapped_column(
        ForeignKey("smsi_actions.id", ondelete="SET NULL"), index=True
    )

    def __str__(self) -> str:
        return self.title


# --- the hygiene self-assessment (ANSSI's 42 measures) ------------------------------------------------


class HygieneStatus(LabelledEnum):
    IMPLEMENTED = "implemented", _l("Appliquée")
    PARTIAL = "partial", _l("Partiellement appliquée")
    NOT_IMPLEMENTED = "not_implemented", _l("Non appliquée")
    NOT_APPLICABLE = "not_applicable", _l("Sans objet")

    @property
    def score(self) -> float | None:
        """What the measure counts for in a score (None: left out of it)."""
        return {"implemented": 1.0, "partial": 0.5, "not_implemented": 0.0}.get(self.value)


class HygieneAssessment(TimestampMixin, VersionedMixin, OrgScopedMixin, Base):
    """An organisation's self-assessment against ANSSI's hygiene guide on a date: one answer per
    measure (HygieneAnswer). A new assessment starts from the previous one's answers."""

    __tablename__ = "hygiene_assessments"
    __table_args__ = (
        UniqueConstraint("organisation_id", "assessed_on"),
        Index("ix_hygiene_assessments_org_date", "organisation_id", "assessed_on"),
    )

    assessed_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)


class HygieneAnswer(OrgScopedMixin, Base):
    """Where one measure stands in one assessment; the strengthened level for the measures that have
    one. Written with its assessment (whose version guards both)."""

    __tablename__ = "hygiene_answers"
    __table_args__ = (UniqueConstraint("assessment_id", "measure"),)

    assessment_id: Mapped[int] = mapped_column(ForeignKey("hygiene_assessments.id", ondelete="CASCADE"))
    measure: Mapped[int] = mapped_column(Integer)
    status: Mapped[HygieneStatus | None] = mapped_column(str_enum(HygieneStatus, "hygiene_status"))
    reinforced: Mapped[bool] = mapped_column(Boolean, default=False)
    comment: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[str | None] = mapped_column(String(500))


# --- the ANSSI parcours de cybersécurité ---------------------------------------------------------------

Money = Numeric(12, 2)  # euros, two decimals; never negative (CHECK in the database, rule in the service)


class PhaseKind(LabelledEnum):
    DIAGNOSTIC = "diagnostic", _l("Phase 1 — diagnostic et plan de sécurisation (pack initial)")
    CORRECTIVE = "corrective", _l("Phase 2 — mesures correctives (pack relais)")

    @property
    def order(self) -> int:
        return 1 if self is PhaseKind.DIAGNOSTIC else 2


class Parcours(TimestampMixin, VersionedMixin, OrgScopedMixin, Base):
    """An organisation's parcours de cybersécurité (ANSSI, France Relance): when it was selected, the
    provider who runs it on the ground, the convention. One per organisation."""

    __tablename__ = "parcours"
    __table_args__ = (UniqueConstraint("organisation_id"),)

    selected_on: Mapped[date] = mapped_column(Date)
    provider: Mapped[str | None] = mapped_column(String(200))  # prestataire terrain
    anssi_contact: Mapped[str | None] = mapped_column(String(200))
    csirt: Mapped[str | None] = mapped_column(String(200))  # CSIRT régional
    convention_reference: Mapped[str | None] = mapped_column(String(100))
    notes: Mapped[str | None] = mapped_column(Text)


class ParcoursPhase(TimestampMixin, VersionedMixin, OrgScopedMixin, Base):
    """A phase of the parcours (one of each kind): its dates, deliverables, and the share of its cost
    the beneficiary finances itself."""

    __tablename__ = "parcours_phases"
    __table_args__ = (
        UniqueConstraint("parcours_id", "kind"),
        CheckConstraint("cofinancing_rate >= 0 AND cofinancing_rate <= 100", name="cofinancing_rate"),
    )

    parcours_id: Mapped[int] = mapped_column(ForeignKey("parcours.id", ondelete="CASCADE"))
    kind: Mapped[PhaseKind] = mapped_column(str_enum(PhaseKind, "parcours_phase_kind"))
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    deliverables: Mapped[str | None] = mapped_column(Text)
    delivered_on: Mapped[date | None] = mapped_column(Date)
    cofinancing_rate: Mapped[int] = mapped_column(Integer, default=0)  # per cent, the beneficiary's share


class Subsidy(TimestampMixin, VersionedMixin, OrgScopedMixin, Base):
    """A payment of the State to the beneficiary: expected (amount, date), then received, and the
    condition it depends on."""

    __tablename__ = "parcours_subsidies"
    __table_args__ = (
        Index("ix_parcours_subsidies_parcours_expected", "parcours_id", "expected_on"),
        CheckConstraint("amount_expected >= 0", name="amount_expected"),
        CheckConstraint("amount_received IS NULL OR amount_received >= 0", name="amount_received"),
    )

    parcours_id: Mapped[int] = mapped_column(ForeignKey("parcours.id", ondelete="CASCADE"))
    phase_id: Mapped[int | None] = mapped_column(
        ForeignKey("parcours_phases.id", ondelete="SET NULL"), index=True
    )
    label: Mapped[str] = mapped_column(String(200))
    amount_expected: Mapped[Decimal] = mapped_column(Money)
    expected_on: Mapped[date | None] = mapped_column(Date)
    amount_received: Mapped[Decimal | None] = mapped_column(Money)
    received_on: Mapped[date | None] = mapped_column(Date)
    condition: Mapped[str | None] = mapped_column(Text)

    @property
    def is_received(self) -> bool:
        return self.received_on is not None


class ParcoursMeasure(TimestampMixin, VersionedMixin, OrgScopedMixin, Base):
    """A measure of the security plan. It *is* an SMSI corrective action (``action_id``, origin
    "parcours"): its title, owner, deadline and status live on the action, written by the SMSI's
    actions service; the measure adds its theme, phase, the hygiene-guide measures and Annex A
    controls it answers, its money, and the subsidy payment it conditions."""

    __tablename__ = "parcours_measures"
    __table_args__ = (
        UniqueConstraint("action_id"),
        Index("ix_parcours_measures_parcours_theme", "parcours_id", "theme"),
        CheckConstraint("planned_cost >= 0", name="planned_cost"),
        CheckConstraint("amount_spent >= 0", name="amount_spent"),
    )

    parcours_id: Mapped[int] = mapped_column(ForeignKey("parcours.id", ondelete="CASCADE"))
    phase_id: Mapped[int] = mapped_column(ForeignKey("parcours_phases.id", ondelete="RESTRICT"), index=True)
    theme: Mapped[str] = mapped_column(String(4))  # "T1" … "T8" (risks.reference.parcours_themes)
    action_id: Mapped[int] = mapped_column(ForeignKey("smsi_actions.id", ondelete="RESTRICT"))
    hygiene_measures: Mapped[list[int]] = mapped_column(JSON, default=list)  # the guide's numbers
    control_ids: Mapped[list[str]] = mapped_column(JSON, default=list)  # Annex A controls ("A.8.16")
    planned_cost: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    amount_spent: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    subsidy_id: Mapped[int | None] = mapped_column(
        ForeignKey("parcours_subsidies.id", ondelete="SET NULL"), index=True
    )
