"""The risk register's records for the route walkers (found by tests/conftest.py, like every
``tests/<domain>/records.py``): one risk and one hygiene self-assessment owned by a
tenant's syndicate, and an EBIOS RM study with one object of each kind."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

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


def build(tenant: Tenant) -> RiskRecords:
    study = f.EbiosStudyFactory(organisation=tenant.syndicate)
    return RiskRecords(
        risk=f.RiskFactory(organisation=tenant.syndicate),
        assessment=f.HygieneAssessmentFactory(organisation=tenant.syndicate),
        study=study,
        ebios=f.ebios_objects(study),
    )


URL_ARGUMENTS: dict[str, Callable[[RiskRecords], Any]] = {
    "risk_id": lambda r: r.risk.id,
    "assessment_id": lambda r: r.assessment.id,
    "study_id": lambda r: r.study.id,
    # one object of each kind of an EBIOS RM study (the treatment is its operational scenario's)
    **{f"ebios_{kind}_id": (lambda r, kind=kind: r.ebios[kind].id) for kind in EBIOS_KINDS},
}
