"""The SMSI's dashboard: its figures (open incidents by severity, response times per month, actions,
the review), the charts as CSP-safe inline SVG drawn by the documents' code, and the page itself —
each figure a link to its filtered list, nothing of another organisation."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from xml.etree import ElementTree as ET

from flask import Flask

from core.extensions import db
from core.security import Role
from reports import charts
from smsi.models import ActionPriority, Severity, TimelineKind
from smsi.services import actions, dashboard, incidents
from smsi.services import review as review_service
from tests.conftest import World, acting_as

UTC = dt.UTC


def _incident(org: Any, title: str, detected: dt.datetime, **changes: Any) -> Any:
    data = {
        "title": title,
        "detected_at": detected,
        "category": "availability",
        "severity": "2",
        "status": "new",
    }
    return incidents.create_incident(org, None, {**data, **changes})


def _action(org: Any, owner: int, title: str, due: dt.date, **changes: Any) -> Any:
    data = {
        "title": title,
        "origin": "other",
        "origin_detail": "Test",
        "type": "corrective",
        "owner_id": owner,
        "status": "planned",
        "due_on": due,
        "priority": "normal",
    }
    return actions.create_action(org, None, {**data, **changes})


def test_figures(world: World, app: Flask) -> None:
    today = review_service.local_today()
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        org = db.session.merge(world.a.syndicate)
        now = dt.datetime.now(UTC)
        month_start = dt.datetime.combine(today.replace(day=1), dt.time(), tzinfo=review_service.PARIS)
        detected = max(month_start.astimezone(UTC) + dt.timedelta(minutes=1), now - dt.timedelta(hours=30))
        critical = _incident(
            org, "Rançongiciel", detected, severity="4", has_personal_data=True, impact_confidentiality=True
        )
        _incident(org, "Panne", detected, severity="2")
        incidents.add_event(
            critical, None, TimelineKind.CONTAINMENT, detected + dt.timedelta(hours=4), "Isolé"
        )
        incidents.add_event(
            critical, None, TimelineKind.RECOVERY, detected + dt.timedelta(hours=10), "Rétabli"
        )
        # A later containment entry does not move the first one.
        incidents.add_event(
            critical, None, TimelineKind.CONTAINMENT, detected + dt.timedelta(hours=8), "Encore"
        )
        _incident(
            org,
            "Clos",
            detected,
            severity="3",
            status="closed",
            root_cause="Cause",
            lessons_learned="Leçon",
            closed_at=detected + dt.timedelta(hours=2),
        )
        owner = world.a.users[Role.RSSI].id
        late = _action(org, owner, "En retard", today + dt.timedelta(days=1), priority="high")
        late.due_on = today - dt.timedelta(days=3)  # a new action cannot be late: it became so
        _action(org, owner, "Cette semaine", today + dt.timedelta(days=2))
        _action(org, owner, "Plus tard", today + dt.timedelta(days=40), priority="low")
        db.session.flush()

        open_ = dashboard.open_incidents()
        assert open_.by_severity[Severity.CRITICAL] == 1
        assert open_.by_severity[Severity.SIGNIFICANT] == 1
        assert open_.by_severity[Severity.MAJOR] == 0  # the closed one
        assert open_.total == 2
        assert open_.with_personal_data == 1
        assert next(s for s, _n in open_.most_severe_first) is Severity.CRITICAL

        months = dashboard.response_times(today)
        assert len(months) == 12
        assert months[-1].month == today.replace(day=1)
        assert months[0].month < months[-1].month
        current = months[-1]
        assert current.detected == 3
        assert current.contained == [4.0]  # the first containment entry only
        assert current.resolved == [10.0]
        assert current.mean_to_contain == 4.0
        assert current.mean_to_resolve == 10.0
        assert all(m.detected == 0 and m.mean_to_contain is None for m in months[:-1])

        figures = dashboard.action_figures(today)
        assert (figures.open, figures.overdue, figures.week) == (3, 1, 1)
        assert figures.overdue_by_priority[ActionPriority.HIGH] == 1
        assert figures.overdue_by_priority[ActionPriority.LOW] == 0

        status = dashboard.review_status(org.id, today)
        assert status.week_start == review_service.monday_of(today)
        assert not status.held_this_week
        assert status.last_held is None
        review_service.save_minutes(
            org,
            None,
            status.week_start,
            {"held_on": today, "attendees": "RSSI", "minutes": "Compte rendu", "decisions": ""},
        )
        db.session.flush()
        assert dashboard.review_status(org.id, today).held_this_week

    # Another organisation sees none of it.
    with app.test_request_context(), acting_as(world.b.users[Role.RSSI], world.b.syndicate):
        assert dashboard.open_incidents().total == 0
        assert sum(m.detected for m in dashboard.response_times(today)) == 0
        assert dashboard.action_figures(today).open == 0


def test_month_starts_cross_the_year() -> None:
    starts = dashboard._month_starts(dt.date(2026, 2, 17), 12)
    assert starts[0] == dt.date(2025, 3, 1)
    assert starts[-1] == dt.date(2026, 2, 1)
    assert len(set(starts)) == 12


def test_svg_is_csp_safe_and_titled(app: Flask) -> None:
    with app.test_request_context():
        cats = [charts.Category("a", "Alpha & <b>", "#c53030"), charts.Category("b", "Bêta", "#2f855a")]
        drawing = charts.stacked_bars([charts.BarRow("Ligne", {"a": 3, "b": 1})], cats)
        svg = str(charts.to_svg(drawing, title="Titre <x>", key="k 1"))
    assert svg.startswith("<svg")
    assert "<?xml" not in svg
    assert "DOCTYPE" not in svg
    assert "style=" not in svg  # the CSP forbids inline styles
    assert 'role="img"' in svg
    assert 'aria-labelledby="k-1-title"' in svg
    assert '<title id="k-1-title">Titre &lt;x&gt;</title>' in svg
    assert "Alpha &amp; &lt;b&gt;" in svg  # texts escaped, not markup
    assert 'fill="rgb(77%,19%,19%)"' in svg or "#c53030" in svg.lower() or "rgb(" in svg
    ids = re.findall(r'id="([^"]+)"', svg)
    assert ids
    assert all(i.startswith("k-1-") for i in ids)
    for ref in re.findall(r"url\(#([^)]+)\)", svg):
        assert ref in ids


def test_columns_scale_and_gaps(app: Flask) -> None:
    with app.test_request_context():
        cat = charts.Category("c", "Confinement", "#d69e2e")
        drawing = charts.columns(["janv.", "févr.", "mars"], [(cat, [3.0, None, 37.0])], unit="heures")
        svg = str(charts.to_svg(drawing, title="t", key="c"))
    # Ticks up to a round ceiling above the largest value; a month without value draws no column.
    assert ">40<" in svg
    assert ">0<" in svg
    root = ET.fromstring(svg)  # noqa: S314 — our own output
    filled = [
        r.get("fill") for r in root.iter(f"{{{charts.SVG_NS}}}rect") if r.get("fill") not in (None, "none")
    ]
    assert len(filled) == 3
    assert len(set(filled)) == 1
    assert charts._nice_ceiling(37) == (40.0, 10.0)
    assert charts._nice_ceiling(0) == (1.0, 0.25)
    assert charts._nice_ceiling(0.4)[0] >= 0.4
    assert charts._nice_ceiling(1234)[0] >= 1234


def test_dashboard_page(world: World, app: Flask, login_as: Any) -> None:
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        org = db.session.merge(world.a.syndicate)
        _incident(org, "Inondation", dt.datetime.now(UTC) - dt.timedelta(hours=3), severity="3")
        db.session.commit()
    rssi = login_as(world.a.users[Role.RSSI], world.a.syndicate)
    page = rssi.get("/smsi/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for chart in ("severity", "response", "soa"):
        assert f'aria-labelledby="{chart}-title"' in html
    assert 'aria-labelledby="overdue-title"' not in html  # no action overdue: no empty chart
    assert "style=" not in html.split("<main", 1)[-1].split("</main>")[0]
    assert 'data-figure="severity-3" href="/smsi/incidents/?status=open&amp;severity=3">1<' in html
    assert 'href="/smsi/actions/?due=overdue"' in html
    assert "Revue de la semaine du" in html
    # Another organisation's RSSI: none of it.
    other = login_as(world.b.users[Role.RSSI], world.b.syndicate)
    other_html = other.get("/smsi/").get_data(as_text=True)
    assert 'data-figure="severity-3" href="/smsi/incidents/?status=open&amp;severity=3">0<' in other_html


def test_cached_svg_follows_its_key(app: Flask) -> None:
    built: list[int] = []

    def build(n: int) -> Any:
        built.append(n)
        return charts.Markup(f"<svg>{n}</svg>")

    first = charts.cached_svg(("test", 1), lambda: build(1))
    again = charts.cached_svg(("test", 1), lambda: build(99))
    other = charts.cached_svg(("test", 2), lambda: build(2))
    assert str(first) == str(again) == "<svg>1</svg>"
    assert str(other) == "<svg>2</svg>"
    assert built == [1, 2]  # the second call with key 1 built nothing


def test_heat_map_shows_new_figures_at_once(world: World, app: Flask, login_as: Any) -> None:
    """The cache key holds the counts: a new risk changes the picture on the next request."""
    rssi = login_as(world.a.users[Role.RSSI], world.a.syndicate)
    data = {"title": "Flood", "asset_kind": "site", "asset": "Room", "likelihood": "4", "impact": "4"}
    assert rssi.post("/risks/new", data=data).status_code == 302
    assert ">1</text>" in rssi.get("/risks/").get_data(as_text=True)
    assert rssi.post("/risks/new", data=data | {"title": "Fire"}).status_code == 302
    page = rssi.get("/risks/").get_data(as_text=True)
    assert ">2</text>" in page
    assert ">1</text>" not in page
