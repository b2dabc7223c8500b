"""RGPD registers: processing activities (Art. 30.1) with their models and history, rights requests
(Art. 12, 15-22), personal-data breaches (Art. 33/34) and the public register settings.

Multi-valued fields of a fiche (data categories with their retention, recipients, transfers…) are
JSON lists of small dicts rather than child tables: a fiche is read, versioned, compared with its
model, exported and printed as one document, and these lists are never queried across fiches.
What lists and dashboards do filter on (status, legal basis, sensitive data, DPIA verdict,
completeness, review date, model update) is kept in plain indexed columns.
"""

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
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accounts.models import Organisation, User, str_enum
from catalogue.models import Application
from core.db import (
    Base,
    OrgScopedMixin,
    SortNameMixin,
    TenantScoped,
    TimestampMixin,
    UTCDateTime,
    VersionedMixin,
    today,
    utcnow,
)
from core.enums import LabelledEnum

# --- processing activities ---------------------------------------------------------------------


class ActivityStatus(LabelledEnum):
    DRAFT = "draft", _l("Brouillon")
    IN_REVIEW = "in_review", _l("En relecture")
    VALIDATED = "validated", _l("Validée")
    ARCHIVED = "archived", _l("Archivée")

    @property
    def badge(self) -> str:
        return {"draft": "secondary", "in_review": "warning", "validated": "success", "archived": "dark"}[
            self.value
        ]


class DpiaStatus(LabelledEnum):
    NOT_STARTED = "not_started", _l("Non réalisée")
    IN_PROGRESS = "in_progress", _l("En cours")
    DONE = "done", _l("Réalisée")


activity_applications = Table(
    "activity_applications",
    Base.metadata,
    Column("activity_id", ForeignKey("processing_activities.id", ondelete="CASCADE"), primary_key=True),
    Column("application_id", ForeignKey("applications.id", ondelete="RESTRICT"), primary_key=True),
    Index("ix_activity_applications_application_id", "application_id"),
)


class ProcessingActivity(SortNameMixin, TimestampMixin, VersionedMixin, OrgScopedMixin, Base):
    """A "fiche de traitement" of an organisation's register, or a syndicate's model.

    * ``is_model``: written by the syndicate's DPO on catalogue applications; not part of the
      syndicate's own register. Its ``content_version`` moves on each change of content.
    * ``model_id``: an entry inherited from a model in a member's register. Its content is a copy
      of the model as last accepted (``model_snapshot`` at ``synced_model_version``) plus the
      member's own changes: a field differing from the snapshot is overridden. A newer model sets
      ``has_model_update``; the member reviews the diff and accepts it field by field. The member
      is the controller: its register never changes without its consent. The model belongs to
      the syndicate's tenant: load it with ``registers.services.inheritance.model_of`` (no
      relationship here, the tenant safety net would hide it from the member's session).
    """

    __tablename__ = "processing_activities"
    __table_args__ = (
        UniqueConstraint("organisation_id", "reference"),
        Index("ix_processing_activities_org_sort_name", "organisation_id", "is_model", "sort_name"),
        Index("ix_processing_activities_org_status", "organisation_id", "status"),
        Index("ix_processing_activities_org_review", "organisation_id", "next_review_on"),
        # Covers the per-organisation figures (register summary, DPO portfolio): aggregating them
        # over 250,000 fiches reads this index only (bench/bench_registers.py).
        Index(
            "ix_processing_activities_figures",
            "organisation_id",
            "is_model",
            "status",
            "completeness",
            "is_dpia_required",
            "dpia_status",
            "next_review_on",
            "has_model_update",
            "is_archive_proposed",
        ),
    )

    reference: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[ActivityStatus] = mapped_column(
        str_enum(ActivityStatus, "activity_status"), default=ActivityStatus.DRAFT
    )
    next_review_on: Mapped[date | None] = mapped_column(Date)

    # (a) controller = the organisation; plus joint controllers and representative
    joint_controllers: Mapped[str | None] = mapped_column(Text)
    representative: Mapped[str | None] = mapped_column(Text)
    # (b) purposes and legal basis
    purpose: Mapped[str | None] = mapped_column(Text)
    sub_purposes: Mapped[list[str]] = mapped_column(JSON, default=list)
    legal_basis: Mapped[str | None] = mapped_column(String(10))
    legal_basis_text: Mapped[str | None] = mapped_column(Text)
    # (c) data subjects and data: [{"category", "details", "active", "intermediate", "final"}]
    data_subjects: Mapped[list[str]] = mapped_column(JSON, default=list)
    data_subjects_other: Mapped[str | None] = mapped_column(Text)
    data_categories: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    sensitive_data: Mapped[list[str]] = mapped_column(JSON, default=list)
    art9_exception: Mapped[str | None] = mapped_column(String(10))
    sensitive_details: Mapped[str | None] = mapped_column(Text)
    # (d) recipients: [{"type", "name", "organisation_id", "processor_id"}]; (e) transfers:
    # [{"recipient", "country", "safeguard", "documentation"}]
    recipients: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    transfers: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # (g) security measures: [{"measure", "details"}]
    security_measures: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    # DPIA screening (WP248 criteria ids, CNIL lists item ids) and the DPIA itself
    dpia_criteria: Mapped[list[str]] = mapped_column(JSON, default=list)
    dpia_cnil_required: Mapped[str | None] = mapped_column(String(10))
    dpia_cnil_exempt: Mapped[str | None] = mapped_column(String(10))
    dpia_justification: Mapped[str | None] = mapped_column(Text)
    dpia_status: Mapped[DpiaStatus] = mapped_column(
        str_enum(DpiaStatus, "dpia_status"), default=DpiaStatus.NOT_STARTED
    )
    dpia_done_on: Mapped[date | None] = mapped_column(Date)

    # The creation and update dates the fiche had in the register it was imported from (the
    # organisation's own dates, kept as declared): shown beside Égide's own history
    # (created_at/updated_at and the versions), never replacing it.
    declared_created_on: Mapped[date | None] = mapped_column(Date)
    declared_updated_on: Mapped[date | None] = mapped_column(Date)

    # Derived on every save by the service (see registers.services.activities), indexed for lists.
    has_sensitive_data: Mapped[bool] = mapped_column(Boolean, default=False)
    is_dpia_required: Mapped[bool] = mapped_column(Boolean, default=False)
    completeness: Mapped[int] = mapped_column(Integer, default=0)

    # Models and inheritance
    is_model: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    content_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    model_id: Mapped[int | None] = mapped_column(
        ForeignKey("processing_activities.id", ondelete="RESTRICT"), index=True
    )
    synced_model_version: Mapped[int | None] = mapped_column(Integer)
    model_snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    has_model_update: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    is_archive_proposed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    organisation: Mapped[Organisation] = relationship(lazy="joined", innerjoin=True)
    applications: Mapped[list[Application]] = relationship(
        secondary=activity_applications, order_by="Application.sort_name", lazy="selectin"
    )

    def __str__(self) -> str:
        return f"{self.reference} — {self.name}"

    @property
    def is_inherited(self) -> bool:
        return self.model_id is not None

    @property
    def is_review_overdue(self) -> bool:
        return self.next_review_on is not None and self.next_review_on < today()


class RegisterFigures(TenantScoped, Base):
    """An organisation's register figures, kept by database triggers on processing_activities
    (migration 20261203g): the fiches in the register (queries.in_register), the sum of their
    completeness, and how many meet each condition of the home page's figures (queries.is_dpia_missing,
    is_incomplete, is_awaiting_validation, is_template_decision). Read-only for the application: the
    portfolio ranks, and the DPO's home page counts, thousands of organisations without reading their
    fiches. A test compares them with
    the fiches after every kind of write (tests/registers/test_register_figures.py)."""

    __tablename__ = "register_figures"

    id = None  # type: ignore[assignment]  # keyed by the organisation: one row each
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    fiches: Mapped[int] = mapped_column(Integer, server_default="0")
    completeness_total: Mapped[int] = mapped_column(Integer, server_default="0")
    dpia_missing: Mapped[int] = mapped_column(Integer, server_default="0")
    incomplete: Mapped[int] = mapped_column(Integer, server_default="0")
    awaiting_validation: Mapped[int] = mapped_column(Integer, server_default="0")
    template_decisions: Mapped[int] = mapped_column(Integer, server_default="0")

    @classmethod
    def tenant_criteria(cls, org_id: int) -> Any:
        return cls.organisation_id == org_id


class ActivityVersion(OrgScopedMixin, Base):
    """One saved state of a fiche: the history that can be viewed and restored.

    ``data`` holds every content field as it was after the change (the journal keeps the diff and
    the chain that proves it; this table keeps whole states, cheap to show and to restore).
    """

    __tablename__ = "activity_versions"
    __table_args__ = (UniqueConstraint("activity_id", "number"),)

    activity_id: Mapped[int] = mapped_column(ForeignKey("processing_activities.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)

    actor: Mapped[User | None] = relationship(lazy="joined")


# The version of each fiche last validated by someone holding REGISTERS_VALIDATE in the fiche's
# organisation (written by registers.services.activities._save only, removed when the fiche is
# archived): the public register and the register PDF read this content, never text nobody with the
# validate permission has reviewed. No row: never validated. A table of its own rather than a column
# of the fiche: activity_versions already references processing_activities, and a reference back
# would make the two tables a cycle.
validated_versions = Table(
    "validated_versions",
    Base.metadata,
    Column("activity_id", ForeignKey("processing_activities.id", ondelete="CASCADE"), primary_key=True),
    Column("version_id", ForeignKey("activity_versions.id", ondelete="CASCADE"), nullable=False),
    Index("ix_validated_versions_version_id", "version_id"),
)


# --- register imports ----------------------------------------------------------------------------


class ImportStatus(LabelledEnum):
    PENDING = "pending", _l("En attente de confirmation")
    IMPORTED = "imported", _l("Importé")
    CANCELLED = "cancelled", _l("Abandonné")
    EXPIRED = "expired", _l("Expiré")


class RegisterImport(VersionedMixin, OrgScopedMixin, Base):
    """A register file on its way in: read once at upload, mapped, previewed, then confirmed.

    ``payload`` holds the file's cells (compressed JSON, encrypted with the key ring of
    :mod:`core.crypto`): personal data, kept only while the import is pending. Confirmation,
    abandonment and expiry set it to NULL (see :mod:`registers.services.exchange.pending`); the row
    stays, without the data, so that a second confirmation says "déjà importé" with the result.
    """

    __tablename__ = "register_imports"
    __table_args__ = (Index("ix_register_imports_status_expires", "status", "expires_at"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[ImportStatus] = mapped_column(
        str_enum(ImportStatus, "register_import_status"), default=ImportStatus.PENDING
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    filename: Mapped[str] = mapped_column(String(200))
    fmt: Mapped[str] = mapped_column(String(10))
    sha256: Mapped[str] = mapped_column(String(64))
    row_count: Mapped[int] = mapped_column(Integer)
    headers: Mapped[list[str]] = mapped_column(JSON, default=list)  # the file's column names
    mapping: Mapped[list[str] | None] = mapped_column(JSON)  # target key per column ("" ignored)
    payload: Mapped[bytes | None] = mapped_column(LargeBinary)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # counts of the confirmed import

    @property
    def is_pending(self) -> bool:
        return self.status == ImportStatus.PENDING


class ImportPreset(TimestampMixin, VersionedMixin, OrgScopedMixin, Base):
    """A column mapping saved by name for an organisation's next files: normalised header → target."""

    __tablename__ = "import_presets"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)

    name: Mapped[str] = mapped_column(String(100))
    mapping: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)

    def __str__(self) -> str:
        return self.name


# --- processors (Art. 28) and the processor register's sign-off (Art. 30.2) -----------------------


class ClauseAnswer(LabelledEnum):
    """Whether the contract with a processor stipulates one of the Art. 28.3 clauses."""

    YES = "yes", _l("Oui")
    NO = "no", _l("Non")
    UNKNOWN = "unknown", _l("Non vérifié")


processor_applications = Table(
    "processor_applications",
    Base.metadata,
    Column("processor_id", ForeignKey("processors.id", ondelete="CASCADE"), primary_key=True),
    Column("application_id", ForeignKey("applications.id", ondelete="RESTRICT"), primary_key=True),
    Index("ix_processor_applications_application_id", "application_id"),
)

# The fiches whose recipients name a processor: kept by the fiche's single writer
# (registers.services.activities._save) from the recipients' ``processor_id``, so that a processor's
# page lists the fiches relying on it without reading every fiche's JSON.
activity_processors = Table(
    "activity_processors",
    Base.metadata,
    Column("activity_id", ForeignKey("processing_activities.id", ondelete="CASCADE"), primary_key=True),
    Column("processor_id", ForeignKey("processors.id", ondelete="RESTRICT"), primary_key=True),
    Index("ix_activity_processors_processor_id", "processor_id"),
)


class Processor(SortNameMixin, TimestampMixin, VersionedMixin, OrgScopedMixin, Base):
    """A processor ("sous-traitant", Art. 28) an organisation uses: who, for what, under which
    contract, where the data goes, and when to review it.

    ``clauses`` maps each Art. 28.3 clause id (``registers.reference.processor_clauses``) to a
    :class:`ClauseAnswer` value; a clause not in the dict has not been looked at. ``transfers`` has
    the fiche's transfer shape minus the recipient: ``[{"country", "safeguard", "documentation"}]``.
    ``linked_organisation_id``: the processor is an organisation of Égide (a member's syndicate).
    The syndicate itself, processor of its members for the hosted applications, is not stored in
    the members' lists: :mod:`registers.services.processors` derives it from the subscriptions.
    """

    __tablename__ = "processors"
    __table_args__ = (
        Index("ix_processors_org_sort_name", "organisation_id", "sort_name"),
        Index("ix_processors_org_review", "organisation_id", "next_review_on"),
        Index("ix_processors_org_to_complete", "organisation_id", "to_complete"),
    )

    name: Mapped[str] = mapped_column(String(200))
    service: Mapped[str | None] = mapped_column(Text)
    siren: Mapped[str | None] = mapped_column(String(14))
    contact: Mapped[str | None] = mapped_column(String(300))
    linked_organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"), index=True
    )
    contract_reference: Mapped[str | None] = mapped_column(String(100))
    contract_signed_on: Mapped[date | None] = mapped_column(Date)
    contract_ends_on: Mapped[date | None] = mapped_column(Date)
    clauses: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    data_location: Mapped[str | None] = mapped_column(String(300))
    transfers: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    certifications: Mapped[list[str]] = mapped_column(JSON, default=list)
    certifications_other: Mapped[str | None] = mapped_column(String(300))
    next_review_on: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)
    # What the record lacks (registers.services.processors.missing), counted on save: the list filters
    # on it. A review date passing is read against today, not counted here.
    to_complete: Mapped[int] = mapped_column(Integer, default=0)

    applications: Mapped[list[Application]] = relationship(
        secondary=processor_applications, order_by="Application.sort_name", lazy="selectin"
    )

    def __str__(self) -> str:
        return self.name


class ProcessorRegisterSignoff(OrgScopedMixin, Base):
    """The syndicate's DPO signing off the processor register (Art. 30.2) as it stands: the PDF
    prints the last sign-off (name, role, date). The signer's name is kept as written then."""

    __tablename__ = "processor_register_signoffs"
    __table_args__ = (Index("ix_processor_register_signoffs_org_at", "organisation_id", "signed_at"),)

    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    signed_by_name: Mapped[str] = mapped_column(String(200))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    controllers: Mapped[int] = mapped_column(Integer, default=0)
    to_complete: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str | None] = mapped_column(Text)


# --- rights requests ---------------------------------------------------------------------------


class RightType(LabelledEnum):
    ACCES = "acces", _l("Accès (art. 15)")
    RECTIFICATION = "rectification", _l("Rectification (art. 16)")
    EFFACEMENT = "effacement", _l("Effacement (art. 17)")
    LIMITATION = "limitation", _l("Limitation (art. 18)")
    PORTABILITE = "portabilite", _l("Portabilité (art. 20)")
    OPPOSITION = "opposition", _l("Opposition (art. 21)")


class RequestStatus(LabelledEnum):
    RECEIVED = "received", _l("Reçue")
    IN_PROGRESS = "in_progress", _l("En cours")
    ANSWERED = "answered", _l("Réponse envoyée")
    REFUSED = "refused", _l("Refus motivé envoyé")
    WITHDRAWN = "withdrawn", _l("Retirée")

    @property
    def is_open(self) -> bool:
        return self in (RequestStatus.RECEIVED, RequestStatus.IN_PROGRESS)


class RightsRequest(TimestampMixin, VersionedMixin, OrgScopedMixin, Base):
    """A data subject's request (Art. 15-22). ``due_on`` is derived by the service (Art. 12.3)."""

    __tablename__ = "rights_requests"
    __table_args__ = (
        UniqueConstraint("organisation_id", "reference"),
        Index("ix_rights_requests_org_open_due", "organisation_id", "is_open", "due_on"),
        Index("ix_rights_requests_assigned_open", "assigned_to_id", "is_open"),
    )

    reference: Mapped[str] = mapped_column(String(30))
    right: Mapped[RightType] = mapped_column(str_enum(RightType, "right_type"))
    requester_name: Mapped[str] = mapped_column(String(200))
    requester_contact: Mapped[str | None] = mapped_column(String(300))
    received_on: Mapped[date] = mapped_column(Date)
    identity_checked: Mapped[bool] = mapped_column(Boolean, default=False)
    identity_checked_on: Mapped[date | None] = mapped_column(Date)
    activity_id: Mapped[int | None] = mapped_column(
        ForeignKey("processing_activities.id", ondelete="SET NULL"), index=True
    )
    details: Mapped[str | None] = mapped_column(Text)
    is_extended: Mapped[bool] = mapped_column(Boolean, default=False)
    extension_notified_on: Mapped[date | None] = mapped_column(Date)
    extension_reason: Mapped[str | None] = mapped_column(Text)
    status: Mapped[RequestStatus] = mapped_column(
        str_enum(RequestStatus, "request_status"), default=RequestStatus.RECEIVED
    )
    answered_on: Mapped[date | None] = mapped_column(Date)
    answer_summary: Mapped[str | None] = mapped_column(Text)
    due_on: Mapped[date] = mapped_column(Date)
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)
    # Who handles it (a DPO or referent of the organisation): the home page shows each his own.
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    activity: Mapped[ProcessingActivity | None] = relationship(lazy="joined")
    assigned_to: Mapped[User | None] = relationship(lazy="joined")


# --- breaches ----------------------------------------------------------------------------------


class RiskLevel(LabelledEnum):
    NONE = "none", _l("Pas de risque pour les personnes")
    RISK = "risk", _l("Risque")
    HIGH = "high", _l("Risque élevé")


class NotificationDecision(LabelledEnum):
    PENDING = "pending", _l("À décider")
    NOTIFIED = "notified", _l("Notifiée")
    NOT_REQUIRED = "not_required", _l("Non requise")


class SubjectsDecision(LabelledEnum):
    PENDING = "pending", _l("À décider")
    INFORMED = "informed", _l("Personnes informées")
    NOT_REQUIRED = "not_required", _l("Non requise")


class Breach(TimestampMixin, VersionedMixin, OrgScopedMixin, Base):
    """A personal-data breach (Art. 33.5: every breach is documented, notified or not).

    ``source_incident_id`` is set when the SMSI creates the breach from an incident (see
    :func:`registers.services.breaches.create_breach_from_incident`).
    """

    __tablename__ = "breaches"
    __table_args__ = (
        UniqueConstraint("organisation_id", "reference"),
        # One breach per incident and controller, even when two requests race (NULLs never collide).
        UniqueConstraint("organisation_id", "source_incident_id"),
        Index("ix_breaches_org_open", "organisation_id", "is_closed", "discovered_at"),
    )

    reference: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(200))
    discovered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    occurred_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    natures: Mapped[list[str]] = mapped_column(JSON, default=list)
    description: Mapped[str | None] = mapped_column(Text)
    data_categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    data_subjects: Mapped[list[str]] = mapped_column(JSON, default=list)
    people_count: Mapped[int | None] = mapped_column(Integer)
    records_count: Mapped[int | None] = mapped_column(Integer)
    consequences: Mapped[str | None] = mapped_column(Text)
    measures: Mapped[str | None] = mapped_column(Text)
    risk_level: Mapped[RiskLevel | None] = mapped_column(str_enum(RiskLevel, "breach_risk_level"))
    cnil_decision: Mapped[NotificationDecision] = mapped_column(
        str_enum(NotificationDecision, "breach_cnil_decision"), default=NotificationDecision.PENDING
    )
    cnil_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cnil_reference: Mapped[str | None] = mapped_column(String(60))
    late_reason: Mapped[str | None] = mapped_column(Text)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    subjects_decision: Mapped[SubjectsDecision] = mapped_column(
        str_enum(SubjectsDecision, "breach_subjects_decision"), default=SubjectsDecision.PENDING
    )
    subjects_informed_on: Mapped[date | None] = mapped_column(Date)
    subjects_reason: Mapped[str | None] = mapped_column(Text)
    is_closed: Mapped[bool] = mapped_column(Boolean, default=False)
    closed_on: Mapped[date | None] = mapped_column(Date)
    source_incident_id: Mapped[int | None] = mapped_column(Integer, index=True)


# --- public register ---------------------------------------------------------------------------


class RegisterPublication(VersionedMixin, OrgScopedMixin, Base):
    """An organisation's choice to publish its register at /registers/public/<slug> (no login)."""

    __tablename__ = "register_publications"
    __table_args__ = (UniqueConstraint("organisation_id"), UniqueConstraint("slug"))

    slug: Mapped[str] = mapped_column(String(80))
    is_published: Mapped[bool] = mapped_column(Boolean, default=False)
    fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    introduction: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


def models_of_application(application_id: int) -> Any:
    """Select the models written on an application (used by inheritance and the processor register)."""
    return select(ProcessingActivity).where(
        ProcessingActivity.is_model.is_(True),
        ProcessingActivity.id.in_(
            select(activity_applications.c.activity_id).where(
                activity_applications.c.application_id == application_id
            )
        ),
    )
