"""`flask demo load` builds the real syndicates' demo world, and running it twice changes nothing."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select

from accounts.models import Membership, Organisation, OrgRelation, User
from catalogue.models import Application, Subscription
from core.cli import run_demo_loaders
from core.extensions import db
from core.tenancy import UNSCOPED
from core.validators import siren_is_valid

MODELS = (Organisation, User, Membership, Application, Subscription)


def _counts() -> dict[str, int]:
    return {
        m.__name__: db.session.scalar(select(func.count()).select_from(m).execution_options(**UNSCOPED))
        for m in MODELS
    }


def test_demo_load_is_idempotent(app_ctx: Flask) -> None:
    run_demo_loaders()
    first = _counts()
    run_demo_loaders()
    assert _counts() == first
    assert first["Organisation"] == 34
    assert first["Application"] == 98
    assert first["User"] >= 7
    assert first["Subscription"] > 200


def test_demo_world_has_the_expected_shape(app_ctx: Flask) -> None:
    run_demo_loaders()
    orgs = {o.name: o for o in db.session.scalars(select(Organisation))}
    assert {o.name for o in orgs.values() if o.relation == OrgRelation.SYNDICATE} == {"SIIM94", "SICIO"}
    assert all(siren_is_valid(o.siren) for o in orgs.values() if o.siren)
    gosb = orgs["EPT Grand-Orly Seine Bièvre (GOSB)"]
    assert gosb.dpo_service_since is not None
    assert orgs["OPALY"].merged_into is orgs["VALDEVY"]
    assert orgs["Ivry-sur-Seine"].syndicate is orgs["SIIM94"]

    mutualised = db.session.scalar(select(User).where(User.email == "dpo.mutualise@siim94.example.org"))
    assert {o.name for o, _ in mutualised.organisation_roles().values()} == {"SIIM94", gosb.name}
    for role_email in ("admin@egide.example.org", "referent@ivry.example.org", "auditeur@audit.example.org"):
        assert db.session.scalar(select(User).where(User.email == role_email)) is not None


def test_cli_prints_the_demo_logins(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    assert "dpo.mutualise@siim94.example.org" in result.output
    assert "egide-demo-2026" in result.output
