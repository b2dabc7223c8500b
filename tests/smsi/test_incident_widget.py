"""The RSSI's home card of incidents: open incidents with their clocks — the nearest deadline still
running for each (the 72 h of its breaches, a NIS2 step), red once passed, where its breaches stand —
every figure a link to the filtered list or to the incident, and a bounded number of queries."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from flask import Flask

from accounts.models import Nis2Entity, Organisation
from core.db import utcnow
from core.extensions import db
from core.security import Role
from smsi.services import incidents as svc
from tests.accounts.factories import OrganisationFactory
from tests.catalogue.factories import SubscriptionFactory
from tests.conftest import World, acting_as
from tests.core.test_journal_display import counted_queries

BASE = {
    "title": "Rançongiciel",
    "category": "malware",
    "severity": "3",
    "impact_confidentiality": True,
    "status": "new",
}


def _hours_ago(hours: float) -> dt.datetime:
    return (utcnow() - dt.timedelta(hours=hours)).replace(microsecond=0)


def _item(home: str, incident_id: int) -> str:
    found = re.search(
        rf'<li class="list-group-item[^"]*" data-incident="{incident_id}">(.*?)</li>', home, re.S
    )
    assert found is not None, home[-4000:]
    return found.group(1)


def test_the_card_shows_each_open_incidents_nearest_clock_and_every_figure_is_a_link(
    world: World, app: Flask, login_as: Any
) -> None:
    a = world.a
    with app.test_request_context(), acting_as(a.users[Role.RSSI], a.syndicate):
        syndicate = db.session.merge(a.syndicate)
        syndicate.nis2_entity = Nis2Entity.ESSENTIAL
        app_id = db.session.merge(a.application).id
        running = svc.create_incident(
            syndicate,
            None,
            {**BASE, "title": "Fuite récente", "detected_at": _hours_ago(30), "has_personal_data": True,
             "application_ids": [app_id]},
        )  # fmt: skip
        overdue = svc.create_incident(
            syndicate,
            None,
            {**BASE, "title": "Fuite ancienne", "detected_at": _hours_ago(80), "has_personal_data": True,
             "application_ids": [app_id]},
        )  # fmt: skip
        nis2 = svc.create_incident(
            syndicate,
            None,
            {**BASE, "title": "Panne NIS2", "detected_at": _hours_ago(30.5), "nis2_significant": True},
        )
        quiet = svc.create_incident(
            syndicate, None, {**BASE, "title": "Poste infecté", "detected_at": _hours_ago(2)}
        )
        db.session.commit()
        ids = {"running": running.id, "overdue": overdue.id, "nis2": nis2.id, "quiet": quiet.id}

    rssi = login_as(a.users[Role.RSSI], a.syndicate)
    home = rssi.get("/").get_data(as_text=True)
    # 30 h after the detection, 41 to 42 h remain of the breach's 72 h.
    item = _item(home, ids["running"])
    assert "Notification à la CNIL (72 h)" in item
    assert re.search(r"4[12] h \d+ min restantes", item)
    assert "deadline-overdue" not in item
    assert "1 violation</a> : 0 notifiée, 1 à décider" in item
    assert f'href="/smsi/incidents/{ids["running"]}#breaches"' in item
    # 80 h after: overdue by 8 h (and a few seconds: "9 h", hours late are rounded up), in red.
    item = _item(home, ids["overdue"])
    assert "deadline-overdue" in item
    assert "délai dépassé de 9 h" in item
    # A significant incident of an essential entity: its early warning is 6 h 30 late.
    item = _item(home, ids["nis2"])
    assert "Alerte précoce (NIS2, 24 h)" in item
    assert "deadline-overdue" in item
    assert "délai dépassé de 7 h" in item
    assert f'href="/smsi/incidents/{ids["nis2"]}#nis2"' in item
    # No breach, no NIS2: no clock.
    assert "deadline-clock" not in _item(home, ids["quiet"])

    # Every figure is a link, and the link lists what the figure counts.
    personal = re.search(r'data-figure="incidents-personal" href="([^"]+)"><span[^>]*>(\d+)</span>', home)
    assert personal is not None
    assert personal.group(2) == "2"
    listed = rssi.get(personal.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert "Fuite récente" in listed
    assert "Fuite ancienne" in listed
    assert "Panne NIS2" not in listed
    total = re.search(r'data-figure="incidents" href="([^"]+)"><span[^>]*>(\d+)</span>', home)
    assert total is not None
    assert total.group(2) == "4"
    assert "Poste infecté" in rssi.get(total.group(1)).get_data(as_text=True)
    for link in re.findall(r'data-figure="incident-(?:clock|breaches)" href="([^"#]+)#', home):
        assert rssi.get(link).status_code == 200


def test_the_card_asks_the_same_few_queries_whatever_the_number_of_incidents_and_breaches(
    world: World, app: Flask
) -> None:
    a = world.a

    def watch_queries(count: int) -> int:
        with app.test_request_context(), acting_as(a.users[Role.RSSI], a.syndicate):
            syndicate = db.session.get(Organisation, a.syndicate.id)
            syndicate.nis2_entity = Nis2Entity.IMPORTANT
            app_id = db.session.merge(a.application).id
            for n in range(count):
                member = OrganisationFactory(name=f"Adhérent {count}-{n}", syndicate=syndicate)
                SubscriptionFactory(application=db.session.merge(a.application), member=member)
                svc.create_incident(
                    syndicate,
                    None,
                    {**BASE, "title": f"Fuite {n}", "detected_at": _hours_ago(10 + n),
                     "has_personal_data": True, "nis2_significant": True, "application_ids": [app_id]},
                )  # fmt: skip
            db.session.commit()
            db.session.expire_all()
            syndicate = db.session.get(Organisation, a.syndicate.id)  # (merge would copy the stale row)
            assert syndicate.nis2_entity is Nis2Entity.IMPORTANT
            with counted_queries(app) as statements:
                watch = svc.incident_watch(syndicate)
            assert all(i.clock is not None for i in watch.latest)
            return len(statements)

    assert watch_queries(1) == watch_queries(4)
