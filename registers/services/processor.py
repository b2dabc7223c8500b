"""The syndicate's processor register (Art. 30.2), derived from the catalogue, the subscriptions, the
models and the syndicate's own processors (Art. 28).

Art. 30.2 asks, for a processor: its name and contact and those of each controller it acts for
(a), the categories of processing carried out on behalf of each controller (b), the transfers (c)
and a general description of the security measures (d). Here:

* the **applications served** are those of the syndicate's catalogue, hosted in its data centre or
  provided as SaaS, that a member subscribes to today and that process personal data (an
  application running at the member's is not the syndicate's processing);
* each application's **processing categories** are the models the syndicate's DPO wrote on it (its
  purpose, data categories, transfers and *described* security measures); its **sub-processors** are
  the syndicate's processors linked to it (:mod:`registers.services.processors`), with their
  contracts — for a SaaS application whose editor has no such record, the contract is missing;
* each **controller served** is a member with such a subscription, with the applications it uses.

Nothing is typed here and nothing stands in for what is missing (no catalogue blurb as a purpose):
what the register lacks is a list of :class:`Gap`, each with the page that fixes it. The syndicate's
DPO signs the register off (:func:`sign_off`): the PDF prints the last sign-off.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from accounts.models import Organisation, User
from catalogue.models import Application, Hosting, Subscription
from core import audit
from core.extensions import db
from core.tenancy import UNSCOPED
from core.text import fold
from registers import reference as ref
from registers.models import (
    ActivityStatus,
    ProcessingActivity,
    Processor,
    ProcessorRegisterSignoff,
    activity_applications,
)
from registers.services import processors as procs

SERVED_HOSTINGS = procs.SERVED_HOSTINGS


@dataclass(frozen=True)
class Gap:
    """Something the register lacks, and the page that fixes it (``url_for(endpoint, **args)``)."""

    text: str
    endpoint: str
    args: tuple[tuple[str, Any], ...] = ()
    kind: str = "content"  # "model" (none written), "content" (a model lacks something), "contract"

    @property
    def url_args(self) -> dict[str, Any]:
        return dict(self.args)


@dataclass(frozen=True)
class Measure:
    label: str
    details: str | None


@dataclass(frozen=True)
class ProcessingCategory:
    """One model written on an application: the processing carried out for its subscribers."""

    model_id: int
    reference: str
    name: str
    purpose: str | None
    data_categories: tuple[str, ...]  # labels
    has_sensitive_data: bool
    transfers: tuple[dict[str, Any], ...]
    measures: tuple[Measure, ...]  # described ones only (a ticked box says nothing to an inspector)


@dataclass(frozen=True)
class SubProcessorRow:
    name: str
    processor_id: int | None  # the syndicate's record (None: not described)
    service: str | None
    contract_reference: str | None
    contract_signed_on: Any
    clauses_present: int  # Art. 28.3 clauses answered "yes"
    clauses_total: int
    data_location: str | None
    transfers: tuple[dict[str, Any], ...]
    certifications: tuple[str, ...]


@dataclass
class ServedApplication:
    application_id: int
    name: str
    editor: str | None
    hosting: str  # label
    is_saas: bool
    controllers: int  # members using it today
    categories: list[ProcessingCategory] = field(default_factory=list)
    sub_processors: list[SubProcessorRow] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)

    @property
    def transfers(self) -> list[dict[str, Any]]:
        return [t for c in self.categories for t in c.transfers] + [
            t for s in self.sub_processors for t in s.transfers
        ]


@dataclass(frozen=True)
class ControllerServed:
    organisation_id: int
    name: str
    siren: str | None
    address: str
    dpo: str
    application_ids: tuple[int, ...]


@dataclass
class ProcessorRegister:
    syndicate_id: int
    syndicate: str
    address: str
    dpo: str
    applications: dict[int, ServedApplication]  # every application served, by name
    controllers: list[ControllerServed]  # the page asked for
    total: int  # controllers served, whatever the page
    signoff: ProcessorRegisterSignoff | None

    @property
    def gaps(self) -> list[Gap]:
        return [g for a in self.applications.values() for g in a.gaps]

    def gap_counts(self) -> dict[str, int]:
        """How many gaps of each kind ("model", "content", "contract")."""
        counts = dict.fromkeys(("model", "content", "contract"), 0)
        for gap in self.gaps:
            counts[gap.kind] += 1
        return counts


def _address(org: Organisation) -> str:
    return " ".join(part for part in (org.address, org.postal_code, org.city) if part)


def _dpo(org: Organisation) -> str:
    return " — ".join(part for part in (org.dpo_name, org.dpo_email, org.dpo_phone) if part)


def _served_subscriptions(syndicate: Organisation) -> Any:
    """Today's subscriptions of members to the applications the syndicate processes for them."""
    return (
        select(Subscription.organisation_id, Subscription.application_id)
        .join(Application, Application.id == Subscription.application_id)
        .where(
            Subscription.syndicate_id == syndicate.id,
            Subscription.organisation_id != syndicate.id,
            procs.active_subscription(),
            Application.has_personal_data.is_(True),
            Application.retired_on.is_(None),
            Application.hosting.in_(SERVED_HOSTINGS),
        )
    )


# --- the applications served, described once ---------------------------------------------------------


def _category(model: ProcessingActivity, sensitive_app: bool) -> ProcessingCategory:
    categories = ref.by_id(ref.data_categories())
    measures = ref.by_id(ref.security_measures())
    return ProcessingCategory(
        model_id=model.id,
        reference=model.reference,
        name=model.name,
        purpose=model.purpose,
        data_categories=tuple(
            categories[row["category"]].label if row["category"] in categories else row["category"]
            for row in model.data_categories
        ),
        has_sensitive_data=model.has_sensitive_data or sensitive_app,
        transfers=tuple(model.transfers),
        measures=tuple(
            Measure(
                measures[row["measure"]].label if row["measure"] in measures else row["measure"],
                row.get("details"),
            )
            for row in model.security_measures
            if row.get("details")
        ),
    )


def _model_gaps(app_name: str, model: ProcessingActivity) -> list[Gap]:
    edit = ("registers.activity_edit", (("activity_id", model.id),))
    where = f"{model.reference} ({app_name})"
    gaps = []
    if not model.purpose:
        gaps.append(Gap(_("%(m)s : la finalité n'est pas décrite", m=where), *edit))
    if not model.data_categories:
        gaps.append(Gap(_("%(m)s : les catégories de données ne sont pas renseignées", m=where), *edit))
    if not model.security_measures:
        gaps.append(Gap(_("%(m)s : aucune mesure de sécurité n'est décrite", m=where), *edit))
    else:
        bare = [row["measure"] for row in model.security_measures if not row.get("details")]
        if bare:
            labels = ", ".join(ref.label_of(ref.security_measures(), m) for m in bare)
            gaps.append(Gap(_("%(m)s : mesures cochées sans description (%(l)s)", m=where, l=labels), *edit))
    for row in model.transfers:
        if not row.get("safeguard"):
            gaps.append(
                Gap(
                    _("%(m)s : transfert vers %(c)s sans garantie", m=where, c=row.get("country") or "?"),
                    *edit,
                )
            )
    return gaps


def _sub_processor(record: Processor) -> SubProcessorRow:
    shown = procs.display(record)
    return SubProcessorRow(
        name=record.name,
        processor_id=record.id,
        service=record.service,
        contract_reference=record.contract_reference,
        contract_signed_on=record.contract_signed_on,
        clauses_present=sum(1 for v in (record.clauses or {}).values() if v == "yes"),
        clauses_total=len(ref.processor_clauses()),
        data_location=record.data_location,
        transfers=tuple(
            {"recipient": record.name, **t, "safeguard": t.get("safeguard")} for t in record.transfers or ()
        ),
        certifications=tuple(shown["certifications"]),
    )


def served_applications(syndicate: Organisation) -> dict[int, ServedApplication]:
    """Every application served, with its categories, sub-processors and gaps (four queries)."""
    subs = _served_subscriptions(syndicate).subquery()
    counts = dict(
        db.session.execute(
            select(subs.c.application_id, func.count(func.distinct(subs.c.organisation_id)))
            .group_by(subs.c.application_id)
            .execution_options(**UNSCOPED)  # unscoped: the syndicate reads the subscriptions of its members
        ).all()
    )
    apps = list(
        db.session.scalars(
            select(Application)
            .where(Application.id.in_(list(counts)))
            .order_by(Application.sort_name)
            .execution_options(**UNSCOPED)  # unscoped: the syndicate's own catalogue
        )
    )
    models: dict[int, list[ProcessingActivity]] = defaultdict(list)
    rows = db.session.execute(
        select(activity_applications.c.application_id, ProcessingActivity)
        .join(ProcessingActivity, ProcessingActivity.id == activity_applications.c.activity_id)
        .where(
            activity_applications.c.application_id.in_(list(counts)),
            ProcessingActivity.is_model.is_(True),
            ProcessingActivity.organisation_id == syndicate.id,
            ProcessingActivity.status != ActivityStatus.ARCHIVED,
        )
        .order_by(ProcessingActivity.sort_name)
        .execution_options(**UNSCOPED)  # unscoped: filtered on the syndicate explicitly
    ).all()
    for app_id, model in rows:
        models[app_id].append(model)
    records = procs.sub_processor_records(syndicate.id, list(counts))
    out: dict[int, ServedApplication] = {}
    for app in apps:
        served = ServedApplication(
            app.id, app.name, app.editor, str(app.hosting.label), app.hosting == Hosting.SAAS, counts[app.id]
        )
        for model in models.get(app.id, ()):
            served.categories.append(_category(model, app.has_sensitive_data))
            served.gaps += _model_gaps(app.name, model)
        if not served.categories:
            served.gaps.append(
                Gap(
                    _(
                        "%(a)s : aucun modèle de fiche ne décrit le traitement réalisé pour les adhérents",
                        a=app.name,
                    ),
                    "registers.model_new",
                    (("application_id", app.id),),
                    "model",
                )
            )
        for record in records.get(app.id, ()):
            served.sub_processors.append(_sub_processor(record))
            if record.to_complete:
                served.gaps.append(
                    Gap(
                        _("%(a)s : le contrat avec %(p)s est à compléter", a=app.name, p=record.name),
                        "registers.processor_detail",
                        (("processor_id", record.id),),
                        "contract",
                    )
                )
        if served.is_saas and not served.sub_processors:
            editor = app.editor or _("l'éditeur")
            served.gaps.append(
                Gap(
                    _(
                        "%(a)s (SaaS) : le contrat avec %(e)s, sous-traitant ultérieur, n'est pas décrit",
                        a=app.name,
                        e=editor,
                    ),
                    "registers.processor_new",
                    (("application_id", app.id), *((("name", app.editor),) if app.editor else ())),
                    "contract",
                )
            )
        out[app.id] = served
    return out


# --- the controllers served, a page at a time -------------------------------------------------------


def processor_register(
    syndicate: Organisation, *, q: str = "", offset: int = 0, limit: int | None = None
) -> ProcessorRegister:
    """The register; ``offset``/``limit`` page through the controllers (by name; the PDF takes them
    all), the applications are always all of them. Seven queries whatever the size."""
    subs = _served_subscriptions(syndicate).subquery()
    served = select(subs.c.organisation_id).distinct()
    orgs_stmt = select(Organisation).where(Organisation.id.in_(served))
    if q:
        orgs_stmt = orgs_stmt.where(Organisation.sort_name.like(f"%{fold(q)}%"))
    # unscoped: the syndicate reads the entries of the members it serves
    total = (
        db.session.scalar(
            select(func.count())
            .select_from(orgs_stmt.with_only_columns(Organisation.id).subquery())
            .execution_options(**UNSCOPED)
        )
        or 0
    )
    # unscoped: the members the syndicate serves, as for the count above
    orgs = list(
        db.session.scalars(
            orgs_stmt.order_by(Organisation.sort_name)
            .offset(offset)
            .limit(limit)
            .execution_options(**UNSCOPED)
        )
    )
    uses: dict[int, set[int]] = defaultdict(set)
    if orgs:
        for org_id, app_id in db.session.execute(
            select(subs.c.organisation_id, subs.c.application_id)
            .where(subs.c.organisation_id.in_([o.id for o in orgs]))
            .execution_options(**UNSCOPED)  # unscoped: the syndicate reads the subscriptions of its members
        ):
            uses[org_id].add(app_id)
    applications = served_applications(syndicate)
    order = {app_id: n for n, app_id in enumerate(applications)}
    controllers = [
        ControllerServed(
            org.id,
            org.name,
            org.siren,
            _address(org),
            _dpo(org),
            tuple(sorted(uses[org.id], key=lambda i: order.get(i, 0))),
        )
        for org in orgs
    ]
    return ProcessorRegister(
        syndicate.id,
        syndicate.name,
        _address(syndicate),
        _dpo(syndicate),
        applications,
        controllers,
        total,
        last_signoff(syndicate.id),
    )


# --- the DPO's sign-off ------------------------------------------------------------------------------


def last_signoff(syndicate_id: int) -> ProcessorRegisterSignoff | None:
    return db.session.scalar(
        select(ProcessorRegisterSignoff)
        .where(ProcessorRegisterSignoff.organisation_id == syndicate_id)
        .order_by(ProcessorRegisterSignoff.signed_at.desc(), ProcessorRegisterSignoff.id.desc())
        .limit(1)
        .execution_options(**UNSCOPED)  # unscoped: filtered on the syndicate explicitly
    )


def sign_off(syndicate: Organisation, actor: User, note: str | None = None) -> ProcessorRegisterSignoff:
    """The syndicate's DPO signs the register off as it stands (journalled with its figures)."""
    register = processor_register(syndicate, limit=0)
    signoff = ProcessorRegisterSignoff(
        organisation_id=syndicate.id,
        signed_by_id=actor.id,
        signed_by_name=actor.full_name or actor.email,
        controllers=register.total,
        to_complete=len(register.gaps),
        note=(note or "").strip()[:2000] or None,
    )
    with audit.audited(
        syndicate.id,
        actor,
        "processor_register.signoff",
        signoff,
        ("signed_by_name", "controllers", "to_complete", "note"),
    ):
        db.session.add(signoff)
        db.session.flush()
    return signoff
