"""SMSI (ISO/IEC 27001 ISMS): security incidents with their timeline and the organisations they
affect, corrective and preventive actions, the weekly review's minutes (and the actions its
decisions created), and the Statement of Applicability (Annex A controls) with its approved
versions."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accounts.models import User, str_enum
from catalogue.models import Application
from core.db import Base, OrgScopedMixin, TimestampMixin, UTCDateTime, VersionedMixin, utcnow
from core.enums import LabelledEnum
from core.text import fold


def search_text(reference: str | None, title: str | None) -> str:
    """What an incident's or an action's ``search_text`` holds: its reference and title folded (lower
    case, no accents), one line each — a search for "reseau" finds "Réseau"."""
    return f"{fold(reference)}\n{fold(title)}"


# --- security incidents -----------------------------------------------------------------------------


class IncidentCategory(LabelledEnum):
    MALWARE = "malware", _l("Logiciel malveillant, rançongiciel")
    PHISHING = "phishing", _l("Hameçonnage")
    INTRUSION = "intrusion", _l("Intrusion")
    DATA_LEAK = "data_leak", _l("Fuite de données")
    AVAILABILITY = "availability", _l("Perte de disponibilité")
    PHYSICAL = "physical", _l("Sinistre physique (incendie, inondation, vandalisme)")
    HUMAN_ERROR = "human_error", _l("Erreur humaine")
    SUPPLIER = "supplier", _l("Défaillance d'un fournisseur")
    OTHER = "other", _l("Autre")


class Severity(LabelledEnum):
    """Four levels, each with its definition (shown beside the choice)."""

    MINOR = "1", _l("1 — Mineur")
    SIGNIFICANT = "2", _l("2 — Significatif")
    MAJOR = "3", _l("3 — Majeur")
    CRITICAL = "4", _l("4 — Critique")

    @property
    def definition(self) -> str:
        return str(SEVERITY_DEFINITIONS[self])

    @property
    def badge(self) -> str:
        return {"1": "secondary", "2": "info", "3": "warning", "4": "danger"}[self.value]


SEVERITY_DEFINITIONS = {
    Severity.MINOR: _l(
        "Un poste ou un utilisateur touché, aucun service interrompu, aucune donnée sensible."
    ),
    Severity.SIGNIFICANT: _l(
        "Un service dégradé ou interrompu pour une organisation, sans donnée sensible exposée."
    ),
    Severity.MAJOR: _l(
        "Des services importants interrompus pour plusieurs organisations, ou des données personnelles "
        "exposées."
    ),
    Severity.CRITICAL: _l(
        "Crise : le système d'information mutualisé compromis ou à l'arrêt pour les adhérents."
    ),
}


class IncidentStatus(LabelledEnum):
    NEW = "new", _l("Nouveau")
    QUALIFIED = "qualified", _l("Qualifié")
    CONTAINED = "contained", _l("Contenu")
    RESOLVED = "resolved", _l("Résolu")
    CLOSED = "closed", _l("Clos")

    @property
    def is_open(self) -> bool:
        return self is not IncidentStatus.CLOSED


class TimelineKind(LabelledEnum):
    DETECTION = "detection", _l("Détection")
    QUALIFICATION = "qualification", _l("Qualification")
    CONTAINMENT = "containment", _l("Confinement")
    ERADICATION = "eradication", _l("Éradication")
    RECOVERY = "recovery", _l("Rétablissement")
    CLOSURE = "closure", _l("Clôture")
    NOTE = "note", _l("Note")


incident_applications = Table(
    "incident_applications",
    Base.metadata,
    Column("incident_id", ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True),
    Column("application_id", ForeignKey("applications.id", ondelete="RESTRICT"), primary_key=True),
    Index("ix_incident_applications_application_id", "application_id"),
)

# The organisations an incident affects, kept by the incident's writer (smsi.services.incidents):
# those subscribing to its applications ("derived") plus those added by hand, minus those the RSSI
# took out (Incident.excluded_organisation_ids).
incident_organisations = Table(
    "incident_organisations",
    Base.metadata,
    Column("incident_id", ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True),
    Column("organisation_id", ForeignKey("organisations.id", ondelete="RESTRICT"), primary_key=True),
    Column("is_added", Boolean, nullable=False, default=False),  # added by hand, not by a subscription
    Index("ix_incident_organisations_organisation_id", "organisation_id"),
)


class Incident(TimestampMixin, VersionedMixin, OrgScopedMixin, Base):
    """A security incident recorded by an organisation (the syndicate, for its shared system)."""

    __tablename__ = "incidents"
    __table_args__ = (
        UniqueConstraint("organisation_id", "reference"),
        Index("ix_incidents_org_open_detected", "organisation_id", "is_open", "detected_at"),
        Index("ix_incidents_org_detected", "organisation_id", "detected_at"),
        # The list filtered by severity or by category, in its order (and the filter's count).
        Index("ix_incidents_org_severity_detected", "organisation_id", "severity", "detected_at"),
        Index("ix_incidents_org_category_detected", "organisation_id", "category", "detected_at"),
        # The weekly review's "closed during the week" and "changed during the week".
        Index("ix_incidents_org_closed", "organisation_id", "closed_at"),
        Index("ix_incidents_org_updated", "organisation_id", "updated_at"),
        # The list's search: a trigram index on PostgreSQL (LIKE '%…%'), a plain one elsewhere.
        Index(
            "ix_incidents_search_text",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ),
    )

    reference: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reported_by: Mapped[str | None] = mapped_column(String(200))
    category: Mapped[IncidentCategory] = mapped_column(str_enum(IncidentCategory, "incident_category"))
    severity: Mapped[Severity] = mapped_column(str_enum(Severity, "incident_severity"))
    impact_confidentiality: Mapped[bool] = mapped_column(Boolean, default=False)
    impact_integrity: Mapped[bool] = mapped_column(Boolean, default=False)
    impact_availability: Mapped[bool] = mapped_column(Boolean, default=False)
    affected_sites: Mapped[str | None] = mapped_column(Text)
    status: Mapped[IncidentStatus] = mapped_column(
        str_enum(IncidentStatus, "incident_status"), default=IncidentStatus.NEW
    )
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)
    has_personal_data: Mapped[bool] = mapped_column(Boolean, default=False)
    # A significant incident of an essential or important entity (NIS2 directive, art. 23): its
    # early warning (24 h), notification (72 h) and final report (one month) are tracked.
    nis2_significant: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    excluded_organisation_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    root_cause: Mapped[str | None] = mapped_column(Text)
    lessons_learned: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the list's search reads: reference and title folded (lower case, no accents, core.text.fold),
    # kept by the incidents' one writer (smsi.services.incidents).
    search_text: Mapped[str] = mapped_column(Text, default="")

    applications: Mapped[list[Application]] = relationship(
        secondary=incident_applications, order_by="Application.sort_name", lazy="selectin"
    )

    def __str__(self) -> str:
        return f"{self.reference} — {self.title}"


class IncidentEvent(OrgScopedMixin, Base):
    """A dated entry of an incident's timeline (append-only: a correction is a new entry)."""

    __tablename__ = "incident_events"
    __table_args__ = (Index("ix_incident_events_incident_at", "incident_id", "at"),)

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    kind: Mapped[TimelineKind] = mapped_column(str_enum(TimelineKind, "incident_event_kind"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    author: Mapped[User | None] = relationship(lazy="joined")


class NotificationRecipient(LabelledEnum):
    CERT_FR = "cert_fr", _l("CERT-FR / ANSSI")
    CSIRT = "csirt", _l("CSIRT régional")
    POLICE = "police", _l("Police ou gendarmerie (plainte)")
    INSURER = "insurer", _l("Assureur")
    EDITOR = "editor", _l("Éditeur ou prestataire")
    OTHER = "other", _l("Autre")


class NotificationKind(LabelledEnum):
    INFORMATION = "information", _l("Information")
    EARLY_WARNING = "early_warning", _l("Alerte précoce (NIS2, 24 h)")
    NOTIFICATION = "notification", _l("Notification d'incident (NIS2, 72 h)")
    FINAL_REPORT = "final_report", _l("Rapport final (NIS2, un mois)")


class IncidentNotification(OrgScopedMixin, Base):
    """An external notification of an incident (CERT-FR, CSIRT, complaint, insurer, editor), dated."""

    __tablename__ = "incident_notifications"
    __table_args__ = (Index("ix_incident_notifications_incident_at", "incident_id", "notified_at"),)

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    recipient: Mapped[NotificationRecipient] = mapped_column(
        str_enum(NotificationRecipient, "incident_notification_recipient")
    )
    kind: Mapped[NotificationKind] = mapped_column(str_enum(NotificationKind, "incident_notification_kind"))
    notified_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reference: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


# --- corrective and preventive actions (ISO/IEC 27001:2022 §10.2) -----------------------------------


class ActionOrigin(LabelledEnum):
    INCIDENT = "incident", _l("Incident")
    AUDIT_FINDING = "audit_finding", _l("Constat d'audit")
    RISK = "risk", _l("Risque")
    PARCOURS = "parcours", _l("Mesure du parcours de cybersécurité")
    MANAGEMENT_REVIEW = "management_review", _l("Revue de direction")
    OTHER = "other", _l("Autre")


class ActionType(LabelledEnum):
    CORRECTION = "correction", _l("Correction")
    CORRECTIVE = "corrective", _l("Action corrective")
    PREVENTIVE = "preventive", _l("Action préventive")
    IMPROVEMENT = "improvement", _l("Amélioration")


class ActionPriority(LabelledEnum):
    LOW = "low", _l("Basse")
    NORMAL = "normal", _l("Normale")
    HIGH = "high", _l("Haute")


class ActionStatus(LabelledEnum):
    PLANNED = "planned", _l("Planifiée")
    IN_PROGRESS = "in_progress", _l("En cours")
    DONE = "done", _l("Réalisée, efficacité à vérifier")
    EFFECTIVE = "effective", _l("Efficacité vérifiée")
    INEFFECTIVE = "ineffective", _l("Inefficace, rouverte")

    @property
    def is_open(self) -> bool:
        return self is not ActionStatus.EFFECTIVE


class Action(TimestampMixin, VersionedMixin, OrgScopedMixin, Base):
    """A corrective or preventive action: where it comes from (an incident of the organisation, a
    decision of a weekly review, or a described origin until audits, risks and the parcours exist),
    who owns it, by when, and the check that it was effective — required before it is closed."""

    __tablename__ = "smsi_actions"
    __table_args__ = (
        UniqueConstraint("organisation_id", "reference"),
        Index("ix_smsi_actions_org_open_due", "organisation_id", "is_open", "due_on"),
        Index("ix_smsi_actions_owner_open_due", "owner_id", "is_open", "due_on"),
        # The list in its order (every status; by origin) and the weekly review's checked actions.
        Index("ix_smsi_actions_org_due", "organisation_id", "due_on", "id"),
        Index("ix_smsi_actions_org_origin_due", "organisation_id", "origin", "due_on", "id"),
        Index("ix_smsi_actions_org_checked", "organisation_id", "checked_on"),
        Index(
            "ix_smsi_actions_search_text",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ),
    )

    reference: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    origin: Mapped[ActionOrigin] = mapped_column(str_enum(ActionOrigin, "action_origin"))
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id", ondelete="SET NULL"), index=True
    )
    origin_detail: Mapped[str | None] = mapped_column(String(300))
    # The weekly review whose decision created the action (origin: management review), if any.
    review_id: Mapped[int | None] = mapped_column(
        ForeignKey("smsi_weekly_reviews.id", ondelete="SET NULL"), index=True
    )
    type: Mapped[ActionType] = mapped_column(str_enum(ActionType, "action_type"))
    priority: Mapped[ActionPriority] = mapped_column(
        str_enum(ActionPriority, "action_priority"), default=ActionPriority.NORMAL
    )
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[ActionStatus] = mapped_column(
        str_enum(ActionStatus, "action_status"), default=ActionStatus.PLANNED
    )
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)
    done_on: Mapped[date | None] = mapped_column(Date)
    check_method: Mapped[str | None] = mapped_column(Text)
    checked_on: Mapped[date | None] = mapped_column(Date)
    checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    check_result: Mapped[str | None] = mapped_column(Text)
    # Reference and title folded, for the list's search (as Incident.search_text), kept by the
    # actions' one writer (smsi.services.actions).
    search_text: Mapped[str] = mapped_column(Text, default="")

    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id], lazy="joined")
    checked_by: Mapped[User | None] = relationship(foreign_keys=[checked_by_id], lazy="joined")
    incident: Mapped[Incident | None] = relationship(lazy="joined")
    review: Mapped[WeeklyReview | None] = relationship()  # read by the action's page only

    def __str__(self) -> str:
        return f"{self.reference} — {self.title}"


# --- the weekly SMSI review ---------------------------------------------------------------------------


class WeeklyReview(TimestampMixin, VersionedMixin, OrgScopedMixin, Base):
    """The minutes of an organisation's weekly SMSI meeting: the week (its Monday), when it was held,
    who attended, what was said and decided. The agenda itself is computed, never stored
    (:mod:`smsi.services.review`)."""

    __tablename__ = "smsi_weekly_reviews"
    __table_args__ = (UniqueConstraint("organisation_id", "week_start"),)

    week_start: Mapped[date] = mapped_column(Date)
    held_on: Mapped[date | None] = mapped_column(Date)
    attendees: Mapped[str | None] = mapped_column(Text)
    minutes: Mapped[str | None] = mapped_column(Text)
    decisions: Mapped[str | None] = mapped_column(Text)


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
