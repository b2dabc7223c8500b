"""The journal pages: the active organisation's entries only, field-by-field changes, filters, the
integrity verdict, and a CSV export that neutralises formulas and is itself journalled."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_login import current_user
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from accounts.models import Organisation, User
from accounts.services import organisations, users
from core import audit
from core.audit import AuditEvent, AuditPayload, Ref
from core.extensions import db
from core.journal import FORMULA_STARTS, OBJECT_TYPE_PERMISSIONS, neutralise
from core.security import Permission, Role
from tests import factories as f
from tests.conftest import World, acting_as

HEADER = [
    "Horodatage (UTC)",
    "N°",
    "Utilisateur",
    "Id utilisateur",
    "Action",
    "Type d'objet",
    "Id objet",
    "Champ",
    "Avant",
    "Après",
    "Adresse IP",
    "Empreinte",
    "Date (heure de Paris)",
    "Action (libellé)",
    "Objet",
    "Champ (libellé)",
    "Avant (lu)",
    "Après (lu)",
]


@pytest.fixture(autouse=True)
def signing_key_file(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "audit_signing_key.pem"
    monkeypatch.setitem(app.config, "AUDIT_SIGNING_KEY_FILE", str(path))
    return path


@pytest.fixture(autouse=True)
def readable_probe_types(monkeypatch: pytest.MonkeyPatch) -> None:
    """The made-up object types below, readable by the journal's readers (an undeclared type shows
    no content: see test_journal_visibility.py)."""
    for name in ("Probe", "Formula"):
        monkeypatch.setitem(OBJECT_TYPE_PERMISSIONS, name, Permission.AUDIT_TRAIL_VIEW)


def as_user(app: Flask, user: Any, org: Any, action: Callable[[Any], Any]) -> Any:
    """Run a service as ``user`` (with ``org`` active) in its own request, and commit, as a view would."""
    with app.test_request_context():
        fresh = db.session.get(User, user.id)  # the fixture's copy may be stale (logins write to it)
        with acting_as(fresh, org):
            result = action(current_user._get_current_object())
            db.session.commit()
    return result


def in_app(app: Flask, action: Callable[[], Any]) -> Any:
    with app.test_request_context():
        result = action()
        db.session.commit()
    return result


def set_city(org_id: int, city: str) -> Callable[[Any], Any]:
    def change(actor: Any) -> Any:
        org = db.session.get(Organisation, org_id)
        return organisations.update_organisation(
            org, actor, {"name": org.name, "city": city, "version": org.version}
        )

    return change


def body(response: Any) -> str:
    return response.get_data(as_text=True)


def table_of(page: str) -> str:
    """The journal's rows only (the filter selects list every action and type too)."""
    match = re.search(r"<tbody>(.*?)</tbody>", page, re.S)
    return match.group(1) if match else ""


def csv_rows(response: Any) -> list[list[str]]:
    data = response.get_data()
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM, for French Excel
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))


def journal_events(app: Flask, chain: int, action: str) -> list[tuple[AuditEvent, dict[str, Any] | None]]:
    with app.app_context():
        rows = db.session.execute(
            select(AuditEvent, AuditPayload.data)
            .join(AuditPayload, AuditPayload.event_id == AuditEvent.id)
            .where(AuditEvent.chain == chain, AuditEvent.action == action)
            .order_by(AuditEvent.seq)
        )
        return [(row.AuditEvent, row.data) for row in rows]


@pytest.fixture
def rssi_a(world: World, login_as: Any) -> FlaskClient:
    return login_as(world.a.users[Role.RSSI])


# --- what the journal shows -------------------------------------------------------------------


def test_journal_shows_who_changed_which_field_from_what_to_what(
    world: World, app: Flask, rssi_a: FlaskClient
) -> None:
    as_user(app, world.a.users[Role.RSSI], world.a.syndicate, set_city(world.a.syndicate.id, "Créteil"))

    response = rssi_a.get("/journal/")
    rows = table_of(body(response))

    assert response.status_code == 200
    assert "<code>organisation.update</code>" in rows
    assert "rssi A" in rows
    # The field as on the organisation form ("Commune", not the column ``city``).
    assert re.search(r"<dt[^>]*>Commune</dt>\s*<dd[^>]*>.*Ivry-sur-Seine.*→.*Créteil", rows, re.S)
    assert "Journal intègre" in body(response)


def test_journal_never_shows_another_organisations_entries(
    world: World, app: Flask, rssi_a: FlaskClient, login_as: Any
) -> None:
    as_user(
        app, world.b.users[Role.RSSI], world.b.syndicate, set_city(world.b.syndicate.id, "CANARY-B-JOURNAL")
    )
    as_user(app, world.a.users[Role.RSSI], world.a.syndicate, set_city(world.a.syndicate.id, "Vitry-A"))

    pages = [
        rssi_a.get("/journal/"),
        rssi_a.get(f"/journal/?chain={world.b.syndicate.id}"),
        rssi_a.get("/journal/?chain=platform"),
        rssi_a.get(f"/journal/?object_id={world.b.syndicate.id}&object_type=Organisation"),
        rssi_a.post("/journal/export", data={"chain": str(world.b.syndicate.id)}),
    ]
    control = login_as(world.b.users[Role.RSSI]).get("/journal/")

    assert [p.status_code for p in pages] == [200] * 5
    assert all("CANARY-B-JOURNAL" not in body(p) for p in pages)
    assert "Vitry-A" in body(pages[0])
    assert "Vitry-A" in body(pages[4])
    assert "CANARY-B-JOURNAL" in body(control)  # the positive control: B's own RSSI sees it


def test_the_platform_chain_is_shown_to_platform_admins_only(
    world: World, app: Flask, login_as: Any, rssi_a: FlaskClient
) -> None:
    new_user = {"full_name": "Nadia CANARY", "email": "nadia@example.org", "password": "x" * 16}
    as_user(
        app, world.a.users[Role.ADMIN], world.a.syndicate, lambda actor: users.create_user(actor, new_user)
    )
    admin = login_as(world.a.users[Role.ADMIN])

    platform = body(admin.get("/journal/?chain=platform"))
    own = body(admin.get("/journal/"))
    refused = body(rssi_a.get("/journal/?chain=platform"))

    assert "Nadia CANARY" in table_of(platform)
    assert "<code>user.create</code>" in table_of(platform)
    assert "Plateforme : connexions, comptes et rôles" in platform
    assert "Nadia CANARY" not in own
    assert "Nadia CANARY" not in refused
    assert 'name="chain"' in own
    assert 'name="chain"' not in refused  # no chain selector for an organisation's RSSI


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.RSSI, 200),
        (Role.DPO, 200),
        (Role.AUDITOR, 200),
        (Role.ADMIN, 200),
        (Role.REFERENT, 403),
        (Role.READER, 403),
    ],
)
def test_journal_is_for_the_rssi_dpo_auditor_and_admin(
    world: World, login_as: Any, role: Role, status: int
) -> None:
    client = login_as(world.a.users[role])

    page = client.get("/journal/")
    export = client.post("/journal/export", data={})
    home = body(client.get("/"))

    assert page.status_code == status
    assert export.status_code == status
    assert ('href="/journal/"' in home) is (status == 200)


def test_anonymous_visitors_are_sent_to_login_and_export_needs_post(app: Flask, rssi_a: FlaskClient) -> None:
    anonymous = app.test_client()

    assert anonymous.get("/journal/").location.startswith("/login")
    assert anonymous.post("/journal/export").location.startswith("/login")
    assert rssi_a.get("/journal/export").status_code == 405


# --- filters ----------------------------------------------------------------------------------


def test_filters_by_user_action_object_and_period(world: World, app: Flask, rssi_a: FlaskClient) -> None:
    syndicate_id = world.a.syndicate.id
    rssi, dpo = world.a.users[Role.RSSI], world.a.users[Role.DPO]

    def probes() -> None:
        audit.record(syndicate_id, rssi, "probe.alpha", Ref("Alpha", 11), {"x": (None, "un")})
        audit.record(syndicate_id, dpo, "probe.beta", Ref("Beta", 22), {"x": (None, "deux")})

    in_app(app, probes)
    today = dt.datetime.now(ZoneInfo("Europe/Paris")).date()
    day = dt.timedelta(days=1)

    def shown(query: str) -> set[str]:
        rows = table_of(body(rssi_a.get(f"/journal/?{query}")))
        return {name for name in ("probe.alpha", "probe.beta") if f"<code>{name}</code>" in rows}

    assert shown("") == {"probe.alpha", "probe.beta"}
    assert shown(f"user={dpo.id}") == {"probe.beta"}
    assert shown("action=probe.alpha") == {"probe.alpha"}
    assert shown("action=probe") == {"probe.alpha", "probe.beta"}  # a prefix finds the family
    assert shown("object_type=Beta") == {"probe.beta"}
    assert shown("object_id=11") == {"probe.alpha"}
    assert shown(f"from={today}&to={today}") == {"probe.alpha", "probe.beta"}
    assert shown(f"from={today + day}") == set()
    assert shown(f"to={today - day}") == set()


def test_junk_filters_give_the_page_never_an_error(rssi_a: FlaskClient) -> None:
    junk = "?page=abc&per_page=-5&user=x&object_id=-3&from=2026-13-45&to=zzz&chain=%00&action=%27%22%3C"

    response = rssi_a.get("/journal/" + junk)

    assert response.status_code == 200
    assert "Journal d'audit" in body(response)


# --- the integrity verdict ----------------------------------------------------------------------


def test_verdict_panel_reports_integrity_then_the_first_broken_entry(
    world: World, app: Flask, rssi_a: FlaskClient
) -> None:
    syndicate_id = world.a.syndicate.id
    for city in ("Créteil", "Orly", "Thiais"):
        as_user(app, world.a.users[Role.RSSI], world.a.syndicate, set_city(syndicate_id, city))
    in_app(app, audit.anchor_heads)

    quick = body(rssi_a.get("/journal/"))  # the page's quick check starts after the last anchor
    intact = body(rssi_a.get("/journal/?full=1"))

    def tamper() -> None:
        if db.session.get_bind().dialect.name == "postgresql":
            db.session.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        db.session.execute(
            text("UPDATE audit_events SET action = 'organisation.view' WHERE chain = :c AND seq = 2"),
            {"c": syndicate_id},
        )

    in_app(app, tamper)
    broken = body(rssi_a.get("/journal/?full=1"))

    assert 'class="alert alert-success' in quick
    assert "Journal intègre depuis l&#39;ancre signée n° 3" in quick
    assert "Lancer la vérification complète" in quick
    assert 'class="alert alert-success' in intact
    assert "Journal intègre : 3 entrées vérifiées, dernière ancre signée le" in intact
    assert "vérifié jusqu&#39;à l&#39;ancre n° 3" in intact
    assert 'class="alert alert-danger' in broken
    assert "Journal altéré : première entrée en défaut n° 2" in broken


# --- CSV export ---------------------------------------------------------------------------------


def test_csv_export_has_one_row_per_changed_field_and_is_itself_journalled(
    world: World, app: Flask, rssi_a: FlaskClient
) -> None:
    syndicate_id = world.a.syndicate.id

    def update(actor: Any) -> Any:
        org = db.session.get(Organisation, syndicate_id)
        data = {"name": org.name, "city": "Créteil", "postal_code": "94000", "version": org.version}
        return organisations.update_organisation(org, actor, data)

    as_user(app, world.a.users[Role.RSSI], world.a.syndicate, update)

    response = rssi_a.post("/journal/export", data={"action": "organisation.update"})
    rows = csv_rows(response)
    exported = journal_events(app, syndicate_id, "journal.export")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert re.fullmatch(
        rf'attachment; filename="journal-{syndicate_id}-\d{{8}}-\d{{6}}\.csv"',
        response.headers["Content-Disposition"],
    )
    assert rows[0] == HEADER
    changes = {(r[4], r[7], r[8], r[9]) for r in rows[1:]}
    assert changes == {
        ("organisation.update", "city", "Ivry-sur-Seine", "Créteil"),
        ("organisation.update", "postal_code", "", "94000"),
    }
    assert {r[2] for r in rows[1:]} == {"rssi A"}
    # The same entries as the page reads them, after the stored ones.
    read = {(r[13], r[15], r[16], r[17]) for r in rows[1:]}
    assert read == {
        ("Organisation modifiée", "Commune", "Ivry-sur-Seine", "Créteil"),
        ("Organisation modifiée", "Code postal", "—", "94000"),
    }
    assert all(re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d", r[12]) for r in rows[1:]), rows[1][12]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00", r[0]) for r in rows[1:])
    assert len(exported) == 1
    event, data = exported[0]
    assert event.actor_id == world.a.users[Role.RSSI].id
    assert (event.object_type, event.object_id) == ("AuditJournal", syndicate_id)
    assert data["changes"] == {"filters": [None, {"action": "organisation.update"}], "events": [None, 1]}
    with app.app_context():
        assert audit.verify_chain(syndicate_id).ok


def test_export_of_an_erased_entry_says_so(world: World, app: Flask, rssi_a: FlaskClient) -> None:
    person = world.a.users[Role.DPO]
    in_app(
        app,
        lambda: audit.record(world.a.syndicate.id, person, "probe.personal", Ref("Probe", 5), {"x": (1, 2)}),
    )
    in_app(app, lambda: audit.erase_personal_data(person.id, None))

    rows = csv_rows(rssi_a.post("/journal/export", data={"action": "probe.personal"}))
    page = body(rssi_a.get("/journal/?action=probe.personal"))

    assert [r[7:10] for r in rows[1:]] == [["détail effacé (RGPD)", "", ""]]
    assert "détail effacé (RGPD)" in table_of(page)
    assert "Le détail d&#39;une entrée a été effacé (RGPD)" in page


def test_exported_cells_starting_like_a_formula_are_neutralised(
    world: World, app: Flask, rssi_a: FlaskClient
) -> None:
    actor = f.UserFactory(full_name='=HYPERLINK("http://evil.example/","clic")')
    in_app(
        app,
        lambda: audit.record(
            world.a.syndicate.id, actor, "probe.name", Ref("Probe", 9), {"n": (-1, "@SUM(A1)")}
        ),
    )

    rows = csv_rows(rssi_a.post("/journal/export", data={"action": "probe.name"}))

    assert rows[1][2] == '\'=HYPERLINK("http://evil.example/","clic")'
    assert rows[1][8:10] == ["'-1", "'@SUM(A1)"]
    assert rows[1][4] == "probe.name"  # ordinary cells are left alone


_probe_ids = itertools.count(1000)
FORMULA_TEXT = st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), max_size=15)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    value=st.sampled_from(["=", "+", "-", "@", "\t", "\r"]).flatmap(
        lambda c: FORMULA_TEXT.map(lambda t: c + t)
    )
)
def test_csv_export_neutralises_any_formula_stored_in_the_journal(
    world: World, app: Flask, rssi_a: FlaskClient, value: str
) -> None:
    probe = next(_probe_ids)
    in_app(
        app,
        lambda: audit.record(
            world.a.syndicate.id, None, "probe.formula", Ref("Formula", probe), {"v": (value, value)}
        ),
    )

    response = rssi_a.post("/journal/export", data={"object_type": "Formula", "object_id": str(probe)})
    rows = csv_rows(response)

    assert len(rows) == 2
    assert rows[1][7:10] == ["v", "'" + value, "'" + value]


@given(value=st.text(max_size=20))
def test_neutralise_prefixes_exactly_the_cells_a_spreadsheet_would_evaluate(value: str) -> None:
    result = neutralise(value)

    if value[:1] in FORMULA_STARTS and value:
        assert result == "'" + value
    else:
        assert result == value
    assert set(FORMULA_STARTS) == {"=", "+", "-", "@", "\t", "\r", "\0"}


def test_actions_are_shown_with_a_readable_label(world: World, app: Flask, rssi_a: FlaskClient) -> None:
    as_user(app, world.a.users[Role.RSSI], world.a.syndicate, set_city(world.a.syndicate.id, "Choisy"))
    page = body(rssi_a.get("/journal/"))
    assert "Organisation modifiée" in page
    assert "<code>organisation.update</code>" in page


def test_the_action_label_filter_is_the_journals_and_reads_every_domains_labels(app: Flask) -> None:
    # Registered by the journal (core.journal.views), not by one domain: any domain's page may use it.
    with app.test_request_context("/"):
        template = app.jinja_env.from_string("{{ 'breach.create'|action_label }} / {{ 'x.y'|action_label }}")
        assert template.render() == "Violation de données consignée / x.y"
