"""Factories of the catalogue domain: the syndicate's applications and their subscriptions."""

from __future__ import annotations

import datetime as dt

import factory

from catalogue.models import AppDomain, Application, Criticality, Hosting, Subscription
from tests.accounts.factories import OrganisationFactory, SyndicateFactory
from tests.factory_base import BaseFactory


class ApplicationFactory(BaseFactory):
    class Meta:
        model = Application

    syndicate_id = factory.LazyAttribute(lambda o: o.syndicate.id)
    name = factory.Sequence(lambda n: f"Application {n}")
    editor = "Éditeur"
    domain = AppDomain.FINANCES
    hosting = Hosting.DATACENTRE
    criticality = Criticality.MOYENNE

    class Params:
        syndicate = factory.SubFactory(SyndicateFactory)


class SubscriptionFactory(BaseFactory):
    class Meta:
        model = Subscription

    application = factory.SubFactory(ApplicationFactory)
    organisation_id = factory.LazyAttribute(lambda o: o.member.id)
    syndicate_id = factory.LazyAttribute(lambda o: o.application.syndicate_id)
    started_on = dt.date(2020, 1, 1)

    class Params:
        member = factory.SubFactory(OrganisationFactory)
