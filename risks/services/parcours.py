"""The ANSSI parcours de cybersécurité: an organisation's parcours, its two phases, its subsidies and the
measures of its security plan — the rules, the only writer, the money, the progress and the flags.

* **One parcours per organisation**, created with the programme's two phases (diagnostic / pack
  initial, corrective measures / pack relais); the beneficiary's co-financing share starts at the
  programme's rate (none for phase 1, 30 % for phase 2: ``risks.reference``) and may be changed.
* **A measure is an SMSI corrective action** (origin "parcours"): its title, owner, deadline and
  status are the action's, written through :mod:`smsi.services.actions` — one object, so the action
  list and the weekly review show it. The measure adds its theme (one of the 8), its phase, the
  hygiene-guide measures and Annex A controls it answers, its planned cost and what was spent, and
  the subsidy payment it conditions. The measure form sets the statuses planned / in progress /
  done; the effectiveness check is made on the action's own page (it asks for how, when, by whom).
  Removing a measure from the parcours leaves its action in the SMSI's plan.
* **Money.** Per phase: the measures' planned cost and spending, the subsidies expected and
  received, the beneficiary's co-financing (rate × the phase's planned cost), and what remains to
  finance (planned cost − subsidies expected − co-financing, never below 0). Amounts are euros with
  two decimals, never negative (a French message beside the field, and a CHECK in the database).
* **Progress** per theme and overall: the share of measures whose action is done (awaiting its
  effectiveness check) or proven effective.
* **Late.** A measure is late when it is not carried out yet (planned, in progress, or reopened as
  ineffective) and its due date is past. (A measure carried out but whose effectiveness is still to
  check is not late for the parcours: the payment depends on the work; the SMSI keeps following the
  check.) A subsidy not yet received is **at risk** when a measure that names it is late; a subsidy
  that no measure names is at risk when a measure of its phase is late.
* Every read is a grouped query over the parcours' rows (no query per measure).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_, func, select
from sqlalchemy.orm import lazyload

from accounts.models import Organisation, User
from core import audit
from core.concurrency import EditConflict, check_version, create_once, flush_or_conflict
from core.db import local_today, today, utcnow
from core.extensions import db
from core.forms import FieldError, id_list, raise_field_errors, text_value
from core.params import date_in_range
from core.tenancy import UNSCOPED, scoped
from risks import reference as ref
from risks.models import Parcours, ParcoursMeasure, ParcoursPhase, PhaseKind, Subsidy
from smsi import reference as annex_a
from smsi.services import actions as smsi_actions

Action = smsi_actions.Action
ActionStatus = smsi_actions.ActionStatus
MAX_TEXT = 10_000
MAX_AMOUNT = Decimal("9999999999.99")  # Numeric(12, 2)
CENT = Decimal("0.01")
ZERO = Decimal("0.00")
DONE = (ActionStatus.DONE, ActionStatus.EFFECTIVE)
NOT_CARRIED_OUT = (ActionStatus.PLANNED, ActionStatus.IN_PROGRESS, ActionStatus.INEFFECTIVE)
# What the measure form may set; the effectiveness check is made on the action's page.
FORM_STATUSES = (ActionStatus.PLANNED, ActionStatus.IN_PROGRESS, ActionStatus.DONE)

PARCOURS_FIELDS = ("selected_on", "provider", "anssi_contact", "csirt", "convention_reference", "notes")
PHASE_FIELDS = ("starts_on", "ends_on", "deliverables", "delivered_on", "cofinancing_rate")
SUBSIDY_FIELDS = (
    "phase_id",
    "label",
    "amount_expected",
    "expected_on",
    "amount_received",
    "received_on",
    "condition",
)
MEASURE_FIELDS = (
    "phase_id",
    "theme",
    "hygiene_measures",
    "control_ids",
    "planned_cost",
    "amount_spent",
    "subsidy_id",
)
ACTION_FIELDS = ("title", "owner_id", "due_on", "status", "done_on")
MEASURE_AUDITED = (*MEASURE_FIELDS, "action_id")


# --- values ------------------------------------------------------------------------------------


def amount_value(
    value: Any, name: str, errors: list[FieldError], *, required: bool = False
) -> Decimal | None:
    """An amount in euros from a form ("12 500,50", "12500.5", "40 000 €") or a number: two decimals;
    empty is None (or an error when ``required``); negative, too large or not a number is an error."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors.append(FieldError(name, _("Indiquez le montant.")))
        return None
    if isinstance(value, Decimal | int | float) and not isinstance(value, bool):
        number = Decimal(str(value))
    else:
        text = str(value).strip()[:40].replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
        text = text.removesuffix("€").removesuffix("EUR").replace(",", ".")
        try:
            number = Decimal(text)
        except InvalidOperation:
            errors.append(FieldError(name, _("Montant invalide : écrivez un nombre, par exemple 12 500,50.")))
            return None
    if not number.is_finite():
        errors.append(FieldError(name, _("Montant invalide : écrivez un nombre, par exemple 12 500,50.")))
        return None
    if number < 0:
        errors.append(FieldError(name, _("Un montant ne peut pas être négatif.")))
        return None
    if number > MAX_AMOUNT:
        errors.append(FieldError(name, _("Montant trop élevé.")))
        return None
    return number.quantize(CENT, rounding=ROUND_HALF_UP)


def _id(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "", "None") else None
    except (TypeError, ValueError):
        return -1  # not an id: the check against the choices names the field


def _date(value: Any) -> date | None:
    return value if isinstance(value, date) and date_in_range(value) else None


def _too_long(clean: Mapping[str, Any], limits: Mapping[str, int], errors: list[FieldError]) -> None:
    for name, limit in limits.items():
        if clean.get(name) and len(clean[name]) > limit:
            errors.append(FieldError(name, _("%(n)s caractères au plus.", n=limit)))


# --- the parcours and its phases --------------------------------------------------------------


def parcours_of(org_id: int) -> Parcours | None:
    """The organisation's parcours, if it has one."""
    return db.session.scalar(
        select(Parcours)
        .where(Parcours.organisation_id == org_id)
        .execution_options(**UNSCOPED)  # unscoped: filtered on the organisation explicitly
    )


def save_parcours(org: Organisation, actor: User | None, data: Mapping[str, Any]) -> Parcours:
    """Create the organisation's parcours (with its two phases) or update it; ``data`` carries the
    ``version`` the form was loaded with when the parcours exists (EditConflict when stale)."""
    parcours = parcours_of(org.id)
    if parcours is not None:
        check_version(parcours, data.get("version"))
    errors: list[FieldError] = []
    clean: dict[str, Any] = {
        "selected_on": _date(data.get("selected_on")),
        "notes": text_value(data.get("notes"), MAX_TEXT),
        "convention_reference": text_value(data.get("convention_reference"), 100),
    }
    for name in ("provider", "anssi_contact", "csirt"):
        clean[name] = text_value(data.get(name), 200)
    if clean["selected_on"] is None:
        errors.append(FieldError("selected_on", _("Indiquez la date de sélection par l'ANSSI.")))
    elif clean["selected_on"] > local_today():
        errors.append(FieldError("selected_on", _("La sélection ne peut pas être datée dans le futur.")))
    _too_long(
        clean,
        {"provider": 200, "anssi_contact": 200, "csirt": 200, "convention_reference": 100, "notes": MAX_TEXT},
        errors,
    )
    raise_field_errors(errors)
    if parcours is not None:
        with audit.audited(org.id, actor, "parcours.update", parcours, PARCOURS_FIELDS):
            for name in PARCOURS_FIELDS:
                setattr(parcours, name, clean[name])
        return parcours

    def create() -> Parcours:
        created = Parcours(organisation_id=org.id)
        with audit.audited(org.id, actor, "parcours.create", created, PARCOURS_FIELDS):
            for name in PARCOURS_FIELDS:
                setattr(created, name, clean[name])
        for kind in PhaseKind:
            phase = ParcoursPhase(
                organisation_id=org.id,
                parcours_id=created.id,
                kind=kind,
                cofinancing_rate=ref.parcours_cofinancing_rate(kind.order),
            )
            with audit.audited(org.id, actor, "parcours_phase.create", phase, ("kind", *PHASE_FIELDS)):
                db.session.add(phase)
        return created

    # one parcours per organisation: created by somebody else in between, theirs is shown beside ours
    return create_once(create, lambda: parcours_of(org.id))


def phases(parcours: Parcours) -> list[ParcoursPhase]:
    """The parcours' phases, phase 1 first."""
    rows = db.session.scalars(
        select(ParcoursPhase)
        .where(
            ParcoursPhase.parcours_id == parcours.id,
            ParcoursPhase.organisation_id == parcours.organisation_id,
        )
        .execution_options(**UNSCOPED)  # unscoped: the parcours' own phases (the demo has no request)
    )
    return sorted(rows, key=lambda p: p.kind.order)


def update_phase(phase: ParcoursPhase, actor: User | None, data: Mapping[str, Any]) -> ParcoursPhase:
    """``data`` carries the ``version`` the form was loaded with (EditConflict when stale)."""
    check_version(phase, data.get("version"))
    errors: list[FieldError] = []
    clean: dict[str, Any] = {
        "starts_on": _date(data.get("starts_on")),
        "ends_on": _date(data.get("ends_on")),
        "delivered_on": _date(data.get("delivered_on")),
        "deliverables": text_value(data.get("deliverables"), MAX_TEXT),
        "cofinancing_rate": _id(data.get("cofinancing_rate")),
    }
    if clean["starts_on"] and clean["ends_on"] and clean["ends_on"] < clean["starts_on"]:
        errors.append(FieldError("ends_on", _("La fin de la phase précède son début.")))
    if clean["delivered_on"] and clean["delivered_on"] > local_today():
        errors.append(FieldError("delivered_on", _("La remise ne peut pas être datée dans le futur.")))
    rate = clean["cofinancing_rate"]
    if rate is None:
        errors.append(FieldError("cofinancing_rate", _("Indiquez la part du bénéficiaire (0 à 100 %).")))
    elif not 0 <= rate <= 100:
        errors.append(FieldError("cofinancing_rate", _("Une part de 0 à 100 %.")))
    _too_long(clean, {"deliverables": MAX_TEXT}, errors)
    raise_field_errors(errors)
    with audit.audited(phase.organisation_id, actor, "parcours_phase.update", phase, PHASE_FIELDS):
        for name in PHASE_FIELDS:
            setattr(phase, name, clean[name])
    return phase


# --- subsidies ---------------------------------------------------------------------------------


def subsidies(parcours: Parcours) -> list[Subsidy]:
    """The parcours' subsidies, by expected date (undated last)."""
    rows = db.session.scalars(
        select(Subsidy)
        .where(Subsidy.parcours_id == parcours.id, Subsidy.organisation_id == parcours.organisation_id)
        .order_by(Subsidy.expected_on.is_(None), Subsidy.expected_on, Subsidy.id)
        .execution_options(**UNSCOPED)  # unscoped: the parcours' own subsidies
    )
    return list(rows)


def _subsidy_clean(parcours: Parcours, data: Mapping[str, Any]) -> dict[str, Any]:
    errors: list[FieldError] = []
    clean: dict[str, Any] = {
        "label": text_value(data.get("label"), 200),
        "condition": text_value(data.get("condition"), MAX_TEXT),
        "phase_id": _id(data.get("phase_id")),
        "expected_on": _date(data.get("expected_on")),
        "received_on": _date(data.get("received_on")),
        "amount_expected": amount_value(
            data.get("amount_expected"), "amount_expected", errors, required=True
        ),
        "amount_received": amount_value(data.get("amount_received"), "amount_received", errors),
    }
    if not clean["label"]:
        errors.append(
            FieldError("label", _("Donnez un libellé au versement (ex. : « Subvention phase 1 »)."))
        )
    _too_long(clean, {"label": 200, "condition": MAX_TEXT}, errors)
    if clean["phase_id"] is not None and clean["phase_id"] not in {p.id for p in phases(parcours)}:
        errors.append(FieldError("phase_id", _("Phase inconnue pour ce parcours.")))
    if clean["received_on"] is not None and clean["received_on"] > local_today():
        errors.append(FieldError("received_on", _("Un versement reçu ne peut pas être daté dans le futur.")))
    if clean["amount_received"] is not None and clean["received_on"] is None:
        errors.append(FieldError("received_on", _("Indiquez la date de réception du versement.")))
    if (
        clean["received_on"] is not None
        and clean["amount_received"] is None
        and not any(e.field == "amount_received" for e in errors)
    ):
        errors.append(FieldError("amount_received", _("Indiquez le montant reçu.")))
    raise_field_errors(errors)
    return clean


def create_subsidy(parcours: Parcours, actor: User | None, data: Mapping[str, Any]) -> Subsidy:
    clean = _subsidy_clean(parcours, data)
    subsidy = Subsidy(organisation_id=parcours.organisation_id, parcours_id=parcours.id)
    with audit.audited(parcours.organisation_id, actor, "subsidy.create", subsidy, SUBSIDY_FIELDS):
        for name in SUBSIDY_FIELDS:
            setattr(subsidy, name, clean[name])
    return subsidy


def update_subsidy(subsidy: Subsidy, actor: User | None, data: Mapping[str, Any]) -> Subsidy:
    """``data`` carries the ``version`` the form was loaded with (EditConflict when stale)."""
    check_version(subsidy, data.get("version"))
    clean = _subsidy_clean(db.session.get(Parcours, subsidy.parcours_id), data)
    with audit.audited(subsidy.organisation_id, actor, "subsidy.update", subsidy, SUBSIDY_FIELDS):
        for name in SUBSIDY_FIELDS:
            setattr(subsidy, name, clean[name])
    return subsidy


def delete_subsidy(subsidy: Subsidy, actor: User | None, version: Any) -> None:
    """The measures that named it condition no payment any more (their link is emptied)."""
    check_version(subsidy, version)
    audit.record(
        subsidy.organisation_id,
        actor,
        "subsidy.delete",
        subsidy,
        {name: (audit.jsonable(getattr(subsidy, name)), None) for name in SUBSIDY_FIELDS},
    )
    named = db.session.scalars(
        select(ParcoursMeasure)
        .where(
            ParcoursMeasure.subsidy_id == subsidy.id,
            ParcoursMeasure.organisation_id == subsidy.organisation_id,
        )
        .execution_options(**UNSCOPED)  # unscoped: the subsidy's own measures
    )
    for measure in named:
        with audit.audited(
            measure.organisation_id, actor, "parcours_measure.update", measure, ("subsidy_id",)
        ):
            measure.subsidy_id = None
    db.session.delete(subsidy)
    db.session.flush()


# --- measures ----------------------------------------------------------------------------------


def owner_choices(org_id: int, *, include: int | None = None) -> list[tuple[int, str]]:
    """Who may own a measure: whoever may own an SMSI action."""
    return smsi_actions.owner_choices(org_id, include=include)


def theme_choices() -> list[tuple[str, str]]:
    return [(t.id, f"{t.number}. {t.title}") for t in ref.parcours_themes()]


def hygiene_choices() -> list[tuple[int, str]]:
    return [(m.number, f"{m.number}. {m.title}") for m in ref.hygiene_measures()]


def control_choices() -> list[tuple[str, str]]:
    return [(c.id, c.label) for c in annex_a.controls()]


def _origin_detail(theme_id: str) -> str:
    theme = ref.parcours_theme(theme_id)
    label = f"{theme.number}. {theme.short_fr}" if theme else theme_id
    return f"Parcours de cybersécurité ANSSI — thème {label}"  # stored French, as typed origins are


def _measure_clean(parcours: Parcours, data: Mapping[str, Any], errors: list[FieldError]) -> dict[str, Any]:
    themes = {t.id for t in ref.parcours_themes()}
    clean: dict[str, Any] = {
        "theme": str(data.get("theme") or ""),
        "phase_id": _id(data.get("phase_id")),
        "subsidy_id": _id(data.get("subsidy_id")),
        "planned_cost": amount_value(data.get("planned_cost"), "planned_cost", errors),
        "amount_spent": amount_value(data.get("amount_spent"), "amount_spent", errors),
    }
    known_hygiene = {m.number for m in ref.hygiene_measures()}
    clean["hygiene_measures"] = [n for n in id_list(data.get("hygiene_measures")) if n in known_hygiene]
    known_controls = {c.id for c in annex_a.controls()}
    clean["control_ids"] = sorted(
        {str(c) for c in (data.get("control_ids") or []) if str(c) in known_controls}
    )
    if clean["theme"] not in themes:
        errors.append(FieldError("theme", _("Choisissez un des 8 thèmes du parcours.")))
    if clean["phase_id"] is None:
        errors.append(FieldError("phase_id", _("Choisissez la phase du parcours.")))
    elif clean["phase_id"] not in {p.id for p in phases(parcours)}:
        errors.append(FieldError("phase_id", _("Phase inconnue pour ce parcours.")))
    if clean["subsidy_id"] is not None and clean["subsidy_id"] not in {s.id for s in subsidies(parcours)}:
        errors.append(FieldError("subsidy_id", _("Versement inconnu pour ce parcours.")))
    for name in ("planned_cost", "amount_spent"):
        if clean[name] is None and not any(e.field == name for e in errors):
            clean[name] = ZERO
    return clean


def _action_data(
    org_id: int, action: Any, data: Mapping[str, Any], theme: str, errors: list[FieldError]
) -> dict[str, Any]:
    """What the SMSI's action service is given: the action as it stands (so that its other fields,
    its effectiveness check among them, are kept), with the measure form's title, owner, due date,
    status and completion date; checked by that service's own rules."""
    base = {name: getattr(action, name) for name in smsi_actions.FIELDS} if action is not None else {}
    status = data.get("status") or ActionStatus.PLANNED.value
    current = action.status.value if action is not None else None
    if status != current and status not in {s.value for s in FORM_STATUSES}:
        errors.append(
            FieldError("status", _("L'efficacité se vérifie sur la fiche de l'action du SMSI, pas ici."))
        )
        status = current or ActionStatus.PLANNED.value
    out = {
        **base,
        "title": data.get("title"),
        "owner_id": data.get("owner_id"),
        "due_on": _date(data.get("due_on")),
        "status": status,
        "done_on": _date(data.get("done_on")),
        "origin": "parcours",
        "origin_detail": _origin_detail(theme),
        "type": base.get("type") or "corrective",
        "priority": base.get("priority") or "normal",
        "version": data.get("action_version"),
    }
    clean = smsi_actions.normalise(out, errors)
    errors += smsi_actions.validate(org_id, action, clean)
    return out


def _raise_errors(errors: list[FieldError]) -> None:
    seen, unique = set(), []
    for e in errors:  # one message per field and text (the two services may say the same)
        if (e.field, e.message) not in seen:
            seen.add((e.field, e.message))
            unique.append(e)
    raise_field_errors(unique)


def create_measure(parcours: Parcours, actor: User | None, data: Mapping[str, Any]) -> ParcoursMeasure:
    """A new measure: its SMSI action created through the actions' service, then the measure."""
    org = db.session.get(Organisation, parcours.organisation_id)
    errors: list[FieldError] = []
    clean = _measure_clean(parcours, data, errors)
    action_data = _action_data(org.id, None, data, clean["theme"], errors)
    _raise_errors(errors)
    action = smsi_actions.create_action(org, actor, action_data)
    measure = ParcoursMeasure(organisation_id=org.id, parcours_id=parcours.id, action_id=action.id)
    with audit.audited(org.id, actor, "parcours_measure.create", measure, MEASURE_AUDITED):
        for name in MEASURE_FIELDS:
            setattr(measure, name, clean[name])
    return measure


def action_of(measure: ParcoursMeasure) -> Any:
    return db.session.get(Action, measure.action_id)


def update_measure(measure: ParcoursMeasure, actor: User | None, data: Mapping[str, Any]) -> ParcoursMeasure:
    """``data`` carries the ``version`` of the measure and the ``action_version`` of its action the
    form was loaded with: either stale is an EditConflict on the measure."""
    check_version(measure, data.get("version"))
    parcours = db.session.get(Parcours, measure.parcours_id)
    action = action_of(measure)
    try:
        check_version(action, data.get("action_version"))
    except EditConflict:
        raise EditConflict(measure) from None
    errors: list[FieldError] = []
    clean = _measure_clean(parcours, data, errors)
    action_data = _action_data(measure.organisation_id, action, data, clean["theme"], errors)
    _raise_errors(errors)
    try:
        smsi_actions.update_action(action, actor, action_data)
    except EditConflict:
        raise EditConflict(measure) from None
    with audit.audited(measure.organisation_id, actor, "parcours_measure.update", measure, MEASURE_AUDITED):
        for name in MEASURE_FIELDS:
            setattr(measure, name, clean[name])
        measure.updated_at = utcnow()  # an UPDATE even when only the action changed: the version moves
    return measure


def delete_measure(measure: ParcoursMeasure, actor: User | None, version: Any) -> None:
    """The measure leaves the parcours; its action stays in the SMSI's plan (with its history)."""
    check_version(measure, version)
    audit.record(
        measure.organisation_id,
        actor,
        "parcours_measure.delete",
        measure,
        {name: (audit.jsonable(getattr(measure, name)), None) for name in MEASURE_AUDITED},
    )
    db.session.delete(measure)
    flush_or_conflict(measure)


# --- reads ---------------------------------------------------------------------------------------


def _late(on: date) -> Any:
    return and_(Action.status.in_(NOT_CARRIED_OUT), Action.due_on < on)


@dataclass
class MeasureFilters:
    theme: str = ""
    phase_id: int | None = None
    late: bool = False

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> MeasureFilters:
        theme = str(args.get("theme", ""))
        phase = _id(args.get("phase"))
        return cls(
            theme=theme if theme in {t.id for t in ref.parcours_themes()} else "",
            phase_id=phase if phase and phase > 0 else None,
            late=args.get("late") == "1",
        )

    @property
    def active(self) -> bool:
        return bool(self.theme or self.phase_id or self.late)


@dataclass(frozen=True)
class MeasureRow:
    measure: ParcoursMeasure
    action: Any
    is_late: bool

    @property
    def is_done(self) -> bool:
        return self.action.status in DONE


def measure_rows(parcours: Parcours, filters: MeasureFilters | None = None) -> list[MeasureRow]:
    """The parcours' measures (filtered), by theme then due date, each with its action (two queries)."""
    filters = filters or MeasureFilters()
    m = ParcoursMeasure
    on = today()
    stmt = (
        select(m, Action)
        .join(Action, Action.id == m.action_id)
        .where(m.parcours_id == parcours.id, m.organisation_id == parcours.organisation_id)
        .execution_options(**UNSCOPED)  # unscoped: the parcours' own measures (the PDF, the demo)
    )
    if filters.theme:
        stmt = stmt.where(m.theme == filters.theme)
    if filters.phase_id:
        stmt = stmt.where(m.phase_id == filters.phase_id)
    if filters.late:
        stmt = stmt.where(_late(on))
    # The owner is shown (joined by the action's mapping); the checker and the incident are not.
    stmt = stmt.options(lazyload(Action.checked_by), lazyload(Action.incident))
    rows = db.session.execute(stmt.order_by(m.theme, Action.due_on, m.id)).all()
    return [
        MeasureRow(measure, action, action.status in NOT_CARRIED_OUT and action.due_on < on)
        for measure, action in rows
    ]


@dataclass(frozen=True)
class Progress:
    total: int = 0
    done: int = 0
    late: int = 0

    @property
    def rate(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


@dataclass(frozen=True)
class Progresses:
    themes: dict[str, Progress]
    overall: Progress


def progress(parcours: Parcours) -> Progresses:
    """Measures per theme: how many, how many done, how many late (one grouped query)."""
    m = ParcoursMeasure
    rows = db.session.execute(
        select(
            m.theme,
            func.count(),
            func.count().filter(Action.status.in_(DONE)),
            func.count().filter(_late(today())),
        )
        .join(Action, Action.id == m.action_id)
        .where(m.parcours_id == parcours.id, m.organisation_id == parcours.organisation_id)
        .group_by(m.theme)
        .execution_options(**UNSCOPED)  # unscoped: the parcours' own measures
    ).all()
    found = {theme: Progress(int(n), int(done), int(late)) for theme, n, done, late in rows}
    themes = {t.id: found.get(t.id, Progress()) for t in ref.parcours_themes()}
    overall = Progress(
        sum(p.total for p in themes.values()),
        sum(p.done for p in themes.values()),
        sum(p.late for p in themes.values()),
    )
    return Progresses(themes, overall)


@dataclass(frozen=True)
class Money:
    label: str
    planned: Decimal = ZERO  # the measures' planned cost
    spent: Decimal = ZERO
    expected: Decimal = ZERO  # subsidies expected
    received: Decimal = ZERO  # subsidies received
    rate: int | None = None  # the beneficiary's share, per cent (None: no phase)
    summed_cofinancing: Decimal | None = None  # a total's: the sum of its phases' shares

    @property
    def cofinancing(self) -> Decimal:
        """The beneficiary's share of the planned cost."""
        if self.summed_cofinancing is not None:
            return self.summed_cofinancing
        if not self.rate:
            return ZERO
        return (self.planned * self.rate / 100).quantize(CENT, rounding=ROUND_HALF_UP)

    @property
    def remaining(self) -> Decimal:
        """What no subsidy nor the beneficiary's share covers yet (never below 0)."""
        return max(self.planned - self.expected - self.cofinancing, ZERO)

    @property
    def to_receive(self) -> Decimal:
        return max(self.expected - self.received, ZERO)


@dataclass(frozen=True)
class Funding:
    phases: list[tuple[Any, Money]]  # (phase or None for subsidies without a phase, its money)
    total: Money = field(default_factory=lambda: Money(""))


def funding(parcours: Parcours) -> Funding:
    """The money per phase and in total (two grouped queries)."""
    m, s = ParcoursMeasure, Subsidy
    costs = {
        phase_id: (Decimal(planned or 0), Decimal(spent or 0))
        for phase_id, planned, spent in db.session.execute(
            select(m.phase_id, func.sum(m.planned_cost), func.sum(m.amount_spent))
            .where(m.parcours_id == parcours.id, m.organisation_id == parcours.organisation_id)
            .group_by(m.phase_id)
            .execution_options(**UNSCOPED)  # unscoped: the parcours' own measures
        )
    }
    paid = {
        phase_id: (Decimal(expected or 0), Decimal(received or 0))
        for phase_id, expected, received in db.session.execute(
            select(s.phase_id, func.sum(s.amount_expected), func.sum(func.coalesce(s.amount_received, 0)))
            .where(s.parcours_id == parcours.id, s.organisation_id == parcours.organisation_id)
            .group_by(s.phase_id)
            .execution_options(**UNSCOPED)  # unscoped: the parcours' own subsidies
        )
    }
    rows: list[tuple[Any, Money]] = []
    for phase in phases(parcours):
        planned, spent = costs.get(phase.id, (ZERO, ZERO))
        expected, received = paid.get(phase.id, (ZERO, ZERO))
        rows.append(
            (phase, Money(str(phase.kind.label), planned, spent, expected, received, phase.cofinancing_rate))
        )
    if None in paid:
        expected, received = paid[None]
        rows.append((None, Money(_("Versements sans phase"), expected=expected, received=received)))
    total = Money(
        _("Total"),
        sum((x.planned for _p, x in rows), ZERO),
        sum((x.spent for _p, x in rows), ZERO),
        sum((x.expected for _p, x in rows), ZERO),
        sum((x.received for _p, x in rows), ZERO),
        summed_cofinancing=sum((x.cofinancing for _p, x in rows), ZERO),  # each phase at its own rate
    )
    return Funding(rows, total)


def subsidies_at_risk(parcours: Parcours) -> list[Subsidy]:
    """The subsidies not yet received that a late measure endangers (see the module's rule), by
    expected date (three queries)."""
    m = ParcoursMeasure
    where = (m.parcours_id == parcours.id, m.organisation_id == parcours.organisation_id)
    late = db.session.execute(
        select(m.subsidy_id, m.phase_id)
        .join(Action, Action.id == m.action_id)
        .where(*where, _late(today()))
        .execution_options(**UNSCOPED)  # unscoped: the parcours' own measures
    ).all()
    if not late:
        return []
    named = set(
        db.session.scalars(
            select(m.subsidy_id)
            .where(*where, m.subsidy_id.is_not(None))
            .distinct()
            .execution_options(**UNSCOPED)
        )
    )  # unscoped: the parcours' own measures
    late_subsidies = {s for s, _p in late if s is not None}
    late_phases = {p for _s, p in late}
    return [
        s
        for s in subsidies(parcours)
        if not s.is_received
        and (
            s.id in late_subsidies
            or (s.id not in named and s.phase_id is not None and s.phase_id in late_phases)
        )
    ]


def late_count_by_subsidy(parcours: Parcours) -> dict[int, int]:
    """Late measures per subsidy they name (one grouped query)."""
    m = ParcoursMeasure
    rows = db.session.execute(
        select(m.subsidy_id, func.count())
        .join(Action, Action.id == m.action_id)
        .where(m.parcours_id == parcours.id, m.organisation_id == parcours.organisation_id, _late(today()))
        .where(m.subsidy_id.is_not(None))
        .group_by(m.subsidy_id)
        .execution_options(**UNSCOPED)  # unscoped: the parcours' own measures
    )
    return {int(s): int(n) for s, n in rows}


@dataclass(frozen=True)
class ParcoursFigures:
    late: int
    at_risk: Subsidy | None  # the next subsidy at risk (earliest expected)


def figures(org_id: int) -> ParcoursFigures | None:
    """The home card's figures (None: the organisation has no parcours)."""
    parcours = parcours_of(org_id)
    if parcours is None:
        return None
    at_risk = subsidies_at_risk(parcours)
    return ParcoursFigures(progress(parcours).overall.late, at_risk[0] if at_risk else None)


def has_parcours(org_id: int) -> bool:
    return (
        db.session.scalar(
            scoped(select(Parcours.id), Parcours).where(Parcours.organisation_id == org_id).limit(1)
        )
        is not None
    )


def by_theme(rows: Iterable[MeasureRow]) -> dict[str, list[MeasureRow]]:
    out: dict[str, list[MeasureRow]] = defaultdict(list)
    for row in rows:
        out[row.measure.theme].append(row)
    return {t.id: out[t.id] for t in ref.parcours_themes() if out.get(t.id)}


def calendar(parcours: Parcours) -> list[tuple[date, str, str]]:
    """The parcours' dates in order: (date, kind, what) — selection, phases, subsidies, deadlines."""
    events: list[tuple[date, str, str]] = [(parcours.selected_on, "selection", _("Sélection par l'ANSSI"))]
    for phase in phases(parcours):
        if phase.starts_on:
            events.append((phase.starts_on, "phase", _("Début : %(p)s", p=phase.kind.label)))
        if phase.ends_on:
            events.append((phase.ends_on, "phase", _("Fin prévue : %(p)s", p=phase.kind.label)))
    for s in subsidies(parcours):
        if s.received_on:
            events.append((s.received_on, "subsidy", _("Versement reçu : %(l)s", l=s.label)))
        elif s.expected_on:
            events.append((s.expected_on, "subsidy", _("Versement attendu : %(l)s", l=s.label)))
    for row in measure_rows(parcours):
        events.append((row.action.due_on, "measure", f"{row.action.reference} — {row.action.title}"))
    return sorted(events, key=lambda e: e[0])
