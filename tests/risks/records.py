"""The risk register's records for the route walkers (found by tests/conftest.py, like every
``tests/<domain>/records.py``): one risk, one hygiene self-assessment, a parcours de
cybersécurité (its two phases, a subsidy, a measure with its SMSI action) and an EBIOS RM study with
one object of each kind, owned by a tenant's syndicate."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from risks.models import PhaseKind
from tests.risks import factories as f

EBIOS_KINDS = (
    "business_value",
    "asset",
    "feared_event",
    "gap",
    "srov",
    "stakeholder",
    "strategic",
    "attack_path",
    "operational",
    "measure",
)

if TYPE_CHECKING:
    from tests.conftest import Tenant


@dataclass
class RiskRecords:
    risk: Any
    assessment: Any
    study: Any
    ebios: dict[str, Any]
    parcours: Any = None
    phase: Any = None
    subsidy: Any = None
    measure: Any = None


def build(tenant: Tenant) -> RiskRecords:
    parcours = f.ParcoursFactory(organisation=tenant.syndicate)
    f.ParcoursPhaseFactory(parcours=parcours, kind=PhaseKind.DIAGNOSTIC, cofinancing_rate=0)
    phase = f.ParcoursPhaseFactory(parcours=parcours)
    subsidy = f.SubsidyFactory(parcours=parcours, phase_id=phase.id)
    study = f.EbiosStudyFactory(organisation=tenant.syndicate)
    return RiskRecords(
        risk=f.RiskFactory(organisation=tenant.syndicate),
        assessment=f.HygieneAssessmentFactory(organisation=tenant.syndicate),
        parcours=parcours,
        phase=phase,
        subsidy=subsidy,
        measure=f.ParcoursMeasureFactory(phase=phase, subsidy_id=subsidy.id),
        study=study,
        ebios=f.ebios_objects(study),
    )


URL_ARGUMENTS: dict[str, Callable[[RiskRecords], Any]] = {
    "risk_id": lambda r: r.risk.id,
    "assessment_id": lambda r: r.assessment.id,
    "parcours_phase_id": lambda r: r.phase.id,
    "parcours_measure_id": lambda r: r.measure.id,
    "subsidy_id": lambda r: r.subsidy.id,
    "study_id": lambda r: r.study.id,
    # one object of each kind of an EBIOS RM study (the treatment is its operational scenario's)
    **{f"ebios_{kind}_id": (lambda r, kind=kind: r.ebios[kind].id) for kind in EBIOS_KINDS},
}
