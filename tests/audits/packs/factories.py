"""Factories of the evidence packs' rows (a pack built by the job is made in the tests themselves)."""

from __future__ import annotations

import datetime as dt

import factory

from audits.packs.models import EvidencePack, PackStatus
from tests.factory_base import BaseFactory


class EvidencePackFactory(BaseFactory):
    class Meta:
        model = EvidencePack

    title = "ISO 27001 2026"
    scope_org_ids = factory.LazyFunction(list)
    period_start = dt.date(2026, 1, 1)
    period_end = dt.date(2026, 11, 30)
    status = PackStatus.READY.value
    progress = 100
    locale = "fr"
