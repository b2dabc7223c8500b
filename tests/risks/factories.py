"""Factories of the risk register's records."""

from __future__ import annotations

import datetime as dt
from typing import Any

import factory

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
    Risk,
)
from tests.accounts.factories import OrganisationFactory
from tests.factory_base import BaseFactory, _SessionHolder


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
