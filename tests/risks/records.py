"""The risk register's records for the route walkers (found by tests/conftest.py, like every
``tests/<domain>/records.py``): one risk, one hygiene self-assessment, and a parcours de
cybersécurité (its two phases, a subsidy, a measure with its SMSI action) owned by a tenant's syndicate."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from risks.models import PhaseKind
from tests.risks import factories as f

if TYPE_CHECKING:
    from tests.conftest import Tenant


@dataclass
class RiskRecords:
    risk: Any
    assessment: Any
    parcours: Any = None
    phase: Any = None
    subsidy: Any = None
    measure: Any = None


def build(tenant: Tenant) -> RiskRecords:
    parcours = f.ParcoursFactory(organisation=tenant.syndicate)
    f.ParcoursPhaseFactory(parcours=parcours, kind=PhaseKind.DIAGNOSTIC, cofinancing_rate=0)
    phase = f.ParcoursPhaseFactory(parcours=parcours)
    subsidy = f.SubsidyFactory(parcours=parcours, phase_id=phase.id)
    return RiskRecords(
        risk=f.RiskFactory(organisation=tenant.syndicate),
        assessment=f.HygieneAssessmentFactory(organisation=tenant.syndicate),
        parcours=parcours,
        phase=phase,
        subsidy=subsidy,
        measure=f.ParcoursMeasureFactory(phase=phase, subsidy_id=subsidy.id),
    )


URL_ARGUMENTS: dict[str, Callable[[RiskRecords], Any]] = {
    "risk_id": lambda r: r.risk.id,
    "assessment_id": lambda r: r.assessment.id,
    "parcours_phase_id": lambda r: r.phase.id,
    "parcours_measure_id": lambda r: r.measure.id,
    "subsidy_id": lambda r: r.subsidy.id,
}
