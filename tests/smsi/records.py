"""The SMSI's records for the route walkers (found by tests/conftest.py, like every
``tests/<domain>/records.py``): an incident, and an approved version of the syndicate's Statement of
Applicability with one entry — all owned by a tenant's syndicate. A control of the statement is
named in the query string, not the path: its pages take no URL argument."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tests.smsi import factories as f
from tests.smsi.soa_factories import SoaEntryFactory, SoaVersionFactory

if TYPE_CHECKING:
    from tests.conftest import Tenant


@dataclass
class SmsiRecords:
    incident: Any
    action: Any
    soa_entry: Any
    soa_version: Any


def build(tenant: Tenant) -> SmsiRecords:
    return SmsiRecords(
        incident=f.IncidentFactory(organisation=tenant.syndicate),
        action=f.ActionFactory(organisation=tenant.syndicate),
        soa_entry=SoaEntryFactory(organisation=tenant.syndicate),
        soa_version=SoaVersionFactory(organisation=tenant.syndicate),
    )


URL_ARGUMENTS: dict[str, Callable[[SmsiRecords], Any]] = {
    "incident_id": lambda r: r.incident.id,
    "action_id": lambda r: r.action.id,
    "soa_version_id": lambda r: r.soa_version.id,
}
