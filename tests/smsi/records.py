"""The SMSI's records for the route walkers: one object of each model with an address of its own,
owned by a tenant's syndicate (found by tests/conftest.py, like every ``tests/<domain>/records.py``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tests.smsi import factories as f

if TYPE_CHECKING:
    from tests.conftest import Tenant


@dataclass
class SmsiRecords:
    incident: Any


def build(tenant: Tenant) -> SmsiRecords:
    return SmsiRecords(incident=f.IncidentFactory(organisation=tenant.syndicate))


URL_ARGUMENTS: dict[str, Callable[[SmsiRecords], Any]] = {
    "incident_id": lambda r: r.incident.id,
}
