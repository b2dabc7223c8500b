"""Factories of the risk register's records."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import factory

from accounts.models import Organisation
from risks.models import (
    AssetKind,
    EbiosAssetKind,
    EbiosAttackPath,
    EbiosBaselineGap,
    EbiosBusinessValue,
    EbiosFearedEvent,
    EbiosGapSource,
    EbiosMeasure,
    EbiosNature,
    EbiosOperationalScenario,
    EbiosSrOv,
    EbiosStakeholder,
    EbiosStakeholderCategory,
    EbiosStrategicScenario,
    EbiosStudy,
    EbiosSupportingAsset,
    HygieneAssessment,
    Parcours,
    ParcoursMeasure,
    ParcoursPhase,
    PhaseKind,
    Risk,
    Subsidy,
)
from tests.accounts.factories import OrganisationFactory
from tests.factory_base import BaseFactory, _SessionHolder, current_session
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


# --- EBIOS RM studies: one object of each kind, all in one study -----------------------------------


class EbiosStudyFactory(BaseFactory):
    class Meta:
        model = EbiosStudy

    organisation_id = factory.LazyAttribute(lambda o: o.organisation.id)
    reference = factory.Sequence(lambda n: f"EBIOS-{n + 1:03d}")
    title = "Shared hosting platform"
    scope = "The syndicate's shared servers"
    started_on = dt.date(2026, 11, 2)

    class Params:
        organisation = factory.SubFactory(OrganisationFactory)


def ebios_objects(study: EbiosStudy) -> dict[str, Any]:
    """One object of each kind of workshop object of ``study`` (flushed), by kind."""
    common = {"organisation_id": study.organisation_id, "study_id": study.id}
    out: dict[str, Any] = {}

    def add(kind: str, obj: Any) -> Any:
        _SessionHolder.session.add(obj)
        _SessionHolder.session.flush()
        out[kind] = obj
        return obj

    bv = add(
        "business_value", EbiosBusinessValue(**common, name="Civil registry", nature=EbiosNature.INFORMATION)
    )
    asset = add(
        "asset",
        EbiosSupportingAsset(
            **common, name="Servers", kind=EbiosAssetKind.INFRASTRUCTURE, business_value_ids=[bv.id]
        ),
    )
    fe = add(
        "feared_event",
        EbiosFearedEvent(**common, business_value_id=bv.id, description="Encrypted", gravity=3),
    )
    add(
        "gap",
        EbiosBaselineGap(**common, source=EbiosGapSource.SOA, reference="A.8.13", description="Backups"),
    )
    pair = add(
        "srov",
        EbiosSrOv(
            **common,
            risk_origin="Criminal",
            target_objective="Ransom",
            motivation=4,
            resources=3,
            activity=3,
            is_selected=True,
        ),
    )
    sh = add(
        "stakeholder",
        EbiosStakeholder(
            **common,
            name="Host",
            category=EbiosStakeholderCategory.PROVIDER,
            dependency=3,
            penetration=3,
            maturity=2,
            trust=2,
        ),
    )
    st = add(
        "strategic",
        EbiosStrategicScenario(
            **common, srov_id=pair.id, title="Ransomware", gravity=3, feared_event_ids=[fe.id]
        ),
    )
    add("attack_path", EbiosAttackPath(**common, scenario_id=st.id, stakeholder_id=sh.id, description="VPN"))
    op = add(
        "operational",
        EbiosOperationalScenario(
            **common, strategic_scenario_id=st.id, title="Phishing", asset_ids=[asset.id], likelihood=2
        ),
    )
    add("measure", EbiosMeasure(**common, scenario_id=op.id, title="MFA", due_on=dt.date(2027, 6, 30)))
    return out
