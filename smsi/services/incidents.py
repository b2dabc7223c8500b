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
  its register that use the affected applications. Every save brings the breaches in line with the
  organisations affected, never duplicating one (one breach per organisation and incident, reused):
  the missing ones are opened; one the incident no longer affects (application removed,
  organisation taken out, personal data unticked) is **withdrawn** — closed as *sans objet*, with
  the incident named, never deleted — when nobody has worked on it yet (its journal holds only the
  fan-out's entries), or else **kept** with a dated note for its DPO to decide; one withdrawn is
  **reopened** when the incident affects its organisation again (registers' ``leave_incident`` and
  ``rejoin_incident``).
* **DPOs told** (:func:`_tell_dpos`): of each breach opened, reopened, withdrawn or flagged, by
  e-mail with a link to it. An organisation's DPOs are the address declared on its page
  (``dpo_email``) and the enabled accounts holding the DPO role there — the mutualised DPO of the
  syndicate serving a member holds that role in the member's organisation. Deduplicated
  (case-insensitive): each person gets **one** e-mail per save, listing every breach of hers.
* **Workflow** (:func:`transition_error`, the one rule): an incident moves forward along new →
  qualified → contained → resolved → closed and may skip steps (contained or resolved before anybody
  qualified it when things moved fast, a false alarm closed at once); it never goes back, except a
  **reopening**: a resolved or closed incident that flares up again goes back to qualified or
  contained, journalled as ``incident.reopen`` and written on its timeline. A new incident may be
  recorded at any status (one recorded after the fact). Closing asks for the root cause and the
  lessons learned. Each change of status writes its timeline entry.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app, has_request_context, url_for
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, bindparam, delete, func, insert, or_, select
from sqlalchemy.orm import lazyload

from accounts.models import Membership, Nis2Entity, Organisation, User, membership_is_current
from catalogue.models import Application, Subscription
from catalogue.services.applications import applications_of
from core import audit, references
from core.concurrency import check_version, flush_or_conflict, with_fresh_reference
from core.db import PARIS, to_utc, today, utcnow
from core.extensions import db
from core.forms import FieldError, enum_value, id_list, raise_field_errors, text_value
from core.mail import send_mail
from core.security import Role
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
# The workflow's order (module docstring; :func:`transition_error`).
WORKFLOW = (
    IncidentStatus.NEW,
    IncidentStatus.QUALIFIED,
    IncidentStatus.CONTAINED,
    IncidentStatus.RESOLVED,
    IncidentStatus.CLOSED,
)
REOPENED_FROM = frozenset({IncidentStatus.RESOLVED, IncidentStatus.CLOSED})
REOPENED_TO = frozenset({IncidentStatus.QUALIFIED, IncidentStatus.CONTAINED})
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


def is_reopening(previous: IncidentStatus, status: IncidentStatus) -> bool:
    return previous in REOPENED_FROM and status in REOPENED_TO


def transition_error(previous: IncidentStatus, status: IncidentStatus) -> str | None:
    """Why an incident at ``previous`` may not be moved to ``status`` (None: it may). The one rule of
    the workflow: forward along new → qualified → contained → resolved → closed, steps may be skipped
    (an incident contained or resolved before it was qualified, a false alarm closed at once); never
    backwards, except reopening a resolved or closed incident to qualified or contained."""
    if WORKFLOW.index(status) >= WORKFLOW.index(previous) or is_reopening(previous, status):
        return None
    if previous in REOPENED_FROM:
        return _(
            "Passage de « %(a)s » à « %(b)s » refusé : un incident résolu ou clos se rouvre en le "
            "repassant à « %(q)s » ou à « %(c)s ».",
            a=previous.label,
            b=status.label,
            q=IncidentStatus.QUALIFIED.label,
            c=IncidentStatus.CONTAINED.label,
        )
    return _(
        "Passage de « %(a)s » à « %(b)s » refusé : un incident avance dans l'ordre nouveau → qualifié → "
        "contenu → résolu → clos, sans revenir en arrière (seul un incident résolu ou clos peut être "
        "rouvert).",
        a=previous.label,
        b=status.label,
    )


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
    is_new = incident.id is None
    previous = incident.status
    if not is_new and isinstance(clean["status"], IncidentStatus):
        refused = transition_error(previous, clean["status"])
        if refused:
            errors.append(FieldError("status", refused))
    raise_field_errors(errors)
    before = _snapshot(incident)
    # The organisations that had a breach to hold before this save (flagged if taken out now).
    targeted_before = set(affected_ids(incident)) if not is_new and incident.has_personal_data else set()
    reopening = not is_new and is_reopening(previous, clean["status"])
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
            _("Incident rouvert : %(a)s → %(b)s.", a=previous.label, b=incident.status.label)
            if reopening
            else _("Statut : %(s)s.", s=incident.status.label),
            check=False,
        )
    after = _snapshot(incident)
    changes = audit.diff(before, after)
    if changes or is_new:
        audit.record(
            org.id,
            actor,
            "incident.reopen" if reopening else action,
            incident,
            {k: (audit.jsonable(a), audit.jsonable(b)) for k, (a, b) in changes.items()},
        )
    fan_out(incident, actor, targeted_before)
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


def fan_out(incident: Incident, actor: User | None, targeted_before: Iterable[int] = ()) -> list[int]:
    """Bring the incident's breaches in line with the organisations it affects (module docstring):
    open the missing ones, reopen those withdrawn that it affects again, withdraw (or flag, for the
    organisations of ``targeted_before`` taken out now) those it no longer affects, and tell their
    DPOs. Returns the organisations where a breach was opened now."""
    targeted = set(affected_ids(incident)) if incident.has_personal_data else set()
    existing = register_breaches.breaches_of_incident(incident.id)
    held = {b.organisation_id for b in existing}
    notices: list[DpoNotice] = []
    opened = _open_breaches(incident, actor, targeted - held, notices)
    again = {b.organisation_id for b in existing if b.is_closed and b.organisation_id in targeted}
    for breach in register_breaches.rejoin_incident(incident.id, again, actor) if again else ():
        notices.append(DpoNotice(breach.organisation_id, breach.id, breach.reference, "reopened"))
    left = {b.organisation_id for b in existing if not b.is_closed and b.organisation_id not in targeted}
    if left:
        withdrawn, flagged = register_breaches.leave_incident(
            incident.id,
            left,
            actor,
            incident_reference=incident.reference,
            flag=set(targeted_before) - targeted,
        )
        notices += [DpoNotice(b.organisation_id, b.id, b.reference, "withdrawn") for b in withdrawn]
        notices += [DpoNotice(b.organisation_id, b.id, b.reference, "flagged") for b in flagged]
    _tell_dpos(incident, notices)
    return opened


def _open_breaches(
    incident: Incident, actor: User | None, org_ids: set[int], notices: list[DpoNotice]
) -> list[int]:
    if not org_ids:
        return []
    natures = [nature for name, nature in NATURES if getattr(incident, name)]
    app_ids = [a.id for a in incident.applications]
    orgs = list(
        db.session.scalars(
            select(Organisation)
            .where(Organisation.id.in_(org_ids))
            .order_by(Organisation.sort_name)
            .execution_options(**UNSCOPED)  # unscoped: the incident's affected organisations
        )
    )
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
        notices.append(DpoNotice(org.id, breaches[org.id].id, breaches[org.id].reference, "opened"))
    return [org.id for org in orgs]


@dataclass(frozen=True)
class DpoNotice:
    """What a DPO is told of one breach of an incident: ``kind`` is "opened", "reopened",
    "withdrawn" (closed as sans objet, nothing to do) or "flagged" (kept: the DPO decides)."""

    organisation_id: int
    breach_id: int
    reference: str
    kind: str


def dpo_addresses(org_ids: Iterable[int]) -> dict[int, list[str]]:
    """Each organisation's DPO addresses (module docstring): the one declared on its page and those
    of the enabled accounts holding the DPO role there today, deduplicated. Two queries."""
    ids = sorted({int(i) for i in org_ids})
    if not ids:
        return {}
    out: dict[int, list[str]] = {i: [] for i in ids}
    declared = db.session.execute(
        select(Organisation.id, Organisation.dpo_email)
        .where(Organisation.id.in_(ids), Organisation.dpo_email.is_not(None))
        .execution_options(**UNSCOPED)  # unscoped: the organisations the incident named
    )
    holders = db.session.execute(
        select(Membership.organisation_id, User.email)
        .join(User, User.id == Membership.user_id)
        .where(
            Membership.organisation_id.in_(ids),
            Membership.role == Role.DPO,
            membership_is_current(),
            User.is_enabled.is_(True),
        )
        .order_by(Membership.organisation_id, User.email)
        .execution_options(**UNSCOPED)  # unscoped: memberships are not a tenant's rows
    )
    for org_id, email in [*declared, *holders]:
        email = (email or "").strip()
        if email and email.lower() not in {e.lower() for e in out[org_id]}:
            out[org_id].append(email)
    return out


def _breach_url(breach_id: int) -> str:
    """The breach's page: an absolute address in a request (or with SERVER_NAME), else its path."""
    if has_request_context() or current_app.config.get("SERVER_NAME"):
        return url_for("registers.breach_detail", breach_id=breach_id, _external=True)
    return current_app.url_map.bind("").build("registers.breach_detail", {"breach_id": breach_id})


def _tell_dpos(incident: Incident, notices: list[DpoNotice]) -> None:
    """One e-mail to each DPO concerned, listing every breach of hers that this save opened,
    reopened, withdrawn or flagged (module docstring). A failing mail server loses no breach: they
    are recorded whatever it does, and the DPO also finds them in her register and portfolio."""
    if not notices:
        return
    addresses = dpo_addresses(n.organisation_id for n in notices)
    names = dict(
        db.session.execute(
            select(Organisation.id, Organisation.name)
            .where(Organisation.id.in_({n.organisation_id for n in notices}))
            .execution_options(**UNSCOPED)  # unscoped: the organisations the incident named
        ).all()
    )
    mails: dict[str, tuple[str, list[DpoNotice]]] = {}  # lower-cased address → (address, notices)
    for notice in sorted(notices, key=lambda n: (names.get(n.organisation_id, ""), n.reference)):
        for address in addresses.get(notice.organisation_id, []):
            mails.setdefault(address.lower(), (address, []))[1].append(notice)
    for address, mine in mails.values():
        subject, body = _dpo_mail(incident, mine, names)
        try:
            send_mail(address, subject, body)
        except Exception:  # the breaches are recorded whatever the mail server does (docstring)
            log.exception("breach mail to a DPO failed (incident %s)", incident.id)


def _dpo_mail(incident: Incident, notices: list[DpoNotice], names: Mapping[int, str]) -> tuple[str, str]:
    due = _local(incident.detected_at + register_breaches.NOTIFICATION_DELAY)
    if len(notices) == 1:
        n = notices[0]
        subject = {
            "opened": _("Violation de données à évaluer : %(ref)s (%(org)s)"),
            "reopened": _("Violation de données rouverte : %(ref)s (%(org)s)"),
            "withdrawn": _("Violation de données retirée : %(ref)s (%(org)s)"),
            "flagged": _("Violation de données à réexaminer : %(ref)s (%(org)s)"),
        }[n.kind] % {"ref": n.reference, "org": names.get(n.organisation_id, "")}
    else:
        subject = _(
            "Incident %(ref)s : %(n)s violations de données dans vos registres",
            ref=incident.reference,
            n=len(notices),
        )
    lines = [
        _(
            "Incident %(ref)s — %(title)s, détecté le %(when)s.",
            ref=incident.reference,
            title=incident.title,
            when=_local(incident.detected_at),
        ),
        "",
    ]
    texts = {
        "opened": _(
            "%(org)s : l'incident touche des applications traitant des données personnelles. La violation "
            "%(ref)s a été ouverte dans son registre ; le délai de 72 heures pour notifier la CNIL court "
            "depuis la détection (échéance : %(due)s)."
        ),
        "reopened": _(
            "%(org)s : l'incident la touche de nouveau. La violation %(ref)s, retirée entre-temps, est "
            "rouverte ; le délai de 72 heures court toujours depuis la détection (échéance : %(due)s)."
        ),
        "withdrawn": _(
            "%(org)s : l'incident ne la touche plus. La violation %(ref)s, que personne n'avait encore "
            "traitée, est close comme sans objet : rien à faire."
        ),
        "flagged": _(
            "%(org)s : l'incident ne la touche plus. La violation %(ref)s, déjà traitée, est conservée : "
            "décidez de la clore ou de la maintenir."
        ),
    }
    for n in notices:
        values = {"org": names.get(n.organisation_id, ""), "ref": n.reference, "due": due}
        lines += [f"- {texts[n.kind] % values}", f"  {_breach_url(n.breach_id)}", ""]
    lines.append(_("Ouvrez chaque lien avec l'organisation concernée comme organisation active dans Égide."))
    return subject, "\n".join(lines)


# --- reads --------------------------------------------------------------------------------------


@dataclass(frozen=True)  # hashable: the key of the list's statement (core.tenancy.reused_per_organisation)
class IncidentFilters:
    q: str = ""
    status: str = "open"  # "open" / "closed" / "all"
    severity: str = ""
    category: str = ""
    personal: bool = False  # only those with personal data (their breaches run in the registers)

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> IncidentFilters:
        status = str(args.get("status", "open"))
        return cls(
            q=str(args.get("q", "")).strip()[:100],
            status=status if status in ("open", "closed", "all") else "open",
            severity=str(args.get("severity", "")),
            category=str(args.get("category", "")),
            personal=str(args.get("personal", "")) in ("1", "y", "on", "true"),
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
    if filters.personal:
        stmt = stmt.where(i.has_personal_data.is_(True))
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
class WatchedIncident:
    """An open incident on the home card, with the nearest deadline still running for it: the 72-hour
    clock of the oldest of its breaches awaiting the CNIL decision, or a NIS2 step not yet made."""

    id: int
    reference: str
    title: str
    severity: Severity
    has_personal_data: bool
    breaches: register_breaches.IncidentClocks | None  # its breaches' figures (None: none opened)
    deadline: str | None  # what the nearest deadline is ("Notification à la CNIL (72 h)"…)
    clock: register_breaches.BreachClock | None  # the nearest deadline's clock
    anchor: str | None  # where the incident's page shows it ("breaches", "nis2")


@dataclass(frozen=True)
class IncidentWatch:
    """The home page's incidents card: open incidents, by severity, and the latest opened."""

    open: int
    by_severity: dict[str, int]  # severity value → open incidents
    with_personal_data: int
    latest: list[WatchedIncident]


def incident_watch(org: Organisation, latest: int = 5, now: datetime | None = None) -> IncidentWatch:
    """Bounded queries whatever the number of incidents and breaches: the open incidents' counts, the
    most recently detected open ones, the clocks of their breaches (one grouped query), and the NIS2
    notifications of those significant under NIS2 (one query, only when there are some)."""
    now = now or utcnow()
    i = Incident
    rows = db.session.execute(
        select(i.severity, i.has_personal_data, func.count())
        .where(i.organisation_id == org.id, i.is_open.is_(True))
        .group_by(i.severity, i.has_personal_data)
        # unscoped: filtered on the organisation explicitly
        .execution_options(**UNSCOPED)
    ).all()
    by_severity: dict[str, int] = {}
    personal = 0
    for severity, has_personal, n in rows:
        by_severity[Severity(severity).value] = by_severity.get(Severity(severity).value, 0) + int(n)
        personal += int(n) if has_personal else 0
    recent = db.session.execute(
        select(i.id, i.reference, i.title, i.severity, i.has_personal_data, i.nis2_significant, i.detected_at)
        .where(i.organisation_id == org.id, i.is_open.is_(True))
        .order_by(i.detected_at.desc(), i.id.desc())
        .limit(latest)
        .execution_options(**UNSCOPED)  # unscoped: filtered on the organisation explicitly
    ).all()
    clocks = register_breaches.clocks_of_incidents([r.id for r in recent if r.has_personal_data], now)
    significant = [r for r in recent if r.nis2_significant] if is_nis2_entity(org) else []
    sent: dict[int, list[IncidentNotification]] = {}
    if significant:
        n = IncidentNotification
        for row in db.session.scalars(
            select(n)
            .where(n.incident_id.in_([r.id for r in significant]), n.organisation_id == org.id)
            .order_by(n.notified_at, n.id)
            .execution_options(**UNSCOPED)  # unscoped: filtered on the organisation explicitly
        ):
            sent.setdefault(row.incident_id, []).append(row)
    watched = []
    for r in recent:
        running: list[tuple[str, register_breaches.BreachClock, str]] = []
        figures = clocks.get(r.id)
        if figures is not None and figures.clock is not None:
            running.append((_("Notification à la CNIL (72 h)"), figures.clock, "breaches"))
        for step in nis2_steps(r, sent.get(r.id, [])):
            if step.done_at is None:
                late = step.due < now
                clock = register_breaches.BreachClock(
                    step.due, step.due - now, late, "late" if late else "running"
                )
                running.append((str(step.kind.label), clock, "nis2"))
        nearest = min(running, key=lambda item: item[1].deadline, default=(None, None, None))
        watched.append(
            WatchedIncident(
                r.id, r.reference, r.title, Severity(r.severity), r.has_personal_data, figures, *nearest
            )
        )
    return IncidentWatch(sum(by_severity.values()), by_severity, personal, watched)


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


def nis2_steps(incident: Any, sent: list[IncidentNotification]) -> list[Nis2Step]:
    """The three NIS2 deadlines of a significant incident (an Incident, or a row with its
    ``nis2_significant`` and ``detected_at``), each met by the first notification of its kind to the
    CERT-FR/ANSSI or the CSIRT; the final report counts from the notification when made."""
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
