"""Factories of the evidence store's records (rows only: a version built here has no stored file —
the tests that need one upload it through the service)."""

from __future__ import annotations

import datetime as dt
import secrets

import factory

from audits.evidence.models import Evidence, EvidenceLink, EvidenceVersion
from core.text import fold
from tests.accounts.factories import OrganisationFactory
from tests.factory_base import BaseFactory


class EvidenceFactory(BaseFactory):
    class Meta:
        model = Evidence

    organisation_id = factory.LazyAttribute(lambda o: o.organisation.id)
    title = "Backup test report"  # neutral words: the English walker reads this page
    valid_until = dt.date(2027, 6, 30)
    current_version = 1
    search_text = factory.LazyAttribute(lambda o: fold(o.title))  # as the service

    class Params:
        organisation = factory.SubFactory(OrganisationFactory)


class EvidenceVersionFactory(BaseFactory):
    class Meta:
        model = EvidenceVersion

    organisation_id = factory.LazyAttribute(lambda o: o.evidence.organisation_id)
    evidence_id = factory.LazyAttribute(lambda o: o.evidence.id)
    number = 1
    storage_id = factory.LazyFunction(lambda: secrets.token_hex(16))
    filename = "report.pdf"
    size = 10
    sha256 = "0" * 64
    media_type = "application/pdf"
    kek_id = "20261204-00000000"
    wrapped_key = "AAAA"
    uploaded_at = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)

    class Params:
        evidence = factory.SubFactory(EvidenceFactory)


class EvidenceLinkFactory(BaseFactory):
    class Meta:
        model = EvidenceLink

    organisation_id = factory.LazyAttribute(lambda o: o.evidence.organisation_id)
    evidence_id = factory.LazyAttribute(lambda o: o.evidence.id)
    object_type = "Action"
    object_id = 1
    object_label = "ACT-2026-001"

    class Params:
        evidence = factory.SubFactory(EvidenceFactory)
