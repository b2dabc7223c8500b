"""The risk register's records for the route walkers (found by tests/conftest.py, like every
``tests/<domain>/records.py``): one risk and one hygiene self-assessment owned by a
tenant's syndicate."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tests.risks import factories as f

if TYPE_CHECKING:
    from tests.conftest import Tenant


@dataclass
class RiskRecords:
    risk: Any
    assessment: Any


def build(tenant: Tenant) -> RiskRecords:
    return RiskRecords(
        risk=f.RiskFactory(organisation=tenant.syndicate),
        assessment=f.HygieneAssessmentFactory(organisation=tenant.syndicate),
    )


URL_ARGUMENTS: dict[str, Callable[[RiskRecords], Any]] = {
    "risk_id": lambda r: r.risk.id,
    "assessment_id": lambda r: r.assessment.id,
}
