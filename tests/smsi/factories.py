"""Factories of the SMSI's records."""

from __future__ import annotations

import datetime as dt

import factory

from smsi.models import (
    Action,
    ActionOrigin,
    ActionPriority,
    ActionStatus,
    ActionType,
    Incident,
    IncidentCategory,
    IncidentStatus,
    Severity,
    search_text,
)
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
    search_text = factory.LazyAttribute(lambda o: search_text(o.reference, o.title))  # as the service

    class Params:
        organisation = factory.SubFactory(OrganisationFactory)


class ActionFactory(BaseFactory):
    class Meta:
        model = Action

    organisation_id = factory.LazyAttribute(lambda o: o.organisation.id)
    reference = factory.Sequence(lambda n: f"ACT-2026-{n + 1:03d}")
    title = "MFA rollout"  # neutral words: the English walker reads this page
    origin = ActionOrigin.OTHER
    origin_detail = "Review 2026-11"
    search_text = factory.LazyAttribute(lambda o: search_text(o.reference, o.title))  # as the service
    type = ActionType.CORRECTIVE
    priority = ActionPriority.NORMAL
    due_on = dt.date(2027, 1, 31)
    status = ActionStatus.PLANNED
    is_open = True

    class Params:
        organisation = factory.SubFactory(OrganisationFactory)
