"""Factories of the audits' records."""

from __future__ import annotations

import datetime as dt

import factory

from audits.models import (
    Audit,
    AuditorAccess,
    AuditStatus,
    AuditType,
    Finding,
    FindingLevel,
    FindingStatus,
    RequirementKind,
)
from core.db import utcnow
from tests.accounts.factories import OrganisationFactory, UserFactory
from tests.factory_base import BaseFactory


class AuditFactory(BaseFactory):
    class Meta:
        model = Audit

    organisation_id = factory.LazyAttribute(lambda o: o.organisation.id)
    reference = factory.Sequence(lambda n: f"AUD-2026-{n + 1:03d}")
    title = "ISMS audit"  # neutral words: the English walker reads this page
    type = AuditType.INTERNAL
    frameworks = factory.LazyFunction(lambda: ["annex_a"])
    start_on = dt.date(2026, 11, 2)
    end_on = dt.date(2026, 12, 18)
    lead_auditor_name = "Claire Martin"
    status = AuditStatus.IN_PROGRESS
    organisations = factory.LazyAttribute(lambda o: [o.organisation])

    class Params:
        organisation = factory.SubFactory(OrganisationFactory)


class FindingFactory(BaseFactory):
    class Meta:
        model = Finding

    audit = factory.SubFactory(AuditFactory)
    organisation_id = factory.LazyAttribute(lambda o: o.audit.organisation_id)
    audit_id = factory.LazyAttribute(lambda o: o.audit.id)
    number = factory.Sequence(lambda n: n + 1)
    reference = factory.LazyAttribute(lambda o: f"{o.audit.reference}-F{o.number:02d}")
    title = "Backups"
    level = FindingLevel.NCMIN
    requirement_kind = RequirementKind.ANNEX_A
    requirement_ref = "A.8.13"
    status = FindingStatus.OPEN


class AuditorAccessFactory(BaseFactory):
    class Meta:
        model = AuditorAccess

    audit = factory.SubFactory(AuditFactory)
    user = factory.SubFactory(UserFactory)
    organisation_id = factory.LazyAttribute(lambda o: o.audit.organisation_id)
    audit_id = factory.LazyAttribute(lambda o: o.audit.id)
    user_id = factory.LazyAttribute(lambda o: o.user.id)
    invited_at = factory.LazyFunction(utcnow)
    expires_on = factory.LazyAttribute(lambda o: o.audit.end_on)
