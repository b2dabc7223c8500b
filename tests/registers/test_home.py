"""Each role's day on its home page (registers.widgets, accounts' widget): the figures, their
isolation, their links to the list of exactly those items, the portfolio's filter and figures, the
72 h clock's colours at their thresholds, the RSSI recording a breach, and the query counts."""

from __future__ import annotations

import datetime as dt
import html as html_lib
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select

from accounts.models import Organisation, User
from core.db import utcnow
from core.extensions import db
from core.security import Role
from registers.models import ActivityStatus, Breach, DpiaStatus, NotificationDecision
from registers.services import breaches, rights
from tests import factories as f
from tests.conftest import World, csrf_token_from

UTC = dt.UTC
H = dt.timedelta(hours=1)
S = dt.timedelta(seconds=1)


def _html(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def _figures(page: str, widget: str) -> dict[str, tuple[int, str, str]]:
    """In a widget's card: figure key → (count, href, the text after the link)."""
    card = re.search(rf'data-widget="{re.escape(widget)}".*?</div></div></div>', page, re.S)
    assert card, f"no {widget} card"
    found = {}
    for m in re.finditer(
        r'<a class="text-decoration-none" data-figure="([^"]+)" href="([^"]+)">'
        r'<span class="figure-count[^"]*">(\d+)</span>([^<]*)</a>'
        r'(\s*<span class="small text-body-secondary">([^<]*)</span>)?',
        card.group(0),
    ):
        found[m.group(1)] = (int(m.group(3)), html_lib.unescape(m.group(2)), (m.group(6) or "").strip())
    return found


def _query(url: str) -> tuple[str, dict[str, list[str]]]:
    parts = urlsplit(url)
    return parts.path, parse_qs(parts.query)


# --- the 72 h clock: how urgent it looks, at the thresholds --------------------------------------

T0 = dt.datetime(2026, 10, 1, 8, 0, tzinfo=UTC)  # discovery; the deadline is T0 + 72 h


@pytest.mark.parametrize(
    ("elapsed", "urgency", "state", "text"),
    [
        (48 * H, "neutral", "running", "24 h 0 min"),  # exactly 24 h left: still neutral
        (48 * H + S, "amber", "running", "23 h 59 min"),  # under 24 h: amber
        (60 * H, "amber", "running", "12 h 0 min"),  # exactly 12 h left: still amber
        (60 * H + S, "red", "running", "11 h 59 min"),  # under 12 h: red
        (72 * H, "red", "running", "0 h 0 min"),  # the deadline itself: not yet late
        (72 * H + S, "overdue", "late", "1 h"),  # past the deadline: red, with the delay
        (80 * H, "overdue", "late", "8 h"),
    ],
)
def test_clock_colour_at_the_thresholds(elapsed: dt.timedelta, urgency: str, state: str, text: str) -> None:
    breach = Breach(discovered_at=T0, cnil_decision=NotificationDecision.PENDING)
    with time_machine.travel(T0 + elapsed, tick=False):
        clock = breaches.clock(breach)  # "now" read from the (travelled) clock
        assert clock.state == state
        assert clock.urgency == urgency
        assert breaches.urgency(clock.remaining) == urgency
        shown = (
            f"{clock.hours_late} h" if state == "late" else f"{clock.hours_left} h {clock.minutes_left} min"
        )
        assert shown == text


def test_a_decided_clock_has_no_urgency() -> None:
    notified = Breach(
        discovered_at=T0, cnil_decision=NotificationDecision.NOTIFIED, cnil_notified_at=T0 + 10 * H
    )
    with time_machine.travel(T0 + 71 * H, tick=False):
        assert breaches.clock(notified).urgency == "done"


def test_the_clock_partial_renders_the_state_and_the_rule_for_the_script(world: World, login_as: Any) -> None:
    """The server renders the right colour and text (no script needed); the countdown script gets
    the deadline, the server's time and the thresholds of the Python rule."""
    member = world.a.member
    now = dt.datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    with time_machine.travel(now, tick=False):
        red = f.BreachFactory(organisation=member, discovered_at=now - 70 * H, reference="VIO-2026-070")
        amber = f.BreachFactory(organisation=member, discovered_at=now - 50 * H, reference="VIO-2026-050")
        db_session_flush()
        client = login_as(world.a.member_referent, member)
        listing = _html(client.get("/registers/breaches"))
        detail = _html(client.get(f"/registers/breaches/{red.id}"))
    for page in (listing, detail):
        clock = re.search(r'<span class="deadline-clock deadline-red"[^>]*>([^<]*)</span>', page)
        assert clock, "no red clock"
        assert clock.group(1) == "2 h 0 min restantes"
        tag = clock.group(0)
        assert 'data-deadline="2026-11-24T14:00:00+00:00"' in tag
        assert 'data-now="2026-11-24T12:00:00+00:00"' in tag
        assert f'data-amber-below="{int(breaches.AMBER_BELOW.total_seconds())}"' in tag
        assert f'data-red-below="{int(breaches.RED_BELOW.total_seconds())}"' in tag
        assert 'data-text-late="délai dépassé de {n} h"' in tag
    assert "deadline-amber" in listing  # 22 h left
    assert amber.reference in listing
    assert "js/deadlines.js" in listing  # the countdown script, a file (CSP: no inline script)


def db_session_flush() -> None:
    f._SessionHolder.session.flush()


# --- the world of the DPO's day -----------------------------------------------------------------


def _fiche(org: Organisation, **values: Any) -> Any:
    values.setdefault("completeness", 100)
    return f.ProcessingActivityFactory(organisation=org, **values)


def _dpia(org: Organisation, **values: Any) -> Any:
    return _fiche(org, is_dpia_required=True, dpia_status=DpiaStatus.NOT_STARTED, **values)


def _seed_work(org: Organisation, today: dt.date, now: dt.datetime, *, label: str) -> dict[str, Any]:
    """The same kinds of items in any organisation; returns what counts."""
    items = {
        "dpia": [_dpia(org, name=f"AIPD 1 {label}"), _dpia(org, name=f"AIPD 2 {label}")],
        "validation": [_fiche(org, status=ActivityStatus.IN_REVIEW, name=f"Relecture {label}")],
        "template": [_fiche(org, has_model_update=True, name=f"Modèle {label}")],
        "incomplete": [_fiche(org, completeness=40, name=f"Incomplète {label}")],
        "overdue": [f.RightsRequestFactory(organisation=org, due_on=today - dt.timedelta(days=2))],
        "week": [f.RightsRequestFactory(organisation=org, due_on=today + dt.timedelta(days=3))],
        "later": [f.RightsRequestFactory(organisation=org, due_on=today + dt.timedelta(days=30))],
        "pending": [f.BreachFactory(organisation=org, discovered_at=now - 70 * H, title=f"Fuite {label}")],
        "decided": [
            f.BreachFactory(
                organisation=org,
                discovered_at=now - 100 * H,
                cnil_decision=NotificationDecision.NOTIFIED,
                cnil_notified_at=now - 60 * H,
            )
        ],
    }
    # Never counted: done, archived, a model, closed.
    _fiche(org, is_dpia_required=True, dpia_status=DpiaStatus.DONE)
    _dpia(org, status=ActivityStatus.ARCHIVED)
    _dpia(org, is_model=True, completeness=10)
    f.RightsRequestFactory(organisation=org, due_on=today - dt.timedelta(days=20), is_open=False)
    f.BreachFactory(organisation=org, discovered_at=now - 200 * H, is_closed=True)
    return items


@pytest.fixture
def day(world: World, session: Any) -> dict[str, Any]:
    """World A's DPO serves its syndicate and Ville A; he is only a reader of "Commune lue", was the
    DPO of "Commune quittée" (role revoked); tenant B has the same work. Everybody has work."""
    a, b = world.a, world.b
    now, today = utcnow(), rights.local_today()
    dpo = a.users[Role.DPO]
    f.MembershipFactory(user=dpo, organisation=a.member, role=Role.DPO)
    read_only = f.OrganisationFactory(name="Commune lue", syndicate=a.syndicate)
    f.MembershipFactory(user=dpo, organisation=read_only, role=Role.READER)
    revoked = f.OrganisationFactory(name="Commune quittée", syndicate=a.syndicate)
    f.MembershipFactory(user=dpo, organisation=revoked, role=Role.DPO, revoked_at=now - 24 * H)
    work = {
        "syndicate": _seed_work(a.syndicate, today, now, label="SA"),
        "member": _seed_work(a.member, today, now, label="VA"),
    }
    for org, label in ((read_only, "LUE"), (revoked, "QUIT"), (b.syndicate, "SB"), (b.member, "VB")):
        _seed_work(org, today, now, label=label)
    # Only Ville A has fiches awaiting validation beyond the shared set: one more.
    work["member"]["validation"].append(_fiche(a.member, status=ActivityStatus.IN_REVIEW))
    session.flush()
    return {"work": work, "read_only": read_only, "revoked": revoked}


def _count(work: dict[str, Any], key: str) -> int:
    return sum(len(w[key]) for w in work.values())


def test_dpo_home_counts_span_the_organisations_served_and_only_those(
    world: World, login_as: Any, day: dict[str, Any]
) -> None:
    work = day["work"]
    page = _html(login_as(world.a.users[Role.DPO], world.a.syndicate).get("/"))
    dpo = _figures(page, "registers.dpo")
    assert dpo["overdue"][:1] == (_count(work, "overdue"),) == (2,)
    assert dpo["week"][0] == _count(work, "week") == 2
    assert dpo["dpia"][0] == _count(work, "dpia") == 4
    assert dpo["template"][0] == _count(work, "template") == 2
    assert dpo["validation"][0] == _count(work, "validation") == 3
    # Spread over both organisations: the figure opens the portfolio filtered on them.
    assert dpo["dpia"][1] == "/registers/portfolio/?only=dpia"
    assert dpo["dpia"][2] == "dans 2 organisations"
    assert dpo["overdue"][1] == "/registers/portfolio/?only=overdue"
    assert "Les 2 organisations dont vous êtes le DPO." in page

    watch = _figures(page, "registers.breaches")
    assert watch["pending"][0] == _count(work, "pending") == 2
    assert watch["breaches"][0] == _count(work, "pending") + _count(work, "decided") == 4
    assert watch["pending"][1] == "/registers/portfolio/?only=pending"
    # The most urgent breaches, with their red clock and their organisation.
    card = page.split('data-widget="registers.breaches"', 1)[1].split("</div></div></div>", 1)[0]
    assert card.count('class="deadline-clock deadline-red"') == 2
    assert "Fuite SA" in card
    assert "Fuite VA" in card
    assert "Ville A" in card
    for foreign in ("LUE", "QUIT", "SB", "VB"):  # never an organisation he does not serve
        assert f"Fuite {foreign}" not in page
    # Ville A's breach is opened through the organisation switch, then its page.
    member_breach = work["member"]["pending"][0]
    assert f'name="next" value="/registers/breaches/{member_breach.id}"' in card


def test_dpo_figures_link_straight_to_the_list_when_all_items_are_in_the_active_organisation(
    world: World, login_as: Any, day: dict[str, Any], session: Any
) -> None:
    # Only Ville A keeps fiches awaiting validation.
    for fiche in day["work"]["syndicate"]["validation"]:
        session.get(type(fiche), fiche.id).status = ActivityStatus.VALIDATED
    session.flush()
    client = login_as(world.a.users[Role.DPO], world.a.member)
    dpo = _figures(_html(client.get("/")), "registers.dpo")
    count, href, note = dpo["validation"]
    assert (count, note) == (2, "")
    assert href == "/registers/activities/?status=in_review"
    listed = _html(client.get(href))
    expected = {a.name for a in day["work"]["member"]["validation"]}
    assert _fiche_names(listed) == expected


def _fiche_names(page: str) -> set[str]:
    table = page.split('id="activities"', 1)[1].split("</table>", 1)[0] if 'id="activities"' in page else ""
    return set(re.findall(r'<td><a href="/registers/activities/\d+">([^<]+)</a>', table))


def test_portfolio_filtered_by_a_figure_shows_those_organisations_and_links_to_their_items(
    world: World, login_as: Any, day: dict[str, Any]
) -> None:
    client = login_as(world.a.users[Role.DPO], world.a.syndicate)
    page = _html(client.get("/registers/portfolio/?only=dpia"))
    rows = re.findall(r'<th scope="row" class="fw-normal">([^<]+)<', page)
    assert sorted(rows) == ["Syndicat A", "Ville A"]
    assert "2 organisations concernées." in page
    # Ville A's "2" DPIAs: a button of the row's form — it makes Ville A active and opens the list.
    member_id = world.a.member.id
    button = re.search(
        rf'<button type="submit" form="org-{member_id}" name="next" value="([^"]+)"[^>]*>2'
        r'<span class="visually-hidden"> AIPD requises non faites — Ville A</span>',
        page,
    )
    assert button, "Ville A's DPIA figure is not a link"
    target = html_lib.unescape(button.group(1))
    assert target == "/registers/activities/?dpia=required_not_done"
    token = csrf_token_from(page)
    response = client.post(
        "/active-organisation", data={"csrf_token": token, "organisation_id": member_id, "next": target}
    )
    assert response.status_code == 302
    assert response.location == target
    listed = _html(client.get(target))
    assert _fiche_names(listed) == {a.name for a in day["work"]["member"]["dpia"]}

    # An organisation with none of them is left out; one he does not serve never appears.
    none_left = _html(client.get("/registers/portfolio/?only=week&q=ville"))
    assert re.findall(r'<th scope="row" class="fw-normal">([^<]+)<', none_left) == ["Ville A"]
    overdue = _html(client.get("/registers/portfolio/?only=overdue"))
    assert sorted(re.findall(r'<th scope="row" class="fw-normal">([^<]+)<', overdue)) == [
        "Syndicat A",
        "Ville A",
    ]  # not "Commune lue" (a reader there), nor "Commune quittée" (role revoked)


def test_portfolio_only_filter_in_the_service(world: World, day: dict[str, Any], app_ctx: Flask) -> None:
    from registers.services import portfolio  # noqa: PLC0415

    dpo = db.session.merge(world.a.users[Role.DPO])
    for only in ("dpia", "overdue", "week", "template", "validation", "pending", "breaches", "requests"):
        result = portfolio.portfolio(dpo, only=only)
        assert {r.name for r in result.rows} == {"Syndicat A", "Ville A"}, only
        assert result.total == 2
    rows = {r.name: r for r in portfolio.portfolio(dpo, only="dpia", sort="breaches").rows}
    member = rows["Ville A"]
    assert (member.dpia_missing, member.awaiting_validation, member.template_decisions) == (2, 2, 1)
    assert (member.overdue_requests, member.week_requests, member.open_requests) == (1, 1, 3)
    assert (member.open_breaches, member.pending_breaches) == (2, 1)
    assert member.breach_clock is not None
    assert member.breach_clock.urgency == "red"  # 70 h old: 2 h left
    assert portfolio.portfolio(dpo, only="nonsense").total == 2  # unknown filter: ignored
    past_the_end = portfolio.portfolio(dpo, only="dpia", sort="dpia", page=9, per_page=1)
    assert (past_the_end.page, past_the_end.total, len(past_the_end.rows)) == (2, 2, 1)
    first = portfolio.portfolio(dpo, only="dpia", sort="dpia", page=1, per_page=1)
    assert {first.rows[0].name, past_the_end.rows[0].name} == {"Syndicat A", "Ville A"}
    db.session.get(Breach, day["work"]["member"]["pending"][0].id).is_closed = True
    db.session.flush()
    assert {r.name for r in portfolio.portfolio(dpo, only="pending").rows} == {"Syndicat A"}


def test_referent_home_counts_his_organisation_only_and_links_to_its_lists(
    world: World, login_as: Any, day: dict[str, Any]
) -> None:
    work = day["work"]["member"]
    client = login_as(world.a.member_referent, world.a.member)
    page = _html(client.get("/"))
    assert 'data-widget="registers.dpo"' not in page
    figures = _figures(page, "registers.referent")
    # The fiches of Ville A's register under 100 %: the set's "incomplete" one (models, archived
    # fiches and other organisations' fiches are not counted).
    assert figures["incomplete"][:2] == (1, "/registers/activities/?completeness=incomplete")
    assert figures["template"][:2] == (1, "/registers/activities/?review=model_update")
    assert figures["requests"][:2] == (3, "/registers/requests?status=open")
    assert figures["overdue"][:2] == (1, "/registers/requests?urgency=overdue")
    assert all(note == "" for _, _, note in figures.values())
    listed = _html(client.get("/registers/activities/?completeness=incomplete"))
    assert _fiche_names(listed) == {a.name for a in work["incomplete"]}
    requests_page = _html(client.get("/registers/requests?urgency=overdue"))
    assert requests_page.count("/registers/requests/") - requests_page.count("/registers/requests/new") == 1
    watch = _figures(page, "registers.breaches")
    assert watch["pending"][:2] == (1, "/registers/breaches?status=open&decision=pending")
    assert watch["breaches"][0] == 2
    assert "Fuite VA" in page
    assert "Fuite SA" not in page  # the syndicate's breach: not his organisation


def test_rssi_sees_the_breaches_of_the_active_organisation(
    world: World, login_as: Any, day: dict[str, Any]
) -> None:
    page = _html(login_as(world.a.users[Role.RSSI], world.a.syndicate).get("/"))
    watch = _figures(page, "registers.breaches")
    assert watch["pending"][:2] == (1, "/registers/breaches?status=open&decision=pending")
    assert "Fuite SA" in page
    assert "Fuite VA" not in page
    assert 'data-widget="registers.dpo"' not in page
    assert 'href="/registers/breaches/new"' in page


def test_rssi_records_a_breach_but_does_not_edit_it(world: World, login_as: Any, session: Any) -> None:
    client = login_as(world.a.users[Role.RSSI], world.a.syndicate)
    form = _html(client.get("/registers/breaches/new"))
    response = client.post(
        "/registers/breaches/new",
        data={
            "csrf_token": csrf_token_from(form),
            "title": "Rançongiciel sur le serveur de fichiers",
            "discovered_at": utcnow().astimezone(breaches.PARIS).strftime("%Y-%m-%dT%H:%M"),
            "natures": ["disponibilite", "confidentialite"],
            "cnil_decision": "pending",
            "subjects_decision": "pending",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    breach = session.scalar(select(Breach).where(Breach.title == "Rançongiciel sur le serveur de fichiers"))
    assert breach.organisation_id == world.a.syndicate.id
    assert client.get(f"/registers/breaches/{breach.id}/edit").status_code == 403
    assert "Modifier" not in _html(client.get(f"/registers/breaches/{breach.id}"))


def test_the_rssi_permission_comes_from_the_registers_domain_record(app: Flask) -> None:
    import registers  # noqa: PLC0415
    from core.security import ROLE_PERMISSIONS, Permission  # noqa: PLC0415

    granted = {
        role for role, perms in registers.DOMAIN.permissions.items() if Permission.BREACHES_RECORD in perms
    }
    assert granted == {Role.DPO, Role.REFERENT, Role.RSSI}
    assert all(Permission.BREACHES_RECORD in ROLE_PERMISSIONS[role] for role in granted)
    assert Permission.BREACHES_RECORD not in ROLE_PERMISSIONS[Role.READER]


# --- the administrator --------------------------------------------------------------------------


def test_admin_home_counts_locked_accounts_invitations_and_organisations_without_dpo(
    world: World, login_as: Any, session: Any
) -> None:
    now = utcnow()
    locked = f.UserFactory(full_name="Verrouillé Durand", locked_until=now + H, failed_login_count=5)
    f.UserFactory(full_name="Ancien verrou", locked_until=now - H)  # lock expired: not counted
    invited = f.UserFactory(full_name="Invitée Martin", password_hash=None)
    f.UserFactory(full_name="Désactivé sans mot de passe", password_hash=None, is_enabled=False)
    session.flush()
    users = session.scalars(select(User)).all()
    expected_locked = {u.full_name for u in users if u.locked_until and u.locked_until > now}
    expected_invited = {u.full_name for u in users if u.password_hash is None and u.is_enabled}
    assert expected_locked == {locked.full_name}
    assert expected_invited == {invited.full_name}
    # Organisations without a DPO: in the world, each syndicate has one, the members none.
    orphans = {world.a.member.name, world.b.member.name}

    client = login_as(world.a.users[Role.ADMIN], world.a.syndicate)
    page = _html(client.get("/"))
    figures = _figures(page, "accounts.accounts")
    assert figures["locked"][:2] == (1, "/admin/users/?status=locked")
    assert figures["invited"][:2] == (1, "/admin/users/?status=invited")
    assert figures["without_dpo"][:2] == (len(orphans), "/organisations/?dpo=none")

    def names(url: str, pattern: str) -> set[str]:
        return set(re.findall(pattern, _html(client.get(url))))

    assert names("/admin/users/?status=locked", r'/admin/users/\d+">([^<]+)</a>') == expected_locked
    assert names("/admin/users/?status=invited", r'/admin/users/\d+">([^<]+)</a>') == expected_invited
    assert names("/organisations/?dpo=none", r'/organisations/\d+">([^<]+)</a>') == orphans


# --- queries: a fixed number, whatever the number of organisations -------------------------------


def _statements(client: FlaskClient, url: str) -> int:
    count = [0]

    def listener(*args: Any) -> None:
        count[0] += 1

    engine = f._SessionHolder.session.get_bind()  # the test's connection: every request's too
    event.listen(engine, "before_cursor_execute", listener)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return count[0]


def test_dpo_home_and_filtered_portfolio_queries_do_not_grow_with_the_organisations(
    world: World, login_as: Any, session: Any
) -> None:
    dpo = world.a.users[Role.DPO]
    now, today = utcnow(), rights.local_today()

    def serve(n: int) -> None:
        for i in range(n):
            org = f.OrganisationFactory(syndicate=world.a.syndicate)
            f.MembershipFactory(user=dpo, organisation=org, role=Role.DPO)
            _seed_work(org, today, now, label=f"N{i}")
        session.flush()

    serve(2)
    client = login_as(dpo, world.a.syndicate)
    _statements(client, "/")  # warm-up (first request of the client)
    few = (_statements(client, "/"), _statements(client, "/registers/portfolio/?only=dpia&sort=breaches"))
    serve(10)
    many = (_statements(client, "/"), _statements(client, "/registers/portfolio/?only=dpia&sort=breaches"))
    assert few == many
    page = _html(client.get("/"))
    assert _figures(page, "registers.dpo")["dpia"][0] == 12 * 2
    assert _figures(page, "registers.breaches")["pending"][0] == 12
    assert page.count('class="deadline-clock deadline-red"') == 5  # the 5 most urgent


def test_home_page_in_english(world: World, login_as: Any, day: dict[str, Any]) -> None:
    client = login_as(world.a.users[Role.DPO], world.a.syndicate)
    assert client.post("/language", data={"lang": "en", "next": "/"}).status_code == 302
    page = _html(client.get("/"))
    for text in (
        "required DPIAs not done",
        "overdue rights requests",
        "records awaiting validation",
        "awaiting the notification decision",
        "in 2 organisations",
        "Record a breach",
    ):
        assert text in page, text
    clock = re.search(r'<span class="deadline-clock deadline-red"[^>]*>([^<]*)</span>', page)
    assert clock
    assert re.fullmatch(r"\d+ h \d+ min left", clock.group(1)), clock.group(1)
    assert 'data-text-left="{h} h {m} min left"' in clock.group(0)
    assert "restantes" not in page
