"""Data subjects' rights requests (GDPR Art. 12, 15-22): deadlines, rules, writes and the list query.

Deadline (Art. 12.3): the controller answers "within one month of receipt of the request"; that
period "may be extended by two further months where necessary", provided the requester is told of
the extension, with its reasons, *within the first month*. Months are calendar months: a request
received on 31 January is due on 28 February (29 in a leap year), see :func:`add_months`.

``due_on`` and ``is_open`` are stored (indexed: the list and the DPO portfolio sort and filter on
them) and recomputed on every save by :func:`_apply`; nothing else writes them.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, and_, func, or_, select

from accounts.models import Organisation, User
from accounts.services.users import people_holding
from core import audit, references
from core.concurrency import check_version, with_fresh_reference
from core.db import local_today
from core.extensions import db
from core.forms import FieldError, enum_value, raise_field_errors
from core.security import Permission, roles_granting
from core.tenancy import UNSCOPED, scoped
from registers.models import ProcessingActivity, RequestStatus, RightsRequest, RightType

WEEK = 7  # "due this week": the deadline falls within the next 7 days (today included)
ACTIVITY_CHOICES_MAX = 300

FIELDS: tuple[str, ...] = (
    "reference",
    "right",
    "requester_name",
    "requester_contact",
    "received_on",
    "identity_checked",
    "identity_checked_on",
    "activity_id",
    "assigned_to_id",
    "details",
    "is_extended",
    "extension_notified_on",
    "extension_reason",
    "status",
    "answered_on",
    "answer_summary",
)
AUDITED_FIELDS = (*FIELDS, "due_on", "is_open")
REFERENCE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,29}$")
CLOSING_STATUSES = frozenset({RequestStatus.ANSWERED, RequestStatus.REFUSED})


# --- deadlines ----------------------------------------------------------------------------------


def add_months(d: date, months: int) -> date:
    """``d`` plus ``months`` calendar months, clamped to the last day of the target month.

    31 Jan + 1 → 28 Feb (29 Feb in a leap year); 29 Feb 2028 + 1 → 29 Mar; 31 Mar + 1 → 30 Apr;
    31 Dec + 1 → 31 Jan of the next year. Negative ``months`` go back the same way.
    """
    index = d.month - 1 + months
    year, month = d.year + index // 12, index % 12 + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def due_date(received_on: date, *, extended: bool) -> date:
    """Answer deadline (Art. 12.3): one month from receipt, three months when extended."""
    return add_months(received_on, 3 if extended else 1)


@dataclass(frozen=True)
class Deadline:
    """How the deadline of a request was computed, for the detail page."""

    received_on: date
    one_month: date
    extended_to: date | None
    due_on: date


def deadline_of(req: RightsRequest) -> Deadline:
    return Deadline(
        received_on=req.received_on,
        one_month=due_date(req.received_on, extended=False),
        extended_to=due_date(req.received_on, extended=True) if req.is_extended else None,
        due_on=req.due_on,
    )


def urgency(req: RightsRequest, today: date) -> str | None:
    """``"overdue"`` (deadline passed), ``"due_this_week"`` (due within 7 days, today included)
    or None — always None for a closed request."""
    if not req.is_open:
        return None
    if req.due_on < today:
        return "overdue"
    if req.due_on <= today + timedelta(days=WEEK):
        return "due_this_week"
    return None


ROW_CLASSES = {"overdue": "table-danger", "due_this_week": "table-warning"}


@dataclass(frozen=True)
class RequestRow:
    """A request as the list shows it: highlighted by urgency, with the days left."""

    req: RightsRequest
    urgency: str | None
    days_left: int | None  # None once closed; negative when overdue

    @property
    def css(self) -> str:
        return ROW_CLASSES.get(self.urgency or "", "")


def request_rows(requests: Iterable[RightsRequest], today: date) -> list[RequestRow]:
    return [
        RequestRow(r, urgency(r, today), (r.due_on - today).days if r.is_open else None) for r in requests
    ]


# --- rules --------------------------------------------------------------------------------------


def _text(value: Any, limit: int = 5000) -> str | None:
    if value is None:
        return None
    value = str(value).strip()[:limit]
    return value or None


def normalise(data: Mapping[str, Any], errors: list[FieldError]) -> dict[str, Any]:
    """The form's (or a caller's) data reduced to :data:`FIELDS`, typed, with dependent fields
    emptied when what they depend on is not chosen (no extension date without an extension…)."""
    out: dict[str, Any] = {name: data.get(name) for name in FIELDS}
    for name, limit in (("requester_name", 200), ("requester_contact", 300), ("reference", 30)):
        out[name] = _text(out[name], limit)
    for name in ("details", "extension_reason", "answer_summary"):
        out[name] = _text(out[name])
    out["reference"] = out["reference"].upper() if out["reference"] else None
    out["right"] = enum_value(RightType, out["right"], "right", errors)
    out["status"] = enum_value(RequestStatus, out["status"] or RequestStatus.RECEIVED, "status", errors)
    out["identity_checked"] = bool(out["identity_checked"])
    out["is_extended"] = bool(out["is_extended"])
    if not out["identity_checked"]:
        out["identity_checked_on"] = None
    if not out["is_extended"]:
        out["extension_notified_on"] = out["extension_reason"] = None
    for name in ("activity_id", "assigned_to_id"):
        if out[name] in ("", "None"):
            out[name] = None
    return out


def validate(org_id: int, data: Mapping[str, Any]) -> list[FieldError]:
    """Every rule a request must meet, as field errors (empty: valid)."""
    errors: list[FieldError] = []
    received = data.get("received_on")
    if data.get("reference") and not REFERENCE_RE.match(data["reference"]):
        errors.append(
            FieldError("reference", _("Référence : lettres, chiffres, « . _ / - », 30 caractères au plus."))
        )
    if not data.get("requester_name"):
        errors.append(FieldError("requester_name", _("Indiquez qui exerce ce droit.")))
    if received is None:
        errors.append(FieldError("received_on", _("Indiquez la date de réception de la demande.")))
    elif received > local_today():
        errors.append(FieldError("received_on", _("La date de réception ne peut pas être dans le futur.")))
    if data.get("identity_checked") and not data.get("identity_checked_on"):
        errors.append(
            FieldError("identity_checked_on", _("Indiquez la date à laquelle l'identité a été vérifiée."))
        )
    if data.get("is_extended"):
        errors.extend(_extension_errors(received, data))
    if data.get("status") in CLOSING_STATUSES:
        errors.extend(_answer_errors(received, data))
    assignee = data.get("assigned_to_id")
    if assignee is not None and assignee not in dict(assignee_choices(org_id)):
        errors.append(
            FieldError("assigned_to_id", _("Cette personne n'est ni DPO ni référent de l'organisation."))
        )
    if data.get("activity_id") is not None and not _is_own_activity(org_id, data["activity_id"]):
        errors.append(
            FieldError("activity_id", _("Ce traitement n'appartient pas au registre de l'organisation."))
        )
    return errors


def _extension_errors(received: date | None, data: Mapping[str, Any]) -> list[FieldError]:
    errors = []
    notified = data.get("extension_notified_on")
    if notified is None:
        errors.append(
            FieldError(
                "extension_notified_on",
                _("Prolongation : indiquez la date à laquelle le demandeur en a été informé (art. 12.3)."),
            )
        )
    elif received is not None and notified < received:
        errors.append(
            FieldError("extension_notified_on", _("Le demandeur ne peut être informé avant la réception."))
        )
    elif received is not None and notified > due_date(received, extended=False):
        errors.append(
            FieldError(
                "extension_notified_on",
                _(
                    "La prolongation doit être notifiée dans le premier mois, au plus tard le %(d)s "
                    "(art. 12.3) : elle n'est plus possible.",
                    d=due_date(received, extended=False).strftime("%d/%m/%Y"),
                ),
            )
        )
    if not data.get("extension_reason"):
        errors.append(
            FieldError(
                "extension_reason", _("Prolongation : indiquez ses motifs (complexité, nombre de demandes).")
            )
        )
    return errors


def _answer_errors(received: date | None, data: Mapping[str, Any]) -> list[FieldError]:
    errors = []
    answered = data.get("answered_on")
    if answered is None:
        errors.append(FieldError("answered_on", _("Indiquez la date d'envoi de la réponse.")))
    elif received is not None and answered < received:
        errors.append(FieldError("answered_on", _("La réponse ne peut précéder la réception de la demande.")))
    elif answered > local_today():
        errors.append(FieldError("answered_on", _("La date de réponse ne peut pas être dans le futur.")))
    if not data.get("answer_summary"):
        errors.append(FieldError("answer_summary", _("Résumez la réponse envoyée (ou les motifs du refus).")))
    return errors


def _is_own_activity(org_id: int, activity_id: Any) -> bool:
    try:
        activity_id = int(activity_id)
    except (TypeError, ValueError):
        return False
    stmt = select(ProcessingActivity.id).where(
        ProcessingActivity.id == activity_id,
        ProcessingActivity.organisation_id == org_id,
        ProcessingActivity.is_model.is_(False),
    )
    # unscoped: filtered on org_id explicitly (the form's choice is checked here)
    return db.session.scalar(stmt.execution_options(**UNSCOPED)) is not None


def assignee_choices(org_id: int, *, include: int | None = None) -> list[tuple[int, str]]:
    """Whom a request can be given to: the organisation's DPOs and referents (its editors)."""
    return people_holding(org_id, roles_granting(Permission.REGISTERS_EDIT), include=include)


def activity_choices(org_id: int, *, include_id: int | None = None) -> list[tuple[int, str]]:
    """(id, "REF — name") of the organisation's fiches (models excluded), by name, at most
    :data:`ACTIVITY_CHOICES_MAX`; ``include_id`` (the current choice) is always among them."""
    pa = ProcessingActivity
    stmt = (
        select(pa.id, pa.reference, pa.name)
        .where(pa.organisation_id == org_id, pa.is_model.is_(False))
        .order_by(pa.sort_name, pa.id)
        .limit(ACTIVITY_CHOICES_MAX)
        .execution_options(**UNSCOPED)  # unscoped: filtered on org_id explicitly
    )
    rows = list(db.session.execute(stmt))
    if include_id is not None and all(r.id != include_id for r in rows):
        rows += list(db.session.execute(stmt.where(pa.id == include_id).limit(None)))
    return [(r.id, f"{r.reference} — {r.name}") for r in rows]


# --- writes -------------------------------------------------------------------------------------


def next_reference(org_id: int, year: int) -> str:
    """The next free ``DRO-YYYY-NNN`` of an organisation for a year of receipt (gaps not reused)."""
    return references.next_reference(RightsRequest, org_id, f"DRO-{year}-")


def _check_reference(org_id: int, reference: str, exclude_id: int | None) -> list[FieldError]:
    if not references.is_reference_taken(RightsRequest, org_id, reference, exclude_id):
        return []
    return [FieldError("reference", _("Une autre demande de cette organisation porte déjà cette référence."))]


def _prepare(org_id: int, req: RightsRequest | None, data: Mapping[str, Any]) -> dict[str, Any]:
    errors: list[FieldError] = []
    clean = normalise(data, errors)
    errors += validate(org_id, clean)
    if clean["reference"]:
        errors += _check_reference(org_id, clean["reference"], req.id if req else None)
    raise_field_errors(errors)
    if not clean["reference"]:
        if req is not None:
            clean["reference"] = req.reference  # an emptied reference keeps the current one
        else:
            clean["reference"] = next_reference(org_id, clean["received_on"].year)
    return clean


def _apply(req: RightsRequest, data: Mapping[str, Any]) -> None:
    for name in FIELDS:
        setattr(req, name, data[name])
    req.due_on = due_date(req.received_on, extended=req.is_extended)
    req.is_open = req.status.is_open


def create_request(org: Organisation, actor: User | None, data: Mapping[str, Any]) -> RightsRequest:
    def create() -> RightsRequest:
        clean = _prepare(org.id, None, data)
        req = RightsRequest(organisation_id=org.id)
        with audit.audited(org.id, actor, "rights_request.create", req, AUDITED_FIELDS):
            _apply(req, clean)
        return req

    return with_fresh_reference(create)


def update_request(req: RightsRequest, actor: User | None, data: Mapping[str, Any]) -> RightsRequest:
    """``data`` carries the ``version`` the form was loaded with (EditConflict when stale)."""
    check_version(req, data.get("version"))
    clean = _prepare(req.organisation_id, req, data)
    with audit.audited(req.organisation_id, actor, "rights_request.update", req, AUDITED_FIELDS):
        _apply(req, clean)
    return req


# --- reads --------------------------------------------------------------------------------------


@dataclass
class RequestFilters:
    q: str = ""  # requester's name or reference
    status: str = "open"  # "open" / "closed" / "all"
    right: str = ""
    urgency: str = ""  # "overdue" / "week"
    today: date | None = None  # default: today in France
    assigned_to: int | None = None  # ?assigned=me: the reader's own (set by the view)

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> RequestFilters:
        status = args.get("status", "open")
        return cls(
            q=str(args.get("q", "")).strip()[:100],
            status=status if status in ("open", "closed", "all") else "open",
            right=str(args.get("right", "")),
            urgency=str(args.get("urgency", "")),
        )


def is_overdue(today_: Any) -> ColumnElement[bool]:
    """An open request past its deadline (``today_``: France's date, or a bound parameter). The
    list's filter, the home page's and the portfolio's figures share it."""
    return and_(RightsRequest.is_open.is_(True), RightsRequest.due_on < today_)


def is_due_this_week(today_: Any, until: Any = None) -> ColumnElement[bool]:
    """An open request due within :data:`WEEK` days, today included (``until``: today + WEEK, given
    as a bound parameter when ``today_`` is one — date arithmetic differs between the databases)."""
    until = today_ + timedelta(days=WEEK) if until is None else until
    return and_(
        RightsRequest.is_open.is_(True), RightsRequest.due_on >= today_, RightsRequest.due_on <= until
    )


def requests_query(filters: RequestFilters) -> Select[Any]:
    """The active organisation's requests, nearest deadline first."""
    today = filters.today or local_today()
    rr = RightsRequest
    stmt = scoped(select(rr), rr)
    if filters.status == "open" or filters.urgency in ("overdue", "week"):
        stmt = stmt.where(rr.is_open.is_(True))
    elif filters.status == "closed":
        stmt = stmt.where(rr.is_open.is_(False))
    if filters.right in RightType.__members__.values():
        stmt = stmt.where(rr.right == RightType(filters.right))
    if filters.urgency == "overdue":
        stmt = stmt.where(is_overdue(today))
    elif filters.urgency == "week":
        stmt = stmt.where(is_due_this_week(today))
    if filters.assigned_to is not None:
        stmt = stmt.where(rr.assigned_to_id == filters.assigned_to)
    if filters.q:
        like = f"%{filters.q.lower()}%"
        stmt = stmt.where(or_(func.lower(rr.requester_name).like(like), func.lower(rr.reference).like(like)))
    return stmt.order_by(rr.due_on, rr.id)


def request_titles(ids: Iterable[int]) -> dict[int, str]:
    """ "Reference — right" of the active organisation's requests by id (the journal: never the
    requester's name)."""
    ids = {int(i) for i in ids}
    if not ids:
        return {}
    rows = db.session.execute(
        scoped(select(RightsRequest.id, RightsRequest.reference, RightsRequest.right), RightsRequest).where(
            RightsRequest.id.in_(ids)
        )
    )
    return {row.id: f"{row.reference} — {RightType(row.right).label}" for row in rows}
