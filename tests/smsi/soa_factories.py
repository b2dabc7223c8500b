"""Factories of the Statement of Applicability: bare rows written straight to the database."""

from __future__ import annotations

import factory

from core.db import utcnow
from smsi.models import ImplementationStatus, SoaEntry, SoaVersion
from tests.accounts.factories import OrganisationFactory
from tests.factory_base import BaseFactory


class SoaEntryFactory(BaseFactory):
    class Meta:
        model = SoaEntry

    organisation_id = factory.LazyAttribute(lambda o: o.organisation.id)
    control_id = "A.5.1"
    applicable = True
    reasons = factory.LazyFunction(lambda: ["risk"])
    status = ImplementationStatus.PARTIAL
    implementation = "Politique CANARY"

    class Params:
        organisation = factory.SubFactory(OrganisationFactory)


class SoaVersionFactory(BaseFactory):
    class Meta:
        model = SoaVersion

    organisation_id = factory.LazyAttribute(lambda o: o.organisation.id)
    number = factory.Sequence(lambda n: n + 1)
    approved_by_name = "RSSI CANARY"
    approved_at = factory.LazyFunction(utcnow)
    comment = "Version CANARY"
    snapshot = factory.LazyFunction(
        lambda: {
            "A.5.1": {
                "applicable": True,
                "reasons": ["risk"],
                "status": "partial",
                "implementation": "CANARY",
            }
        }
    )

    class Params:
        organisation = factory.SubFactory(OrganisationFactory)
