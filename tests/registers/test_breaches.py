"""Breach register: the 72 h clock, the Art. 33/34 rules, the SMSI entry point (idempotent), the list
query, and the pages (local time, tenancy, permissions, re-display, edit conflicts)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
import time_machine
from flask import Flask
from sqlalchemy import func, select

from core.audit import AuditEvent
from core.concurrency import EditConflict
from core.extensions import db
from core.forms import FieldError
from core.security import Role
from registers.models import Breach, NotificationDecision, RiskLevel, SubjectsDecision
from registers.services import breaches
from tests.conftest import World, acting_as

UTC = dt.UTC
H = dt.timedelta(hours=1)
T0 = dt.datetime(2026, 10, 1, 8, 0, tzinfo=UTC)  # 10:00 in Paris (summer time)

BASE = {
    "title": "Courriel envoyé avec tous les destinataires en copie visible",
    "discovered_at": T0,
    "natures": ["confidentialite"],
    "data_categories": ["etat_civil", "connexion"],
    "data_subjects": ["usagers"],
}


def _errors(exc: FieldError) -> dict[str, str]:
    return {e.field: e.message for e in getattr(exc, "errors", [exc])}


# --- the 72 h clock ------------------------------------------------------------------------------


def test_notification_deadline_is_72_hours_after_discovery() -> None:
    assert breaches.notification_deadline(T0) == dt.datetime(2026, 10, 4, 8, 0, tzinfo=UTC)


def test_clock_runs_until_72_hours_then_is_late() -> None:
    breach = Breach(discovered_at=T0, cnil_decision=NotificationDecision.PENDING)

    running = breaches.clock(breach, T0 + 71 * H + dt.timedelta(minutes=59))
    assert running.state == "running"
    assert running.remaining == dt.timedelta(minutes=1)
    assert not running.is_overdue
    assert (running.hours_left, running.minutes_left) == (0, 1)

    at_deadline = breaches.clock(breach, T0 + 72 * H)
    assert at_deadline.state == "running"

    late = breaches.clock(breach, T0 + 72 * H + dt.timedelta(minutes=1))
    assert late.state == "late"
    assert late.is_overdue
    assert late.remaining == -dt.timedelta(minutes=1)
    assert late.hours_late == 1
    assert breaches.clock(breach, T0 + 90 * H).hours_late == 18


def test_clock_stops_at_the_decision() -> None:
    on_time = Breach(
        discovered_at=T0, cnil_decision=NotificationDecision.NOTIFIED, cnil_notified_at=T0 + 70 * H
    )
    late = Breach(discovered_at=T0, cnil_decision=NotificationDecision.NOTIFIED, cnil_notified_at=T0 + 80 * H)
    not_required = Breach(discovered_at=T0, cnil_decision=NotificationDecision.NOT_REQUIRED)
    much_later = T0 + 500 * H

    assert breaches.clock(on_time, much_later).state == "notified_on_time"
    assert not breaches.clock(on_time, much_later).is_overdue
    assert breaches.clock(late, much_later).state == "notified_late"
    assert breaches.clock(late, much_later).hours_late == 8
    assert breaches.clock(not_required, much_later).state == "not_required"
    assert not breaches.clock(not_required, much_later).is_overdue


# --- service rules -------------------------------------------------------------------------------


@pytest.fixture
def member(world: World, app_ctx: Flask) -> Any:
    with acting_as(world.a.member_referent, world.a.member):
        yield db.session.merge(world.a.member)


def test_create_numbers_by_year_of_discovery_and_audits(member: Any) -> None:
    first = breaches.create_breach(member, None, BASE)
    second = breaches.create_breach(member, None, BASE)
    # 31 Dec 2025 23:30 UTC is already 2026 in Paris.
    new_year = breaches.create_breach(
        member, None, {**BASE, "discovered_at": dt.datetime(2025, 12, 31, 23, 30, tzinfo=UTC)}
    )
    assert [first.reference, second.reference, new_year.reference] == [
        "VIO-2026-001",
        "VIO-2026-002",
        "VIO-2026-003",
    ]
    assert first.cnil_decision == NotificationDecision.PENDING
    assert first.data_categories == ["etat_civil", "connexion"]
    assert db.session.scalar(
        select(func.count()).where(AuditEvent.action == "breach.create", AuditEvent.object_id == first.id)
    )


def test_discovery_nature_and_title_are_required(member: Any) -> None:
    with pytest.raises(FieldError) as exc:
        breaches.create_breach(member, None, {"natures": []})
    assert set(_errors(exc.value)) == {"title", "discovered_at", "natures"}
    with pytest.raises(FieldError) as exc:
        breaches.create_breach(member, None, {**BASE, "natures": ["vol"]})
    assert exc.value.field == "natures"
    with pytest.raises(FieldError) as exc:
        breaches.create_breach(member, None, {**BASE, "data_subjects": ["martiens"]})
    assert exc.value.field == "data_subjects"


def test_notified_at_80_hours_needs_the_reason_for_the_delay(member: Any) -> None:
    notified = {**BASE, "cnil_decision": "notified", "cnil_notified_at": T0 + 80 * H}
    with pytest.raises(FieldError) as exc:
        breaches.create_breach(member, None, notified)
    assert exc.value.field == "late_reason"
    assert "notification tardive : motifs du retard obligatoires (art. 33.1)" in exc.value.message

    breach = breaches.create_breach(
        member, None, {**notified, "late_reason": "Prestataire injoignable le week-end"}
    )
    assert breaches.clock(breach).state == "notified_late"
    assert breach.late_reason == "Prestataire injoignable le week-end"


def test_notified_on_time_needs_no_reason_and_keeps_none(member: Any) -> None:
    breach = breaches.create_breach(
        member,
        None,
        {**BASE, "cnil_decision": "notified", "cnil_notified_at": T0 + 71 * H, "late_reason": "sans objet"},
    )
    assert breaches.clock(breach).state == "notified_on_time"
    assert breach.late_reason is None


def test_notification_needs_its_date_not_before_discovery(member: Any) -> None:
    with pytest.raises(FieldError) as exc:
        breaches.create_breach(member, None, {**BASE, "cnil_decision": "notified"})
    assert exc.value.field == "cnil_notified_at"
    with pytest.raises(FieldError) as exc:
        breaches.create_breach(
            member, None, {**BASE, "cnil_decision": "notified", "cnil_notified_at": T0 - H}
        )
    assert exc.value.field == "cnil_notified_at"


def test_no_notification_needs_the_reason(member: Any) -> None:
    with pytest.raises(FieldError) as exc:
        breaches.create_breach(member, None, {**BASE, "cnil_decision": "not_required"})
    assert exc.value.field == "decision_reason"
    breach = breaches.create_breach(
        member,
        None,
        {**BASE, "cnil_decision": "not_required", "decision_reason": "Données chiffrées, clé non compromise"},
    )
    assert breaches.clock(breach).state == "not_required"


def test_high_risk_subjects_rules(member: Any) -> None:
    high = {**BASE, "risk_level": "high"}
    with pytest.raises(FieldError) as exc:
        breaches.create_breach(member, None, {**high, "subjects_decision": "not_required"})
    assert exc.value.field == "subjects_reason"
    assert "34.3" in exc.value.message
    exempt = breaches.create_breach(
        member,
        None,
        {**high, "subjects_decision": "not_required", "subjects_reason": "Données chiffrées (34.3 a)"},
    )
    assert exempt.subjects_decision == SubjectsDecision.NOT_REQUIRED
    # Without a high risk, no exemption needs to be given.
    assert breaches.create_breach(
        member, None, {**BASE, "risk_level": "risk", "subjects_decision": "not_required"}
    )

    with pytest.raises(FieldError) as exc:
        breaches.create_breach(member, None, {**high, "subjects_decision": "informed"})
    assert exc.value.field == "subjects_informed_on"
    informed = breaches.create_breach(
        member, None, {**high, "subjects_decision": "informed", "subjects_informed_on": dt.date(2026, 10, 2)}
    )
    assert informed.risk_level == RiskLevel.HIGH


def test_closing_needs_a_decision_on_notification(member: Any) -> None:
    with pytest.raises(FieldError) as exc:
        breaches.create_breach(member, None, {**BASE, "is_closed": True})
    assert exc.value.field == "is_closed"
    closed = breaches.create_breach(
        member,
        None,
        {**BASE, "is_closed": True, "cnil_decision": "not_required", "decision_reason": "Aucun risque"},
    )
    assert closed.is_closed
    assert closed.closed_on is not None


def test_naive_datetimes_are_paris_time(member: Any) -> None:
    breach = breaches.create_breach(member, None, {**BASE, "discovered_at": dt.datetime(2026, 10, 1, 10, 0)})
    assert breach.discovered_at == T0


def test_update_checks_the_version(member: Any) -> None:
    breach = breaches.create_breach(member, None, BASE)
    version = breach.version
    breaches.update_breach(breach, None, {**BASE, "measures": "Rappel du courriel", "version": version})
    assert breach.measures == "Rappel du courriel"
    with pytest.raises(EditConflict):
        breaches.update_breach(breach, None, {**BASE, "version": version})


def test_create_breach_from_incident_is_idempotent(world: World, member: Any) -> None:
    first = breaches.create_breach_from_incident(
        member,
        None,
        incident_id=42,
        title="Rançongiciel sur le serveur de fichiers",
        discovered_at=T0,
        natures=["disponibilite", "confidentialite"],
        description="Chiffrement des partages",
        data_subjects=["agents"],
    )
    again = breaches.create_breach_from_incident(
        member, None, incident_id=42, title="Autre titre", discovered_at=T0 + H, natures=["integrite"]
    )
    assert again.id == first.id
    assert again.title == "Rançongiciel sur le serveur de fichiers"
    assert first.source_incident_id == 42
    assert first.natures == ["disponibilite", "confidentialite"]
    assert first.cnil_decision == NotificationDecision.PENDING
    count = select(func.count()).select_from(Breach).where(Breach.source_incident_id == 42)
    assert db.session.scalar(count) == 1
    assert (
        db.session.scalar(select(func.count()).where(AuditEvent.action == "breach.create_from_incident")) == 1
    )

    other = breaches.create_breach_from_incident(
        member, None, incident_id=43, title="Autre incident", discovered_at=T0, natures=["integrite"]
    )
    assert other.id != first.id
    with pytest.raises(FieldError):
        breaches.create_breach_from_incident(
            member, None, incident_id=44, title="x", discovered_at=T0, natures=[]
        )


def test_query_filters_and_is_scoped(world: World, app_ctx: Flask) -> None:
    with acting_as(world.b.member_referent, world.b.member):
        breaches.create_breach(db.session.merge(world.b.member), None, BASE)
    with acting_as(world.a.member_referent, world.a.member):
        org = db.session.merge(world.a.member)
        old = breaches.create_breach(org, None, {**BASE, "title": "Perte d'une clé USB"})
        new = breaches.create_breach(org, None, {**BASE, "discovered_at": T0 + 24 * H})
        closed = breaches.create_breach(
            org,
            None,
            {**BASE, "is_closed": True, "cnil_decision": "not_required", "decision_reason": "Aucun risque"},
        )

        def ids(**kw: Any) -> list[int]:
            return [b.id for b in db.session.scalars(breaches.breaches_query(breaches.BreachFilters(**kw)))]

        assert ids() == [new.id, old.id]
        assert ids(status="all") == [new.id, old.id, closed.id]
        assert ids(status="closed") == [closed.id]
        assert ids(status="all", decision="not_required") == [closed.id]
        assert ids(q="clé usb") == [old.id]


# --- pages ---------------------------------------------------------------------------------------


def _create(app: Flask, user: Any, org: Any, data: dict[str, Any]) -> int:
    with app.test_request_context(), acting_as(user, org):
        breach = breaches.create_breach(db.session.merge(org), db.session.merge(user), data)
        db.session.commit()
        return breach.id


def _html(response: Any) -> str:
    return response.get_data(as_text=True)


def _input_value(html: str, name: str) -> str | None:
    tag = re.search(rf'<input[^>]*\bname="{name}"[^>]*>', html)
    assert tag, f"no input {name}"
    value = re.search(r'\bvalue="([^"]*)"', tag.group(0))
    return value.group(1) if value else None


def _form(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "Perte d'un ordinateur portable",
        "discovered_at": "2026-10-01T10:00",
        "natures": ["confidentialite"],
        "data_categories": ["etat_civil"],
        "data_subjects": ["agents"],
        "risk_level": "",
        "cnil_decision": "pending",
        "subjects_decision": "pending",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_referent_lists_creates_and_edits_breaches(world: World, login_as: Any, session: Any) -> None:
    client = login_as(world.a.member_referent, world.a.member)
    assert client.get("/registers/breaches/new").status_code == 200
    response = client.post("/registers/breaches/new", data=_form())
    assert response.status_code == 302
    breach = session.scalar(select(Breach).where(Breach.organisation_id == world.a.member.id))
    assert breach.discovered_at == T0  # typed in Paris time, stored in UTC
    assert breach.natures == ["confidentialite"]
    assert response.location.endswith(f"/registers/breaches/{breach.id}")

    detail = _html(client.get(f"/registers/breaches/{breach.id}"))
    assert "Délai de notification : 72 h" in detail
    assert "Atteinte à la confidentialité" in detail
    assert "Points de contrôle" in detail

    edit_url = f"/registers/breaches/{breach.id}/edit"
    html = _html(client.get(edit_url))
    assert _input_value(html, "discovered_at") == "2026-10-01T10:00"  # shown back in Paris time
    version = _input_value(html, "version")
    response = client.post(edit_url, data=_form(measures="Effacement à distance", version=version))
    assert response.status_code == 302
    session.expire_all()
    assert session.get(Breach, breach.id).measures == "Effacement à distance"
    assert breach.reference in _html(client.get("/registers/breaches"))


def test_list_shows_the_clock_of_pending_breaches(world: World, app: Flask, login_as: Any) -> None:
    ref, org = world.a.member_referent, world.a.member
    now = dt.datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    with time_machine.travel(now, tick=False):
        late = _create(app, ref, org, {**BASE, "discovered_at": now - 80 * H})
        running = _create(app, ref, org, {**BASE, "discovered_at": now - 10 * H - dt.timedelta(minutes=30)})
        html = _html(login_as(ref, org).get("/registers/breaches"))

    def row(breach_id: int) -> str:
        match = re.search(
            rf'<tr class="[^"]*">\s*<td[^>]*><a href="/registers/breaches/{breach_id}">.*?</tr>', html, re.S
        )
        assert match, f"breach {breach_id} not listed"
        return match.group(0)

    assert "délai dépassé de 8 h" in row(late)
    assert "table-danger" in row(late)
    assert "deadline-overdue" in row(late)  # red, with the delay (_breach_clock.html)
    assert "61 h 30 min restantes" in row(running)
    assert "deadline-neutral" in row(running)  # 24 h or more left
    assert "table-danger" not in row(running)


def test_form_error_redisplays_what_was_typed(world: World, login_as: Any, session: Any) -> None:
    client = login_as(world.a.member_referent, world.a.member)
    response = client.post(
        "/registers/breaches/new",
        data=_form(title="Envoi groupé", cnil_decision="notified", cnil_notified_at="2026-10-05T09:00"),
    )
    assert response.status_code == 422
    html = _html(response)
    assert "motifs du retard obligatoires" in html
    assert _input_value(html, "title") == "Envoi groupé"
    assert _input_value(html, "cnil_notified_at") == "2026-10-05T09:00"
    assert '<input checked id="natures-0" name="natures" type="checkbox" value="confidentialite">' in html
    assert '<input id="natures-1" name="natures" type="checkbox" value="integrite">' in html
    assert session.scalar(select(Breach).where(Breach.title == "Envoi groupé")) is None


def test_reader_cannot_create_or_edit(world: World, app: Flask, login_as: Any) -> None:
    breach_id = _create(app, world.a.users[Role.DPO], world.a.syndicate, BASE)
    reader = login_as(world.a.users[Role.READER], world.a.syndicate)
    assert reader.get(f"/registers/breaches/{breach_id}").status_code == 200
    assert reader.get("/registers/breaches/new").status_code == 403
    assert reader.post("/registers/breaches/new", data=_form()).status_code == 403
    assert reader.get(f"/registers/breaches/{breach_id}/edit").status_code == 403


def test_another_tenant_gets_404(world: World, app: Flask, login_as: Any, session: Any) -> None:
    breach_id = _create(app, world.a.member_referent, world.a.member, BASE)
    other = login_as(world.b.member_referent, world.b.member)
    assert other.get(f"/registers/breaches/{breach_id}").status_code == 404
    assert other.get(f"/registers/breaches/{breach_id}/edit").status_code == 404
    assert (
        other.post(
            f"/registers/breaches/{breach_id}/edit", data=_form(title="Pirate", version="1")
        ).status_code
        == 404
    )
    assert session.get(Breach, breach_id).title == BASE["title"]


def test_stale_version_shows_both_versions(world: World, app: Flask, login_as: Any, session: Any) -> None:
    breach_id = _create(app, world.a.member_referent, world.a.member, BASE)
    url = f"/registers/breaches/{breach_id}/edit"
    first = login_as(world.a.member_referent, world.a.member)
    stale = _input_value(_html(first.get(url)), "version")
    second = login_as(world.a.member_referent, world.a.member)
    assert second.post(url, data=_form(title="Titre du second", version=stale)).status_code == 302

    response = first.post(url, data=_form(title="Titre du premier", version=stale))

    assert response.status_code == 409
    html = _html(response)
    conflict = html.split('id="conflict"', 1)[1].split("</table>", 1)[0]
    assert "Titre du premier" in conflict
    assert "Titre du second" in conflict
    assert _input_value(html, "title") == "Titre du premier"
    assert _input_value(html, "version") == str(int(stale) + 1)
    session.expire_all()
    assert session.get(Breach, breach_id).title == "Titre du second"


def test_a_breach_without_nature_is_refused_beside_the_checkboxes(world: World, login_as: Any) -> None:
    client = login_as(world.a.member_referent, world.a.member)
    response = client.post("/registers/breaches/new", data=_form(natures=None))
    assert response.status_code == 422
    html = _html(response)
    assert 'id="natures-error"' in html
    assert "Indiquez au moins une nature" in html
