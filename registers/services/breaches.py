"""Personal-data breach register (GDPR Art. 33/34): the 72-hour clock, the rules, writes, the list
query, and the entry point the SMSI uses to record a breach found while handling an incident.

* Art. 33.5: **every** breach is documented (facts, effects, remedial action), notified or not.
* Art. 33.1: the controller notifies the CNIL "without undue delay and, where feasible, not later
  than 72 hours after having become aware of it" (``discovered_at``), unless the breach is unlikely to
  result in a risk to people (``NOT_REQUIRED``, with the reason); a later notification states the
  reasons for the delay (``late_reason``).
* Art. 34: when the risk is high, the people concerned are informed, unless one of the Art. 34.3
  exemptions applies (``subjects_reason``).

The fields, the natures of a breach, the 72-hour clock and the rules (:func:`normalise`,
:func:`validate`) live in :mod:`registers.services.breach_rules`; this module re-exports them, so
callers use ``breaches.<name>`` for all of them.

Datetimes are aware UTC in the database and in this module's API; forms type them in French local
time (Europe/Paris) and :func:`~registers.services.breach_rules.to_utc` converts (a naive datetime
given here is taken as local time).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, func, or_, select

from accounts.models import Organisation, User
from core import audit, references
from core.concurrency import check_version, with_fresh_reference
from core.db import utcnow
from core.extensions import db
from core.forms import FieldError, raise_field_errors
from core.tenancy import UNSCOPED, scoped
from registers import reference as ref
from registers.models import (
    ActivityStatus,
    Breach,
    NotificationDecision,
    ProcessingActivity,
    RiskLevel,
    SubjectsDecision,
    activity_applications,
)
from registers.services.breach_rules import (
    AMBER_BELOW,
    AUDITED_FIELDS,
    CLOCK_CSS,
    FIELDS,
    HOUR,
    LATE_REASON_REQUIRED,
    LIST_FIELDS,
    NOTIFICATION_DELAY,
    PARIS,
    RED_BELOW,
    REFERENCE_RE,
    TEXT_FIELDS,
    BreachClock,
    breach_types,
    clock,
    local_date,
    normalise,
    notification_deadline,
    pending_clock,
    to_utc,
    urgency,
    validate,
)

__all__ = [
    "AMBER_BELOW",
    "AUDITED_FIELDS",
    "CLOCK_CSS",
    "FIELDS",
    "HOUR",
    "LATE_REASON_REQUIRED",
    "LIST_FIELDS",
    "NOTIFICATION_DELAY",
    "PARIS",
    "RED_BELOW",
    "REFERENCE_RE",
    "TEXT_FIELDS",
    "BreachClock",
    "BreachFilters",
    "BreachRow",
    "CheckItem",
    "IncidentClocks",
    "breach_rows",
    "breach_types",
    "breaches_query",
    "checklist",
    "clock",
    "clocks_of_incidents",
    "create_breach",
    "create_breach_from_incident",
    "done",
    "labels_of",
    "leave_incident",
    "local_date",
    "next_reference",
    "normalise",
    "notification_deadline",
    "pending_clock",
    "rejoin_incident",
    "to_utc",
    "update_breach",
    "urgency",
    "validate",
    "worked_on",
]


# --- writes -------------------------------------------------------------------------------------


def next_reference(org_id: int, year: int) -> str:
    """The next free ``VIO-YYYY-NNN`` of an organisation for a year of discovery (gaps not reused)."""
    return references.next_reference(Breach, org_id, f"VIO-{year}-")


def _check_reference(org_id: int, reference: str, exclude_id: int | None) -> list[FieldError]:
    if not references.is_reference_taken(Breach, org_id, reference, exclude_id):
        return []
    return [
        FieldError("reference", _("Une autre violation de cette organisation porte déjà cette référence."))
    ]


def _prepare(
    org_id: int, breach: Breach | None, data: Mapping[str, Any], next_free: str | None = None
) -> dict[str, Any]:
    """The clean values of a breach; ``next_free``: the reference a new one gets when none is typed
    (looked up when not given)."""
    errors: list[FieldError] = []
    clean = normalise(data, errors)
    errors += validate(clean)
    if clean["reference"]:
        errors += _check_reference(org_id, clean["reference"], breach.id if breach else None)
    raise_field_errors(errors)
    if not clean["reference"]:
        if breach is not None:
            clean["reference"] = breach.reference
        else:
            clean["reference"] = next_free or next_reference(org_id, local_date(clean["discovered_at"]).year)
    notified = clean["cnil_notified_at"]
    if notified is not None and notified <= notification_deadline(clean["discovered_at"]):
        clean["late_reason"] = None  # on time: no delay to explain
    if clean["is_closed"] and clean["closed_on"] is None:
        clean["closed_on"] = utcnow().astimezone(PARIS).date()
    return clean


def _apply(breach: Breach, data: Mapping[str, Any]) -> None:
    for name in FIELDS:
        setattr(breach, name, data[name])


def create_breach(org: Organisation, actor: User | None, data: Mapping[str, Any]) -> Breach:
    def create() -> Breach:
        clean = _prepare(org.id, None, data)
        breach = Breach(organisation_id=org.id)
        with audit.audited(org.id, actor, "breach.create", breach, AUDITED_FIELDS):
            _apply(breach, clean)
        return breach

    return with_fresh_reference(create)


def update_breach(breach: Breach, actor: User | None, data: Mapping[str, Any]) -> Breach:
    """``data`` carries the ``version`` the form was loaded with (EditConflict when stale)."""
    check_version(breach, data.get("version"))
    clean = _prepare(breach.organisation_id, breach, data)
    with audit.audited(breach.organisation_id, actor, "breach.update", breach, AUDITED_FIELDS):
        _apply(breach, clean)
    return breach


def create_breach_from_incident(
    org: Organisation,
    actor: User | None,
    *,
    incident_id: int,
    title: str,
    discovered_at: datetime,
    natures: list[str],
    description: str | None = None,
    data_categories: Iterable[str] = (),
    data_subjects: Iterable[str] = (),
) -> Breach:
    """Record in ``org``'s breach register a personal-data breach found while handling SMSI incident
    ``incident_id`` — the public interface the SMSI calls.

    * **Idempotent per (organisation, incident):** when a breach already points to this incident
      (``Breach.source_incident_id``), it is returned unchanged and nothing is written; the SMSI may
      call again safely (a retried request, the incident saved twice).
    * ``discovered_at``: when the organisation became aware that personal data was affected — the
      start of the 72-hour clock (Art. 33.1). Aware datetime (any zone; a naive one is French
      local time). ``natures``: ids among :func:`breach_types` (``"confidentialite"``,
      ``"integrite"``, ``"disponibilite"``), at least one. ``data_categories`` / ``data_subjects``:
      ids of :func:`registers.reference.data_categories` / :func:`registers.reference.data_subjects`.
    * The breach starts open, with the CNIL and data-subject decisions pending: the DPO completes it
      in the register. Its reference is generated (``VIO-YYYY-NNN``, year of discovery).
    * Same rules as a breach typed in the register: invalid input raises
      :class:`core.forms.FieldError` (several at once: ``core.forms.FieldErrors``,
      whose ``errors`` lists them) naming the field. Journalled as ``breach.create_from_incident``;
      the session is flushed, never committed (the caller commits).
    """
    content = IncidentContent((), tuple(data_categories), tuple(data_subjects))
    return create_breaches_from_incident(
        [org],
        actor,
        incident_id=incident_id,
        title=title,
        discovered_at=discovered_at,
        natures=natures,
        descriptions={org.id: description},
        contents={org.id: content},
    )[org.id]


NUMBERED_BELOW = "-"  # a breach's reference to come, numbered with the others of the batch


def create_breaches_from_incident(
    orgs: Sequence[Organisation],
    actor: User | None,
    *,
    incident_id: int,
    title: str,
    discovered_at: datetime,
    natures: list[str],
    descriptions: Mapping[int, str | None],
    contents: Mapping[int, IncidentContent],
) -> dict[int, Breach]:
    """:func:`create_breach_from_incident` in the registers of ``orgs`` at once (organisation id →
    its breach, the one already there or the new one): the same breaches and journal entries, with
    ``descriptions`` and ``contents`` (data categories and subjects) by organisation id. Written
    with a few statements whatever the number of organisations: one query for the breaches already
    opened, one for the numbering, one INSERT of the breaches, the journal entries chained by
    :func:`core.audit.record_each` — an incident's fan-out to 500 members stays within seconds. The
    input is checked for every organisation before anything is written."""
    existing: dict[int, Breach] = {}
    for breach in db.session.scalars(
        select(Breach)
        .where(Breach.organisation_id.in_([o.id for o in orgs]), Breach.source_incident_id == incident_id)
        .order_by(Breach.id)
        .execution_options(**UNSCOPED)  # unscoped: the syndicate's incident opens each member's breach
    ):
        existing.setdefault(breach.organisation_id, breach)
    todo = [org for org in orgs if org.id not in existing]
    if not todo:
        return existing
    prepared = []
    for org in todo:
        content = contents.get(org.id, IncidentContent((), (), ()))
        data = {
            "title": title,
            "discovered_at": discovered_at,
            "natures": list(natures),
            "description": descriptions.get(org.id),
            "data_categories": list(content.data_categories),
            "data_subjects": list(content.data_subjects),
        }
        prepared.append((org, _prepare(org.id, None, data, next_free=NUMBERED_BELOW)))
    year = local_date(prepared[0][1]["discovered_at"]).year  # one discovery for all
    free = references.next_references(Breach, [org.id for org in todo], f"VIO-{year}-")
    created = {}
    for org, clean in prepared:
        breach = Breach(organisation_id=org.id, source_incident_id=incident_id)
        _apply(breach, {**clean, "reference": free[org.id]})
        db.session.add(breach)
        created[org.id] = breach
    db.session.flush()
    action = "breach.create_from_incident"
    audit.record_each(
        [
            (org_id, action, breach, audit.diff({}, audit.snapshot(breach, AUDITED_FIELDS)))
            for org_id, breach in created.items()
        ],
        actor,
    )
    return existing | created


@dataclass(frozen=True)
class IncidentContent:
    """What a member's register says about the applications an incident hit: the fiches using
    them (references and names), their data categories and data subjects (ids)."""

    fiches: tuple[str, ...]
    data_categories: tuple[str, ...]
    data_subjects: tuple[str, ...]


def incident_contents(org_ids: Iterable[int], application_ids: Iterable[int]) -> dict[int, IncidentContent]:
    """The registers of ``org_ids`` on ``application_ids`` (their fiches in force: models and archived
    ones left out), to pre-fill the breaches an incident opens there — a public interface the SMSI
    calls. One query whatever the number of organisations; an organisation without such a fiche gets
    an empty content."""
    orgs, ids = [int(i) for i in org_ids], [int(i) for i in application_ids]
    empty = IncidentContent((), (), ())
    if not orgs or not ids:
        return dict.fromkeys(orgs, empty)
    pa = ProcessingActivity
    fiches = db.session.execute(
        select(pa.organisation_id, pa.reference, pa.name, pa.data_categories, pa.data_subjects)
        .where(
            pa.organisation_id.in_(orgs),
            pa.is_model.is_(False),
            pa.status != ActivityStatus.ARCHIVED,
            pa.id.in_(
                select(activity_applications.c.activity_id).where(
                    activity_applications.c.application_id.in_(ids)
                )
            ),
        )
        .order_by(pa.organisation_id, pa.reference)
        # unscoped: the syndicate's incident reads each affected member's register
        .execution_options(**UNSCOPED)
    ).all()
    by_org: dict[int, list[Any]] = {}
    for row in fiches:
        by_org.setdefault(row.organisation_id, []).append(row)
    out = {}
    for org_id in orgs:
        rows = by_org.get(org_id, [])
        out[org_id] = IncidentContent(
            tuple(f"{r.reference} {r.name}" for r in rows),
            tuple(sorted({c["category"] for r in rows for c in r.data_categories or ()})),
            tuple(sorted({s for r in rows for s in r.data_subjects or ()})),
        )
    return out


@dataclass(frozen=True)
class IncidentBreach:
    """A breach opened from an incident, as the incident's page lists it."""

    id: int
    organisation_id: int
    organisation: str
    reference: str
    decision: str  # the CNIL decision's label
    is_closed: bool
    clock: BreachClock


def breaches_of_incident(incident_id: int, now: datetime | None = None) -> list[IncidentBreach]:
    """Every breach opened from ``incident_id``, in whichever register, by organisation name — a
    public interface the SMSI calls (one query)."""
    return breaches_of_incidents([incident_id], now)


def breaches_of_incidents(incident_ids: Iterable[int], now: datetime | None = None) -> list[IncidentBreach]:
    """:func:`breaches_of_incident` for several incidents at once (one query: the weekly review)."""
    ids = [int(i) for i in incident_ids]
    if not ids:
        return []
    rows = db.session.execute(
        select(Breach, Organisation.name)
        .join(Organisation, Organisation.id == Breach.organisation_id)
        .where(Breach.source_incident_id.in_(ids))
        .order_by(Organisation.sort_name, Breach.id)
        # unscoped: the incident's page shows the breaches it opened in the members' registers
        .execution_options(**UNSCOPED)
    ).all()
    return [
        IncidentBreach(
            b.id, b.organisation_id, name, b.reference, str(b.cnil_decision.label), b.is_closed, clock(b, now)
        )
        for b, name in rows
    ]


def breach_counts_of_incidents(incident_ids: Iterable[int]) -> dict[int, int]:
    """How many breaches each of ``incident_ids`` opened, in whichever register (one grouped query:
    the SMSI's incident log document); incidents that opened none are left out."""
    ids = [int(i) for i in incident_ids]
    if not ids:
        return {}
    rows = db.session.execute(
        select(Breach.source_incident_id, func.count())
        .where(Breach.source_incident_id.in_(ids))
        .group_by(Breach.source_incident_id)
        # unscoped: the breaches an incident opened in the members' registers, counted by incident
        .execution_options(**UNSCOPED)
    ).all()
    return {int(incident_id): int(n) for incident_id, n in rows}


# --- an incident that no longer affects an organisation (or affects it again) -------------------

# The journal entries the SMSI's fan-out writes on a breach. A breach whose journal holds no other
# entry is one nobody has worked on: not edited, decided, notified or closed by its DPO or referent
# (every write of a breach is journalled, with its own action code) — the one rule of
# :func:`worked_on`.
FROM_INCIDENT_ACTIONS = (
    "breach.create_from_incident",
    "breach.withdraw_from_incident",
    "breach.reopen_from_incident",
    "breach.flag_from_incident",
)
NOTE_LIMIT = 5000  # what a breach's text fields hold (breach_rules.normalise)


def worked_on(breach_ids: Iterable[int]) -> set[int]:
    """Those of ``breach_ids`` somebody has worked on: their journal holds an entry other than the
    fan-out's own (:data:`FROM_INCIDENT_ACTIONS`). One query (the journal's object index)."""
    ids = [int(i) for i in breach_ids]
    if not ids:
        return set()
    return set(
        db.session.scalars(
            select(audit.AuditEvent.object_id)
            .where(
                audit.AuditEvent.object_type == Breach.__name__,
                audit.AuditEvent.object_id.in_(ids),
                audit.AuditEvent.action.not_in(FROM_INCIDENT_ACTIONS),
            )
            .distinct()
        )
    )


def _incident_breaches(incident_id: int, org_ids: Iterable[int]) -> list[Breach]:
    ids = [int(i) for i in org_ids]
    if not ids:
        return []
    return list(
        db.session.scalars(
            select(Breach)
            .where(Breach.source_incident_id == incident_id, Breach.organisation_id.in_(ids))
            .order_by(Breach.organisation_id)
            # unscoped: the syndicate's incident adjusts the breaches it opened in its members' registers
            .execution_options(**UNSCOPED)
        )
    )


def _write_each(action: str, actor: User | None, changed: list[tuple[Breach, dict[str, Any]]]) -> None:
    """Flush the breaches changed, then one journal entry each (their own chains, a few statements)."""
    if not changed:
        return
    db.session.flush()
    audit.record_each(
        [
            (b.organisation_id, action, b, audit.diff(before, audit.snapshot(b, AUDITED_FIELDS)))
            for b, before in changed
        ],
        actor,
    )


def leave_incident(
    incident_id: int,
    org_ids: Iterable[int],
    actor: User | None,
    *,
    incident_reference: str,
    flag: Iterable[int] = (),
) -> tuple[list[Breach], list[Breach]]:
    """SMSI incident ``incident_id`` no longer affects ``org_ids`` (taken out of the incident, its
    application removed, or no personal data after all) — a public interface the SMSI calls. Its
    open breach in each of those registers:

    * **withdrawn** when nobody has worked on it (:func:`worked_on`): closed today as *sans objet* —
      CNIL notification and information of the people "not required", with the reason naming the
      incident — never deleted (Art. 33.5: the register keeps what was recorded). Journalled as
      ``breach.withdraw_from_incident``;
    * **kept** otherwise, the DPO's work being his: for the organisations of ``flag`` (those taken out
      just now), a dated note naming the incident is added to its description for the DPO to decide
      (``breach.flag_from_incident``). Not flagged twice for the same removal.

    Returns (withdrawn, flagged). Flushed, never committed."""
    breaches = [b for b in _incident_breaches(incident_id, org_ids) if not b.is_closed]
    touched = worked_on(b.id for b in breaches)
    flag = {int(i) for i in flag}
    day = local_date(utcnow())
    reason = _(
        "Sans objet : l'incident %(ref)s ne touche plus cette organisation (constaté le %(d)s). "
        "Violation retirée par Égide avant tout traitement.",
        ref=incident_reference,
        d=day.strftime("%d/%m/%Y"),
    )
    note = _(
        "[Égide, %(d)s] L'incident %(ref)s ne touche plus cette organisation. Cette violation, déjà "
        "traitée, est conservée : au DPO de décider de sa suite (la clore ou la maintenir).",
        ref=incident_reference,
        d=day.strftime("%d/%m/%Y"),
    )
    withdrawn: list[tuple[Breach, dict[str, Any]]] = []
    flagged: list[tuple[Breach, dict[str, Any]]] = []
    for breach in breaches:
        before = audit.snapshot(breach, AUDITED_FIELDS)
        if breach.id not in touched:
            breach.cnil_decision = NotificationDecision.NOT_REQUIRED
            breach.decision_reason = reason
            breach.subjects_decision = SubjectsDecision.NOT_REQUIRED
            breach.subjects_reason = reason
            breach.is_closed = True
            breach.closed_on = day
            withdrawn.append((breach, before))
        elif breach.organisation_id in flag:
            text = breach.description or ""
            if len(text) + len(note) + 2 <= NOTE_LIMIT:  # else the e-mail and the journal tell it
                breach.description = f"{text}\n\n{note}" if text else note
            flagged.append((breach, before))
    _write_each("breach.withdraw_from_incident", actor, withdrawn)
    _write_each("breach.flag_from_incident", actor, flagged)
    return [b for b, _before in withdrawn], [b for b, _before in flagged]


def rejoin_incident(incident_id: int, org_ids: Iterable[int], actor: User | None) -> list[Breach]:
    """SMSI incident ``incident_id`` affects ``org_ids`` again — a public interface the SMSI calls:
    its breach there that :func:`leave_incident` withdrew (closed, and nobody has worked on it since)
    is reopened as it was opened, decisions pending, its 72-hour clock still counted from the
    detection (``breach.reopen_from_incident``) — the same breach, never a second one. A breach its
    DPO closed stays closed. Returns the breaches reopened. Flushed, never committed."""
    closed = [b for b in _incident_breaches(incident_id, org_ids) if b.is_closed]
    touched = worked_on(b.id for b in closed)
    reopened: list[tuple[Breach, dict[str, Any]]] = []
    for breach in closed:
        if breach.id in touched:
            continue
        before = audit.snapshot(breach, AUDITED_FIELDS)
        breach.cnil_decision = NotificationDecision.PENDING
        breach.subjects_decision = SubjectsDecision.PENDING
        breach.decision_reason = breach.subjects_reason = None
        breach.is_closed = False
        breach.closed_on = None
        reopened.append((breach, before))
    _write_each("breach.reopen_from_incident", actor, reopened)
    return [b for b, _before in reopened]


@dataclass(frozen=True)
class IncidentClocks:
    """The breaches an incident opened, as the SMSI's home card shows them: how many, how many still
    await the CNIL decision, how many were notified, and the 72-hour clock of the oldest awaiting."""

    breaches: int
    pending: int
    notified: int
    clock: BreachClock | None  # the oldest pending breach's (None: no decision pending)


def clocks_of_incidents(
    incident_ids: Iterable[int], now: datetime | None = None
) -> dict[int, IncidentClocks]:
    """:class:`IncidentClocks` of each of ``incident_ids`` that opened a breach — a public interface
    the SMSI calls. One grouped query, whatever the number of incidents and breaches."""
    ids = [int(i) for i in incident_ids]
    if not ids:
        return {}
    b = Breach
    pending = b.cnil_decision == NotificationDecision.PENDING
    rows = db.session.execute(
        select(
            b.source_incident_id,
            func.count(),
            func.count().filter(pending),
            func.count().filter(b.cnil_decision == NotificationDecision.NOTIFIED),
            func.min(b.discovered_at).filter(pending),
        )
        .where(b.source_incident_id.in_(ids))
        .group_by(b.source_incident_id)
        # unscoped: the breaches the organisation's incidents opened in its members' registers
        .execution_options(**UNSCOPED)
    ).all()
    now = now or utcnow()
    out = {}
    for incident_id, total, waiting, notified, oldest in rows:
        oldest = _aware(oldest)
        out[int(incident_id)] = IncidentClocks(
            int(total), int(waiting), int(notified), pending_clock(oldest, now) if oldest else None
        )
    return out


def _aware(value: Any) -> datetime | None:
    """MIN() over a UTCDateTime column comes back raw (naive on SQLite, maybe a string)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# --- reads --------------------------------------------------------------------------------------


@dataclass
class BreachFilters:
    q: str = ""  # title or reference
    status: str = "open"  # "open" / "closed" / "all"
    decision: str = ""  # a NotificationDecision value

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> BreachFilters:
        status = args.get("status", "open")
        return cls(
            q=str(args.get("q", "")).strip()[:100],
            status=status if status in ("open", "closed", "all") else "open",
            decision=str(args.get("decision", "")),
        )


def breaches_query(filters: BreachFilters) -> Select[Any]:
    """The active organisation's breaches: open ones first, most recently discovered first."""
    stmt = scoped(select(Breach), Breach)
    if filters.status == "open":
        stmt = stmt.where(Breach.is_closed.is_(False))
    elif filters.status == "closed":
        stmt = stmt.where(Breach.is_closed.is_(True))
    if filters.decision in NotificationDecision.__members__.values():
        stmt = stmt.where(Breach.cnil_decision == NotificationDecision(filters.decision))
    if filters.q:
        like = f"%{filters.q.lower()}%"
        stmt = stmt.where(or_(func.lower(Breach.title).like(like), func.lower(Breach.reference).like(like)))
    return stmt.order_by(Breach.is_closed, Breach.discovered_at.desc(), Breach.id.desc())


@dataclass(frozen=True)
class BreachRow:
    breach: Breach
    clock: BreachClock

    @property
    def natures(self) -> list[str]:
        return [ref.label_of(breach_types(), i) for i in self.breach.natures or ()]


def labels_of(breach: Breach) -> dict[str, list[str]]:
    """Labels of the breach's natures, data categories and data subjects, for display."""
    return {
        "natures": [ref.label_of(breach_types(), i) for i in breach.natures or ()],
        "data_categories": [ref.label_of(ref.data_categories(), i) for i in breach.data_categories or ()],
        "data_subjects": [ref.label_of(ref.data_subjects(), i) for i in breach.data_subjects or ()],
    }


def breach_rows(breaches: Iterable[Breach], now: datetime | None = None) -> list[BreachRow]:
    now = now or utcnow()
    return [BreachRow(b, clock(b, now)) for b in breaches]


# --- the Art. 33/34 checklist of the detail page ------------------------------------------------


@dataclass(frozen=True)
class CheckItem:
    label: str
    state: str  # "done" / "todo" / "warning"
    note: str = ""

    @property
    def css(self) -> str:
        return {"done": "success", "todo": "secondary", "warning": "danger"}[self.state]

    @property
    def state_label(self) -> str:
        return {"done": _("fait"), "todo": _("à faire"), "warning": _("attention")}[self.state]


def checklist(breach: Breach, now: datetime | None = None) -> list[CheckItem]:
    """What Art. 33 and 34 expect of this record, item by item."""
    c = clock(breach, now)
    items = [
        CheckItem(_("Nature de la violation (art. 33.3 a)"), done(breach.natures)),
        CheckItem(
            _("Catégories et nombre approximatif de personnes concernées (art. 33.3 a)"),
            done(breach.data_subjects and breach.people_count is not None),
        ),
        CheckItem(
            _("Catégories et nombre approximatif d'enregistrements concernés (art. 33.3 a)"),
            done(breach.data_categories and breach.records_count is not None),
        ),
        CheckItem(_("Conséquences probables (art. 33.3 c)"), done(breach.consequences)),
        CheckItem(_("Mesures prises ou envisagées (art. 33.3 d)"), done(breach.measures)),
        CheckItem(_("Évaluation du risque pour les personnes"), done(breach.risk_level is not None)),
        _cnil_item(breach, c),
        _subjects_item(breach),
    ]
    return items


def done(ok: Any) -> str:
    return "done" if ok else "todo"


def _cnil_item(breach: Breach, c: BreachClock) -> CheckItem:
    label = _("Décision de notification à la CNIL (art. 33.1)")
    if c.state == "late":
        return CheckItem(label, "warning", _("Délai de 72 h dépassé de %(n)s h.", n=c.hours_late))
    if c.state == "running":
        return CheckItem(label, "todo", _("%(h)s h %(m)s min restantes.", h=c.hours_left, m=c.minutes_left))
    if c.state == "notified_late":
        return CheckItem(label, "done", _("Notifiée après 72 h, motifs du retard indiqués."))
    if c.state == "notified_on_time":
        return CheckItem(label, "done", _("Notifiée dans les 72 h."))
    if breach.risk_level in (RiskLevel.RISK, RiskLevel.HIGH):
        return CheckItem(
            label, "warning", _("Non notifiée alors qu'un risque est retenu : vérifiez la décision.")
        )
    return CheckItem(label, "done", _("Non requise : absence de risque motivée."))


def _subjects_item(breach: Breach) -> CheckItem:
    label = _("Communication aux personnes concernées (art. 34)")
    decision = breach.subjects_decision
    if decision == SubjectsDecision.INFORMED:
        return CheckItem(label, "done", _("Personnes informées."))
    if decision == SubjectsDecision.NOT_REQUIRED:
        return CheckItem(label, "done", _("Non requise."))
    if breach.risk_level == RiskLevel.HIGH:
        return CheckItem(
            label, "warning", _("Risque élevé : informez les personnes dans les meilleurs délais.")
        )
    return CheckItem(label, "todo", _("Requise seulement en cas de risque élevé."))


def breach_titles(ids: Iterable[int]) -> dict[int, str]:
    """ "Reference — title" of the active organisation's breaches by id (the journal's entries)."""
    ids = {int(i) for i in ids}
    if not ids:
        return {}
    rows = db.session.execute(
        scoped(select(Breach.id, Breach.reference, Breach.title), Breach).where(Breach.id.in_(ids))
    )
    return {row.id: f"{row.reference} — {row.title}" for row in rows}
