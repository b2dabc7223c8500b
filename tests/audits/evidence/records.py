"""The evidence store's records for the route walkers (found by tests/conftest.py, keyed
"audits.evidence"): an evidence of the tenant's syndicate, a version of it (rows only: its download
answers "altered or absent", never a 500) and a link."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tests.audits.evidence.factories import EvidenceFactory, EvidenceLinkFactory, EvidenceVersionFactory

if TYPE_CHECKING:
    from tests.conftest import Tenant


@dataclass
class EvidenceRecords:
    evidence: Any
    version: Any
    link: Any


def build(tenant: Tenant) -> EvidenceRecords:
    evidence = EvidenceFactory(organisation=tenant.syndicate)
    return EvidenceRecords(
        evidence=evidence,
        version=EvidenceVersionFactory(evidence=evidence),
        link=EvidenceLinkFactory(evidence=evidence),
    )


URL_ARGUMENTS: dict[str, Callable[[EvidenceRecords], Any]] = {
    "evidence_id": lambda r: r.evidence.id,
    "evidence_version_id": lambda r: r.version.id,
    "link_id": lambda r: r.link.id,
}
