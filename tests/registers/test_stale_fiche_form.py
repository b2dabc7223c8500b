"""A fiche form read before somebody else saved the fiche: the conflict page (409), even when one of
the form's values is no longer a choice the fiche offers (seen with 50 sessions editing 20 fiches
on two servers, tests/scale/test_concurrent_edits.py: a 422 "not a valid choice" instead)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from core.security import Role
from registers.models import ActivityStatus
from tests import factories as f
from tests.conftest import World


def test_a_stale_form_whose_status_is_no_longer_offered_gets_the_conflict_page(
    world: World, login_as: Any, session: Any
) -> None:
    fiche = f.ProcessingActivityFactory(organisation=world.a.syndicate, status=ActivityStatus.VALIDATED)
    session.flush()
    referent = login_as(world.a.users[Role.REFERENT], world.a.syndicate)
    page = referent.get(f"/registers/activities/{fiche.id}/edit").get_data(as_text=True)
    assert '<option selected value="validated">' in page  # offered: it is the fiche's status
    read = fiche.version
    # Meanwhile somebody else's edit sends the fiche back to review: "validated" is no longer
    # offered to a referent.
    session.execute(
        text("UPDATE processing_activities SET status = 'in_review', version = version + 1 WHERE id = :id"),
        {"id": fiche.id},
    )
    session.expire_all()
    response = referent.post(
        f"/registers/activities/{fiche.id}/edit",
        data={"name": "Ma saisie", "status": "validated", "version": read, "purpose": "Finalité"},
    )
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert 'id="conflict"' in html
    assert "Ma saisie" in html  # what was typed is kept


def test_a_current_form_with_a_status_not_offered_is_still_a_form_to_correct(
    world: World, login_as: Any, session: Any
) -> None:
    fiche = f.ProcessingActivityFactory(organisation=world.a.syndicate, status=ActivityStatus.DRAFT)
    session.flush()
    referent = login_as(world.a.users[Role.REFERENT], world.a.syndicate)
    response = referent.post(
        f"/registers/activities/{fiche.id}/edit",
        data={"name": "Ma saisie", "status": "validated", "version": fiche.version, "purpose": "Finalité"},
    )
    assert response.status_code == 422
    assert 'id="conflict"' not in response.get_data(as_text=True)
