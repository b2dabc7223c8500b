"""RGPD registers as plain, frozen data for the PDF layer (no ORM object leaves this module).

* :func:`register_data` — an organisation's register (Art. 30.1), archived fiches left out (and
  drafts, unless asked for).
* :func:`activity_data` — one fiche (an extract of the register: printed by the same rule).
* :func:`processor_register_data` — the syndicate's processor register (Art. 30.2), from
  :func:`registers.services.processor.processor_register`.

The register is an official document: it prints what the DPO validated. A fiche changed since its
validation (by someone without the validate permission: see
:func:`registers.services.activities.resulting_status`) is printed as its last validated version
(``validated_versions``), with a note that changes await validation, and who validated it; a fiche
never validated is printed as it stands, marked as not validated. Drafts (never validated, status
"draft") are left out of the register unless whoever generates it asks for them; they are then
printed marked as drafts.

Labels are resolved here, in the locale of the request, so the PDF layer only prints strings.
Queries do not grow with the number of fiches: fiches in one query (their applications by
``selectinload``), the organisations named as recipients in one, the models of inherited fiches
in one, the validated versions (which, and when) in one, and for fiches changed since their
validation, the validated contents in one and their applications' names in one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from accounts.models import Organisation, User
from accounts.services.organisations import organisation_names
from catalogue.models import Application
from core.db import utcnow
from core.extensions import db
from core.tenancy import UNSCOPED
from registers import reference as ref
from registers.models import (
    ActivityStatus,
    ActivityVersion,
    DpiaStatus,
    ProcessingActivity,
    validated_versions,
)
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
    updated_at: datetime  # of the content printed (a validated version: when it was recorded)
    inheritance: Inheritance | None
    # Validation by the DPO: when the printed content was validated (None: not known, or never),
    # whether it ever was, and the fiche's current status when later changes await validation
    # (the printed content is then the last validated version, not the current text).
    validated_at: datetime | None = None
    is_validated: bool = False
    pending_status: str | None = None
    # Who recorded the validated version (None: a system write — demo, import, command line — or
    # never validated), and whether the fiche is a draft printed at the request of whoever generated
    # the register (marked as such: see register_data's ``include_drafts``).
    validated_by: str | None = None
    is_draft: bool = False


@dataclass(frozen=True)
class RegisterDoc:
    organisation: OrgHeader
    generated_at: datetime
    activities: tuple[ActivityDoc, ...]
    archived_count: int
    # Drafts: printed (marked) when whoever generates the register asks for them, else left out
    # and counted here (see :func:`register_data`).
    include_drafts: bool = False
    drafts_left_out: int = 0

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
class CategoryDoc:
    """A processing category carried out for the subscribers of an application (one model)."""

    reference: str
    name: str
    purpose: str | None
    data_categories: tuple[str, ...]
    has_sensitive_data: bool
    measures: tuple[tuple[str, str], ...]  # (measure, its description): described ones only
    transfers: tuple[TransferRow, ...]


@dataclass(frozen=True)
class SubProcessorDoc:
    name: str
    service: str | None
    contract_reference: str | None
    contract_signed_on: date | None
    clauses_present: int
    clauses_total: int
    data_location: str | None
    certifications: tuple[str, ...]


@dataclass(frozen=True)
class ServedApplicationDoc:
    name: str
    hosting: str
    editor: str | None
    controllers: int
    categories: tuple[CategoryDoc, ...]
    sub_processors: tuple[SubProcessorDoc, ...]
    transfers: tuple[TransferRow, ...]


@dataclass(frozen=True)
class ControllerDoc:
    name: str
    siren: str | None
    address: str
    dpo: str
    applications: tuple[str, ...]


@dataclass(frozen=True)
class SignoffDoc:
    name: str
    signed_at: datetime
    note: str | None


@dataclass(frozen=True)
class ProcessorDoc:
    syndicate: OrgHeader
    generated_at: datetime
    applications: tuple[ServedApplicationDoc, ...]
    controllers: tuple[ControllerDoc, ...]
    to_complete: int  # what the register lacks (listed on its page, never printed as placeholders)
    signoff: SignoffDoc | None


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


@dataclass(frozen=True)
class _Printed:
    """What the document prints of a fiche: its content (every field of ``acts.ALL_FIELDS``), the
    names of its applications, and where that content comes from."""

    content: Mapping[str, Any]
    applications: tuple[str, ...]
    updated_at: datetime
    validated_at: datetime | None
    pending_status: str | None  # set when the content is the last validated version
    validated_by: str | None = None  # the name of whoever recorded the validated version


def _version_content(data: Mapping[str, Any]) -> dict[str, Any]:
    """A stored version's data as a fiche's content (a field the version lacks stays empty)."""
    empty: dict[str, Any] = {name: [] if name in acts.LIST_FIELDS else None for name in acts.ALL_FIELDS}
    empty.update(name="", status=ActivityStatus.VALIDATED, dpia_status=DpiaStatus.NOT_STARTED)
    return {**empty, **acts.normalise(data)}


def _printed(activities: Sequence[ProcessingActivity]) -> dict[int, _Printed]:
    """For each fiche, the content the register prints: the current one, unless the fiche has been
    changed since its validation (then: its validated version). Three queries at most, whatever the
    number of fiches."""
    pointers: dict[int, int] = {}  # fiche id → id of its validated version
    validated_at: dict[int, datetime] = {}  # version id → when it was recorded
    validated_by: dict[int, str] = {}  # version id → who recorded it (no entry: a system write)
    if activities:
        rows = db.session.execute(
            select(
                validated_versions.c.activity_id,
                ActivityVersion.id,
                ActivityVersion.created_at,
                User.full_name,
            )
            .join(ActivityVersion, ActivityVersion.id == validated_versions.c.version_id)
            .outerjoin(User, User.id == ActivityVersion.actor_id)
            .where(validated_versions.c.activity_id.in_([a.id for a in activities]))
            .execution_options(**UNSCOPED)  # unscoped: filtered on the fiches of the document explicitly
        ).all()
        pointers = {activity_id: version_id for activity_id, version_id, _at, _by in rows}
        validated_at = {version_id: at for _activity_id, version_id, at, _by in rows}
        validated_by = {version_id: by for _activity_id, version_id, _at, by in rows if by}
    pending = {
        a.id: pointers[a.id] for a in activities if a.id in pointers and a.status != ActivityStatus.VALIDATED
    }
    versions: dict[int, dict[str, Any]] = {}
    app_names: dict[int, str] = {}
    if pending:
        rows = db.session.execute(
            select(ActivityVersion.id, ActivityVersion.activity_id, ActivityVersion.data)
            .where(ActivityVersion.id.in_(set(pending.values())))
            .execution_options(**UNSCOPED)  # unscoped: filtered on the fiches of the document explicitly
        ).all()
        versions = {
            version_id: _version_content(data)
            for version_id, activity_id, data in rows
            if pending.get(activity_id) == version_id
        }
        app_ids = {i for content in versions.values() for i in content.get("application_ids") or ()}
        if app_ids:
            app_names = dict(
                db.session.execute(
                    select(Application.id, Application.name)
                    .where(Application.id.in_(app_ids))
                    # unscoped: filtered on the fiches of the document explicitly
                    .execution_options(**UNSCOPED)
                ).all()
            )
    out: dict[int, _Printed] = {}
    for a in activities:
        version_id = pending.get(a.id)
        if version_id is not None and version_id in versions:
            content = versions[version_id]
            names = sorted(app_names[i] for i in content.get("application_ids") or () if i in app_names)
            out[a.id] = _Printed(
                content,
                tuple(names),
                validated_at[version_id],
                validated_at[version_id],
                str(a.status.label),
                validated_by.get(version_id),
            )
        else:
            is_validated = a.status == ActivityStatus.VALIDATED
            out[a.id] = _Printed(
                acts.content_of(a, acts.ALL_FIELDS),
                tuple(app.name for app in a.applications),
                a.updated_at,
                validated_at.get(pointers.get(a.id, 0)) if is_validated else None,
                None,
                validated_by.get(pointers.get(a.id, 0)) if is_validated else None,
            )
    return out


def _activity(
    activity: ProcessingActivity,
    printed: _Printed,
    org_names: Mapping[int, str],
    models: Mapping[int, ProcessingActivity],
) -> ActivityDoc:
    c = printed.content
    content = {name: c[name] for name in acts.CONTENT_FIELDS}
    verdict = acts.dpia_verdict(content)
    score = acts.completeness(content)
    categories = ref.by_id(ref.data_categories())
    recipient_types = ref.by_id(ref.recipient_types())
    measures = ref.by_id(ref.security_measures())
    inherited = None
    if activity.model_id is not None:
        model = models.get(activity.model_id)
        overridden = inheritance.overridden_fields(activity, content)
        inherited = Inheritance(
            model_reference=model.reference if model else "",
            model_name=model.name if model else "",
            syndicate=model.organisation.name if model else "",
            overridden=tuple(
                str(acts.FIELD_LABELS[name]) for name in acts.CONTENT_FIELDS if name in overridden
            ),
            has_model_update=activity.has_model_update,
        )
    status = ActivityStatus(c["status"] or ActivityStatus.DRAFT)
    return ActivityDoc(
        id=activity.id,
        reference=activity.reference,
        name=c["name"] or "",
        status=str(status.label),
        is_model=activity.is_model,
        next_review_on=c["next_review_on"],
        joint_controllers=c["joint_controllers"],
        representative=c["representative"],
        purpose=c["purpose"],
        sub_purposes=tuple(c["sub_purposes"] or ()),
        legal_basis=_legal_basis(c["legal_basis"]),
        legal_basis_text=c["legal_basis_text"],
        data_subjects=_labels(ref.data_subjects(), c["data_subjects"]),
        data_subjects_other=c["data_subjects_other"],
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
            for row in c["data_categories"] or ()
        ),
        has_sensitive_data=bool(c["sensitive_data"]),
        sensitive_data=_labels(ref.sensitive_data(), c["sensitive_data"]),
        art9_exception=ref.label_of(ref.art9_exceptions(), c["art9_exception"]) or None,
        sensitive_details=c["sensitive_details"],
        recipients=tuple(
            RecipientRow(
                type=recipient_types[row["type"]].label if row["type"] in recipient_types else row["type"],
                name=row.get("name"),
                organisation=org_names.get(row.get("organisation_id") or 0),
            )
            for row in c["recipients"] or ()
        ),
        transfers=_transfers(c["transfers"]),
        security_measures=tuple(
            MeasureRow(
                measure=measures[row["measure"]].label if row["measure"] in measures else row["measure"],
                details=row.get("details"),
            )
            for row in c["security_measures"] or ()
        ),
        dpia_criteria=tuple(item.label for item in verdict.criteria_met),
        dpia_cnil_required=ref.label_of(ref.dpia_required_types(), c["dpia_cnil_required"]) or None,
        dpia_cnil_exempt=ref.label_of(ref.dpia_exempt_types(), c["dpia_cnil_exempt"]) or None,
        dpia_justification=c["dpia_justification"],
        dpia_required=verdict.required,
        dpia_reasons=tuple(str(r) for r in verdict.reasons),
        dpia_status=str(DpiaStatus(c["dpia_status"] or DpiaStatus.NOT_STARTED).label),
        dpia_done_on=c["dpia_done_on"],
        applications=printed.applications,
        completeness=score.score,
        missing=tuple(score.missing),
        created_at=activity.created_at,
        updated_at=printed.updated_at,
        inheritance=inherited,
        validated_at=printed.validated_at,
        is_validated=status == ActivityStatus.VALIDATED,
        pending_status=printed.pending_status,
        validated_by=printed.validated_by,
        is_draft=_is_draft(printed),
    )


def _is_draft(printed: _Printed) -> bool:
    """Whether what is printed of a fiche is a draft: a fiche in draft that was never validated. (A
    fiche set back to draft after a validation prints its validated version, which is not a draft.)"""
    return printed.pending_status is None and printed.content["status"] == ActivityStatus.DRAFT


def _recipient_org_names(printed: Iterable[_Printed]) -> dict[int, str]:
    """Names of the organisations linked as recipients (any tenant: a name is all we print)."""
    return organisation_names(
        row["organisation_id"]
        for p in printed
        for row in p.content["recipients"] or ()
        if row.get("organisation_id")
    )


def _models_of(activities: Sequence[ProcessingActivity]) -> dict[int, ProcessingActivity]:
    """The syndicate's models the inherited fiches come from (they live in the syndicate's tenant)."""
    ids = {a.model_id for a in activities if a.model_id is not None}
    if not ids:
        return {}
    models = db.session.scalars(
        select(ProcessingActivity)
        .where(ProcessingActivity.id.in_(ids), ProcessingActivity.is_model.is_(True))
        .execution_options(**UNSCOPED)  # unscoped: the member's document shows its syndicate's templates
    )
    return {m.id: m for m in models}


# --- entry points ---------------------------------------------------------------------------------


def register_data(
    org: Organisation, *, generated_at: datetime | None = None, include_drafts: bool = False
) -> RegisterDoc:
    """The register of ``org``: its fiches (not its models), archived ones left out, by reference.

    Drafts (fiches never validated whose status is "draft") are left out and counted, unless
    ``include_drafts``: they are then printed, marked as drafts. Fiches in review stay in either way
    (as their last validated version when they have one, else marked as not validated)."""
    pa = ProcessingActivity
    mine = (pa.organisation_id == org.id, pa.is_model.is_(False))
    activities = list(
        db.session.scalars(
            select(pa)
            .where(*mine, pa.status != ActivityStatus.ARCHIVED)
            .options(selectinload(pa.applications))
            .order_by(pa.reference, pa.id)
            # unscoped: filtered on the organisation explicitly (also built by the CLI)
            .execution_options(**UNSCOPED)
        )
    )
    archived = db.session.scalar(
        select(func.count(pa.id))
        .where(*mine, pa.status == ActivityStatus.ARCHIVED)
        # unscoped: filtered on the organisation explicitly (also built by the CLI)
        .execution_options(**UNSCOPED)
    )
    printed = _printed(activities)
    drafts = {a.id for a in activities if _is_draft(printed[a.id])}
    if not include_drafts:
        activities = [a for a in activities if a.id not in drafts]
        printed = {a.id: printed[a.id] for a in activities}
    org_names = _recipient_org_names(printed.values())
    models = _models_of(activities)
    return RegisterDoc(
        organisation=org_header(org),
        generated_at=generated_at or utcnow(),
        activities=tuple(_activity(a, printed[a.id], org_names, models) for a in activities),
        archived_count=int(archived or 0),
        include_drafts=include_drafts,
        drafts_left_out=0 if include_drafts else len(drafts),
    )


def activity_data(activity: ProcessingActivity, *, generated_at: datetime | None = None) -> SingleActivityDoc:
    """One fiche with the header of its organisation (printed as the register prints it)."""
    printed = _printed([activity])[activity.id]
    return SingleActivityDoc(
        organisation=org_header(activity.organisation),
        generated_at=generated_at or utcnow(),
        activity=_activity(activity, printed, _recipient_org_names([printed]), _models_of([activity])),
    )


def processor_register_data(syndicate: Organisation, *, generated_at: datetime | None = None) -> ProcessorDoc:
    """The syndicate's register as processor (Art. 30.2): the applications served, each described
    once, and every controller served with the applications it uses."""
    register = processor_service.processor_register(syndicate)
    applications = tuple(
        ServedApplicationDoc(
            name=a.name,
            hosting=a.hosting,
            editor=a.editor,
            controllers=a.controllers,
            categories=tuple(
                CategoryDoc(
                    reference=c.reference,
                    name=c.name,
                    purpose=c.purpose,
                    data_categories=c.data_categories,
                    has_sensitive_data=c.has_sensitive_data,
                    measures=tuple((m.label, m.details or "") for m in c.measures),
                    transfers=_transfers(c.transfers),
                )
                for c in a.categories
            ),
            sub_processors=tuple(
                SubProcessorDoc(
                    name=sp.name,
                    service=sp.service,
                    contract_reference=sp.contract_reference,
                    contract_signed_on=sp.contract_signed_on,
                    clauses_present=sp.clauses_present,
                    clauses_total=sp.clauses_total,
                    data_location=sp.data_location,
                    certifications=sp.certifications,
                )
                for sp in a.sub_processors
            ),
            transfers=_transfers(a.transfers),
        )
        for a in register.applications.values()
    )
    controllers = tuple(
        ControllerDoc(
            name=c.name,
            siren=c.siren,
            address=c.address,
            dpo=c.dpo,
            applications=tuple(register.applications[i].name for i in c.application_ids),
        )
        for c in register.controllers
    )
    signoff = register.signoff
    return ProcessorDoc(
        syndicate=org_header(syndicate),
        generated_at=generated_at or utcnow(),
        applications=applications,
        controllers=controllers,
        to_complete=len(register.gaps),
        signoff=SignoffDoc(signoff.signed_by_name, signoff.signed_at, signoff.note) if signoff else None,
    )
