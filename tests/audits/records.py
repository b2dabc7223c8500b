"""The audits' records for the route walkers (found by tests/conftest.py): an audit of a tenant's
syndicate, one of its findings and an auditor access to it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tests.audits import factories as f

if TYPE_CHECKING:
    from tests.conftest import Tenant


@dataclass
class AuditRecords:
    audit: Any
    finding: Any
    access: Any


def build(tenant: Tenant) -> AuditRecords:
    audit = f.AuditFactory(organisation=tenant.syndicate)
    finding = f.FindingFactory(audit=audit)
    access = f.AuditorAccessFactory(audit=audit)
    return AuditRecords(audit=audit, finding=finding, access=access)


URL_ARGUMENTS: dict[str, Callable[[AuditRecords], Any]] = {
    "audit_id": lambda r: r.audit.id,
    "finding_id": lambda r: r.finding.id,
    "auditor_access_id": lambda r: r.access.id,
}
