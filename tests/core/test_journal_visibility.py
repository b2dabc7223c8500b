"""The journal must not show what the reader may not read.

An entry's content (field-by-field changes, IP address: its erasable payload) is shown, on the page
and in the CSV export, only to whoever may read its object type in the organisation whose chain is
read (``core.journal.content_visible``); others see when, who, which action and which object. The
cases come from the registry each domain fills in its ``register(app)``: a new domain's object types
are covered without touching this file, and an object type nobody declared shows no content.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from markupsafe import escape
from sqlalchemy import select

from accounts.models import Organisation, User
from accounts.services import organisations, users
from catalogue.models import AppDomain, Application, Criticality, Hosting
from catalogue.services import applications as catalogue
from core import audit
from core.audit import PLATFORM_CHAIN, AuditEvent, Ref
from core.cli import run_demo_loaders
from core.extensions import db
from core.journal import OBJECT_TYPE_PERMISSIONS, content_visible, object_type_label
from core.security import Permission, Role, permissions_for
from registers import documents
from registers.models import ProcessingActivity
from registers.services import activities, dpia, publication
from registers.services.exchange import export
from tests import factories as f
from tests.conftest import World, acting_as

ACTION = "probe.visibility"
IP = "203.0.113.77"  # TEST-NET-3: appears nowhere else
HIDDEN = "contenu non visible pour votre rôle"
FIRST_ID = 7001


@pytest.fixture(autouse=True)
def signing_key_file(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "audit_signing_key.pem"
    monkeypatch.setitem(app.config, "AUDIT_SIGNING_KEY_FILE", str(path))
    return path


def object_types() -> list[str]:
    """Every object type some domain declared (the app fixture has registered them all)."""
    return sorted(OBJECT_TYPE_PERMISSIONS)


def permissions_of(role: Role) -> frozenset[Permission]:
    return permissions_for({role}, is_platform_admin=role == Role.ADMIN)


def may_read(role: Role, object_type: str) -> bool:
    return OBJECT_TYPE_PERMISSIONS[object_type] in permissions_of(role)


def in_request(app: Flask, action: Callable[[], Any]) -> Any:
    """Run ``action`` in a request from ``IP`` and commit, as a view would."""
    with app.test_request_context(environ_base={"REMOTE_ADDR": IP}):
        result = action()
        db.session.commit()
    return result


def record_one_entry_per_type(app: Flask, chain_org: Organisation | None, actor: User) -> dict[str, int]:
    """One entry about each declared object type, its content marked by the type's name."""
    ids = {t: FIRST_ID + i for i, t in enumerate(object_types())}

    def record() -> None:
        for object_type, object_id in ids.items():
            audit.record(
                chain_org.id if chain_org is not None else None,
                actor,
                ACTION,
                Ref(object_type, object_id),
                {"canary": (f"AVANT-{object_type}", f"APRES-{object_type}")},
            )

    in_request(app, record)
    return ids


def table_rows(page: str) -> dict[int, str]:
    """The journal's rows (the filter selects list every type too), by object id."""
    match = re.search(r"<tbody>(.*?)</tbody>", page, re.S)
    assert match, page[:2000]
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", match.group(1), re.S):
        found = re.search(r"n° (\d+)</span>", row)
        if found:
            rows[int(found.group(1))] = row
    return rows


def csv_rows(response: Any) -> dict[str, list[str]]:
    """The export's rows, by object type (one field changed: one row per entry)."""
    assert response.status_code == 200
    text = response.get_data().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))[1:]
    by_type = {row[5]: row for row in rows if row[4] == ACTION}
    assert len(by_type) == len([row for row in rows if row[4] == ACTION])
    return by_type


def assert_page_shows_content_exactly_when_readable(
    page: str, ids: dict[str, int], readable: Callable[[str], bool], actor_name: str
) -> None:
    rows = table_rows(page)
    for object_type, object_id in ids.items():
        row = rows[object_id]
        shown = readable(object_type)
        # Always: when, who, which action, which object.
        assert "<time datetime=" in row, object_type
        assert actor_name in row, object_type
        assert f"<code>{ACTION}</code>" in row, object_type
        assert str(escape(object_type_label(object_type))) in row, object_type  # as people name it
        # The content only for a reader of that object type.
        assert (f"AVANT-{object_type}" in row) is shown, object_type
        assert (f"APRES-{object_type}" in row) is shown, object_type
        assert ("canary" in row) is shown, object_type
        assert (IP in row) is shown, object_type
        assert (HIDDEN in row) is not shown, object_type


def assert_export_shows_content_exactly_when_readable(
    response: Any, ids: dict[str, int], readable: Callable[[str], bool], actor_name: str
) -> None:
    rows = csv_rows(response)
    assert set(rows) == set(ids)
    for object_type, object_id in ids.items():
        row = rows[object_type]
        assert row[0], object_type  # when
        assert row[2] == actor_name, object_type
        assert row[6] == str(object_id), object_type
        assert row[11], object_type  # the entry's hash: the export stays verifiable
        if readable(object_type):
            assert row[7:11] == ["canary", f"AVANT-{object_type}", f"APRES-{object_type}", IP], object_type
        else:
            assert row[7:11] == [HIDDEN, "", "", ""], object_type
        assert ("AVANT-" in ";".join(row)) is readable(object_type), object_type


# --- every declared object type × every role ----------------------------------------------------


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_page_and_export_show_an_entrys_content_exactly_to_readers_of_its_object_type(
    world: World, app: Flask, login_as: Any, role: Role
) -> None:
    actor = world.a.users[Role.DPO]
    ids = record_one_entry_per_type(app, world.a.syndicate, actor)
    client = login_as(world.a.users[role])

    page = client.get(f"/journal/?action={ACTION}&per_page=200")
    exported = client.post("/journal/export", data={"action": ACTION})

    if Permission.AUDIT_TRAIL_VIEW not in permissions_of(role):
        assert (page.status_code, exported.status_code) == (403, 403)
        return
    assert page.status_code == 200

    def readable(object_type: str) -> bool:
        return may_read(role, object_type)

    assert_page_shows_content_exactly_when_readable(
        page.get_data(as_text=True), ids, readable, actor.full_name
    )
    assert_export_shows_content_exactly_when_readable(exported, ids, readable, actor.full_name)


def test_the_platform_administrator_reads_no_register_content_but_keeps_the_journal(
    world: World, app: Flask, login_as: Any
) -> None:
    activity = f.ProcessingActivityFactory(organisation=world.a.syndicate, purpose="Finalité CANARY")
    rights_request = f.RightsRequestFactory(organisation=world.a.syndicate)
    f._SessionHolder.session.flush()

    def changes() -> None:
        audit.record(
            world.a.syndicate.id,
            world.a.users[Role.DPO],
            "activity.update",
            db.session.get(ProcessingActivity, activity.id),
            {"purpose": ("Finalité CANARY", "Finalité CANARY-APRES")},
        )
        audit.record(
            world.a.syndicate.id,
            world.a.users[Role.DPO],
            "rights_request.create",
            Ref("RightsRequest", rights_request.id),
            {"requester_contact": (None, "jeanne.canary@example.org")},
        )

    in_request(app, changes)
    admin = login_as(world.a.users[Role.ADMIN])

    pages = [
        admin.get("/journal/").get_data(as_text=True),
        admin.get("/journal/?object_type=ProcessingActivity").get_data(as_text=True),
        admin.post("/journal/export", data={}).get_data(as_text=True),
        admin.post("/journal/export", data={"object_type": "RightsRequest"}).get_data(as_text=True),
    ]
    dpo_page = login_as(world.a.users[Role.DPO]).get("/journal/").get_data(as_text=True)

    assert admin.get(f"/registers/activities/{activity.id}").status_code == 403
    for text in pages:
        assert "CANARY" not in text
        assert "jeanne.canary@example.org" not in text
        assert HIDDEN in text
    assert "<code>activity.update</code>" in pages[0]
    assert "<code>rights_request.create</code>" in pages[0]
    assert "CANARY-APRES" in dpo_page  # the positive control: the DPO reads the register
    assert "jeanne.canary@example.org" in dpo_page


def test_the_platform_chain_shows_content_exactly_to_what_the_administrator_may_read(
    world: World, app: Flask, login_as: Any
) -> None:
    actor = world.a.users[Role.ADMIN]
    ids = record_one_entry_per_type(app, None, actor)
    admin = login_as(actor)

    page = admin.get(f"/journal/?chain=platform&action={ACTION}&per_page=200")
    exported = admin.post("/journal/export", data={"chain": "platform", "action": ACTION})

    def readable(object_type: str) -> bool:
        return may_read(Role.ADMIN, object_type)

    assert "Plateforme : connexions, comptes et rôles" in page.get_data(as_text=True)
    assert_page_shows_content_exactly_when_readable(
        page.get_data(as_text=True), ids, readable, actor.full_name
    )
    assert_export_shows_content_exactly_when_readable(exported, ids, readable, actor.full_name)
    assert readable("User")  # logins and accounts: the platform administrators' own business
    assert not readable("ProcessingActivity")


def test_content_follows_the_role_held_in_the_organisation_whose_journal_is_read(
    world: World, app: Flask, login_as: Any
) -> None:
    """Administrator of A's syndicate and DPO of A's member city: the fiches of the city's journal
    are readable, those of the syndicate's journal are not."""
    person = world.a.users[Role.ADMIN]
    f.MembershipFactory(user=person, organisation=world.a.member, role=Role.DPO)
    f._SessionHolder.session.flush()

    def changes() -> None:
        for org, value in ((world.a.syndicate, "CANARY-SYNDICAT"), (world.a.member, "CANARY-VILLE")):
            audit.record(org.id, person, ACTION, Ref("ProcessingActivity", 1), {"name": (None, value)})

    in_request(app, changes)

    as_admin = login_as(person, world.a.syndicate)
    as_dpo = login_as(person, world.a.member)
    syndicate_page = as_admin.get("/journal/").get_data(as_text=True)
    syndicate_csv = as_admin.post("/journal/export", data={}).get_data(as_text=True)
    city_page = as_dpo.get("/journal/").get_data(as_text=True)
    city_csv = as_dpo.post("/journal/export", data={}).get_data(as_text=True)

    assert "CANARY-SYNDICAT" not in syndicate_page + syndicate_csv
    assert HIDDEN in syndicate_page
    assert HIDDEN in syndicate_csv
    assert "CANARY-VILLE" in city_page
    assert "CANARY-VILLE" in city_csv
    assert "CANARY-SYNDICAT" not in city_page + city_csv  # never another organisation's chain


# --- the registry -------------------------------------------------------------------------------


def test_an_object_type_nobody_declared_shows_no_content(world: World, app: Flask, login_as: Any) -> None:
    rssi = world.a.users[Role.RSSI]
    in_request(
        app,
        lambda: audit.record(
            world.a.syndicate.id, rssi, ACTION, Ref("Undeclared", 9), {"x": (None, "CANARY-UNDECLARED")}
        ),
    )
    client = login_as(rssi)

    page = client.get("/journal/").get_data(as_text=True)
    exported = client.post("/journal/export", data={}).get_data(as_text=True)

    assert "Undeclared" not in OBJECT_TYPE_PERMISSIONS
    assert "CANARY-UNDECLARED" not in page + exported
    assert HIDDEN in page
    assert HIDDEN in exported
    assert "<code>probe.visibility</code>" in page


def test_content_visible_is_deny_by_default(app: Flask, world: World) -> None:
    with app.test_request_context(), acting_as(world.a.users[Role.DPO], world.a.syndicate):
        assert content_visible("ProcessingActivity", world.a.syndicate.id)
        assert not content_visible("Undeclared", world.a.syndicate.id)
        assert not content_visible("ProcessingActivity", world.b.syndicate.id)  # not the chain read
        assert not content_visible("User", PLATFORM_CHAIN)


@pytest.fixture
def demo_like_journal(app: Flask, world: World, login_as: Any) -> Iterator[set[str]]:
    """The demo world, plus what it does not do: every kind of write the services journal."""
    syndicate, member = world.a.syndicate, world.a.member
    admin, dpo, rssi = world.a.users[Role.ADMIN], world.a.users[Role.DPO], world.a.users[Role.RSSI]
    in_request(app, run_demo_loaders)

    def as_(user: User, org: Organisation, action: Callable[[User], Any]) -> Any:
        def run() -> Any:
            with acting_as(db.session.get(User, user.id), org):
                return action(db.session.get(User, user.id))

        return in_request(app, run)

    def fiche(actor: User) -> ProcessingActivity:
        org = db.session.get(Organisation, syndicate.id)
        return activities.create_activity(org, actor, {"name": "Traitement CANARY", "purpose": "Finalité"})

    activity_id = as_(dpo, syndicate, lambda actor: fiche(actor).id)
    as_(dpo, syndicate, lambda actor: dpia.export_pia(db.session.get(ProcessingActivity, activity_id), actor))
    as_(
        dpo,
        syndicate,
        lambda actor: documents.generate_register(db.session.get(Organisation, syndicate.id), actor),
    )
    as_(
        dpo,
        syndicate,
        lambda actor: export.export_register(db.session.get(Organisation, syndicate.id), actor, "csv"),
    )
    as_(
        dpo,
        syndicate,
        lambda actor: publication.save_publication(
            db.session.get(Organisation, syndicate.id),
            actor,
            {"is_published": True, "slug": "syndicat-a-canary", "fields": ["name"]},
        ),
    )
    application = {
        "name": "Application CANARY",
        "editor": "Éditeur",
        "domain": AppDomain.RH.value,
        "hosting": Hosting.SAAS.value,
        "criticality": Criticality.ELEVEE.value,
    }
    as_(
        rssi,
        syndicate,
        lambda actor: catalogue.create_application(
            db.session.get(Organisation, syndicate.id), actor, application
        ),
    )
    as_(
        rssi,
        syndicate,
        lambda actor: catalogue.subscribe(
            db.session.get(Application, world.a.application.id),
            db.session.get(Organisation, syndicate.id),
            actor,
            {"started_on": dt.date(2026, 1, 1)},
        ),
    )
    new_user = {"full_name": "Nadia CANARY", "email": "nadia.canary@example.org", "password": "x" * 16}
    user_id = as_(admin, syndicate, lambda actor: users.create_user(actor, new_user).id)
    as_(
        admin,
        syndicate,
        lambda actor: users.grant_role(
            db.session.get(User, user_id), db.session.get(Organisation, member.id), Role.READER, actor
        ),
    )

    def set_city(actor: User) -> Any:
        org = db.session.get(Organisation, syndicate.id)
        return organisations.update_organisation(
            org, actor, {"name": org.name, "city": "Créteil", "version": org.version}
        )

    as_(rssi, syndicate, set_city)
    login_as(rssi).post("/journal/export", data={})
    with app.app_context():
        yield set(db.session.scalars(select(AuditEvent.object_type).distinct()))


def test_the_registry_declares_every_object_type_the_services_journal(demo_like_journal: set[str]) -> None:
    expected_at_least = {
        "Organisation",
        "User",
        "Membership",
        "Application",
        "Subscription",
        "ProcessingActivity",
        "RightsRequest",
        "Breach",
        "GeneratedReport",
        "Register",
        "RegisterPublication",
        "AuditJournal",
    }

    assert expected_at_least <= demo_like_journal  # the set below really exercised the services
    assert demo_like_journal - set(OBJECT_TYPE_PERMISSIONS) == set()


def test_the_platform_administrator_reads_no_register_incident_risk_or_audit_content() -> None:
    admin = permissions_of(Role.ADMIN)
    content_permissions = {
        Permission.REGISTERS_VIEW,
        Permission.SMSI_VIEW,
        Permission.RISKS_VIEW,
        Permission.AUDITS_VIEW,
        Permission.REPORTS_VIEW,
    }

    readable = {t for t, p in OBJECT_TYPE_PERMISSIONS.items() if p in admin}

    assert not admin & content_permissions
    assert all(OBJECT_TYPE_PERMISSIONS[t] not in content_permissions for t in readable)
    assert {"ProcessingActivity", "RightsRequest", "Breach", "GeneratedReport"}.isdisjoint(readable)
