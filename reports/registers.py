"""RGPD registers as plain, frozen data for the PDF layer (no ORM object leaves this module).

* :func:`register_data` — an organisation's register (Art. 30.1), archived fiches left out.
* :func:`activity_data` — one fiche.
* :func:`processor_register_data` — the syndicate's processor register (Art. 30.2), from
  :func:`registers.services.processor.processor_register`.

Labels are resolved here, in the locale of the request, so the PDF layer only prints strings.
Queries do not grow with the number of fiches: fiches in one query (their applications by
``selectinload``), the organisations named as recipients in one, the models of inherited fiches
in one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from accounts.models import Organisation
from accounts.services import organisation_names
from core.db import utcnow
from core.extensions import db
from core.tenancy import UNSCOPED
from registers import reference as ref
from registers.models import ActivityStatus, ProcessingActivity
from registers.services import activities as acts
from registers.services import inheritance
from registers.services import processor as processor_service

# --- documents ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrgHeader:
    name: str
    siren: str | None
    address: str
    head: str  # "Maire : Jeanne Dupont"
    dpo_name: str | None
    dpo_contact: str  # e-mail — phone
    cnil_dpo_number: str | None
    syndicate: str | None


@dataclass(frozen=True)
class CategoryRow:
    category: str
    details: str | None
    active: str | None
    intermediate: str | None
    final: str | None


@dataclass(frozen=True)
class RecipientRow:
    type: str
    name: str | None
    organisation: str | None  # the linked organisation's name


@dataclass(frozen=True)
class TransferRow:
    recipient: str | None
    country: str | None
    safeguard: str | None
    documentation: str | None


@dataclass(frozen=True)
class MeasureRow:
    measure: str
    details: str | None


@dataclass(frozen=True)
class Inheritance:
    model_reference: str
    model_name: str
    syndicate: str
    overridden: tuple[str, ...]  # labels of the fields changed locally
    has_model_update: bool


@dataclass(frozen=True)
class ActivityDoc:
    id: int
    reference: str
    name: str
    status: str
    is_model: bool
    next_review_on: date | None
    joint_controllers: str | None
    representative: str | None
    purpose: str | None
    sub_purposes: tuple[str, ...]
    legal_basis: str | None  # label with its article
    legal_basis_text: str | None
    data_subjects: tuple[str, ...]
    data_subjects_other: str | None
    data_categories: tuple[CategoryRow, ...]
    has_sensitive_data: bool
    sensitive_data: tuple[str, ...]
    art9_exception: str | None
    sensitive_details: str | None
    recipients: tuple[RecipientRow, ...]
    transfers: tuple[TransferRow, ...]
    security_measures: tuple[MeasureRow, ...]
    dpia_criteria: tuple[str, ...]  # criteria met
    dpia_cnil_required: str | None
    dpia_cnil_exempt: str | None
    dpia_justification: str | None
    dpia_required: bool
    dpia_reasons: tuple[str, ...]
    dpia_status: str
    dpia_done_on: date | None
    applications: tuple[str, ...]
    completeness: int
    missing: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    inheritance: Inheritance | None


@dataclass(frozen=True)
class RegisterDoc:
    organisation: OrgHeader
    generated_at: datetime
    activities: tuple[ActivityDoc, ...]
    archived_count: int

    @property
    def average_completeness(self) -> int:
        if not self.activities:
            return 0
        return round(sum(a.completeness for a in self.activities) / len(self.activities))


@dataclass(frozen=True)
class SingleActivityDoc:
    organisation: OrgHeader
    generated_at: datetime
    activity: ActivityDoc


@dataclass(frozen=True)
class ProcessingDoc:
    application: str
    editor: str | None
    hosting: str
    is_saas: bool
    model_reference: str | None
    name: str
    purpose: str | None
    data_categories: tuple[str, ...]
    has_sensitive_data: bool
    transfers: tuple[TransferRow, ...]
    security_measures: tuple[str, ...]


@dataclass(frozen=True)
class ControllerDoc:
    name: str
    siren: str | None
    address: str
    dpo: str
    processings: tuple[ProcessingDoc, ...]
    transfers: tuple[TransferRow, ...]
    security_measures: tuple[str, ...]
    sub_processors: tuple[str, ...]


@dataclass(frozen=True)
class ProcessorDoc:
    syndicate: OrgHeader
    generated_at: datetime
    controllers: tuple[ControllerDoc, ...]


# --- helpers --------------------------------------------------------------------------------------


def _join(*parts: str | None, sep: str = " ") -> str:
    return sep.join(p for p in parts if p)


def org_header(org: Organisation) -> OrgHeader:
    head = (
        f"{org.head_title} : {org.head_name}" if org.head_title and org.head_name else (org.head_name or "")
    )
    syndicate = org.syndicate.name if org.syndicate_id and org.syndicate is not None else None
    return OrgHeader(
        name=org.name,
        siren=org.siren,
        address=_join(org.address, _join(org.postal_code, org.city), sep=", "),
        head=head,
        dpo_name=org.dpo_name,
        dpo_contact=_join(org.dpo_email, org.dpo_phone, sep=" — "),
        cnil_dpo_number=org.cnil_dpo_number,
        syndicate=syndicate,
    )


def _labels(items: tuple[ref.Item, ...], ids: Iterable[str] | None) -> tuple[str, ...]:
    by_id = ref.by_id(items)
    return tuple(by_id[i].label if i in by_id else i for i in ids or ())


def _legal_basis(basis: str | None) -> str | None:
    item = ref.by_id(ref.legal_bases()).get(basis or "")
    if item is None:
        return basis
    return f"{item.label} ({item.article})" if item.article else item.label


def _transfers(rows: Iterable[Mapping[str, Any]]) -> tuple[TransferRow, ...]:
    return tuple(
        TransferRow(
            recipient=row.get("recipient"),
            country=row.get("country"),
            safeguard=ref.label_of(ref.transfer_safeguards(), row.get("safeguard")) or None,
            documentation=row.get("documentation"),
        )
        for row in rows or ()
    )


def _activity(
    activity: ProcessingActivity,
    org_names: Mapping[int, str],
    models: Mapping[int, ProcessingActivity],
) -> ActivityDoc:
    content = acts.content_of(activity, acts.CONTENT_FIELDS)
    verdict = acts.dpia_verdict(content)
    score = acts.completeness(content)
    categories = ref.by_id(ref.data_categories())
    recipient_types = ref.by_id(ref.recipient_types())
    measures = ref.by_id(ref.security_measures())
    inherited = None
    if activity.model_id is not None:
        model = models.get(activity.model_id)
        overridden = inheritance.overridden_fields(activity)
        inherited = Inheritance(
            model_reference=model.reference if model else "",
            model_name=model.name if model else "",
            syndicate=model.organisation.name if model else "",
            overridden=tuple(
                str(acts.FIELD_LABELS[name]) for name in acts.CONTENT_FIELDS if name in overridden
            ),
            has_model_update=activity.has_model_update,
        )
    return ActivityDoc(
        id=activity.id,
        reference=activity.reference,
        name=activity.name,
        status=str(activity.status.label),
        is_model=activity.is_model,
        next_review_on=activity.next_review_on,
        joint_controllers=activity.joint_controllers,
        representative=activity.representative,
        purpose=activity.purpose,
        sub_purposes=tuple(activity.sub_purposes or ()),
        legal_basis=_legal_basis(activity.legal_basis),
        legal_basis_text=activity.legal_basis_text,
        data_subjects=_labels(ref.data_subjects(), activity.data_subjects),
        data_subjects_other=activity.data_subjects_other,
        data_categories=tuple(
            CategoryRow(
                category=categories[row["category"]].label
                if row["category"] in categories
                else row["category"],
                details=row.get("details"),
                active=row.get("active"),
                intermediate=row.get("intermediate"),
                final=row.get("final"),
            )
            for row in activity.data_categories or ()
        ),
        has_sensitive_data=bool(activity.sensitive_data),
        sensitive_data=_labels(ref.sensitive_data(), activity.sensitive_data),
        art9_exception=ref.label_of(ref.art9_exceptions(), activity.art9_exception) or None,
        sensitive_details=activity.sensitive_details,
        recipients=tuple(
            RecipientRow(
                type=recipient_types[row["type"]].label if row["type"] in recipient_types else row["type"],
                name=row.get("name"),
                organisation=org_names.get(row.get("organisation_id") or 0),
            )
            for row in activity.recipients or ()
        ),
        transfers=_transfers(activity.transfers),
        security_measures=tuple(
            MeasureRow(
                measure=measures[row["measure"]].label if row["measure"] in measures else row["measure"],
                details=row.get("details"),
            )
            for row in activity.security_measures or ()
        ),
        dpia_criteria=tuple(item.label for item in verdict.criteria_met),
        dpia_cnil_required=ref.label_of(ref.dpia_required_types(), activity.dpia_cnil_required) or None,
        dpia_cnil_exempt=ref.label_of(ref.dpia_exempt_types(), activity.dpia_cnil_exempt) or None,
        dpia_justification=activity.dpia_justification,
        dpia_required=verdict.required,
        dpia_reasons=tuple(str(r) for r in verdict.reasons),
        dpia_status=str(activity.dpia_status.label),
        dpia_done_on=activity.dpia_done_on,
        applications=tuple(a.name for a in activity.applications),
        completeness=score.score,
        missing=tuple(score.missing),
        created_at=activity.created_at,
        updated_at=activity.updated_at,
        inheritance=inherited,
    )


def _recipient_org_names(activities: Sequence[ProcessingActivity]) -> dict[int, str]:
    """Names of the organisations linked as recipients (any tenant: a name is all we print)."""
    return organisation_names(
        row["organisation_id"] for a in activities for row in a.recipients or () if row.get("organisation_id")
    )


def _models_of(activities: Sequence[ProcessingActivity]) -> dict[int, ProcessingActivity]:
    """The syndicate's models the inherited fiches come from (they live in the syndicate's tenant)."""
    ids = {a.model_id for a in activities if a.model_id is not None}
    if not ids:
        return {}
    models = db.session.scalars(
        select(ProcessingActivity)
        .where(ProcessingActivity.id.in_(ids), ProcessingActivity.is_model.is_(True))
        .execution_options(**UNSCOPED)
    )
    return {m.id: m for m in models}


# --- entry points ---------------------------------------------------------------------------------


def register_data(org: Organisation, *, generated_at: datetime | None = None) -> RegisterDoc:
    """The register of ``org``: its fiches (not its models), archived ones left out, by reference."""
    pa = ProcessingActivity
    mine = (pa.organisation_id == org.id, pa.is_model.is_(False))
    activities = list(
        db.session.scalars(
            select(pa)
            .where(*mine, pa.status != ActivityStatus.ARCHIVED)
            .options(selectinload(pa.applications))
            .order_by(pa.reference, pa.id)
            .execution_options(**UNSCOPED)
        )
    )
    archived = db.session.scalar(
        select(func.count(pa.id))
        .where(*mine, pa.status == ActivityStatus.ARCHIVED)
        .execution_options(**UNSCOPED)
    )
    org_names = _recipient_org_names(activities)
    models = _models_of(activities)
    return RegisterDoc(
        organisation=org_header(org),
        generated_at=generated_at or utcnow(),
        activities=tuple(_activity(a, org_names, models) for a in activities),
        archived_count=int(archived or 0),
    )


def activity_data(activity: ProcessingActivity, *, generated_at: datetime | None = None) -> SingleActivityDoc:
    """One fiche with the header of its organisation."""
    return SingleActivityDoc(
        organisation=org_header(activity.organisation),
        generated_at=generated_at or utcnow(),
        activity=_activity(activity, _recipient_org_names([activity]), _models_of([activity])),
    )


def processor_register_data(syndicate: Organisation, *, generated_at: datetime | None = None) -> ProcessorDoc:
    """The syndicate's register as processor (Art. 30.2): every controller it serves."""
    register = processor_service.processor_register(syndicate)
    controllers = tuple(
        ControllerDoc(
            name=c.name,
            siren=c.siren,
            address=c.address,
            dpo=c.dpo,
            processings=tuple(
                ProcessingDoc(
                    application=p.application,
                    editor=p.editor,
                    hosting=p.hosting,
                    is_saas=p.is_saas,
                    model_reference=p.model_reference,
                    name=p.name,
                    purpose=p.purpose,
                    data_categories=tuple(p.data_categories),
                    has_sensitive_data=p.has_sensitive_data,
                    transfers=_transfers(p.transfers),
                    security_measures=tuple(p.security_measures),
                )
                for p in c.processings
            ),
            transfers=_transfers(c.transfers),
            security_measures=tuple(c.security_measures),
            sub_processors=tuple(c.sub_processors),
        )
        for c in register.controllers
    )
    return ProcessorDoc(
        syndicate=org_header(syndicate), generated_at=generated_at or utcnow(), controllers=controllers
    )
