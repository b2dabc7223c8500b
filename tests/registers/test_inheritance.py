"""Models and inherited entries: override kept, model change flagged, accept applies it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from catalogue.services import applications as catalogue
from core.audit import AuditEvent
from core.concurrency import EditConflict
from core.extensions import db
from core.security import Role
from core.tenancy import UNSCOPED
from registers.models import ActivityStatus, ActivityVersion, ProcessingActivity
from registers.services import activities as acts
from registers.services import inheritance
from tests import factories as f
from tests.conftest import acting_as

pytestmark = pytest.mark.usefixtures("app_ctx")

MODEL = {
    "name": "Inscriptions scolaires et périscolaires",
    "purpose": "Gestion des inscriptions et de la facturation des activités périscolaires",
    "legal_basis": "6.1.e",
    "legal_basis_text": "Code de l'éducation, art. L131-5",
    "data_subjects": ["enfants_mineurs", "representants_legaux"],
    "data_categories": [
        {
            "category": "etat_civil",
            "details": "nom, prénom",
            "active": "scolarité",
            "intermediate": "1 an",
            "final": "destruction",
        }
    ],
    "recipients": [{"type": "interne", "name": "Service enfance", "organisation_id": None}],
    "security_measures": [{"measure": "controle_acces", "details": "comptes nominatifs"}],
}


def unscoped(stmt: Any) -> Any:
    return stmt.execution_options(**UNSCOPED)


def entry_of(model: ProcessingActivity, org_id: int) -> ProcessingActivity:
    return db.session.scalar(
        unscoped(
            select(ProcessingActivity).where(
                ProcessingActivity.model_id == model.id, ProcessingActivity.organisation_id == org_id
            )
        )
    )


@pytest.fixture
def model(world: Any) -> ProcessingActivity:
    a = world.a
    with acting_as(a.users[Role.DPO], a.syndicate):
        return acts.create_activity(
            db.session.merge(a.syndicate),
            None,
            {**MODEL, "application_ids": [a.application.id]},
            is_model=True,
        )


def test_a_model_gives_each_subscriber_an_inherited_draft(world: Any, model: ProcessingActivity) -> None:
    entry = entry_of(model, world.a.member.id)
    assert entry is not None
    assert entry.status == ActivityStatus.DRAFT
    assert entry.name == MODEL["name"]
    assert entry.data_categories == MODEL["data_categories"]
    assert [a.id for a in entry.applications] == [world.a.application.id]
    assert entry.synced_model_version == model.content_version == 1
    assert inheritance.overridden_fields(entry) == set()
    # Not in tenant B, which does not use the application.
    assert entry_of(model, world.b.member.id) is None
    assert db.session.scalar(unscoped(select(ActivityVersion).where(ActivityVersion.activity_id == entry.id)))


def test_model_change_is_flagged_and_accept_applies_it_but_keeps_the_override(
    world: Any, model: ProcessingActivity
) -> None:
    entry = entry_of(model, world.a.member.id)
    # The member overrides the purpose locally.
    acts.update_activity(
        entry, None, {**acts.content_of(entry), "purpose": "Notre finalité locale", "version": entry.version}
    )
    assert inheritance.overridden_fields(entry) == {"purpose"}
    # The syndicate's DPO changes the purpose and the legal text of the model.
    acts.update_activity(
        model,
        None,
        {
            **acts.content_of(model),
            "purpose": "Nouvelle finalité",
            "legal_basis_text": "CASF",
            "version": model.version,
        },
    )
    assert model.content_version == 2
    db.session.refresh(entry)
    assert entry.has_model_update
    assert entry.legal_basis_text == MODEL["legal_basis_text"]  # nothing overwritten silently
    changes = {c.field: c for c in inheritance.pending_changes(entry)}
    assert set(changes) == {"purpose", "legal_basis_text"}
    assert changes["purpose"].is_overridden
    assert not changes["purpose"].applies_by_default
    assert changes["legal_basis_text"].applies_by_default
    inheritance.accept_model_update(entry, None, ["legal_basis_text"], entry.version)
    assert entry.legal_basis_text == "CASF"
    assert entry.purpose == "Notre finalité locale"
    assert not entry.has_model_update
    assert inheritance.pending_changes(entry) == []
    assert inheritance.overridden_fields(entry) == {"purpose"}
    actions = db.session.scalars(
        unscoped(
            select(AuditEvent.action).where(
                AuditEvent.object_id == entry.id, AuditEvent.object_type == "ProcessingActivity"
            )
        )
    ).all()
    assert "activity.model_accept" in actions


def test_accept_with_a_stale_form_is_a_conflict(world: Any, model: ProcessingActivity) -> None:
    entry = entry_of(model, world.a.member.id)
    acts.update_activity(model, None, {**acts.content_of(model), "purpose": "V2", "version": model.version})
    with pytest.raises(EditConflict):
        inheritance.accept_model_update(entry, None, ["purpose"], entry.version - 1)


def test_new_subscription_creates_the_entry_and_ending_it_proposes_archiving(
    world: Any, model: ProcessingActivity
) -> None:
    newcomer = f.OrganisationFactory(name="Ville nouvelle", syndicate=world.a.syndicate)
    db.session.flush()
    app = db.session.merge(world.a.application)
    sub = catalogue.subscribe(app, newcomer, None, {"started_on": dt.date(2026, 1, 1)})
    entry = entry_of(model, newcomer.id)
    assert entry is not None
    assert entry.model_id == model.id
    catalogue.end_subscription(sub, None, {"ended_on": dt.date(2026, 6, 30), "version": sub.version})
    db.session.refresh(entry)
    assert entry.is_archive_proposed
    assert entry.status != ActivityStatus.ARCHIVED  # proposed, not done


def test_a_reference_taken_meanwhile_by_another_request_gives_the_next_one(
    world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race between reading the next free reference and inserting: the unique constraint
    fires, the creation runs again in its savepoint and takes the following number (no 500)."""
    member = db.session.merge(world.a.member)
    with acting_as(world.a.member_referent, member):
        first = acts.create_activity(member, None, {"name": "Premier"})
        assert first.reference == "TRT-001"
        stale = iter(["TRT-001"])  # what a concurrent request would have read before our insert
        real = acts.next_reference
        monkeypatch.setattr(
            acts, "next_reference", lambda org_id, prefix="TRT": next(stale, None) or real(org_id, prefix)
        )
        monkeypatch.setattr(acts, "_check", lambda *args: None)  # the check ran before the other insert
        second = acts.create_activity(member, None, {"name": "Second"})
        assert second.reference == "TRT-002"
        assert second.id is not None
