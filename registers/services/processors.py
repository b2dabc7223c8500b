"""Processors (Art. 28): the sous-traitants each organisation uses, their contracts and where the
data goes; and, for a member, the syndicate as its processor, derived from its subscriptions.

Stored: what someone typed (:class:`registers.models.Processor`). Derived, never stored: the
syndicate's entry in a member's list (the hosted and SaaS applications it subscribes to) with, as
sub-processors, the editors of its SaaS applications and the contracts the syndicate keeps with
them (the syndicate's own processors linked to those applications). Change a subscription and the
list follows; nothing needs to be kept in step.

What a processor lacks is "à compléter" (:func:`missing`), counted on save into ``to_complete`` so
that the list can filter on it; a review date passing is read against today, not stored.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, delete, func, insert, or_, select, union

from accounts.models import Organisation, User
from catalogue.models import Application, Hosting, Subscription
from catalogue.services.applications import applications_of
from core import audit
from core.concurrency import check_version, flush_or_conflict
from core.db import today
from core.extensions import db
from core.forms import FieldError, raise_field_errors
from core.tenancy import UNSCOPED, scoped
from core.text import fold, loose
from registers import reference as ref
from registers.models import (
    ActivityStatus,
    ClauseAnswer,
    ProcessingActivity,
    Processor,
    activity_applications,
    activity_processors,
    processor_applications,
)

FIELDS: tuple[str, ...] = (
    "name",
    "service",
    "siren",
    "contact",
    "linked_organisation_id",
    "contract_reference",
    "contract_signed_on",
    "contract_ends_on",
    "clauses",
    "data_location",
    "transfers",
    "certifications",
    "certifications_other",
    "next_review_on",
    "notes",
)
AUDITED_FIELDS = (*FIELDS, "application_ids")
TRANSFER_KEYS = ("country", "safeguard", "documentation")
LIMITS = {
    "name": 200,
    "siren": 14,
    "contact": 300,
    "contract_reference": 100,
    "data_location": 300,
    "certifications_other": 300,
}
MAX_TEXT = 10_000
SIREN_RE = re.compile(r"^\d{9}(\d{5})?$")  # SIREN (9 digits) or SIRET (14)
CHOICES_MAX = 300  # processors offered to a fiche's recipient rows

FIELD_LABELS: dict[str, Any] = {
    "name": _l("Nom du sous-traitant"),
    "service": _l("Prestation confiée"),
    "siren": _l("SIREN ou SIRET"),
    "contact": _l("Contact (DPO ou référent du sous-traitant)"),
    "linked_organisation_id": _l("Organisation Égide"),
    "contract_reference": _l("Référence du contrat"),
    "contract_signed_on": _l("Contrat signé le"),
    "contract_ends_on": _l("Fin du contrat"),
    "clauses": _l("Clauses de l'article 28"),
    "data_location": _l("Lieu d'hébergement des données"),
    "transfers": _l("Transferts hors de l'Union européenne"),
    "certifications": _l("Certifications"),
    "certifications_other": _l("Autres certifications"),
    "next_review_on": _l("Prochaine revue"),
    "notes": _l("Notes"),
    "application_ids": _l("Applications concernées"),
}


class ProcessorInUse(Exception):
    """Deleting a processor that fiches still name (their recipients point to it)."""

    def __init__(self, fiches: int) -> None:
        super().__init__(fiches)
        self.fiches = fiches


# --- what is missing ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Missing:
    """One thing a processor's record lacks: what, and the id of the form's input that fixes it."""

    text: str
    field: str


def missing(data: Processor | Mapping[str, Any]) -> list[Missing]:
    """What an inspector would ask for and the record does not say (a review date passing is not
    here: see :func:`is_review_due`)."""

    def get(name: str) -> Any:
        return data.get(name) if isinstance(data, Mapping) else getattr(data, name)

    out: list[Missing] = []
    if not get("service"):
        out.append(Missing(_("la prestation confiée n'est pas décrite"), "service"))
    if not get("contract_signed_on"):
        out.append(Missing(_("la date de signature du contrat manque"), "contract_signed_on"))
    clauses = get("clauses") or {}
    for index, item in enumerate(ref.processor_clauses()):
        answer = clauses.get(item.id)
        where = f"clauses-{index}-answer"  # the form's input for that clause
        if answer == ClauseAnswer.NO.value:
            out.append(Missing(_("clause absente du contrat : %(c)s", c=item.label), where))
        elif answer != ClauseAnswer.YES.value:
            out.append(Missing(_("clause à vérifier : %(c)s", c=item.label), where))
    if not get("data_location"):
        out.append(Missing(_("le lieu d'hébergement des données n'est pas indiqué"), "data_location"))
    for index, row in enumerate(get("transfers") or ()):
        if not row.get("safeguard"):
            out.append(
                Missing(
                    _("transfert vers %(c)s sans garantie (art. 46)", c=row.get("country")),
                    f"transfers-{index}-safeguard",
                )
            )
    if not get("next_review_on"):
        out.append(Missing(_("aucune date de revue n'est prévue"), "next_review_on"))
    return out


def is_review_due(p: Processor, on: date | None = None) -> bool:
    return p.next_review_on is not None and p.next_review_on < (on or today())


# --- rules --------------------------------------------------------------------------------------


def _text(value: Any, limit: int = MAX_TEXT) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text[:limit] if len(text) > limit else (text or None)


def normalise(data: Mapping[str, Any]) -> dict[str, Any]:
    """The form's (or a caller's) data reduced to :data:`FIELDS` plus ``application_ids``; unknown
    clause answers and certification ids are kept out (the form offers only known ones)."""
    out: dict[str, Any] = {}
    for name in ("name", "service", "siren", "contact", "contract_reference", "data_location"):
        out[name] = _text(data.get(name), LIMITS.get(name, MAX_TEXT) + 1)  # +1: too long is an error
    for name in ("certifications_other", "notes"):
        out[name] = _text(data.get(name), LIMITS.get(name, MAX_TEXT) + 1)
    if out["siren"]:
        out["siren"] = re.sub(r"\s", "", out["siren"])
    for name in ("contract_signed_on", "contract_ends_on", "next_review_on"):
        value = data.get(name)
        out[name] = date.fromisoformat(value) if isinstance(value, str) and value else (value or None)
    linked = data.get("linked_organisation_id")
    out["linked_organisation_id"] = int(linked) if linked not in (None, "", "None") else None
    raw = data.get("clauses") or {}
    if not isinstance(raw, Mapping):  # form rows: [{"clause", "answer"}]
        raw = {row.get("clause"): row.get("answer") for row in raw if isinstance(row, Mapping)}
    known = ref.ids(ref.processor_clauses())
    answers = {a.value for a in ClauseAnswer}
    out["clauses"] = {k: v for k, v in raw.items() if k in known and v in answers}
    out["certifications"] = sorted(
        {c for c in data.get("certifications") or () if c in ref.ids(ref.processor_certifications())}
    )
    out["transfers"] = [
        {k: _text(row.get(k), 1001) for k in TRANSFER_KEYS}
        for row in data.get("transfers") or ()
        if isinstance(row, Mapping) and any(_text(row.get(k)) for k in TRANSFER_KEYS)
    ]
    out["application_ids"] = sorted({int(i) for i in data.get("application_ids") or ()})
    return out


def validate(org: Organisation, clean: Mapping[str, Any]) -> list[FieldError]:
    errors: list[FieldError] = []
    if not clean["name"]:
        errors.append(FieldError("name", _("Indiquez le nom du sous-traitant.")))
    for name in (*LIMITS, "service", "notes"):
        limit = LIMITS.get(name, MAX_TEXT)
        if clean.get(name) and len(clean[name]) > limit:
            errors.append(FieldError(name, _("%(n)s caractères au plus.", n=limit)))
    if clean["siren"] and not SIREN_RE.match(clean["siren"]):
        errors.append(FieldError("siren", _("Un SIREN a 9 chiffres, un SIRET 14.")))
    signed, ends = clean["contract_signed_on"], clean["contract_ends_on"]
    if signed and signed > today():
        errors.append(
            FieldError("contract_signed_on", _("La date de signature ne peut pas être dans le futur."))
        )
    if signed and ends and ends < signed:
        errors.append(FieldError("contract_ends_on", _("Le contrat ne peut finir avant d'être signé.")))
    safeguards = ref.ids(ref.transfer_safeguards())
    for row in clean["transfers"]:
        if not row["country"]:
            errors.append(FieldError("transfers", _("Indiquez le pays de destination de chaque transfert.")))
        if row["safeguard"] and row["safeguard"] not in safeguards:
            errors.append(
                FieldError("transfers", _("Garantie de transfert inconnue : %(v)s", v=row["safeguard"]))
            )
        if any(v and len(v) > 1000 for v in row.values()):
            errors.append(FieldError("transfers", _("%(n)s caractères au plus.", n=1000)))
    linked = clean["linked_organisation_id"]
    if linked is not None and linked not in dict(linked_organisation_choices(org)):
        errors.append(FieldError("linked_organisation_id", _("Organisation inconnue.")))
    return errors


def linked_organisation_choices(org: Organisation) -> list[tuple[int, str]]:
    """The organisations of Égide a processor may be: a member's syndicate."""
    if org.is_syndicate or org.syndicate_id is None:
        return []
    # unscoped: the member's own syndicate, by id
    syndicate = db.session.get(Organisation, org.syndicate_id, execution_options=UNSCOPED)
    return [(syndicate.id, syndicate.name)] if syndicate is not None else []


def application_choices(org: Organisation) -> list[tuple[int, str]]:
    """Applications a processor may run for the organisation
    (catalogue.services.applications.applications_of)."""
    return applications_of(org)


def _applications(org: Organisation, ids: Sequence[int]) -> list[Application]:
    allowed = dict(application_choices(org))
    if any(i not in allowed for i in ids):
        raise FieldError("application_ids", _("Application inconnue du catalogue de l'organisation."))
    if not ids:
        return []
    return list(
        db.session.scalars(
            select(Application).where(Application.id.in_(ids)).execution_options(**UNSCOPED)
        )  # unscoped: checked against the organisation's choices above
    )


# --- writes -------------------------------------------------------------------------------------


def _save(
    org: Organisation, actor: User | None, p: Processor, data: Mapping[str, Any], action: str
) -> Processor:
    clean = normalise(data)
    raise_field_errors(validate(org, clean))
    apps = _applications(org, clean["application_ids"])
    with audit.audited(org.id, actor, action, p, AUDITED_FIELDS):
        for name in FIELDS:
            setattr(p, name, clean[name])
        p.applications = apps
        p.to_complete = len(missing(p))
        if p.id is None:
            db.session.add(p)
        flush_or_conflict(p)
    return p


def create_processor(org: Organisation, actor: User | None, data: Mapping[str, Any]) -> Processor:
    return _save(org, actor, Processor(organisation_id=org.id), data, "processor.create")


def update_processor(p: Processor, actor: User | None, data: Mapping[str, Any]) -> Processor:
    """``data`` carries the ``version`` the form was loaded with (EditConflict when stale)."""
    check_version(p, data.get("version"))
    org = db.session.get(Organisation, p.organisation_id)
    return _save(org, actor, p, data, "processor.update")


def delete_processor(p: Processor, actor: User | None) -> None:
    """Refused while fiches name it (:class:`ProcessorInUse`): their recipients would point nowhere."""
    used = db.session.scalar(
        select(func.count())
        .select_from(activity_processors)
        .where(activity_processors.c.processor_id == p.id)
    )
    if used:
        raise ProcessorInUse(used)
    audit.record(
        p.organisation_id,
        actor,
        "processor.delete",
        p,
        {
            name: (audit.jsonable(getattr(p, name)), None)
            for name in ("name", "service", "contract_reference")
        },
    )
    db.session.delete(p)
    db.session.flush()


# --- fiches naming a processor -------------------------------------------------------------------


def own_processor_ids(org_id: int, ids: Iterable[int]) -> set[int]:
    """Of ``ids``, those of processors the organisation keeps (a recipient may name no other)."""
    wanted = {int(i) for i in ids}
    if not wanted:
        return set()
    stmt = select(Processor.id).where(Processor.id.in_(wanted), Processor.organisation_id == org_id)
    # unscoped: filtered on the organisation explicitly (the fiche's, which may not be the session's)
    return set(db.session.scalars(stmt.execution_options(**UNSCOPED)))


def clean_recipient_links(org_id: int, recipients: list[dict[str, Any]], *, is_model: bool) -> None:
    """Drop, in place, the ``processor_id`` of recipient rows that do not name one of the fiche's
    organisation's processors (a model's never do: its copies live in other organisations)."""
    ids = {r["processor_id"] for r in recipients if isinstance(r.get("processor_id"), int)}
    kept = set() if is_model else own_processor_ids(org_id, ids)
    for row in recipients:
        if row.get("processor_id") not in kept:
            row["processor_id"] = None


def sync_fiche_links(activity: ProcessingActivity) -> None:
    """Rewrite the fiche's rows of ``activity_processors`` from its recipients (called by the fiche's
    single writer after flush)."""
    ids = {r.get("processor_id") for r in activity.recipients or () if isinstance(r.get("processor_id"), int)}
    db.session.execute(delete(activity_processors).where(activity_processors.c.activity_id == activity.id))
    if ids:
        db.session.execute(
            insert(activity_processors),
            [{"activity_id": activity.id, "processor_id": i} for i in sorted(ids)],
        )


def ids_by_name(org_id: int) -> dict[str, int | None]:
    """The organisation's processors by name, case, accents and punctuation ignored (None: two
    share it), for the import."""
    out: dict[str, int | None] = {}
    stmt = select(Processor.id, Processor.sort_name).where(Processor.organisation_id == org_id)
    # unscoped: filtered on the importing organisation explicitly
    for row in db.session.execute(stmt.execution_options(**UNSCOPED)):
        key = loose(row.sort_name)
        out[key] = None if key in out else row.id
    return out


def recipient_choices(org_id: int, *, include: Iterable[int] = ()) -> list[tuple[int, str]]:
    """(id, name) of the organisation's processors for a fiche's recipient rows, by name."""
    stmt = (
        select(Processor.id, Processor.name)
        .where(Processor.organisation_id == org_id)
        .order_by(Processor.sort_name, Processor.id)
        .execution_options(**UNSCOPED)  # unscoped: filtered on the fiche's organisation explicitly
    )
    rows = list(db.session.execute(stmt.limit(CHOICES_MAX)))
    extra = {int(i) for i in include} - {r.id for r in rows}
    if extra:
        rows += list(db.session.execute(stmt.where(Processor.id.in_(extra))))
    return [(r.id, r.name) for r in rows]


def processor_names(ids: Iterable[int]) -> dict[int, str]:
    """Names of the active organisation's processors by id (fiche pages, the journal)."""
    ids = {int(i) for i in ids}
    if not ids:
        return {}
    rows = db.session.execute(
        scoped(select(Processor.id, Processor.name), Processor).where(Processor.id.in_(ids))
    )
    return {r.id: r.name for r in rows}


# --- reads --------------------------------------------------------------------------------------


@dataclass
class ProcessorFilters:
    q: str = ""
    state: str = ""  # "to_complete" / "review_due"

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> ProcessorFilters:
        state = str(args.get("state", ""))
        return cls(
            q=str(args.get("q", "")).strip()[:100],
            state=state if state in ("to_complete", "review_due") else "",
        )


def review_due(on: Any) -> ColumnElement[bool]:
    return Processor.next_review_on < on


def needs_work(on: Any) -> ColumnElement[bool]:
    """A processor to complete, or whose review date has passed (the list's "à compléter" filter,
    the home page's figure and the portfolio's ``only=processors`` share it)."""
    return or_(Processor.to_complete > 0, review_due(on))


def processors_query(filters: ProcessorFilters) -> Select[Any]:
    """The active organisation's processors by name."""
    stmt = scoped(select(Processor), Processor)
    if filters.q:
        stmt = stmt.where(Processor.sort_name.like(f"%{fold(filters.q)}%"))
    if filters.state == "to_complete":
        stmt = stmt.where(needs_work(today()))
    elif filters.state == "review_due":
        stmt = stmt.where(review_due(today()))
    return stmt.order_by(Processor.sort_name, Processor.id)


def fiche_counts(processor_ids: Iterable[int]) -> dict[int, int]:
    """Fiches relying on each processor — naming it, or using one of its applications — counted
    as :func:`fiches_of` lists them (one query for a page of the list)."""
    ids = list(processor_ids)
    if not ids:
        return {}
    pairs = union(
        select(
            activity_processors.c.processor_id.label("pid"), activity_processors.c.activity_id.label("aid")
        ).where(activity_processors.c.processor_id.in_(ids)),
        select(processor_applications.c.processor_id, activity_applications.c.activity_id)
        .join(
            activity_applications,
            activity_applications.c.application_id == processor_applications.c.application_id,
        )
        .where(processor_applications.c.processor_id.in_(ids)),
    ).subquery()
    pa = ProcessingActivity
    rows = db.session.execute(
        select(pairs.c.pid, func.count(func.distinct(pairs.c.aid)))
        .join(Processor, Processor.id == pairs.c.pid)
        .join(pa, pa.id == pairs.c.aid)
        .where(
            pa.organisation_id == Processor.organisation_id,
            pa.is_model.is_(False),
            pa.status != ActivityStatus.ARCHIVED,
        )
        .group_by(pairs.c.pid)
    )
    return {int(pid): int(n) for pid, n in rows}


@dataclass(frozen=True)
class FicheLink:
    id: int
    reference: str
    name: str
    status: ActivityStatus
    through: str  # "recipient" (the fiche names it) or "application" (it runs one of its applications)


def fiches_of(p: Processor, limit: int = 200) -> list[FicheLink]:
    """The organisation's fiches that rely on the processor: those naming it among their
    recipients, then those using one of its applications (archived fiches left out)."""
    pa = ProcessingActivity
    base = select(pa.id, pa.reference, pa.name, pa.status).where(
        pa.organisation_id == p.organisation_id, pa.is_model.is_(False), pa.status != ActivityStatus.ARCHIVED
    )
    named = list(
        db.session.execute(
            base.join(activity_processors, activity_processors.c.activity_id == pa.id)
            .where(activity_processors.c.processor_id == p.id)
            .order_by(pa.sort_name)
            .limit(limit)
        )
    )
    out = [FicheLink(r.id, r.reference, r.name, r.status, "recipient") for r in named]
    app_ids = [a.id for a in p.applications]
    if app_ids:
        seen = {r.id for r in named}
        using = db.session.execute(
            base.where(
                pa.id.in_(
                    select(activity_applications.c.activity_id).where(
                        activity_applications.c.application_id.in_(app_ids)
                    )
                )
            )
            .order_by(pa.sort_name)
            .limit(limit)
        )
        out += [
            FicheLink(r.id, r.reference, r.name, r.status, "application") for r in using if r.id not in seen
        ]
    return out


# --- the syndicate, processor of its members (derived) ---------------------------------------------


@dataclass(frozen=True)
class SubProcessor:
    """A SaaS application's editor, sub-processor of the syndicate for the member, with the
    contract the syndicate keeps with it (its own processor record linked to the application)."""

    application_id: int
    application: str
    editor: str | None
    record: Processor | None  # the syndicate's record; None: the syndicate has not described it

    @property
    def name(self) -> str:
        return self.record.name if self.record else (self.editor or "")


@dataclass
class SyndicateEntry:
    """The syndicate as a member's processor: for the hosted and SaaS applications it subscribes
    to; ``record``: the member's own record of its contract with the syndicate, if written."""

    syndicate_id: int
    name: str
    dpo: str
    applications: list[tuple[int, str, str]]  # (id, name, hosting label)
    sub_processors: list[SubProcessor] = field(default_factory=list)
    record: Processor | None = None


SERVED_HOSTINGS = (Hosting.DATACENTRE, Hosting.SAAS)


def active_subscription(on: date | None = None) -> ColumnElement[bool]:
    return or_(Subscription.ended_on.is_(None), Subscription.ended_on >= (on or today()))


def sub_processor_records(syndicate_id: int, app_ids: Sequence[int]) -> dict[int, list[Processor]]:
    """The syndicate's processors linked to each of ``app_ids`` (one query)."""
    if not app_ids:
        return {}
    rows = db.session.execute(
        select(processor_applications.c.application_id, Processor)
        .join(Processor, Processor.id == processor_applications.c.processor_id)
        .where(
            Processor.organisation_id == syndicate_id, processor_applications.c.application_id.in_(app_ids)
        )
        .order_by(Processor.sort_name)
        # unscoped: a member reads the contracts its syndicate keeps with the editors of its applications
        .execution_options(**UNSCOPED)
    ).all()
    out: dict[int, list[Processor]] = defaultdict(list)
    for app_id, record in rows:
        out[app_id].append(record)
    return out


def syndicate_entry(org: Organisation) -> SyndicateEntry | None:
    """The member's syndicate as its processor, or None (a syndicate, or no hosted application)."""
    if org.is_syndicate or org.syndicate_id is None:
        return None
    subscribed = select(Subscription.application_id).where(
        Subscription.organisation_id == org.id, active_subscription()
    )
    apps = list(
        db.session.execute(
            select(Application.id, Application.name, Application.editor, Application.hosting)
            .where(
                Application.id.in_(subscribed),
                Application.has_personal_data.is_(True),
                Application.retired_on.is_(None),
                Application.hosting.in_(SERVED_HOSTINGS),
            )
            .order_by(Application.sort_name)
            # unscoped: the member's own subscriptions to its syndicate's catalogue
            .execution_options(**UNSCOPED)
        )
    )
    if not apps:
        return None
    # unscoped: the member's own syndicate, by id
    syndicate = db.session.get(Organisation, org.syndicate_id, execution_options=UNSCOPED)
    saas = [a for a in apps if a.hosting == Hosting.SAAS]
    records = sub_processor_records(syndicate.id, [a.id for a in saas])
    subs = [
        SubProcessor(a.id, a.name, a.editor, record) for a in saas for record in (records.get(a.id) or [None])
    ]
    own = db.session.scalar(
        select(Processor)
        .where(Processor.organisation_id == org.id, Processor.linked_organisation_id == syndicate.id)
        .order_by(Processor.id)
        .limit(1)
        .execution_options(**UNSCOPED)  # unscoped: filtered on the organisation explicitly
    )
    dpo = " — ".join(x for x in (syndicate.dpo_name, syndicate.dpo_email) if x)
    return SyndicateEntry(
        syndicate.id,
        syndicate.name,
        dpo,
        [(a.id, a.name, str(Hosting(a.hosting).label)) for a in apps],
        subs,
        own,
    )


def syndicate_prefill(entry: SyndicateEntry) -> dict[str, Any]:
    """The new-processor form filled from the derived entry (the member then adds its contract)."""
    names = ", ".join(name for _id, name, _h in entry.applications)
    return {
        "name": entry.name,
        "linked_organisation_id": entry.syndicate_id,
        "service": _(
            "Hébergement, exploitation et maintenance des applications mutualisées : %(apps)s.", apps=names
        ),
        "contact": entry.dpo,
        "application_ids": [app_id for app_id, _n, _h in entry.applications],
    }


def processor_titles(ids: Iterable[int]) -> dict[int, str]:
    """The journal's names of processors (the active organisation's)."""
    return processor_names(ids)


def display(p: Processor) -> dict[str, Any]:
    """The coded values of a processor as the detail page (and the PDF) show them."""
    safeguards = ref.by_id(ref.transfer_safeguards())
    return {
        "clauses": ref.processor_clauses(),
        "transfers": [
            {
                **row,
                "safeguard_label": safeguards[row["safeguard"]].label
                if row.get("safeguard") in safeguards
                else None,
            }
            for row in p.transfers or ()
        ],
        "certifications": [ref.label_of(ref.processor_certifications(), c) for c in p.certifications or ()],
    }
