"""The rules of a personal-data breach record (GDPR Art. 33/34): its fields, the natures of a
breach, the 72-hour clock, and the normalisation and validation of what a form or the SMSI sends.
Re-exported by :mod:`registers.services.breaches`, the entry point of the domain.

Datetimes are aware UTC in the database and in this module's API; forms type them in French local
time (Europe/Paris) and :func:`to_utc` converts (a naive datetime given here is taken as local time).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core.data import load_json
from core.db import PARIS, to_utc, utcnow
from core.forms import FieldError, enum_value
from registers import reference as ref
from registers.models import Breach, NotificationDecision, RiskLevel, SubjectsDecision

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


def local_date(value: datetime) -> date:
    return value.astimezone(PARIS).date()


def notification_deadline(discovered_at: datetime) -> datetime:
    """Latest on-time notification to the CNIL: 72 hours after discovery (Art. 33.1)."""
    return discovered_at + NOTIFICATION_DELAY


# How urgent a running clock looks — the one place of the rule (the page's countdown script reads
# these thresholds from the clock's data attributes, static/js/deadlines.js): at least 24 h left is
# neutral, under 24 h amber, under 12 h red, past the deadline red with the delay.
AMBER_BELOW = timedelta(hours=24)
RED_BELOW = timedelta(hours=12)


def urgency(remaining: timedelta) -> str:
    """``"neutral"``, ``"amber"``, ``"red"`` or ``"overdue"`` for the time left before a deadline."""
    if remaining < timedelta(0):
        return "overdue"
    if remaining < RED_BELOW:
        return "red"
    if remaining < AMBER_BELOW:
        return "amber"
    return "neutral"


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

    @property
    def urgency(self) -> str:
        """How urgent the clock looks (:func:`urgency`) while it runs; ``"done"`` once decided."""
        return urgency(self.remaining) if self.is_running else "done"

    @property
    def as_of(self) -> datetime:
        """When ``remaining`` was measured (a running clock: now, as the server saw it)."""
        return self.deadline - self.remaining

    @property
    def amber_below_seconds(self) -> int:
        return int(AMBER_BELOW.total_seconds())

    @property
    def red_below_seconds(self) -> int:
        return int(RED_BELOW.total_seconds())


def pending_clock(discovered_at: datetime, now: datetime | None = None) -> BreachClock:
    """The clock of a breach still awaiting the CNIL decision, from its discovery alone (the
    portfolio and the home page read the oldest pending discovery of an organisation)."""
    deadline = notification_deadline(discovered_at)
    remaining = deadline - (now or utcnow())
    late = remaining < timedelta(0)
    return BreachClock(deadline, remaining, late, "late" if late else "running")


def clock(breach: Breach, now: datetime | None = None) -> BreachClock:
    deadline = notification_deadline(breach.discovered_at)
    if breach.cnil_decision == NotificationDecision.NOTIFIED and breach.cnil_notified_at is not None:
        remaining = deadline - breach.cnil_notified_at
        late = remaining < timedelta(0)
        return BreachClock(deadline, remaining, late, "notified_late" if late else "notified_on_time")
    if breach.cnil_decision == NotificationDecision.NOT_REQUIRED:
        return BreachClock(deadline, deadline - (now or utcnow()), False, "not_required")
    return pending_clock(breach.discovered_at, now)


# --- rules --------------------------------------------------------------------------------------


def _text(value: Any, limit: int = 5000) -> str | None:
    if value is None:
        return None
    value = str(value).strip()[:limit]
    return value or None


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
    out["risk_level"] = enum_value(RiskLevel, out["risk_level"], "risk_level", errors, required=False)
    out["cnil_decision"] = enum_value(
        NotificationDecision,
        out["cnil_decision"],
        "cnil_decision",
        errors,
        default=NotificationDecision.PENDING,
    )
    out["subjects_decision"] = enum_value(
        SubjectsDecision,
        out["subjects_decision"],
        "subjects_decision",
        errors,
        default=SubjectsDecision.PENDING,
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
