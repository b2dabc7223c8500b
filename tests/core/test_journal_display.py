"""The journal as an auditor reads it: fields and values as on the forms (never a column name, a code,
a JSON array or a class name), one date format in Paris time, links to the objects the reader may open,
50 entries a page, long values folded but complete, and one lookup of each kind a page."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from flask_babel import force_locale
from sqlalchemy import event, select

from core import audit
from core.audit import AuditEvent, AuditPayload, Ref
from core.extensions import db
from core.forms import form_labels
from core.journal import (
    JOURNAL_TYPES,
    OBJECT_TYPE_PERMISSIONS,
    JournalType,
    plain_text,
    register_journal_types,
)
from core.security import Role
from registers.forms.breaches import BreachForm
from tests import factories as f
from tests.conftest import World
from tests.core.test_journal_visibility import demo_like_journal as demo_like_journal  # a fixture
from tests.core.test_journal_visibility import in_request

LONG_PURPOSE = ("Instruction des demandes d'aide sociale facultative " * 45).strip()  # 2,339 characters


def rows_of(page: str) -> list[str]:
    body = re.search(r"<tbody>(.*?)</tbody>", page, re.S)
    assert body, page[:1000]
    return re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)


def text_of(fragment: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment))).strip()


def changes_of(row: str) -> dict[str, str]:
    """Field label → "before → after", as read on the page (preview of folded values left out)."""
    row = re.sub(r'<span class="journal-preview">.*?</span>', "", row, flags=re.S)
    row = re.sub(r"<summary>.*?</summary>", "", row, flags=re.S)
    pairs = re.findall(r"<dt[^>]*>(.*?)</dt>\s*<dd[^>]*>(.*?)</dd>", row, re.S)
    return {
        text_of(label): text_of(re.sub(r'<span class="visually-hidden">.*?</span>', "", value))
        for label, value in pairs
    }


def record(
    app: Flask, org_id: int | None, actor: Any, action: str, obj: Any, changes: dict[str, Any]
) -> None:
    in_request(app, lambda: audit.record(org_id, actor, action, obj, changes))


@pytest.fixture
def dpo(world: World, login_as: Any) -> Any:
    return login_as(world.a.users[Role.DPO])


# --- labels and values --------------------------------------------------------------------------


def test_every_field_the_services_journal_reads_as_on_its_form(
    app: Flask,
    world: World,
    demo_like_journal: set[str],
    login_as: Any,
) -> None:
    # What the fixture's services do not journal: a failed sign-in, a logout.
    app.test_client().post("/login", data={"email": world.a.users[Role.READER].email, "password": "wrong"})
    login_as(world.a.users[Role.READER]).post("/logout")
    with app.app_context():
        rows = db.session.execute(
            select(AuditEvent.object_type, AuditPayload.data).join(
                AuditPayload, AuditPayload.event_id == AuditEvent.id
            )
        ).all()
    seen = {(t, name) for t, data in rows if data for name in (data.get("changes") or {})}
    assert {("User", "reason"), ("User", "session_id"), ("Breach", "closed_on")} <= seen  # the walk saw them
    unlabelled = sorted(
        (t, name) for t, name in seen if name not in getattr(JOURNAL_TYPES.get(t), "fields", {})
    )
    assert unlabelled == []
    assert sorted(t for t in demo_like_journal if t not in JOURNAL_TYPES) == []


def test_a_breach_update_reads_like_the_breach_form(app: Flask, world: World, session: Any, dpo: Any) -> None:
    breach = f.BreachFactory(organisation=world.a.syndicate, title="Perte d'une clé USB")
    session.flush()
    record(
        app,
        world.a.syndicate.id,
        world.a.users[Role.DPO],
        "breach.update",
        Ref("Breach", breach.id),
        {
            "cnil_decision": ("pending", "notified"),
            "closed_on": (None, "2026-03-02"),
            "is_closed": (False, True),
            "natures": (["confidentialite"], ["confidentialite", "disponibilite"]),
            "cnil_notified_at": (None, "2026-01-15T23:30:00+00:00"),
        },
    )
    page = dpo.get("/journal/").get_data(as_text=True)
    row = rows_of(page)[0]
    with app.test_request_context():
        labels = {k: str(v) for k, v in form_labels(BreachForm).items()}
    assert changes_of(row) == {
        labels[
            "natures"
        ]: "Atteinte à la confidentialité → Atteinte à la confidentialité Atteinte à la disponibilité",
        labels["cnil_decision"]: "À décider → Notifiée",
        labels["cnil_notified_at"]: "— → 16/01/2026 00:30",  # Paris time (UTC+1 in January)
        labels["is_closed"]: "Non → Oui",
        labels["closed_on"]: "— → 02/03/2026",
    }
    shown = text_of(row)
    for raw in ("closed_on", "notified", "cnil_decision", "[", "Breach n°", "T23:30"):
        assert raw not in shown, raw
    title = f"Violation de données — {breach.reference} — Perte d&#39;une clé USB"
    assert f'<a href="/registers/breaches/{breach.id}">{title}</a>' in row
    # One date format on the page: the entry's own time too.
    assert re.search(r"<time datetime=\"[^\"]+\">\d{2}/\d{2}/\d{4} \d{2}:\d{2}</time>", row)


def test_a_fiche_change_reads_like_the_fiche(app: Flask, world: World, session: Any, dpo: Any) -> None:
    activity = f.ProcessingActivityFactory(organisation=world.a.syndicate, name="État civil")
    session.flush()
    record(
        app,
        world.a.syndicate.id,
        world.a.users[Role.DPO],
        "activity.update",
        activity,
        {
            "legal_basis": (None, "6.1.e"),
            "data_subjects": ([], ["usagers", "agents"]),
            "application_ids": ([], [world.a.application.id]),
            "status": ("draft", "validated"),
            "recipients": (
                [],
                [{"type": "organisme_externe", "name": None, "organisation_id": world.a.member.id}],
            ),
        },
    )
    row = rows_of(dpo.get("/journal/").get_data(as_text=True))[0]
    changes = changes_of(row)
    assert changes["Base légale"].startswith("— → Mission d'intérêt public")
    assert (
        changes["Catégories de personnes concernées"]
        == "— → Usagers / administrés Agents (titulaires, contractuels)"
    )
    assert changes["Applications utilisées"] == "— → Application A"  # a name, not an id
    assert changes["Statut"] == "Brouillon → Validée"
    assert "Ville A" in changes["Destinataires"]  # the linked organisation, by name
    assert f'href="/registers/activities/{activity.id}"' in row
    assert "ProcessingActivity" not in row


def test_a_generated_document_is_named_and_linked(app: Flask, world: World, session: Any, dpo: Any) -> None:
    report = f.GeneratedReportFactory(organisation=world.a.syndicate, title="Registre du Syndicat A")
    session.flush()
    record(
        app,
        world.a.syndicate.id,
        world.a.users[Role.DPO],
        "report.generate",
        report,
        {"kind": (None, "register"), "filename": (None, "registre.pdf")},
    )
    row = rows_of(dpo.get("/journal/").get_data(as_text=True))[0]
    assert f'<a href="/reports/{report.id}">Document généré — Registre du Syndicat A</a>' in row
    assert changes_of(row)["Type de document"] == "— → Registre des activités de traitement"
    assert "GeneratedReport" not in row


def test_the_object_filter_names_the_types(app: Flask, world: World, dpo: Any) -> None:
    record(app, world.a.syndicate.id, world.a.users[Role.DPO], "probe.x", Ref("RightsRequest", 5), {})
    page = dpo.get("/journal/").get_data(as_text=True)
    assert re.search(r'<option value="RightsRequest" *>Demande d&#39;exercice d&#39;un droit</option>', page)


def test_the_journal_reads_in_english(app: Flask, world: World, session: Any, dpo: Any) -> None:
    breach = f.BreachFactory(organisation=world.a.syndicate)
    session.flush()
    record(
        app,
        world.a.syndicate.id,
        world.a.users[Role.DPO],
        "breach.update",
        Ref("Breach", breach.id),
        {"cnil_decision": ("pending", "notified"), "is_closed": (False, True)},
    )
    dpo.post("/language", data={"lang": "en"})
    row = rows_of(dpo.get("/journal/").get_data(as_text=True))[0]
    assert changes_of(row) == {
        "Notification to the CNIL": "To be decided → Notified",
        "Breach closed": "No → Yes",
    }
    assert "Personal data breach — " in text_of(row)


# --- what the reader may see ----------------------------------------------------------------------


def test_links_and_names_only_where_the_reader_may_see_the_object(
    app: Flask, world: World, session: Any, login_as: Any
) -> None:
    activity = f.ProcessingActivityFactory(organisation=world.a.syndicate, name="Paie CANARY")
    session.flush()
    syndicate_id = world.a.syndicate.id
    record(
        app,
        syndicate_id,
        world.a.users[Role.DPO],
        "activity.update",
        activity,
        {"name": ("a", "Paie CANARY")},
    )
    record(
        app,
        syndicate_id,
        world.a.users[Role.RSSI],
        "organisation.update",
        world.a.syndicate,
        {"city": ("a", "b")},
    )
    record(
        app,
        syndicate_id,
        world.a.users[Role.DPO],
        "activity.update",
        Ref("ProcessingActivity", 999_999),
        {"name": ("a", "b")},
    )

    admin_page = login_as(world.a.users[Role.ADMIN]).get("/journal/").get_data(as_text=True)
    _gone, organisation, fiche = rows_of(admin_page)[:3]
    assert f"/registers/activities/{activity.id}" not in fiche  # the administrator reads no register
    assert "Paie CANARY" not in fiche
    assert "Fiche de traitement" in fiche
    assert f'<a href="/organisations/{syndicate_id}">Organisation — Syndicat A</a>' in organisation

    dpo_rows = rows_of(login_as(world.a.users[Role.DPO]).get("/journal/").get_data(as_text=True))
    assert f'<a href="/registers/activities/{activity.id}">' in dpo_rows[2]
    assert "href" not in dpo_rows[0]  # a fiche that is gone: its number, no link to a missing page
    assert "n° 999999" in dpo_rows[0]


def test_account_entries_link_to_the_account_page_for_the_platform_administrator(
    app: Flask, world: World, login_as: Any
) -> None:
    nina = world.a.users[Role.READER]
    record(app, None, world.a.users[Role.ADMIN], "user.update", nina, {"full_name": ("Nina", nina.full_name)})
    page = login_as(world.a.users[Role.ADMIN]).get("/journal/?chain=platform").get_data(as_text=True)
    row = next(r for r in rows_of(page) if "user.update" in r)
    assert f'<a href="/admin/users/{nina.id}">Compte — {nina.full_name}</a>' in row
    assert changes_of(row) == {"Nom complet": f"Nina → {nina.full_name}"}


# --- size of the page ---------------------------------------------------------------------------


def test_fifty_entries_a_page(app: Flask, world: World, dpo: Any) -> None:
    def many() -> None:
        for n in range(60):
            audit.record(world.a.syndicate.id, world.a.users[Role.DPO], "probe.many", Ref("Probe", n + 1), {})

    in_request(app, many)
    first = dpo.get("/journal/?action=probe.many").get_data(as_text=True)
    second = dpo.get("/journal/?action=probe.many&page=2").get_data(as_text=True)
    assert len(rows_of(first)) == 50
    assert len(rows_of(second)) == 10
    assert "1 à 50 sur 60" in first


def test_a_long_value_is_folded_but_complete(app: Flask, world: World, session: Any, dpo: Any) -> None:
    activity = f.ProcessingActivityFactory(organisation=world.a.syndicate)
    session.flush()
    record(
        app,
        world.a.syndicate.id,
        world.a.users[Role.DPO],
        "activity.update",
        activity,
        {"purpose": ("Court", LONG_PURPOSE)},
    )
    row = rows_of(dpo.get("/journal/").get_data(as_text=True))[0]
    details = re.search(r'<details class="journal-long[^"]*">(.*?)</details>', row, re.S)
    assert details is not None
    preview = re.search(r'<span class="journal-preview">(.*?)</span>', details.group(1), re.S).group(1)
    assert len(html.unescape(preview)) == 201  # 200 characters and an ellipsis
    assert html.unescape(details.group(1)).count(LONG_PURPOSE) == 1  # the full text, once, uncut
    assert f"afficher tout ({len(LONG_PURPOSE)} caractères)" in html.unescape(details.group(1))
    assert "<details" not in row.split("→")[0]  # the short "before" stays as it is


@contextmanager
def counted_queries(app: Flask) -> Iterator[list[str]]:
    with app.app_context():
        engine = db.engine
    statements: list[str] = []

    def listener(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", listener)


def test_the_page_asks_each_lookup_once_whatever_the_number_of_entries(
    app: Flask, world: World, session: Any, dpo: Any
) -> None:
    activities = f.ProcessingActivityFactory.create_batch(3, organisation=world.a.syndicate)
    breaches = f.BreachFactory.create_batch(3, organisation=world.a.syndicate)
    session.flush()
    dpo_user, syndicate_id = world.a.users[Role.DPO], world.a.syndicate.id
    member = {"type": "interne", "name": "x", "organisation_id": world.a.member.id}

    def entries(count: int) -> Callable[[], None]:
        def write() -> None:
            for n in range(count):
                audit.record(
                    syndicate_id,
                    dpo_user,
                    "activity.update",
                    activities[n % 3],
                    {"application_ids": ([], [world.a.application.id]), "recipients": ([], [member])},
                )
                audit.record(
                    syndicate_id,
                    dpo_user,
                    "breach.update",
                    breaches[n % 3],
                    {"cnil_decision": ("pending", "notified")},
                )

        return write

    def queries(count: int) -> int:
        in_request(app, entries(count))
        with counted_queries(app) as statements:
            assert dpo.get("/journal/?per_page=50").status_code == 200
        return len(statements)

    few = queries(2)  # 4 entries on the page
    many = queries(23)  # 50 entries on the page
    assert many == few


# --- the plain rendering and the registry ---------------------------------------------------------


def test_plain_values_read_as_text(app: Flask) -> None:
    with app.test_request_context(), force_locale("fr"):
        assert plain_text(None) == plain_text("") == plain_text([]) == "—"
        assert (plain_text(True), plain_text(False)) == ("Oui", "Non")
        assert plain_text("2026-03-02") == "02/03/2026"
        assert plain_text("2026-07-01T10:05:00+00:00") == "01/07/2026 12:05"  # summer: UTC+2
        assert plain_text("2026-02-31") == "2026-02-31"  # not a date: as stored
        assert plain_text(["a", "b"]) == "a\nb"
        assert plain_text({"k": True}) == "k : Oui"
        assert plain_text(42) == "42"


def test_every_object_type_some_domain_journals_has_a_reading(app: Flask) -> None:
    # Who may read a type's content (OBJECT_TYPE_PERMISSIONS) and how it reads go together.
    assert sorted(set(OBJECT_TYPE_PERMISSIONS) - set(JOURNAL_TYPES)) == []


def test_a_type_is_declared_once(app: Flask) -> None:
    declared = JOURNAL_TYPES["Breach"]
    register_journal_types({"Breach": declared})  # again, the same: harmless
    with pytest.raises(ValueError, match="already shown otherwise"):
        register_journal_types({"Breach": JournalType("Autre chose")})
    assert JOURNAL_TYPES["Breach"] is declared


def test_form_labels_follow_the_form(app: Flask) -> None:
    with app.test_request_context():
        labels = form_labels(BreachForm)
        assert list(labels)[:3] == ["reference", "title", "discovered_at"]  # the form's order
        assert str(labels["closed_on"]) == "Close le"
        with pytest.raises(KeyError):
            form_labels(BreachForm, "no_such_field")
