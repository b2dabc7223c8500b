"""`flask demo load` gives every demo organisation a realistic register, and running it twice changes
nothing (registers part: models and inherited entries, fiches, rights requests, breaches)."""

from __future__ import annotations

from collections import Counter

import pytest
from flask import Flask
from sqlalchemy import func, inspect, select, text

from accounts.models import Organisation
from core.audit import AuditEvent
from core.cli import run_demo_loaders
from core.db import utcnow
from core.extensions import alembic, db
from core.tenancy import UNSCOPED
from registers.models import (
    ActivityStatus,
    ActivityVersion,
    Breach,
    NotificationDecision,
    ProcessingActivity,
    RightsRequest,
)
from registers.services import breaches, inheritance, rights
from tests.conftest import reset_database

FOUNDING_CITIES = ("Arcueil", "Gentilly", "Ivry-sur-Seine", "Villejuif", "Vitry-sur-Seine")


def _all(model: type) -> list:
    return list(db.session.scalars(select(model).execution_options(**UNSCOPED)))


def _counts() -> dict[str, int]:
    return {
        m.__name__: db.session.scalar(select(func.count()).select_from(m).execution_options(**UNSCOPED))
        for m in (ProcessingActivity, ActivityVersion, RightsRequest, Breach, AuditEvent)
    }


def test_every_demo_organisation_gets_a_realistic_register(app_ctx: Flask) -> None:
    run_demo_loaders()
    orgs = {o.id: o for o in _all(Organisation)}
    activities = _all(ProcessingActivity)
    fiches = [a for a in activities if not a.is_model]
    per_org = Counter(a.organisation_id for a in fiches)
    assert set(per_org) == set(orgs)
    assert all(10 <= n <= 30 for n in per_org.values()), {orgs[k].name: n for k, n in per_org.items()}

    models = [a for a in activities if a.is_model]
    assert len([m for m in models if orgs[m.organisation_id].name == "SIIM94"]) >= 6
    assert all(m.completeness == 100 and len(m.applications) == 1 for m in models)

    by_name = {o.name: o for o in orgs.values()}
    for city in FOUNDING_CITIES:
        entries = [a for a in fiches if a.organisation_id == by_name[city].id and a.model_id is not None]
        assert len(entries) >= 5, city
        assert any(e.has_model_update for e in entries), city

    overridden = {
        (orgs[e.organisation_id].name, field)
        for e in fiches
        if e.model_id is not None
        for field in inheritance.overridden_fields(e)
    }
    assert ("Ivry-sur-Seine", "purpose") in overridden
    ivry_update = next(
        e for e in fiches if e.organisation_id == by_name["Ivry-sur-Seine"].id and e.has_model_update
    )
    changes = {c.field: c for c in inheritance.pending_changes(ivry_update)}
    assert changes["purpose"].is_overridden
    assert any(not c.is_overridden for c in changes.values())

    statuses = Counter(a.status for a in fiches)
    assert statuses[ActivityStatus.VALIDATED] > len(fiches) / 2
    assert statuses[ActivityStatus.DRAFT]
    assert statuses[ActivityStatus.IN_REVIEW]
    archived = Counter(a.organisation_id for a in fiches if a.status == ActivityStatus.ARCHIVED)
    assert archived == Counter(dict.fromkeys(orgs, 1))
    assert any(a.completeness < 100 for a in fiches)
    assert any(a.is_review_overdue for a in fiches)
    assert any(a.is_dpia_required for a in fiches)
    assert any(a.is_dpia_required and a.dpia_status.value == "done" for a in fiches)


def test_each_organisation_has_rights_requests_and_exactly_one_breach(app_ctx: Flask) -> None:
    run_demo_loaders()
    org_ids = {o.id for o in _all(Organisation)}
    requests = _all(RightsRequest)
    assert set(Counter(r.organisation_id for r in requests)) == org_ids
    today = rights.local_today()
    urgencies = Counter(rights.urgency(r, today) for r in requests)
    assert urgencies["overdue"] >= 1
    assert urgencies["due_this_week"] >= 1
    assert any(not r.is_open for r in requests)
    assert any(r.is_extended for r in requests)

    every = _all(Breach)
    # The SMSI's demo incident under way opened its own breaches (smsi/demo.py): running clocks.
    from_incidents = [b for b in every if b.source_incident_id is not None]
    assert from_incidents
    assert {breaches.clock(b, utcnow()).state for b in from_incidents} == {"running"}
    found = [b for b in every if b.source_incident_id is None]
    assert Counter(b.organisation_id for b in found) == Counter(dict.fromkeys(org_ids, 1))
    open_ones = [b for b in found if not b.is_closed]
    assert len(open_ones) == 1
    assert {o.name for o in _all(Organisation) if o.id == open_ones[0].organisation_id} == {"Ivry-sur-Seine"}
    clock = breaches.clock(open_ones[0], utcnow())
    assert clock.state == "running"
    assert 60 <= clock.hours_left < 72
    assert {breaches.clock(b).state for b in found if b.is_closed} >= {"notified_on_time", "not_required"}
    assert all(b.cnil_decision != NotificationDecision.PENDING for b in found if b.is_closed)


def test_loading_the_demo_twice_changes_nothing(app_ctx: Flask) -> None:
    run_demo_loaders()
    first = _counts()
    run_demo_loaders()
    assert _counts() == first


@pytest.mark.no_isolation
def test_registers_migration_downgrades_with_the_demo_registers(app: Flask) -> None:
    with app.app_context():
        alembic.upgrade()
        run_demo_loaders()
        db.session.commit()
        db.session.close()
    try:
        with app.app_context():
            alembic.downgrade("20261124c")
            assert "processing_activities" not in inspect(db.engine).get_table_names()
    finally:
        with app.app_context():  # leave an empty, migrated database to the tests that follow
            if "processing_activities" in inspect(db.engine).get_table_names():
                db.session.execute(text("UPDATE processing_activities SET model_id = NULL"))
                db.session.commit()
            db.session.close()
            reset_database()
