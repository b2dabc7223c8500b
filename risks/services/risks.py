"""The risk register: the rules of a risk, its single writer, the list's filters and the heat map.

* **Rating.** Likelihood and impact are ranks on the organisation's scale (risks.services.scale),
  before treatment (inherent) and after (residual, optional until the treatment is decided); the
  level of a cell comes from the scale's matrix, never stored.
* **Treatment.** Reduce, accept, transfer or avoid; linked to corrective actions of the SMSI (the
  same objects, ``risk_actions``) and to Annex A controls of the Statement of Applicability.
* **Acceptance.** A risk whose current level (residual once rated, else inherent) is above the
  organisation's acceptance threshold stands only when someone accepted it by name, on a date; a
  treatment "accept" always asks for that name and date.
* **Review.** A risk past its next review date is flagged in the list and counted on the home page.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, and_, case, delete, false, func, insert, or_, select

from accounts.models import Organisation, User
from accounts.services.users import people_holding
from catalogue.models import Application
from catalogue.services.applications import applications_of
from core import audit, references
from core.concurrency import check_version, flush_or_conflict, with_fresh_reference
from core.db import local_today
from core.extensions import db
from core.forms import FieldError, enum_value, id_list, raise_field_errors, text_value
from core.security import Permission, roles_granting
from core.tenancy import UNSCOPED, execute_rows, scoped
from risks.models import AssetKind, EbiosOperationalScenario, Risk, Treatment, risk_actions
from risks.services import scale as scales
from smsi import reference as annex_a
from smsi.services import actions as smsi_actions

MAX_TEXT = 10_000
FIELDS: tuple[str, ...] = (
    "title",
    "asset_kind",
    "application_id",
    "asset",
    "threat",
    "vulnerability",
    "scenario",
    "impact_confidentiality",
    "impact_integrity",
    "impact_availability",
    "likelihood",
    "impact",
    "existing_measures",
    "treatment",
    "treatment_plan",
    "control_ids",
    "residual_likelihood",
    "residual_impact",
    "owner_id",
    "accepted_by",
    "accepted_on",
    "next_review_on",
)
AUDITED_FIELDS = (*FIELDS, "reference", "action_ids")


def _int(value: Any) -> int | None:
    if value in (None, "", "None"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1  # not a rank: the scale check names the field


def owner_choices(org_id: int, *, include: int | None = None) -> list[tuple[int, str]]:
    """Who may own a risk: the people holding a risks role in the organisation."""
    return people_holding(org_id, roles_granting(Permission.RISKS_VIEW), include=include)


def application_choices(org: Organisation) -> list[tuple[int, str]]:
    return applications_of(org)


def action_choices(org_id: int, *, include: Iterable[int] = ()) -> list[tuple[int, str]]:
    return smsi_actions.open_action_choices(org_id, include=include)


def control_choices() -> list[tuple[str, str]]:
    return [(c.id, c.label) for c in annex_a.controls()]


def normalise(data: Mapping[str, Any], errors: list[FieldError]) -> dict[str, Any]:
    out: dict[str, Any] = {name: data.get(name) for name in FIELDS}
    out["title"] = text_value(out["title"], 200)
    out["asset"] = text_value(out["asset"], 200)
    out["accepted_by"] = text_value(out["accepted_by"], 200)
    for name in ("threat", "vulnerability", "scenario", "existing_measures", "treatment_plan"):
        out[name] = text_value(out[name], MAX_TEXT)
    out["asset_kind"] = enum_value(AssetKind, out["asset_kind"], "asset_kind", errors)
    out["treatment"] = enum_value(Treatment, out["treatment"], "treatment", errors, required=False)
    for name in ("impact_confidentiality", "impact_integrity", "impact_availability"):
        out[name] = bool(out[name])
    for name in ("likelihood", "impact", "residual_likelihood", "residual_impact"):
        out[name] = _int(out[name])
    out["application_id"] = _int(out["application_id"])
    out["owner_id"] = _int(out["owner_id"])
    if out["asset_kind"] is not AssetKind.APPLICATION:
        out["application_id"] = None
    known = {c.id for c in annex_a.controls()}
    out["control_ids"] = sorted({str(c) for c in (out["control_ids"] or []) if str(c) in known})
    out["action_ids"] = id_list(data.get("action_ids"))
    return out


def validate(org: Organisation, clean: Mapping[str, Any], scale: scales.Scale) -> list[FieldError]:
    errors: list[FieldError] = []
    if not clean["title"]:
        errors.append(FieldError("title", _("Donnez un intitulé au risque.")))
    for name, limit in (("title", 200), ("asset", 200), ("accepted_by", 200)):
        if clean.get(name) and len(clean[name]) > limit:
            errors.append(FieldError(name, _("%(n)s caractères au plus.", n=limit)))
    for name in ("threat", "vulnerability", "scenario", "existing_measures", "treatment_plan"):
        if clean.get(name) and len(clean[name]) > MAX_TEXT:
            errors.append(FieldError(name, _("%(n)s caractères au plus.", n=MAX_TEXT)))
    if clean["asset_kind"] is AssetKind.APPLICATION:
        if clean["application_id"] is None:
            errors.append(FieldError("application_id", _("Choisissez l'application concernée.")))
        elif clean["application_id"] not in dict(application_choices(org)):
            errors.append(FieldError("application_id", _("Application inconnue pour cette organisation.")))
    elif clean["asset_kind"] is not None and not clean["asset"]:
        errors.append(FieldError("asset", _("Nommez le bien support (site, processus, fournisseur…).")))
    for name in ("likelihood", "impact"):
        if clean[name] is None:
            errors.append(FieldError(name, _("Choisissez un niveau de l'échelle.")))
    errors += scales.check_cell(scale, clean["likelihood"], clean["impact"])
    errors += scales.check_cell(
        scale, clean["residual_likelihood"], clean["residual_impact"], prefix="residual_"
    )
    if (clean["residual_likelihood"] is None) != (clean["residual_impact"] is None):
        missing = "residual_impact" if clean["residual_impact"] is None else "residual_likelihood"
        errors.append(FieldError(missing, _("Le risque résiduel se note sur les deux axes.")))
    if clean["owner_id"] is not None and clean["owner_id"] not in dict(
        owner_choices(org.id, include=clean["owner_id"])
    ):
        errors.append(FieldError("owner_id", _("Personne inconnue dans cette organisation.")))
    if clean["action_ids"]:
        allowed = dict(action_choices(org.id, include=clean["action_ids"]))
        if any(i not in allowed for i in clean["action_ids"]):
            errors.append(FieldError("action_ids", _("Action inconnue dans cette organisation.")))
    if not errors:
        errors += _acceptance_errors(clean)
    return errors


def _acceptance_errors(clean: Mapping[str, Any]) -> list[FieldError]:
    """Accepting a risk is done by a named person on a date: a treatment "accept" asks for both, and
    either one asks for the other. (A risk above the threshold that nobody accepted is not refused:
    the list and the home page flag it — see :func:`over_threshold`.)"""
    errors = []
    if clean["accepted_on"] is not None and clean["accepted_on"] > local_today():
        errors.append(FieldError("accepted_on", _("L'acceptation ne peut pas être datée dans le futur.")))
    if clean["treatment"] is Treatment.ACCEPT:
        if not clean["accepted_by"]:
            errors.append(FieldError("accepted_by", _("Un risque accepté l'est par une personne nommée.")))
        if clean["accepted_on"] is None:
            errors.append(FieldError("accepted_on", _("Indiquez la date de l'acceptation.")))
    elif clean["accepted_by"] and clean["accepted_on"] is None:
        errors.append(FieldError("accepted_on", _("Indiquez la date de l'acceptation.")))
    elif clean["accepted_on"] is not None and not clean["accepted_by"]:
        errors.append(FieldError("accepted_by", _("Qui a accepté ce risque ?")))
    return errors


def check(org: Organisation, data: Mapping[str, Any]) -> list[FieldError]:
    """Every error ``data`` would get when saved (the form shows them all in one pass)."""
    errors: list[FieldError] = []
    clean = normalise(data, errors)
    return errors + validate(org, clean, scales.scale_of(org.id))


def action_ids_of(risk: Risk) -> list[int]:
    if risk.id is None:
        return []
    return sorted(
        db.session.scalars(select(risk_actions.c.action_id).where(risk_actions.c.risk_id == risk.id))
    )


def _save(org: Organisation, actor: User | None, risk: Risk, data: Mapping[str, Any], name: str) -> Risk:
    scale = scales.scale_of(org.id)
    errors: list[FieldError] = []
    clean = normalise(data, errors)
    errors += validate(org, clean, scale)
    raise_field_errors(errors)
    before = audit.snapshot(risk, FIELDS) | {"action_ids": action_ids_of(risk)} if risk.id else {}
    for field_name in FIELDS:
        setattr(risk, field_name, clean[field_name])
    if risk.id is None:
        risk.reference = references.next_reference(Risk, org.id, "RSK-")
        db.session.add(risk)
    flush_or_conflict(risk)
    if clean["action_ids"] != action_ids_of(risk):
        db.session.execute(delete(risk_actions).where(risk_actions.c.risk_id == risk.id))
        if clean["action_ids"]:
            db.session.execute(
                insert(risk_actions), [{"risk_id": risk.id, "action_id": i} for i in clean["action_ids"]]
            )
    after = audit.snapshot(risk, FIELDS) | {"action_ids": clean["action_ids"]}
    audit.record(org.id, actor, name, risk, audit.diff(before, after))
    return risk


def create_risk(org: Organisation, actor: User | None, data: Mapping[str, Any]) -> Risk:
    return with_fresh_reference(lambda: _save(org, actor, Risk(organisation_id=org.id), data, "risk.create"))


def update_risk(risk: Risk, actor: User | None, data: Mapping[str, Any]) -> Risk:
    """``data`` carries the ``version`` the form was loaded with (EditConflict when stale)."""
    check_version(risk, data.get("version"))
    org = db.session.get(Organisation, risk.organisation_id)
    return _save(org, actor, risk, data, "risk.update")


# --- reads ----------------------------------------------------------------------------------------


@dataclass
class RiskFilters:
    q: str = ""
    level: str = ""  # a level id: the current level (residual once rated)
    cell: tuple[int, int] | None = None  # (likelihood, impact), with ``stage``
    stage: str = "inherent"  # "inherent" / "residual": which cell ``cell`` is
    treatment: str = ""  # a Treatment value, or "none"
    review: str = ""  # "overdue"
    over_threshold: bool = False
    study: int | None = None  # an EBIOS RM study: the risks of its operational scenarios

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> RiskFilters:
        cell = None
        v, g = _int(args.get("v")), _int(args.get("g"))
        if v is not None and g is not None and v > 0 and g > 0:
            cell = (v, g)
        stage = str(args.get("stage", "inherent"))
        treatment = str(args.get("treatment", ""))
        return cls(
            q=str(args.get("q", "")).strip()[:100],
            level=str(args.get("level", "")),
            cell=cell,
            stage=stage if stage in ("inherent", "residual") else "inherent",
            treatment=treatment if treatment in {t.value for t in Treatment} | {"none"} else "",
            review="overdue" if args.get("review") == "overdue" else "",
            over_threshold=args.get("over") == "1",
            study=study if (study := _int(args.get("study"))) and study > 0 else None,
        )

    @property
    def active(self) -> bool:
        return bool(
            self.q
            or self.level
            or self.cell
            or self.treatment
            or self.review
            or self.over_threshold
            or self.study
        )


def current_cell() -> tuple[ColumnElement[int], ColumnElement[int]]:
    """The cell a risk stands in now, as SQL: residual once rated, else inherent."""
    r = Risk
    rated = and_(r.residual_likelihood.is_not(None), r.residual_impact.is_not(None))
    return (
        case((rated, r.residual_likelihood), else_=r.likelihood),
        case((rated, r.residual_impact), else_=r.impact),
    )


def _in_cells(columns: tuple[ColumnElement[int], ColumnElement[int]], cells: list[tuple[int, int]]) -> Any:
    if not cells:
        return false()
    return or_(*(and_(columns[0] == v, columns[1] == g) for v, g in cells))


def is_review_overdue(on: date) -> ColumnElement[bool]:
    return and_(Risk.next_review_on.is_not(None), Risk.next_review_on < on)


def over_threshold(scale: scales.Scale) -> ColumnElement[bool]:
    """Above the acceptance threshold now, and accepted by nobody."""
    return and_(_in_cells(current_cell(), scale.cells_above_acceptance()), Risk.accepted_by.is_(None))


def risks_query(filters: RiskFilters, scale: scales.Scale) -> Select[Any]:
    """The active organisation's risks, highest current level first."""
    r = Risk
    stmt = scoped(select(r), r)
    if filters.level in {lv.id for lv in scales.ref.levels()}:
        stmt = stmt.where(_in_cells(current_cell(), scale.cells_at({filters.level})))
    if filters.cell is not None:
        v, g = filters.cell
        if filters.stage == "residual":
            stmt = stmt.where(r.residual_likelihood == v, r.residual_impact == g)
        else:
            stmt = stmt.where(r.likelihood == v, r.impact == g)
    if filters.treatment == "none":
        stmt = stmt.where(r.treatment.is_(None))
    elif filters.treatment:
        stmt = stmt.where(r.treatment == Treatment(filters.treatment))
    if filters.review == "overdue":
        stmt = stmt.where(is_review_overdue(local_today()))
    if filters.over_threshold:
        stmt = stmt.where(over_threshold(scale))
    if filters.study is not None:
        o = EbiosOperationalScenario
        stmt = stmt.where(r.ebios_scenario_id.in_(scoped(select(o.id), o).where(o.study_id == filters.study)))
    if filters.q:
        like = f"%{filters.q.lower()}%"
        stmt = stmt.where(
            or_(
                func.lower(r.title).like(like),
                func.lower(r.reference).like(like),
                func.lower(r.asset).like(like),
            )
        )
    likelihood, impact = current_cell()
    return stmt.order_by((likelihood * impact).desc(), impact.desc(), r.reference)


def list_rows(filters: RiskFilters, scale: scales.Scale) -> Select[Any]:
    """The list page's rows: the columns it shows and the application's name, as plain rows (no
    risk objects to build: the page reads 50 of them on every visit)."""
    r = Risk
    return (
        risks_query(filters, scale)
        .with_only_columns(
            r.id, r.reference, r.title, r.asset, r.likelihood, r.impact, r.residual_likelihood,
            r.residual_impact, r.treatment, r.accepted_by, r.next_review_on,
            Application.name.label("application_name"),
            maintain_column_froms=True,
        )
        .outerjoin(Application, Application.id == r.application_id)
    )  # fmt: skip


@dataclass
class HeatMap:
    """Risks per cell (likelihood, impact), before and after treatment."""

    inherent: dict[tuple[int, int], int] = field(default_factory=dict)
    residual: dict[tuple[int, int], int] = field(default_factory=dict)
    not_rated: int = 0  # risks without a residual rating yet

    def count(self, stage: str, likelihood: int, impact: int) -> int:
        return (self.residual if stage == "residual" else self.inherent).get((likelihood, impact), 0)


def heat_map(org_id: int | None = None) -> HeatMap:
    """The active organisation's risks (``org_id``: that organisation's, named explicitly) counted
    per cell before and after treatment: one grouped query (at most 16 × 17 groups on the default
    scale), summed both ways here."""
    r = Risk
    out = HeatMap()
    cells = (r.likelihood, r.impact, r.residual_likelihood, r.residual_impact)
    for v, g, rv, rg, n in db.session.execute(_of(select(*cells, func.count()), org_id).group_by(*cells)):
        inherent = (int(v), int(g))
        out.inherent[inherent] = out.inherent.get(inherent, 0) + int(n)
        if rv is None or rg is None:
            out.not_rated += int(n)
        else:
            residual = (int(rv), int(rg))
            out.residual[residual] = out.residual.get(residual, 0) + int(n)
    return out


def _of(stmt: Select[Any], org_id: int | None) -> Select[Any]:
    """``stmt`` on risks, for the active organisation, or for ``org_id`` named explicitly (the
    register built by a background job for an evidence pack, without a request)."""
    if org_id is None:
        return scoped(stmt, Risk)
    # unscoped: filtered on the organisation explicitly (a background job has no request)
    return stmt.where(Risk.organisation_id == org_id).execution_options(**UNSCOPED)


def register_risks(org_id: int) -> list[Risk]:
    """Every risk of ``org_id``, in the register's order (risks_query's), named explicitly."""
    likelihood, impact = current_cell()
    stmt = _of(select(Risk), org_id).order_by((likelihood * impact).desc(), impact.desc(), Risk.reference)
    return list(db.session.scalars(stmt))


def linked_actions(risk_ids: Iterable[int], org_id: int | None = None) -> dict[int, list[Any]]:
    """The corrective actions of each risk (two queries), by due date (``org_id``: see :func:`_of`)."""
    ids = list(risk_ids)
    if not ids:
        return {}
    links = db.session.execute(
        select(risk_actions.c.risk_id, risk_actions.c.action_id).where(risk_actions.c.risk_id.in_(ids))
    ).all()
    actions = smsi_actions.actions_by_ids((a for _r, a in links), org_id)
    out: dict[int, list[Any]] = {i: [] for i in ids}
    for risk_id, action_id in links:
        if action_id in actions:
            out[int(risk_id)].append(actions[action_id])
    for found in out.values():
        found.sort(key=lambda a: (a.due_on, a.id))
    return out


def action_counts(risk_ids: Iterable[int]) -> dict[int, int]:
    """How many corrective actions each risk has (one grouped query): the list shows a count, not
    the actions. The ids are the active organisation's risks, and a risk links only to its own
    organisation's actions (validate), so the links need no second scope."""
    ids = list(risk_ids)
    if not ids:
        return {}
    rows = execute_rows(  # an association table: Core (core.tenancy)
        select(risk_actions.c.risk_id, func.count())
        .where(risk_actions.c.risk_id.in_(ids))
        .group_by(risk_actions.c.risk_id)
    )
    return {int(risk_id): int(n) for risk_id, n in rows}


@dataclass(frozen=True)
class RiskFigures:
    total: int
    over_threshold: int
    review_overdue: int
    untreated: int


def figures(org_id: int) -> RiskFigures:
    """The home page's figures for the active organisation (one query)."""
    scale = scales.scale_of(org_id)
    r = Risk
    row = db.session.execute(
        _of(
            select(
                func.count(),
                func.count().filter(over_threshold(scale)),
                func.count().filter(is_review_overdue(local_today())),
                func.count().filter(r.treatment.is_(None)),
            ),
            org_id,
        )
    ).one()
    return RiskFigures(int(row[0]), int(row[1]), int(row[2]), int(row[3]))


def action_titles(ids: Iterable[int]) -> dict[int, str]:
    """The journal's names of linked actions."""
    return {i: f"{a.reference} — {a.title}" for i, a in smsi_actions.actions_by_ids(ids).items()}
