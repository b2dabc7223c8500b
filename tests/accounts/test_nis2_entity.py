"""What an organisation declares itself under NIS2: one of three values, checked by the database too
(the column's CHECK, added by migration 20261203o on SQLite and PostgreSQL alike); shown on its page
and edited through its form, journalled."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from accounts.models import Nis2Entity, Organisation
from core.audit.models import AuditEvent, AuditPayload
from core.security import Role
from tests.conftest import World


def test_the_database_refuses_another_value(world: World, session: Any) -> None:
    org_id = world.a.syndicate.id
    assert session.get(Organisation, org_id).nis2_entity is Nis2Entity.NONE  # the default
    with pytest.raises(IntegrityError):
        session.execute(text("UPDATE organisations SET nis2_entity = 'bogus' WHERE id = :id"), {"id": org_id})
    session.rollback()


def test_the_form_sets_it_and_the_journal_says_so(world: World, login_as: Any, session: Any) -> None:
    admin = login_as(world.a.users[Role.ADMIN], world.a.syndicate)
    org = session.get(Organisation, world.a.syndicate.id)
    form_page = admin.get(f"/organisations/{org.id}/edit").get_data(as_text=True)
    assert 'name="nis2_entity"' in form_page
    data = {
        "name": org.name,
        "kind": org.kind.value,
        "relation": org.relation.value,
        "nis2_entity": "essential",
    }
    data["version"] = str(org.version)
    response = admin.post(f"/organisations/{org.id}/edit", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    session.expire_all()
    assert session.get(Organisation, org.id).nis2_entity is Nis2Entity.ESSENTIAL
    assert "Entité essentielle" in admin.get(f"/organisations/{org.id}").get_data(as_text=True)
    payloads = session.scalars(
        select(AuditPayload.data)
        .join(AuditEvent, AuditEvent.id == AuditPayload.event_id)
        .where(AuditEvent.object_type == "Organisation", AuditEvent.object_id == org.id)
    ).all()
    assert any("nis2_entity" in str(data) and "essential" in str(data) for data in payloads)
