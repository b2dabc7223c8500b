"""Factories of the risk register's records."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory

from accounts.models import Organisation
from risks.models import (
    AssetKind,
    HygieneAssessment,
    Parcours,
    ParcoursMeasure,
    ParcoursPhase,
    PhaseKind,
    Risk,
    Subsidy,
)
from tests.accounts.factories import OrganisationFactory
from tests.factory_base import BaseFactory, current_session
from tests.smsi.factories import ActionFactory


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


# --- the parcours de cybersécurité ---------------------------------------------------------------


class ParcoursFactory(BaseFactory):
    class Meta:
        model = Parcours

    organisation_id = factory.LazyAttribute(lambda o: o.organisation.id)
    selected_on = dt.date(2021, 6, 1)
    provider = "Field provider"  # neutral words: the English walker reads these pages

    class Params:
        organisation = factory.SubFactory(OrganisationFactory)


class ParcoursPhaseFactory(BaseFactory):
    class Meta:
        model = ParcoursPhase

    organisation_id = factory.LazyAttribute(lambda o: o.parcours.organisation_id)
    parcours_id = factory.LazyAttribute(lambda o: o.parcours.id)
    kind = PhaseKind.CORRECTIVE
    cofinancing_rate = 30

    class Params:
        parcours = factory.SubFactory(ParcoursFactory)


class SubsidyFactory(BaseFactory):
    class Meta:
        model = Subsidy

    organisation_id = factory.LazyAttribute(lambda o: o.parcours.organisation_id)
    parcours_id = factory.LazyAttribute(lambda o: o.parcours.id)
    label = "Tranche 2"
    amount_expected = Decimal("50000.00")
    expected_on = dt.date(2027, 6, 30)

    class Params:
        parcours = factory.SubFactory(ParcoursFactory)


class ParcoursMeasureFactory(BaseFactory):
    """A measure and its SMSI action (the same organisation)."""

    class Meta:
        model = ParcoursMeasure

    organisation_id = factory.LazyAttribute(lambda o: o.phase.organisation_id)
    parcours_id = factory.LazyAttribute(lambda o: o.phase.parcours_id)
    phase_id = factory.LazyAttribute(lambda o: o.phase.id)
    action_id = factory.LazyAttribute(
        lambda o: ActionFactory(organisation=current_session().get(Organisation, o.phase.organisation_id)).id
    )
    theme = "T8"
    hygiene_measures = factory.LazyFunction(lambda: [36])
    control_ids = factory.LazyFunction(lambda: ["A.8.15"])
    planned_cost = Decimal("12000.00")
    amount_spent = Decimal("0.00")

    class Params:
        phase = factory.SubFactory(ParcoursPhaseFactory)
