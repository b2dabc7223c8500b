"""Factories of the risk register's records."""

from __future__ import annotations

import datetime as dt

import factory

from risks.models import AssetKind, HygieneAssessment, Risk
from tests.accounts.factories import OrganisationFactory
from tests.factory_base import BaseFactory


class RiskFactory(BaseFactory):
    class Meta:
        model = Risk

    organisation_id = factory.LazyAttribute(lambda o: o.organisation.id)
    reference = factory.Sequence(lambda n: f"RSK-{n + 1:03d}")
    title = "Flood of the server room"
    asset_kind = AssetKind.SITE
    asset = "Server room"
    likelihood = 2
    impact = 4
    control_ids = factory.LazyFunction(list)

    class Params:
        organisation = factory.SubFactory(OrganisationFactory)


class HygieneAssessmentFactory(BaseFactory):
    class Meta:
        model = HygieneAssessment

    organisation_id = factory.LazyAttribute(lambda o: o.organisation.id)
    assessed_on = factory.Sequence(lambda n: dt.date(2026, 1, 1) + dt.timedelta(days=n))

    class Params:
        organisation = factory.SubFactory(OrganisationFactory)
