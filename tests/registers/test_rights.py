"""Rights requests: calendar-month deadlines, the Art. 12.3 extension, the rules, urgency, the list
query, and the pages (tenancy, permissions, re-display, edit conflicts)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
import time_machine
from flask import Flask
from sqlalchemy import select

from core.audit import AuditEvent
from core.concurrency import EditConflict
from core.extensions import db
from core.forms import FieldError
from core.security import Role
from registers.models import ProcessingActivity, RequestStatus, RightsRequest, RightType
from registers.services import rights
from tests.conftest import World, acting_as

D = dt.date

BASE = {
    "right": "acces",
    "requester_name": "Camille Martin",
    "requester_contact": "camille.martin@example.org",
    "received_on": D(2026, 10, 5),
    "status": "received",
}


def _errors(exc: FieldError) -> dict[str, str]:
    errors = getattr(exc, "errors", [exc])
    return {e.field: e.message for e in errors}


def _fiche(org: Any, name: str, *, is_model: bool = False) -> ProcessingActivity:
    activity = ProcessingActivity(
        organisation_id=org.id, reference=f"TRT-{name[:3].upper()}", name=name, is_model=is_model
    )
    db.session.add(activity)
    db.session.flush()
    return activity


# --- deadlines ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (D(2026, 1, 31), 1, D(2026, 2, 28)),  # month end clamped
        (D(2028, 1, 31), 1, D(2028, 2, 29)),  # leap year
        (D(2028, 2, 29), 1, D(2028, 3, 29)),  # from 29 Feb: same day next month
        (D(2026, 3, 31), 1, D(2026, 4, 30)),
        (D(2026, 12, 31), 1, D(2027, 1, 31)),  # across the year
        (D(2026, 11, 30), 3, D(2027, 2, 28)),
        (D(2027, 11, 30), 3, D(2028, 2, 29)),
        (D(2026, 5, 15), 1, D(2026, 6, 15)),
        (D(2026, 3, 31), -1, D(2026, 2, 28)),
    ],
)
def test_add_months_clamps_to_the_end_of_the_month(start: dt.date, months: int, expected: dt.date) -> None:
    assert rights.add_months(start, months) == expected


def test_due_date_is_one_month_or_three_when_extended() -> None:
    assert rights.due_date(D(2026, 1, 31), extended=False) == D(2026, 2, 28)
    assert rights.due_date(D(2026, 1, 31), extended=True) == D(2026, 4, 30)
    assert rights.due_date(D(2026, 11, 24), extended=True) == D(2027, 2, 24)


def _req(due_on: dt.date, *, is_open: bool = True) -> RightsRequest:
    return RightsRequest(due_on=due_on, is_open=is_open)


@pytest.mark.parametrize(
    ("due_on", "expected"),
    [
        (D(2026, 11, 23), "overdue"),
        (D(2026, 11, 24), "due_this_week"),  # due today: not yet late
        (D(2026, 12, 1), "due_this_week"),  # 7 days left
        (D(2026, 12, 2), None),  # 8 days left
    ],
)
def test_urgency_boundaries(due_on: dt.date, expected: str | None) -> None:
    assert rights.urgency(_req(due_on), D(2026, 11, 24)) == expected


def test_a_closed_request_is_never_urgent() -> None:
    assert rights.urgency(_req(D(2026, 1, 1), is_open=False), D(2026, 11, 24)) is None


def test_rows_carry_the_highlight_and_the_days_left() -> None:
    rows = rights.request_rows(
        [_req(D(2026, 11, 20)), _req(D(2026, 11, 27)), _req(D(2027, 1, 1))], D(2026, 11, 24)
    )
    assert [(r.css, r.days_left) for r in rows] == [("table-danger", -4), ("table-warning", 3), ("", 38)]


# --- service rules -----------------------------------------------------------------------------


@pytest.fixture
def member(world: World, app_ctx: Flask) -> Any:
    with acting_as(world.a.member_referent, world.a.member):
        yield db.session.merge(world.a.member)


def test_create_numbers_per_year_of_receipt_and_keeps_the_derived_columns(world: World, member: Any) -> None:
    first = rights.create_request(member, None, BASE)
    second = rights.create_request(member, None, {**BASE, "received_on": D(2026, 1, 31)})
    older = rights.create_request(member, None, {**BASE, "received_on": D(2025, 12, 31)})
    typed = rights.create_request(member, None, {**BASE, "reference": "dro-manuel-7"})

    assert [first.reference, second.reference, older.reference] == [
        "DRO-2026-001",
        "DRO-2026-002",
        "DRO-2025-001",
    ]
    assert typed.reference == "DRO-MANUEL-7"
    assert second.due_on == D(2026, 2, 28)
    assert first.is_open is True
    assert first.status == RequestStatus.RECEIVED
    events = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "rights_request.create", AuditEvent.object_id == first.id
        )
    ).all()
    assert len(events) == 1


def test_reference_must_be_unique_in_the_organisation(member: Any) -> None:
    rights.create_request(member, None, {**BASE, "reference": "DRO-X"})
    with pytest.raises(FieldError) as exc:
        rights.create_request(member, None, {**BASE, "reference": "dro-x"})
    assert exc.value.field == "reference"


def test_extension_gives_three_months_when_notified_within_the_first_month(member: Any) -> None:
    data = {
        **BASE,
        "received_on": D(2026, 1, 31),
        "is_extended": True,
        "extension_notified_on": D(2026, 2, 28),  # last day of the first month
        "extension_reason": "Demande portant sur dix ans d'archives",
    }
    req = rights.create_request(member, None, data)
    assert req.due_on == D(2026, 4, 30)
    assert rights.deadline_of(req) == rights.Deadline(
        D(2026, 1, 31), D(2026, 2, 28), D(2026, 4, 30), D(2026, 4, 30)
    )


def test_extension_notified_after_the_first_month_is_refused(member: Any) -> None:
    data = {
        **BASE,
        "received_on": D(2026, 1, 31),
        "is_extended": True,
        "extension_notified_on": D(2026, 3, 1),
        "extension_reason": "Complexité",
    }
    with pytest.raises(FieldError) as exc:
        rights.create_request(member, None, data)
    assert exc.value.field == "extension_notified_on"
    assert "premier mois" in exc.value.message
    assert "28/02/2026" in exc.value.message


def test_extension_needs_the_notification_date_and_a_reason(member: Any) -> None:
    with pytest.raises(FieldError) as exc:
        rights.create_request(member, None, {**BASE, "is_extended": True})
    assert set(_errors(exc.value)) == {"extension_notified_on", "extension_reason"}


def test_an_answer_needs_its_date_and_summary_and_closes_the_request(member: Any) -> None:
    with pytest.raises(FieldError) as exc:
        rights.create_request(member, None, {**BASE, "status": "answered"})
    assert set(_errors(exc.value)) == {"answered_on", "answer_summary"}

    with pytest.raises(FieldError) as exc:
        rights.create_request(
            member, None, {**BASE, "status": "refused", "answered_on": D(2026, 10, 1), "answer_summary": "x"}
        )
    assert _errors(exc.value) == {"answered_on": "La réponse ne peut précéder la réception de la demande."}

    req = rights.create_request(
        member,
        None,
        {**BASE, "status": "answered", "answered_on": D(2026, 10, 20), "answer_summary": "Copie"},
    )
    assert req.is_open is False


def test_identity_check_needs_its_date(member: Any) -> None:
    with pytest.raises(FieldError) as exc:
        rights.create_request(member, None, {**BASE, "identity_checked": True})
    assert exc.value.field == "identity_checked_on"
    req = rights.create_request(
        member, None, {**BASE, "identity_checked": True, "identity_checked_on": D(2026, 10, 6)}
    )
    assert req.identity_checked_on == D(2026, 10, 6)


def test_processing_concerned_must_be_a_fiche_of_the_organisation(world: World, member: Any) -> None:
    own = _fiche(member, "Etat civil")
    model = _fiche(member, "Modèle", is_model=True)
    foreign = ProcessingActivity(
        organisation_id=world.b.member.id, reference="TRT-B", name="Autre ville", is_model=False
    )
    db.session.add(foreign)
    db.session.flush()

    assert rights.create_request(member, None, {**BASE, "activity_id": own.id}).activity_id == own.id
    for other in (foreign, model):
        with pytest.raises(FieldError) as exc:
            rights.create_request(member, None, {**BASE, "activity_id": other.id})
        assert exc.value.field == "activity_id"
    assert rights.activity_choices(member.id) == [(own.id, "TRT-ETA — Etat civil")]


def test_update_checks_the_version_and_recomputes_the_deadline(member: Any) -> None:
    req = rights.create_request(member, None, BASE)
    version = req.version
    data = {
        **BASE,
        "version": version,
        "is_extended": True,
        "extension_notified_on": D(2026, 10, 20),
        "extension_reason": "Nombreuses demandes",
        "status": "in_progress",
    }
    rights.update_request(req, None, data)
    assert req.due_on == D(2027, 1, 5)
    assert req.version == version + 1
    with pytest.raises(EditConflict):
        rights.update_request(req, None, {**data, "version": version})


def test_received_in_the_future_is_refused(member: Any) -> None:
    with time_machine.travel(dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC), tick=False):
        with pytest.raises(FieldError) as exc:
            rights.create_request(member, None, {**BASE, "received_on": D(2026, 11, 25)})
        assert exc.value.field == "received_on"
        assert rights.create_request(member, None, {**BASE, "received_on": D(2026, 11, 24)}).id


def test_query_filters_and_sorts_by_due_date(world: World, member: Any) -> None:
    today = D(2026, 11, 24)
    late = rights.create_request(member, None, {**BASE, "received_on": D(2026, 10, 1)})
    week = rights.create_request(
        member, None, {**BASE, "received_on": D(2026, 10, 28), "requester_name": "Zoé Roux"}
    )
    later = rights.create_request(
        member, None, {**BASE, "received_on": D(2026, 11, 20), "right": "effacement"}
    )
    done = rights.create_request(
        member,
        None,
        {
            **BASE,
            "received_on": D(2026, 9, 1),
            "status": "answered",
            "answered_on": D(2026, 9, 2),
            "answer_summary": "ok",
        },
    )

    def ids(**kw: Any) -> list[int]:
        return [
            r.id for r in db.session.scalars(rights.requests_query(rights.RequestFilters(today=today, **kw)))
        ]

    assert ids() == [late.id, week.id, later.id]
    assert ids(status="all") == [done.id, late.id, week.id, later.id]
    assert ids(status="closed") == [done.id]
    assert ids(urgency="overdue") == [late.id]
    assert ids(urgency="week") == [week.id]
    assert ids(right=RightType.EFFACEMENT.value) == [later.id]
    assert ids(q="zoé") == [week.id]
    assert ids(q=late.reference.lower()) == [late.id]


def test_query_is_scoped_to_the_active_organisation(world: World, app_ctx: Flask) -> None:
    with acting_as(world.b.member_referent, world.b.member):
        other = rights.create_request(db.session.merge(world.b.member), None, BASE)
    with acting_as(world.a.member_referent, world.a.member):
        mine = rights.create_request(db.session.merge(world.a.member), None, BASE)
        listed = [
            r.id for r in db.session.scalars(rights.requests_query(rights.RequestFilters(status="all")))
        ]
    assert listed == [mine.id]
    assert other.id not in listed


# --- pages ---------------------------------------------------------------------------------------


def _create(app: Flask, user: Any, org: Any, data: dict[str, Any]) -> int:
    with app.test_request_context(), acting_as(user, org):
        req = rights.create_request(db.session.merge(org), db.session.merge(user), data)
        db.session.commit()
        return req.id


def _html(response: Any) -> str:
    return response.get_data(as_text=True)


def _input_value(html: str, name: str) -> str | None:
    tag = re.search(rf'<(?:input|textarea)[^>]*\bname="{name}"[^>]*>', html)
    assert tag, f"no input {name}"
    value = re.search(r'\bvalue="([^"]*)"', tag.group(0))
    return value.group(1) if value else None


def _form(**changes: Any) -> dict[str, Any]:
    data = {
        "right": "acces",
        "requester_name": "Camille Martin",
        "requester_contact": "",
        "received_on": "2026-10-05",
        "activity_id": "",
        "status": "received",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_referent_lists_creates_and_edits_requests(
    world: World, app: Flask, login_as: Any, session: Any
) -> None:
    client = login_as(world.a.member_referent, world.a.member)
    assert client.get("/registers/requests").status_code == 200
    assert client.get("/registers/requests/new").status_code == 200

    response = client.post("/registers/requests/new", data=_form(requester_name="Léa Petit"))
    assert response.status_code == 302
    req = session.scalar(select(RightsRequest).where(RightsRequest.requester_name == "Léa Petit"))
    assert req.organisation_id == world.a.member.id
    assert response.location.endswith(f"/registers/requests/{req.id}")

    detail = _html(client.get(f"/registers/requests/{req.id}"))
    assert "Un mois après réception" in detail
    assert req.reference in detail

    edit_url = f"/registers/requests/{req.id}/edit"
    version = _input_value(_html(client.get(edit_url)), "version")
    response = client.post(edit_url, data=_form(requester_name="Léa Petit-Durand", version=version))
    assert response.status_code == 302
    session.expire_all()
    assert session.get(RightsRequest, req.id).requester_name == "Léa Petit-Durand"
    listing = _html(client.get("/registers/requests?status=all"))
    assert "Léa Petit-Durand" in listing


def test_list_highlights_overdue_and_due_this_week(world: World, app: Flask, login_as: Any) -> None:
    ref, org = world.a.member_referent, world.a.member
    with time_machine.travel(dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC), tick=False):
        late = _create(app, ref, org, {**BASE, "received_on": D(2026, 10, 1)})
        soon = _create(app, ref, org, {**BASE, "received_on": D(2026, 10, 27)})
        calm = _create(app, ref, org, {**BASE, "received_on": D(2026, 11, 20)})
        html = _html(login_as(ref, org).get("/registers/requests"))

    def row(req_id: int) -> str:
        match = re.search(
            rf'<tr class="([^"]*)">\s*<td[^>]*><a href="/registers/requests/{req_id}">.*?</tr>', html, re.S
        )
        assert match, f"request {req_id} not listed"
        return match.group(0)

    assert 'class="table-danger"' in row(late)
    assert "en retard de 23 jours" in row(late)
    assert 'class="table-warning"' in row(soon)
    assert "3 jours restants" in row(soon)
    assert 'class=""' in row(calm)


def test_form_error_redisplays_what_was_typed(world: World, login_as: Any, session: Any) -> None:
    client = login_as(world.a.member_referent, world.a.member)
    response = client.post(
        "/registers/requests/new",
        data=_form(requester_name="Jules Bernard", is_extended="y", extension_reason="Volume"),
    )
    assert response.status_code == 422
    html = _html(response)
    assert "la date à laquelle le demandeur en a été informé" in html
    assert _input_value(html, "requester_name") == "Jules Bernard"
    assert _input_value(html, "received_on") == "2026-10-05"
    assert re.search(r"<textarea[^>]*name=\"extension_reason\"[^>]*>\s*Volume</textarea>", html)
    assert (
        session.scalar(select(RightsRequest).where(RightsRequest.requester_name == "Jules Bernard")) is None
    )


def test_reader_cannot_create_or_edit(world: World, app: Flask, login_as: Any) -> None:
    req_id = _create(app, world.a.users[Role.DPO], world.a.syndicate, BASE)
    reader = login_as(world.a.users[Role.READER], world.a.syndicate)
    assert reader.get(f"/registers/requests/{req_id}").status_code == 200
    assert reader.get("/registers/requests/new").status_code == 403
    assert reader.post("/registers/requests/new", data=_form()).status_code == 403
    assert reader.get(f"/registers/requests/{req_id}/edit").status_code == 403
    assert reader.post(f"/registers/requests/{req_id}/edit", data=_form(version="1")).status_code == 403


def test_another_tenant_gets_404(world: World, app: Flask, login_as: Any, session: Any) -> None:
    req_id = _create(app, world.a.member_referent, world.a.member, BASE)
    other = login_as(world.b.member_referent, world.b.member)
    assert other.get(f"/registers/requests/{req_id}").status_code == 404
    assert other.get(f"/registers/requests/{req_id}/edit").status_code == 404
    response = other.post(
        f"/registers/requests/{req_id}/edit", data=_form(requester_name="Pirate", version="1")
    )
    assert response.status_code == 404
    assert session.get(RightsRequest, req_id).requester_name == "Camille Martin"


def test_stale_version_shows_both_versions(world: World, app: Flask, login_as: Any, session: Any) -> None:
    req_id = _create(app, world.a.member_referent, world.a.member, BASE)
    url = f"/registers/requests/{req_id}/edit"
    first = login_as(world.a.member_referent, world.a.member)
    stale = _input_value(_html(first.get(url)), "version")
    second = login_as(world.a.member_referent, world.a.member)
    assert second.post(url, data=_form(requester_name="Saisie deux", version=stale)).status_code == 302

    response = first.post(url, data=_form(requester_name="Saisie un", version=stale))

    assert response.status_code == 409
    html = _html(response)
    conflict = html.split('id="conflict"', 1)[1].split("</table>", 1)[0]
    assert "Saisie un" in conflict
    assert "Saisie deux" in conflict
    assert _input_value(html, "requester_name") == "Saisie un"
    assert _input_value(html, "version") == str(int(stale) + 1)
    session.expire_all()
    assert session.get(RightsRequest, req_id).requester_name == "Saisie deux"


def test_fields_without_help_or_error_carry_no_aria_none(world: World, login_as: Any) -> None:
    html = _html(login_as(world.a.member_referent, world.a.member).get("/registers/requests/new"))
    assert 'aria-invalid="None"' not in html
    assert 'aria-describedby="None"' not in html


# --- who handles a request ----------------------------------------------------------------------


def test_a_request_is_given_to_a_dpo_or_referent_of_the_organisation_and_shows_on_his_home_page(
    world: World, app: Flask, login_as: Any, session: Any
) -> None:
    referent = world.a.member_referent
    client = login_as(referent, world.a.member)
    new_page = _html(client.get("/registers/requests/new"))
    # Whoever records a request handles it until he gives it to someone else.
    assert re.search(
        rf'<option selected value="{referent.id}">|<option value="{referent.id}" selected>', new_page
    )
    # Someone without a register role in the organisation cannot be given it (the RSSI of the syndicate).
    refused = client.post(
        "/registers/requests/new",
        data=_form(requester_name="X", assigned_to_id=str(world.a.users[Role.RSSI].id)),
    )
    assert refused.status_code == 422
    assert "ni DPO ni référent" in _html(refused)
    assert (
        client.post(
            "/registers/requests/new", data=_form(requester_name="Léa Mine", assigned_to_id=str(referent.id))
        ).status_code
        == 302
    )
    assert (
        client.post(
            "/registers/requests/new", data=_form(requester_name="Nobody's", assigned_to_id="")
        ).status_code
        == 302
    )
    mine = session.scalar(select(RightsRequest).where(RightsRequest.requester_name == "Léa Mine"))
    assert mine.assigned_to_id == referent.id

    listing = _html(client.get("/registers/requests?assigned=me"))
    assert "Léa Mine" in listing
    assert "Nobody&#39;s" not in listing
    assert "Nobody" not in listing
    home = _html(client.get("/"))
    figure = re.search(r'data-figure="mine" href="([^"]+)"><span[^>]*>(\d+)</span>', home)
    assert figure is not None
    assert figure.group(2) == "1"
    assert "assigned=me" in figure.group(1).replace("&amp;", "&")
