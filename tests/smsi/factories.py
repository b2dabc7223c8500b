"""Factories of the SMSI's records."""

from __future__ import annotations

import datetime as dt

import factory

from smsi.models import Incident, IncidentCategory, IncidentStatus, Severity
from tests.accounts.factories import OrganisationFactory
from tests.factory_base import BaseFactory


class IncidentFactory(BaseFactory):
    class Meta:
        model = Incident

    organisation_id = factory.LazyAttribute(lambda o: o.organisation.id)
    reference = factory.Sequence(lambda n: f"INC-2026-{n + 1:03d}")
    title = "Panne du serveur de messagerie"
    detected_at = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)
    category = IncidentCategory.AVAILABILITY
    severity = Severity.SIGNIFICANT
    status = IncidentStatus.NEW
    is_open = True
    excluded_organisation_ids = factory.LazyFunction(list)

    class Params:
        organisation = factory.SubFactory(OrganisationFactory)
