"""Personal-data breach register (GDPR Art. 33/34): the 72-hour clock, the rules, writes, the list
query, and the entry point the SMSI uses to record a breach found while handling an incident.

* Art. 33.5: **every** breach is documented (facts, effects, remedial action), notified or not.
* Art. 33.1: the controller notifies the CNIL "without undue delay and, where feasible, not later
  than 72 hours after having become aware of it" (``discovered_at``), unless the breach is unlikely to
  result in a risk to people (``NOT_REQUIRED``, with the reason); a later notification states the
  reasons for the delay (``late_reason``).
* Art. 34: when the risk is high, the people concerned are informed, unless one of the Art. 34.3
  exemptions applies (``subjects_reason``).

Datetimes are aware UTC in the database and in this module's API; forms type them in French local
time (Europe/Paris) and :func:`to_utc` converts (a naive datetime given here is taken as local time).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, or_, select

from accounts.models import Organisation, User
from core import audit
from core.concurrency import check_version, with_fresh_reference
from core.data import load_json
from core.db import utcnow
from core.extensions import db
from core.forms import FieldError
from core.tenancy import scoped
from registers import reference as ref
from registers.models import Breach, NotificationDecision, RiskLevel, SubjectsDecision

PARIS = ZoneInfo("Europe/Paris")
NOTIFICATION_DELAY = timedelta(hours=72)
HOUR = timedelta(hours=1)
REFERENCE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,29}$")
LATE_REASON_REQUIRED = _l(
    "Délai de 72 h dépassé — notification tardive : motifs du retard obligatoires (art. 33.1)."
)

FIELDS: tuple[str, ...] = (
    "reference",
    "title",
    "discovered_at",
    "occurred_at",
    "natures",
    "description",
    "data_categories",
    "data_subjects",
    "people_count",
    "records_count",
    "consequences",
    "measures",
    "risk_level",
    "cnil_decision",
    "cnil_notified_at",
    "cnil_reference",
    "late_reason",
    "decision_reason",
    "subjects_decision",
    "subjects_informed_on",
    "subjects_reason",
    "is_closed",
    "closed_on",
)
AUDITED_FIELDS = (*FIELDS, "source_incident_id")
LIST_FIELDS = ("natures", "data_categories", "data_subjects")
TEXT_FIELDS = ("description", "consequences", "measures", "late_reason", "decision_reason", "subjects_reason")

# English labels until the reference file carries them (the ids never change).
_BREACH_TYPES_EN = {
    "confidentialite": "Confidentiality breach",
    "integrite": "Integrity breach",
    "disponibilite": "Availability breach",
}


@cache
def breach_types() -> tuple[ref.Item, ...]:
    """The three natures of a breach (``confidentialite``, ``integrite``, ``disponibilite``)."""
    rows = load_json("gdpr_reference.json")["breach"]["types"]
    return tuple(
        ref.Item(
            id=row["id"],
            label_fr=row["label_fr"],
            label_en=row.get("label_en") or _BREACH_TYPES_EN.get(row["id"], row["label_fr"]),
        )
        for row in rows
    )


# --- time and the 72-hour clock -----------------------------------------------------------------


def to_utc(value: datetime | None) -> datetime | None:
    """An aware datetime in UTC; a naive one is French local time (what people type)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=PARIS)
    return value.astimezone(UTC)


def local_date(value: datetime) -> date:
    return value.astimezone(PARIS).date()


def notification_deadline(discovered_at: datetime) -> datetime:
    """Latest on-time notification to the CNIL: 72 hours after discovery (Art. 33.1)."""
    return discovered_at + NOTIFICATION_DELAY


CLOCK_CSS = {
    "running": "warning",
    "late": "danger",
    "notified_on_time": "success",
    "notified_late": "danger",
    "not_required": "secondary",
}


@dataclass(frozen=True)
class BreachClock:
    """Where a breach stands against the 72-hour deadline.

    * ``state``: ``"running"`` (decision pending, deadline not passed), ``"late"`` (decision pending,
      deadline passed), ``"notified_on_time"`` / ``"notified_late"`` (CNIL notified before / after
      the deadline), ``"not_required"`` (no notification: no risk for people).
    * ``remaining``: time left until the deadline — measured at the notification once notified
      (negative: how late it was), at ``now`` otherwise (negative once the deadline has passed).
    * ``is_overdue``: the deadline passed without a notification in time (``late`` or
      ``notified_late``).
    """

    deadline: datetime
    remaining: timedelta
    is_overdue: bool
    state: str

    @property
    def is_running(self) -> bool:
        """The clock still matters: no decision on notification yet."""
        return self.state in ("running", "late")

    @property
    def hours_left(self) -> int:
        return max(0, math.floor(self.remaining / HOUR))

    @property
    def minutes_left(self) -> int:
        if self.remaining <= timedelta(0):
            return 0
        return math.floor((self.remaining % HOUR) / timedelta(minutes=1))

    @property
    def hours_late(self) -> int:
        """Whole hours past the deadline, rounded up (1 minute late is "1 h")."""
        return max(0, math.ceil(-self.remaining / HOUR))

    @property
    def css(self) -> str:
        return CLOCK_CSS[self.state]


def clock(breach: Breach, now: datetime | None = None) -> BreachClock:
    deadline = notification_deadline(breach.discovered_at)
    if breach.cnil_decision == NotificationDecision.NOTIFIED and breach.cnil_notified_at is not None:
        remaining = deadline - breach.cnil_notified_at
        late = remaining < timedelta(0)
        return BreachClock(deadline, remaining, late, "notified_late" if late else "notified_on_time")
    remaining = deadline - (now or utcnow())
    if breach.cnil_decision == NotificationDecision.NOT_REQUIRED:
        return BreachClock(deadline, remaining, False, "not_required")
    late = remaining < timedelta(0)
    return BreachClock(deadline, remaining, late, "late" if late else "running")


# --- rules --------------------------------------------------------------------------------------


def _text(value: Any, limit: int = 5000) -> str | None:
    if value is None:
        return None
    value = str(value).strip()[:limit]
    return value or None


def _enum(enum_cls: Any, value: Any, default: Any, field: str, errors: list[FieldError]) -> Any:
    if value in (None, ""):
        return default
    try:
        return enum_cls(value)
    except ValueError:
        errors.append(FieldError(field, _("Valeur inconnue.")))
        return default


def _ids(
    values: Iterable[Any] | None, allowed: frozenset[str], field: str, errors: list[FieldError]
) -> list[str]:
    out: list[str] = []
    for value in values or ():
        value = str(value)
        if value not in allowed:
            errors.append(FieldError(field, _("Valeur inconnue : %(v)s.", v=value)))
        elif value not in out:
            out.append(value)
    return out


def _count(value: Any, field: str, errors: list[FieldError]) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = -1
    if number < 0:
        errors.append(FieldError(field, _("Indiquez un nombre positif ou nul.")))
        return None
    return number


def normalise(data: Mapping[str, Any], errors: list[FieldError]) -> dict[str, Any]:
    """Form (or caller) data reduced to :data:`FIELDS`, typed; datetimes in UTC; fields that only make
    sense with a choice (notification date without a notification…) emptied."""
    out: dict[str, Any] = {name: data.get(name) for name in FIELDS}
    out["reference"] = (_text(out["reference"], 30) or "").upper() or None
    out["title"] = _text(out["title"], 200)
    out["cnil_reference"] = _text(out["cnil_reference"], 60)
    for name in TEXT_FIELDS:
        out[name] = _text(out[name])
    out["discovered_at"] = to_utc(out["discovered_at"])
    out["occurred_at"] = to_utc(out["occurred_at"])
    out["cnil_notified_at"] = to_utc(out["cnil_notified_at"])
    out["natures"] = _ids(out["natures"], ref.ids(breach_types()), "natures", errors)
    out["data_categories"] = _ids(
        out["data_categories"], ref.ids(ref.data_categories()), "data_categories", errors
    )
    out["data_subjects"] = _ids(out["data_subjects"], ref.ids(ref.data_subjects()), "data_subjects", errors)
    out["people_count"] = _count(out["people_count"], "people_count", errors)
    out["records_count"] = _count(out["records_count"], "records_count", errors)
    out["risk_level"] = _enum(RiskLevel, out["risk_level"], None, "risk_level", errors)
    out["cnil_decision"] = _enum(
        NotificationDecision, out["cnil_decision"], NotificationDecision.PENDING, "cnil_decision", errors
    )
    out["subjects_decision"] = _enum(
        SubjectsDecision, out["subjects_decision"], SubjectsDecision.PENDING, "subjects_decision", errors
    )
    out["is_closed"] = bool(out["is_closed"])
    if out["cnil_decision"] != NotificationDecision.NOTIFIED:
        out["cnil_notified_at"] = out["cnil_reference"] = out["late_reason"] = None
    if out["subjects_decision"] != SubjectsDecision.INFORMED:
        out["subjects_informed_on"] = None
    if not out["is_closed"]:
        out["closed_on"] = None
    return out


def validate(data: Mapping[str, Any], now: datetime | None = None) -> list[FieldError]:
    """Every rule a breach record must meet, as field errors (empty: valid)."""
    now = now or utcnow()
    errors: list[FieldError] = []
    discovered = data.get("discovered_at")
    if data.get("reference") and not REFERENCE_RE.match(data["reference"]):
        errors.append(
            FieldError("reference", _("Référence : lettres, chiffres, « . _ / - », 30 caractères au plus."))
        )
    if not data.get("title"):
        errors.append(FieldError("title", _("Donnez un intitulé à la violation.")))
    if discovered is None:
        errors.append(
            FieldError(
                "discovered_at",
                _("Indiquez la date et l'heure de découverte : le délai de 72 h court à partir de là."),
            )
        )
    elif discovered > now + timedelta(minutes=5):
        errors.append(FieldError("discovered_at", _("La découverte ne peut pas être dans le futur.")))
    if discovered and data.get("occurred_at") and data["occurred_at"] > discovered:
        errors.append(
            FieldError("occurred_at", _("La violation ne peut avoir commencé après sa découverte."))
        )
    if not data.get("natures"):
        errors.append(
            FieldError(
                "natures", _("Indiquez au moins une nature : confidentialité, intégrité ou disponibilité.")
            )
        )
    errors += _cnil_errors(data, discovered, now)
    errors += _subjects_errors(data, discovered)
    if data.get("is_closed"):
        if data.get("cnil_decision") in (None, NotificationDecision.PENDING):
            errors.append(
                FieldError(
                    "is_closed",
                    _("Clôture impossible : décidez d'abord de la notification à la CNIL (art. 33)."),
                )
            )
        closed = data.get("closed_on")
        if closed and discovered and closed < local_date(discovered):
            errors.append(FieldError("closed_on", _("La clôture ne peut précéder la découverte.")))
    return errors


def _cnil_errors(data: Mapping[str, Any], discovered: datetime | None, now: datetime) -> list[FieldError]:
    decision = data.get("cnil_decision")
    errors = []
    if decision == NotificationDecision.NOT_REQUIRED and not data.get("decision_reason"):
        errors.append(
            FieldError(
                "decision_reason",
                _(
                    "Sans notification, expliquez pourquoi la violation n'est pas susceptible d'engendrer "
                    "un risque pour les personnes (art. 33.1)."
                ),
            )
        )
    if decision != NotificationDecision.NOTIFIED:
        return errors
    notified = data.get("cnil_notified_at")
    if notified is None:
        errors.append(FieldError("cnil_notified_at", _("Indiquez la date et l'heure de la notification.")))
    elif discovered and notified < discovered:
        errors.append(FieldError("cnil_notified_at", _("La notification ne peut précéder la découverte.")))
    elif notified > now + timedelta(minutes=5):
        errors.append(FieldError("cnil_notified_at", _("La notification ne peut pas être dans le futur.")))
    elif discovered and notified > notification_deadline(discovered) and not data.get("late_reason"):
        errors.append(FieldError("late_reason", str(LATE_REASON_REQUIRED)))
    return errors


def _subjects_errors(data: Mapping[str, Any], discovered: datetime | None) -> list[FieldError]:
    decision = data.get("subjects_decision")
    errors = []
    if (
        data.get("risk_level") == RiskLevel.HIGH
        and decision == SubjectsDecision.NOT_REQUIRED
        and not data.get("subjects_reason")
    ):
        errors.append(
            FieldError(
                "subjects_reason",
                _(
                    "Risque élevé : les personnes doivent être informées (art. 34), sauf exemption de "
                    "l'art. 34.3 (données chiffrées, mesures rendant le risque improbable, efforts "
                    "disproportionnés) : indiquez laquelle."
                ),
            )
        )
    if decision == SubjectsDecision.INFORMED:
        informed = data.get("subjects_informed_on")
        if informed is None:
            errors.append(
                FieldError(
                    "subjects_informed_on", _("Indiquez la date à laquelle les personnes ont été informées.")
                )
            )
        elif discovered and informed < local_date(discovered):
            errors.append(
                FieldError(
                    "subjects_informed_on", _("Les personnes ne peuvent être informées avant la découverte.")
                )
            )
    return errors


def _raise(errors: list[FieldError]) -> None:
    if errors:
        from registers.services.activities import FieldErrors  # noqa: PLC0415 — same shape everywhere

        raise errors[0] if len(errors) == 1 else FieldErrors(errors)


# --- writes -------------------------------------------------------------------------------------


def next_reference(org_id: int, year: int) -> str:
    """The next free ``VIO-YYYY-NNN`` of an organisation for a year of discovery (gaps not reused)."""
    prefix = f"VIO-{year}-"
    refs = db.session.scalars(
        select(Breach.reference)
        .where(Breach.organisation_id == org_id, Breach.reference.like(f"{prefix}%"))
        .execution_options(skip_org_scope=True)
    )
    numbers = [int(m.group(1)) for r in refs if (m := re.fullmatch(rf"{prefix}(\d+)", r))]
    return f"{prefix}{max(numbers, default=0) + 1:03d}"


def _check_reference(org_id: int, reference: str, exclude_id: int | None) -> list[FieldError]:
    stmt = select(Breach.id).where(
        Breach.organisation_id == org_id, func.upper(Breach.reference) == reference
    )
    if exclude_id is not None:
        stmt = stmt.where(Breach.id != exclude_id)
    if db.session.scalar(stmt.execution_options(skip_org_scope=True).limit(1)) is None:
        return []
    return [
        FieldError("reference", _("Une autre violation de cette organisation porte déjà cette référence."))
    ]


def _prepare(org_id: int, breach: Breach | None, data: Mapping[str, Any]) -> dict[str, Any]:
    errors: list[FieldError] = []
    clean = normalise(data, errors)
    errors += validate(clean)
    if clean["reference"]:
        errors += _check_reference(org_id, clean["reference"], breach.id if breach else None)
    _raise(errors)
    if not clean["reference"]:
        if breach is not None:
            clean["reference"] = breach.reference
        else:
            clean["reference"] = next_reference(org_id, local_date(clean["discovered_at"]).year)
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
      :class:`core.forms.FieldError` (several at once: ``registers.services.activities.FieldErrors``,
      whose ``errors`` lists them) naming the field. Journalled as ``breach.create_from_incident``;
      the session is flushed, never committed (the caller commits).
    """
    existing = db.session.scalar(
        select(Breach)
        .where(Breach.organisation_id == org.id, Breach.source_incident_id == incident_id)
        .order_by(Breach.id)
        .limit(1)
        .execution_options(skip_org_scope=True)
    )
    if existing is not None:
        return existing
    data = {
        "title": title,
        "discovered_at": discovered_at,
        "natures": list(natures),
        "description": description,
        "data_categories": list(data_categories),
        "data_subjects": list(data_subjects),
    }
    clean = _prepare(org.id, None, data)
    breach = Breach(organisation_id=org.id, source_incident_id=incident_id)
    with audit.audited(org.id, actor, "breach.create_from_incident", breach, AUDITED_FIELDS):
        _apply(breach, clean)
    return breach


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
