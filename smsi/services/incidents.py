"""Security incidents: the rules, the organisations an incident affects, its timeline, and the fan-out
that opens a personal-data breach in the register of every affected controller.

* **Affected organisations** are derived: the members subscribing today to an affected application,
  plus those the RSSI adds by hand, minus those he takes out (``excluded_organisation_ids``). They are
  stored (``incident_organisations``) so that lists and members' pages can query them; every save
  recomputes them — a new subscription counts from the next save.
* **Fan-out** (:func:`fan_out`): when personal data is involved, each affected organisation is a
  controller whose data the incident touched: one breach is opened in its register through the
  registers' public service (``create_breach_from_incident``, idempotent per organisation and
  incident), its 72-hour clock started at the incident's detection, pre-filled from the fiches of
  its register that use the affected applications, and its DPO is told by e-mail. Saving again, or
  adding applications, opens the missing ones only; a breach already opened stays (it is the
  member's record, closed by its DPO).
* **Workflow** new → qualified → contained → resolved → closed; closing asks for the root cause and
  the lessons learned. Each change of status writes its timeline entry.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, bindparam, delete, func, insert, or_, select
from sqlalchemy.orm import lazyload

from accounts.models import Nis2Entity, Organisation, User
from catalogue.models import Application, Subscription
from catalogue.services.applications import applications_of
from core import audit, references
from core.concurrency import check_version, flush_or_conflict, with_fresh_reference
from core.db import PARIS, to_utc, today, utcnow
from core.extensions import db
from core.forms import FieldError, enum_value, id_list, raise_field_errors, text_value
from core.mail import send_mail
from core.tenancy import UNSCOPED, execute_rows, reused_per_organisation, scoped
from core.text import fold
from registers.services import breaches as register_breaches
from smsi.models import (
    Incident,
    IncidentCategory,
    IncidentEvent,
    IncidentNotification,
    IncidentStatus,
    NotificationKind,
    NotificationRecipient,
    Severity,
    TimelineKind,
    incident_organisations,
    search_text,
)

log = logging.getLogger(__name__)

FIELDS: tuple[str, ...] = (
    "title",
    "description",
    "detected_at",
    "reported_by",
    "category",
    "severity",
    "impact_confidentiality",
    "impact_integrity",
    "impact_availability",
    "affected_sites",
    "status",
    "has_personal_data",
    "nis2_significant",
    "excluded_organisation_ids",
    "root_cause",
    "lessons_learned",
)
AUDITED_FIELDS = (*FIELDS, "reference", "closed_at", "application_ids", "added_organisation_ids")
MAX_TEXT = 10_000
# The timeline entry a change of status writes.
STATUS_EVENTS = {
    IncidentStatus.QUALIFIED: TimelineKind.QUALIFICATION,
    IncidentStatus.CONTAINED: TimelineKind.CONTAINMENT,
    IncidentStatus.RESOLVED: TimelineKind.RECOVERY,
    IncidentStatus.CLOSED: TimelineKind.CLOSURE,
}
NATURES = (  # C/I/A impact → the breach natures of the registers (ids of breach_types)
    ("impact_confidentiality", "confidentialite"),
    ("impact_integrity", "integrite"),
    ("impact_availability", "disponibilite"),
)


# --- rules --------------------------------------------------------------------------------------


def _text(value: Any, limit: int = MAX_TEXT) -> str | None:
    return text_value(value, limit)


def normalise(data: Mapping[str, Any], errors: list[FieldError]) -> dict[str, Any]:
    out: dict[str, Any] = {name: data.get(name) for name in FIELDS}
    out["title"] = _text(out["title"], 200)
    out["reported_by"] = _text(out["reported_by"], 200)
    for name in ("description", "affected_sites", "root_cause", "lessons_learned"):
        out[name] = _text(out[name])
    out["category"] = enum_value(IncidentCategory, out["category"], "category", errors)
    out["severity"] = enum_value(Severity, out["severity"], "severity", errors)
    out["status"] = enum_value(IncidentStatus, out["status"] or IncidentStatus.NEW, "status", errors)
    for name in (
        "impact_confidentiality",
        "impact_integrity",
        "impact_availability",
        "has_personal_data",
        "nis2_significant",
    ):
        out[name] = bool(out[name])
    detected = out["detected_at"]
    if isinstance(detected, datetime) and detected.tzinfo is None:
        detected = to_utc(detected)  # typed in French local time
    out["detected_at"] = detected
    out["excluded_organisation_ids"] = id_list(out["excluded_organisation_ids"])
    out["application_ids"] = id_list(data.get("application_ids"))
    out["added_organisation_ids"] = id_list(data.get("added_organisation_ids"))
    closed = data.get("closed_at")  # when it was closed, if not now (an incident recorded afterwards)
    out["closed_at"] = to_utc(closed) if isinstance(closed, datetime) else None
    return out


def validate(data: Mapping[str, Any], now: datetime | None = None) -> list[FieldError]:
    now = now or utcnow()
    errors: list[FieldError] = []
    if not data["title"]:
        errors.append(FieldError("title", _("Donnez un titre à l'incident.")))
    elif len(data["title"]) > 200:
        errors.append(FieldError("title", _("%(n)s caractères au plus.", n=200)))
    for name in ("description", "affected_sites", "root_cause", "lessons_learned"):
        if data.get(name) and len(data[name]) > MAX_TEXT:
            errors.append(FieldError(name, _("%(n)s caractères au plus.", n=MAX_TEXT)))
    detected = data["detected_at"]
    if detected is None:
        errors.append(FieldError("detected_at", _("Indiquez quand l'incident a été détecté.")))
    elif detected > now:
        errors.append(FieldError("detected_at", _("La détection ne peut pas être dans le futur.")))
    if data["status"] is IncidentStatus.CLOSED:
        if not data["root_cause"]:
            errors.append(FieldError("root_cause", _("Pour clore l'incident, indiquez sa cause première.")))
        if not data["lessons_learned"]:
            errors.append(
                FieldError("lessons_learned", _("Pour clore l'incident, indiquez les enseignements tirés."))
            )
    closed = data.get("closed_at")
    if closed is not None and (closed > now or (detected is not None and closed < detected)):
        errors.append(
            FieldError("closed_at", _("La clôture doit suivre la détection et ne peut être dans le futur."))
        )
    if data["has_personal_data"] and not any(data[name] for name, _nature in NATURES):
        errors.append(
            FieldError(
                "has_personal_data",
                _("Des données personnelles sont en cause : cochez l'atteinte (confidentialité, intégrité ou "
                  "disponibilité) qui les touche."),
            )
        )  # fmt: skip
    return errors


def application_choices(org: Organisation) -> list[tuple[int, str]]:
    """The applications an incident may hit: the syndicate's catalogue (a member: what it uses)."""
    return applications_of(org)


def organisation_choices(org: Organisation) -> list[tuple[int, str]]:
    """The organisations an incident of ``org`` may affect: a syndicate's members (and itself)."""
    if not org.is_syndicate:
        return [(org.id, org.name)]
    stmt = (
        select(Organisation.id, Organisation.name)
        .where(
            or_(Organisation.id == org.id, Organisation.syndicate_id == org.id),
            Organisation.left_on.is_(None),
        )
        .order_by(Organisation.sort_name)
        .execution_options(**UNSCOPED)  # unscoped: the syndicate's members, named explicitly
    )
    return [(r.id, r.name) for r in db.session.execute(stmt)]


def derived_organisations(org: Organisation, application_ids: Iterable[int]) -> set[int]:
    """The organisations subscribing today to ``application_ids`` (among those ``org`` may affect)."""
    ids = list(application_ids)
    if not ids:
        return set()
    stmt = select(Subscription.organisation_id).where(
        Subscription.application_id.in_(ids),
        or_(Subscription.ended_on.is_(None), Subscription.ended_on >= today()),
    )
    if org.is_syndicate:
        stmt = stmt.where(Subscription.syndicate_id == org.id)
    else:
        stmt = stmt.where(Subscription.organisation_id == org.id)
    # unscoped: the syndicate reads its members' subscriptions
    return set(db.session.scalars(stmt.execution_options(**UNSCOPED)))


# --- writes -------------------------------------------------------------------------------------


def _check_references(org: Organisation, clean: Mapping[str, Any]) -> list[FieldError]:
    errors = []
    if any(i not in dict(application_choices(org)) for i in clean["application_ids"]):
        errors.append(FieldError("application_ids", _("Application inconnue du catalogue.")))
    allowed = dict(organisation_choices(org))
    if any(i not in allowed for i in clean["added_organisation_ids"] + clean["excluded_organisation_ids"]):
        errors.append(FieldError("added_organisation_ids", _("Organisation inconnue.")))
    return errors


def _affected(org: Organisation, incident: Incident, clean: Mapping[str, Any]) -> None:
    """Rewrite the incident's affected organisations: derived + added − excluded."""
    derived = derived_organisations(org, clean["application_ids"])
    added = set(clean["added_organisation_ids"]) - derived
    excluded = set(clean["excluded_organisation_ids"])
    db.session.execute(
        delete(incident_organisations).where(incident_organisations.c.incident_id == incident.id)
    )
    rows = [
        {"incident_id": incident.id, "organisation_id": i, "is_added": i in added}
        for i in sorted((derived | added) - excluded)
    ]
    if rows:
        db.session.execute(insert(incident_organisations), rows)


def affected_ids(incident: Incident) -> list[int]:
    return list(
        db.session.scalars(
            select(incident_organisations.c.organisation_id).where(
                incident_organisations.c.incident_id == incident.id
            )
        )
    )


def added_ids(incident: Incident) -> list[int]:
    return list(
        db.session.scalars(
            select(incident_organisations.c.organisation_id).where(
                incident_organisations.c.incident_id == incident.id,
                incident_organisations.c.is_added.is_(True),
            )
        )
    )


def _snapshot(incident: Incident) -> dict[str, Any]:
    if incident.id is None:
        return {}
    return {
        **audit.snapshot(incident, (*FIELDS, "reference", "closed_at")),
        "application_ids": sorted(a.id for a in incident.applications),
        "added_organisation_ids": sorted(added_ids(incident)),
    }


def _save(
    org: Organisation, actor: User | None, incident: Incident, data: Mapping[str, Any], action: str
) -> Incident:
    errors: list[FieldError] = []
    clean = normalise(data, errors)
    errors += validate(clean) + _check_references(org, clean)
    raise_field_errors(errors)
    before = _snapshot(incident)
    previous = incident.status
    for name in FIELDS:
        setattr(incident, name, clean[name])
    incident.nis2_significant = clean["nis2_significant"] and is_nis2_entity(org)
    incident.is_open = incident.status.is_open
    if incident.status is IncidentStatus.CLOSED and incident.closed_at is None:
        incident.closed_at = clean["closed_at"] or utcnow()
    elif incident.status.is_open:
        incident.closed_at = None
    incident.applications = list(
        db.session.scalars(
            select(Application)
            .where(Application.id.in_(clean["application_ids"]))
            .execution_options(**UNSCOPED)
        )  # unscoped: checked against the organisation's choices above
    )
    is_new = incident.id is None
    if is_new:
        incident.reference = references.next_reference(Incident, org.id, f"INC-{incident.detected_at:%Y}-")
        db.session.add(incident)
    incident.search_text = search_text(incident.reference, incident.title)
    flush_or_conflict(incident)
    _affected(org, incident, clean)
    if is_new:
        add_event(
            incident, actor, TimelineKind.DETECTION, incident.detected_at, _("Incident détecté."), check=False
        )
    if not is_new and incident.status is not previous and incident.status in STATUS_EVENTS:
        add_event(
            incident,
            actor,
            STATUS_EVENTS[incident.status],
            incident.closed_at if incident.status is IncidentStatus.CLOSED else utcnow(),
            _("Statut : %(s)s.", s=incident.status.label),
            check=False,
        )
    after = _snapshot(incident)
    changes = audit.diff(before, after)
    if changes or is_new:
        audit.record(
            org.id,
            actor,
            action,
            incident,
            {k: (audit.jsonable(a), audit.jsonable(b)) for k, (a, b) in changes.items()},
        )
    fan_out(incident, actor)
    return incident


def create_incident(org: Organisation, actor: User | None, data: Mapping[str, Any]) -> Incident:
    return with_fresh_reference(
        lambda: _save(org, actor, Incident(organisation_id=org.id), data, "incident.create")
    )


def update_incident(incident: Incident, actor: User | None, data: Mapping[str, Any]) -> Incident:
    """``data`` carries the ``version`` the form was loaded with (EditConflict when stale)."""
    check_version(incident, data.get("version"))
    org = db.session.get(Organisation, incident.organisation_id)
    return _save(org, actor, incident, data, "incident.update")


def add_event(
    incident: Incident,
    actor: User | None,
    kind: TimelineKind | str,
    at: datetime | None,
    text: str | None,
    *,
    check: bool = True,
) -> IncidentEvent:
    """A timeline entry: dated between the detection and now, with a text."""
    kind = TimelineKind(kind)
    if at is not None and at.tzinfo is None:
        at = to_utc(at)
    text = _text(text)
    if check:
        errors = _moment_errors(
            incident,
            "at",
            at,
            _(
                "Une entrée ne peut précéder la détection de l'incident (%(d)s).",
                d=_local(incident.detected_at),
            ),
            _("Une entrée ne peut pas être dans le futur."),
        )
        if not text:
            errors.append(FieldError("text", _("Décrivez ce qui s'est passé.")))
        elif len(text) > MAX_TEXT:
            errors.append(FieldError("text", _("%(n)s caractères au plus.", n=MAX_TEXT)))
        raise_field_errors(errors)
    event = IncidentEvent(
        organisation_id=incident.organisation_id,
        incident_id=incident.id,
        kind=kind,
        at=at,
        text=text or "",
        author_id=getattr(actor, "id", None),
        created_at=utcnow(),
    )
    db.session.add(event)
    db.session.flush()
    if check:
        audit.record(
            incident.organisation_id,
            actor,
            "incident.event",
            incident,
            {"timeline": (None, {"kind": kind.value, "at": audit.jsonable(at), "text": text})},
        )
    return event


def _moment_errors(
    incident: Incident, field: str, at: datetime | None, too_early: str, too_late: str
) -> list[FieldError]:
    """Something that happened to an incident (a timeline entry, a notification) is dated between
    its detection and now."""
    if at is None:
        return [FieldError(field, _("Indiquez la date et l'heure."))]
    if at < incident.detected_at:
        return [FieldError(field, too_early)]
    if at > utcnow():
        return [FieldError(field, too_late)]
    return []


def _local(moment: datetime) -> str:
    return to_utc(moment).astimezone(PARIS).strftime("%d/%m/%Y %H:%M")


# --- the fan-out to the members' breach registers -------------------------------------------------


def fan_out(incident: Incident, actor: User | None) -> list[int]:
    """Open the missing breaches of an incident with personal data (module docstring); returns
    the organisations where one was opened now."""
    if not incident.has_personal_data:
        return []
    natures = [nature for name, nature in NATURES if getattr(incident, name)]
    already = {b.organisation_id for b in register_breaches.breaches_of_incident(incident.id)}
    app_ids = [a.id for a in incident.applications]
    opened = []
    orgs = db.session.scalars(
        select(Organisation)
        .where(Organisation.id.in_(set(affected_ids(incident)) - already))
        .order_by(Organisation.sort_name)
        .execution_options(**UNSCOPED)  # unscoped: the incident's affected organisations
    )
    orgs = list(orgs)
    contents = register_breaches.incident_contents([o.id for o in orgs], app_ids)  # one query for all
    descriptions = {}
    for org in orgs:
        description = _(
            "Violation ouverte depuis l'incident %(ref)s du %(who)s : %(title)s.",
            ref=incident.reference,
            who=_local(incident.detected_at),
            title=incident.title,
        )
        if contents[org.id].fiches:
            description += "\n" + _(
                "Traitements concernés : %(list)s.", list=", ".join(contents[org.id].fiches)
            )
        descriptions[org.id] = description
    breaches = register_breaches.create_breaches_from_incident(  # a few statements for all
        orgs,
        actor,
        incident_id=incident.id,
        title=f"{incident.reference} — {incident.title}"[:200],
        discovered_at=incident.detected_at,
        natures=natures,
        descriptions=descriptions,
        contents=contents,
    )
    for org in orgs:
        opened.append(org.id)
        _tell_dpo(org, incident, breaches[org.id].reference)
    return opened


def _tell_dpo(org: Organisation, incident: Incident, reference: str) -> None:
    if not org.dpo_email:
        return
    subject = _("Violation de données à évaluer : %(ref)s", ref=reference)
    body = _(
        "L'incident %(inc)s (%(title)s), détecté le %(when)s, touche des applications de %(org)s "
        "traitant des données personnelles. La violation %(ref)s a été ouverte dans votre registre : "
        "le délai de 72 heures pour notifier la CNIL court depuis la détection.",
        inc=incident.reference,
        title=incident.title,
        when=_local(incident.detected_at),
        org=org.name,
        ref=reference,
    )
    try:
        send_mail(org.dpo_email, subject, body)
    except (
        Exception
    ):  # the breach is recorded whatever the mail server does; the DPO also sees it on his page
        log.exception("breach mail to the DPO of organisation %s failed", org.id)


# --- reads --------------------------------------------------------------------------------------


@dataclass(frozen=True)  # hashable: the key of the list's statement (core.tenancy.reused_per_organisation)
class IncidentFilters:
    q: str = ""
    status: str = "open"  # "open" / "closed" / "all"
    severity: str = ""
    category: str = ""

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> IncidentFilters:
        status = str(args.get("status", "open"))
        return cls(
            q=str(args.get("q", "")).strip()[:100],
            status=status if status in ("open", "closed", "all") else "open",
            severity=str(args.get("severity", "")),
            category=str(args.get("category", "")),
        )


def is_open() -> ColumnElement[bool]:
    return Incident.is_open.is_(True)


@reused_per_organisation
def incidents_query(filters: IncidentFilters) -> Select[Any]:
    """The active organisation's incidents, latest detection first."""
    i = Incident
    return _filtered(scoped(select(i), i).options(lazyload(i.applications)), filters)  # the list shows none


# What the list shows of an incident: its rows carry these columns alone (no whole incident to load
# and track, no description or JSON column read for nothing).
LIST_COLUMNS = (
    Incident.id,
    Incident.reference,
    Incident.title,
    Incident.has_personal_data,
    Incident.detected_at,
    Incident.severity,
    Incident.category,
    Incident.status,
)


@reused_per_organisation
def incident_rows_query(filters: IncidentFilters) -> Select[Any]:
    """:func:`incidents_query` as rows of LIST_COLUMNS (the list page)."""
    return _filtered(scoped(select(*LIST_COLUMNS), Incident), filters)


def _filtered(stmt: Select[Any], filters: IncidentFilters) -> Select[Any]:
    i = Incident
    if filters.status == "open":
        stmt = stmt.where(is_open())
    elif filters.status == "closed":
        stmt = stmt.where(i.is_open.is_(False))
    if filters.severity in {s.value for s in Severity}:
        stmt = stmt.where(i.severity == Severity(filters.severity))
    if filters.category in {c.value for c in IncidentCategory}:
        stmt = stmt.where(i.category == IncidentCategory(filters.category))
    if filters.q:  # reference or title, case and accents ignored
        stmt = stmt.where(i.search_text.like(f"%{fold(filters.q)}%"))
    return stmt.order_by(i.detected_at.desc(), i.id.desc())


def affected_counts(incident_ids: Iterable[int]) -> dict[int, int]:
    ids = list(incident_ids)
    if not ids:
        return {}
    rows = execute_rows(_affected_counts_statement(), {"ids": ids})  # an association table: Core
    return {int(i): int(n) for i, n in rows}


@functools.cache
def _affected_counts_statement() -> Any:
    """Built once: the list page asks on every page, and building ``IN`` over 50 values (each made a
    bound parameter) cost more than running it."""
    return (
        select(incident_organisations.c.incident_id, func.count())
        .where(incident_organisations.c.incident_id.in_(bindparam("ids", expanding=True)))
        .group_by(incident_organisations.c.incident_id)
    )


def timeline(incident: Incident) -> list[IncidentEvent]:
    return list(
        db.session.scalars(
            scoped(select(IncidentEvent), IncidentEvent)
            .where(IncidentEvent.incident_id == incident.id)
            .order_by(IncidentEvent.at, IncidentEvent.id)
        )
    )


def affected_organisations(incident: Incident) -> list[tuple[int, str, bool]]:
    """(id, name, added by hand) of the affected organisations, by name."""
    rows = db.session.execute(
        select(Organisation.id, Organisation.name, incident_organisations.c.is_added)
        .join(incident_organisations, incident_organisations.c.organisation_id == Organisation.id)
        .where(incident_organisations.c.incident_id == incident.id)
        .order_by(Organisation.sort_name)
        .execution_options(**UNSCOPED)  # unscoped: the organisations the incident names
    )
    return [(r[0], r[1], bool(r[2])) for r in rows]


def incident_titles(ids: Iterable[int]) -> dict[int, str]:
    ids = {int(i) for i in ids}
    if not ids:
        return {}
    rows = db.session.execute(
        scoped(select(Incident.id, Incident.reference, Incident.title), Incident).where(Incident.id.in_(ids))
    )
    return {r.id: f"{r.reference} — {r.title}" for r in rows}


def derived_breaches(incident: Incident) -> list[register_breaches.IncidentBreach]:
    """The breaches the incident opened in the members' registers, with their 72-hour clocks."""
    return register_breaches.breaches_of_incident(incident.id)


@dataclass(frozen=True)
class IncidentWatch:
    """The home page's incidents card: open incidents, by severity, and the latest opened."""

    open: int
    by_severity: dict[str, int]  # severity value → open incidents
    with_personal_data: int
    latest: list[Incident]


def incident_watch(org_id: int, latest: int = 3) -> IncidentWatch:
    """Two queries: the open incidents' counts, the most recently detected open ones."""
    i = Incident
    rows = db.session.execute(
        select(i.severity, i.has_personal_data, func.count())
        .where(i.organisation_id == org_id, i.is_open.is_(True))
        .group_by(i.severity, i.has_personal_data)
        # unscoped: filtered on the organisation explicitly
        .execution_options(**UNSCOPED)
    ).all()
    by_severity: dict[str, int] = {}
    personal = 0
    for severity, has_personal, n in rows:
        by_severity[Severity(severity).value] = by_severity.get(Severity(severity).value, 0) + int(n)
        personal += int(n) if has_personal else 0
    recent = list(
        db.session.scalars(
            select(i)
            .where(i.organisation_id == org_id, i.is_open.is_(True))
            .order_by(i.detected_at.desc(), i.id.desc())
            .limit(latest)
            .execution_options(**UNSCOPED)  # unscoped: filtered on the organisation explicitly
        )
    )
    return IncidentWatch(sum(by_severity.values()), by_severity, personal, recent)


# --- external notifications and the NIS2 deadlines --------------------------------------------------

# NIS2 (directive 2022/2555, art. 23.4): early warning within 24 hours of becoming aware of a
# significant incident, notification within 72 hours, final report within one month of the notification.
NIS2_STEPS = (
    (NotificationKind.EARLY_WARNING, timedelta(hours=24)),
    (NotificationKind.NOTIFICATION, timedelta(hours=72)),
    (NotificationKind.FINAL_REPORT, timedelta(days=30)),
)


def add_notification(incident: Incident, actor: User | None, data: Mapping[str, Any]) -> IncidentNotification:
    """An external notification: to whom, what, when (between the detection and now), its reference."""
    errors: list[FieldError] = []
    recipient = enum_value(NotificationRecipient, data.get("recipient"), "recipient", errors)
    kind = enum_value(NotificationKind, data.get("kind") or NotificationKind.INFORMATION, "kind", errors)
    at = data.get("notified_at")
    if isinstance(at, datetime):
        at = to_utc(at)
    errors += _moment_errors(
        incident,
        "notified_at",
        at,
        _(
            "Une notification ne peut précéder la détection de l'incident (%(d)s).",
            d=_local(incident.detected_at),
        ),
        _("Une notification ne peut pas être dans le futur."),
    )
    reference, note = _text(data.get("reference"), 100), _text(data.get("note"))
    if reference and len(reference) > 100:
        errors.append(FieldError("reference", _("%(n)s caractères au plus.", n=100)))
    raise_field_errors(errors)
    row = IncidentNotification(
        organisation_id=incident.organisation_id,
        incident_id=incident.id,
        recipient=recipient,
        kind=kind,
        notified_at=at,
        reference=reference,
        note=note,
        author_id=getattr(actor, "id", None),
        created_at=utcnow(),
    )
    db.session.add(row)
    db.session.flush()
    audit.record(
        incident.organisation_id,
        actor,
        "incident.notification",
        incident,
        {
            "notification": (
                None,
                {
                    "recipient": recipient.value,
                    "kind": kind.value,
                    "at": audit.jsonable(at),
                    "reference": reference,
                },
            )
        },
    )
    return row


def notifications(incident: Incident) -> list[IncidentNotification]:
    return list(
        db.session.scalars(
            scoped(select(IncidentNotification), IncidentNotification)
            .where(IncidentNotification.incident_id == incident.id)
            .order_by(IncidentNotification.notified_at, IncidentNotification.id)
        )
    )


@dataclass(frozen=True)
class Nis2Step:
    kind: NotificationKind
    due: datetime
    done_at: datetime | None

    @property
    def state(self) -> str:
        """ "done" (on time), "late" (done after the deadline), "overdue" (not done, deadline
        passed) or "running"."""
        if self.done_at is not None:
            return "done" if self.done_at <= self.due else "late"
        return "overdue" if utcnow() > self.due else "running"


def is_nis2_entity(org: Organisation) -> bool:
    """NIS2's deadlines apply to an organisation that declares itself an essential or important
    entity (its page); for any other, an incident is never flagged significant under NIS2."""
    return org.nis2_entity is not Nis2Entity.NONE


def nis2_steps(incident: Incident, sent: list[IncidentNotification]) -> list[Nis2Step]:
    """The three NIS2 deadlines of a significant incident, each met by the first notification of its
    kind to the CERT-FR/ANSSI or the CSIRT; the final report counts from the notification when made."""
    if not incident.nis2_significant:
        return []
    to_authority = [
        n for n in sent if n.recipient in (NotificationRecipient.CERT_FR, NotificationRecipient.CSIRT)
    ]
    steps = []
    for kind, delay in NIS2_STEPS:
        done = next((n.notified_at for n in to_authority if n.kind is kind), None)
        start = incident.detected_at
        if kind is NotificationKind.FINAL_REPORT:
            notified = next(
                (s.done_at for s in steps if s.kind is NotificationKind.NOTIFICATION and s.done_at), None
            )
            start = notified or incident.detected_at + timedelta(hours=72)
        steps.append(Nis2Step(kind, start + delay, done))
    return steps
