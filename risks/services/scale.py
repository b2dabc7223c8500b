"""The scale an organisation rates its risks on: likelihood levels (V), impact levels (G), the matrix
giving a risk level (low, moderate, high, critical) to each cell, and the acceptance threshold — the
highest level that may stand without someone accepting it by name.

Without a scale of its own, an organisation uses EBIOS RM's 4 × 4 (risks.reference). Changing the
number of levels re-draws the matrix by the same rule as the default one, stretched to the new size
(:func:`stretched_matrix`); the RSSI then adjusts cells. A risk rated outside the scale is refused
(:func:`check_cell`); when a scale shrinks, the risks above its new top are refused at their next
save, and the page of the scale says how many there are."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from accounts.models import Organisation, User
from core import audit
from core.concurrency import check_version, create_once, flush_or_conflict
from core.extensions import db
from core.forms import FieldError, raise_field_errors
from core.tenancy import UNSCOPED, scoped
from risks import reference as ref
from risks.models import Risk, RiskScale

MIN_LEVELS, MAX_LEVELS = 2, 6
AUDITED_FIELDS = ("likelihood_labels", "impact_labels", "matrix", "acceptance_level")
DEFAULT_ACCEPTANCE = "moderate"


@dataclass(frozen=True)
class Scale:
    likelihood_labels: tuple[str, ...]
    impact_labels: tuple[str, ...]
    matrix: tuple[tuple[str, ...], ...]  # level id by [impact - 1][likelihood - 1]
    acceptance_level: str
    stored: RiskScale | None = None

    @property
    def likelihoods(self) -> range:
        return range(1, len(self.likelihood_labels) + 1)

    @property
    def impacts(self) -> range:
        return range(1, len(self.impact_labels) + 1)

    def level(self, likelihood: int, impact: int) -> ref.Level:
        return ref.level(self.matrix[impact - 1][likelihood - 1])

    def level_or_none(self, likelihood: int | None, impact: int | None) -> ref.Level | None:
        """The level of a cell, None when the cell is not rated or lies outside the scale (a scale
        made smaller after the risk was rated)."""
        if likelihood is None or impact is None:
            return None
        if not (1 <= likelihood <= len(self.likelihood_labels) and 1 <= impact <= len(self.impact_labels)):
            return None
        return self.level(likelihood, impact)

    @property
    def acceptance(self) -> ref.Level:
        return ref.level(self.acceptance_level)

    def is_accepted_level(self, likelihood: int, impact: int) -> bool:
        return self.level(likelihood, impact).rank <= ref.level(self.acceptance_level).rank

    def cells_at(self, level_ids: set[str]) -> list[tuple[int, int]]:
        return [
            (v, g) for g in self.impacts for v in self.likelihoods if self.matrix[g - 1][v - 1] in level_ids
        ]

    def cells_above_acceptance(self) -> list[tuple[int, int]]:
        threshold = ref.level(self.acceptance_level).rank
        return self.cells_at({lv.id for lv in ref.levels() if lv.rank > threshold})

    def likelihood_label(self, rank: int | None) -> str:
        return self.likelihood_labels[rank - 1] if rank and 0 < rank <= len(self.likelihood_labels) else "—"

    def impact_label(self, rank: int | None) -> str:
        return self.impact_labels[rank - 1] if rank and 0 < rank <= len(self.impact_labels) else "—"


def stretched_matrix(n_likelihood: int, n_impact: int) -> list[list[str]]:
    """The default rule on any size: a cell's level from the sum of its ranks, each rank brought to
    the 1–4 range of the default scale first (on 4 × 4 this is the default matrix exactly)."""
    rule = {2: "low", 3: "low", 4: "moderate", 5: "moderate", 6: "high", 7: "critical", 8: "critical"}

    def to4(rank: int, size: int) -> float:
        return 1 + 3 * (rank - 1) / (size - 1)

    return [
        [rule[round(to4(v, n_likelihood) + to4(g, n_impact) + 1e-9)] for v in range(1, n_likelihood + 1)]
        for g in range(1, n_impact + 1)
    ]


def default_scale() -> Scale:
    matrix = ref.default_matrix()
    return Scale(
        tuple(ref.default_labels("likelihood")),
        tuple(ref.default_labels("gravity")),
        tuple(tuple(row) for row in matrix),
        DEFAULT_ACCEPTANCE,
    )


def _stored(org_id: int) -> RiskScale | None:
    return db.session.scalar(
        select(RiskScale)
        .where(RiskScale.organisation_id == org_id)
        .execution_options(
            **UNSCOPED
        )  # unscoped: filtered on the organisation explicitly (the demo has no request)
    )


def scale_of(org_id: int) -> Scale:
    stored = _stored(org_id)
    if stored is None:
        return default_scale()
    return Scale(
        tuple(stored.likelihood_labels),
        tuple(stored.impact_labels),
        tuple(tuple(row) for row in stored.matrix),
        stored.acceptance_level,
        stored,
    )


def check_cell(scale: Scale, likelihood: Any, impact: Any, *, prefix: str = "") -> list[FieldError]:
    """Errors for a likelihood or an impact outside the scale (``prefix``: "residual_")."""
    errors = []
    for name, value, size in (
        (f"{prefix}likelihood", likelihood, len(scale.likelihood_labels)),
        (f"{prefix}impact", impact, len(scale.impact_labels)),
    ):
        if value is not None and not (isinstance(value, int) and 1 <= value <= size):
            errors.append(FieldError(name, _("Choisissez un niveau de l'échelle, de 1 à %(n)s.", n=size)))
    return errors


def _labels(values: Any, field: str, errors: list[FieldError]) -> list[str]:
    labels = [str(v).strip()[:100] for v in (values or [])]
    if not MIN_LEVELS <= len(labels) <= MAX_LEVELS:
        errors.append(FieldError(field, _("De %(a)s à %(b)s niveaux.", a=MIN_LEVELS, b=MAX_LEVELS)))
    elif any(not label for label in labels):
        errors.append(FieldError(field, _("Nommez chaque niveau.")))
    elif len(set(labels)) != len(labels):
        errors.append(FieldError(field, _("Deux niveaux portent le même nom.")))
    return labels


def out_of_scale(org_id: int, n_likelihood: int, n_impact: int) -> int:
    """How many of the organisation's risks a scale of this size would leave outside it."""
    r = Risk
    return int(
        db.session.scalar(
            scoped(select(func.count()).select_from(r), r).where(
                r.organisation_id == org_id,
                or_(
                    r.likelihood > n_likelihood,
                    r.impact > n_impact,
                    r.residual_likelihood > n_likelihood,
                    r.residual_impact > n_impact,
                ),
            )
        )
        or 0
    )


def save_scale(org: Organisation, actor: User | None, data: Mapping[str, Any]) -> RiskScale:
    """Store the organisation's scale. ``data``: likelihood_labels, impact_labels (lists), matrix
    (level ids by impact then likelihood; re-drawn by the default rule when its size does not fit),
    acceptance_level, version (of the stored scale, if any)."""
    errors: list[FieldError] = []
    likelihood_labels = _labels(data.get("likelihood_labels"), "likelihood_labels", errors)
    impact_labels = _labels(data.get("impact_labels"), "impact_labels", errors)
    acceptance = str(data.get("acceptance_level") or "")
    if acceptance not in {lv.id for lv in ref.levels()}:
        errors.append(FieldError("acceptance_level", _("Choisissez un niveau de risque.")))
    raise_field_errors(errors)
    matrix = data.get("matrix")
    known = {lv.id for lv in ref.levels()}
    if (
        not isinstance(matrix, list)
        or len(matrix) != len(impact_labels)
        or any(not isinstance(row, list) or len(row) != len(likelihood_labels) for row in matrix)
        or any(cell not in known for row in matrix for cell in row)
    ):
        matrix = stretched_matrix(len(likelihood_labels), len(impact_labels))
    stored = _stored(org.id)
    if stored is not None:
        check_version(stored, data.get("version"))

    def save(scale: RiskScale) -> RiskScale:
        with audit.audited(org.id, actor, "risk_scale.save", scale, AUDITED_FIELDS):
            scale.likelihood_labels = likelihood_labels
            scale.impact_labels = impact_labels
            scale.matrix = [list(row) for row in matrix]
            scale.acceptance_level = acceptance
            if scale.id is None:
                db.session.add(scale)
            flush_or_conflict(scale)
        return scale

    if stored is not None:
        return save(stored)
    # one scale per organisation: saved first by somebody else in between, theirs is shown beside ours
    return create_once(lambda: save(RiskScale(organisation_id=org.id)), lambda: _stored(org.id))
