"""The risks domain on the Statement of Applicability's pages (risks.panels, risks.services.controls):
a control's page lists the risks citing it and the actions answering it (the risks' corrective
actions, the parcours and EBIOS RM measures' actions) — that control's and no other's, A.5.1's and
not A.5.10's, the active organisation's only —, in English too, in a number of queries that does not
grow with the rows; the statement's list counts them per control in one query."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

from flask import Flask
from sqlalchemy import event

from core.security import Role
from risks.models import Treatment, risk_actions
from risks.services import controls
from smsi.models import Action, ActionStatus
from tests import factories as f
from tests.conftest import World, acting_as
from tests.core.test_i18n import french_left_in
from tests.risks import factories as rf
from tests.smsi.factories import ActionFactory

A51, A52, A510 = "A.5.1", "A.5.2", "A.5.10"


def _page(client: Any, control_id: str) -> str:
    response = client.get(f"/smsi/soa/control?id={control_id}")
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


def _panel(page: str) -> str:
    """The panel's section of the page (from its heading to the end of its card)."""
    start = page.index('id="h-control-risks"')
    return page[start : page.index("</section>", start)]


def _risk_with_action(session: Any, org: Any, control_ids: list[str], **kwargs: Any) -> tuple[Any, Any]:
    risk = rf.RiskFactory(organisation=org, control_ids=control_ids, **kwargs)
    action = ActionFactory(organisation=org, title=f"Treats {risk.reference}")
    session.flush()
    session.execute(risk_actions.insert().values(risk_id=risk.id, action_id=action.id))
    session.flush()
    return risk, action


def _ebios_measure(session: Any, org: Any, control_ids: list[str]) -> tuple[Any, Any, Any]:
    study = rf.EbiosStudyFactory(organisation=org)
    measure = rf.ebios_objects(study)["measure"]
    action = ActionFactory(organisation=org, title="MFA for admins")
    measure.action_id, measure.control_ids = action.id, control_ids
    session.flush()
    return study, measure, action


def test_a_controls_page_lists_the_risks_citing_it_and_the_actions_answering_it(
    world: World, login_as: Any, session: Any
) -> None:
    org = world.a.syndicate
    risk, action = _risk_with_action(
        session, org, [A51, "A.8.13"], title="Flooded server room", treatment=Treatment.REDUCE
    )
    late = ActionFactory(organisation=org, title="Late backup test", due_on=dt.date(2020, 1, 31))
    closed = ActionFactory(organisation=org, title="Closed one", status=ActionStatus.EFFECTIVE, is_open=False)
    session.flush()
    session.execute(risk_actions.insert(), [{"risk_id": risk.id, "action_id": a.id} for a in (late, closed)])
    parcours = rf.ParcoursFactory(organisation=org)
    measure = rf.ParcoursMeasureFactory(phase=rf.ParcoursPhaseFactory(parcours=parcours), control_ids=[A51])
    study, _ebios, ebios_action = _ebios_measure(session, org, [A51])
    other, other_action = _risk_with_action(session, org, [A510], title="Shadow IT")  # A.5.10, not A.5.1
    session.flush()
    measure_action = session.get(Action, measure.action_id)
    client = login_as(world.a.users[Role.RSSI], org)

    panel = _panel(_page(client, A51))  # a control nobody assessed yet shows its risks too
    assert f'<a href="/risks/{risk.id}">{risk.reference}</a> Flooded server room' in panel
    assert "risk-level-" in panel  # its current level, as a badge
    assert "Réduire (mesures de sécurité)" in panel
    for linked in (action, late, closed, measure_action, ebios_action):
        assert f'<a href="/smsi/actions/{linked.id}">{linked.reference}</a>' in panel, linked.title
    assert "Planifiée" in panel
    assert "Efficacité vérifiée" in panel
    assert "en retard" in panel  # the late action, flagged
    assert f'risque <a href="/risks/{risk.id}">{risk.reference}</a>' in panel  # why each action is here
    assert "parcours de cybersécurité" in panel
    assert f"{study.reference} — MFA" in panel
    # Open actions first, by due date; the closed one last.
    order = [panel.index(f"{a.reference}</a>") for a in (late, action, closed)]
    assert order == sorted(order)
    # A.5.10 is not A.5.1, and the other way round.
    assert other.reference not in panel
    assert other_action.reference not in panel
    panel_510 = _panel(_page(client, A510))
    assert other.reference in panel_510
    assert risk.reference not in panel_510

    empty = _panel(_page(client, A52))
    assert "Aucun risque du registre ne cite cette mesure." in empty
    assert "Aucune action ne répond à cette mesure" in empty
    assert risk.reference not in empty


def test_another_organisations_risks_and_actions_never_show(
    world: World, login_as: Any, session: Any
) -> None:
    risk_b, action_b = _risk_with_action(
        session, world.b.syndicate, [A51], title="SECRET-B risk", reference="RSK-SECRET-B"
    )
    _study, _measure, ebios_b = _ebios_measure(session, world.b.syndicate, [A51])
    ebios_b.title = "SECRET-B measure"
    risk_a, _action_a = _risk_with_action(session, world.a.syndicate, [A51], title="Own risk")
    session.flush()

    panel = _panel(_page(login_as(world.a.users[Role.RSSI], world.a.syndicate), A51))
    assert "Own risk" in panel
    assert "SECRET-B" not in panel
    assert risk_b.reference not in panel
    assert risk_a.reference in panel
    assert f'/smsi/actions/{action_b.id}"' not in panel
    assert f'/smsi/actions/{ebios_b.id}"' not in panel

    panel_b = _panel(_page(login_as(world.b.users[Role.RSSI], world.b.syndicate), A51))
    assert "SECRET-B risk" in panel_b
    assert "Own risk" not in panel_b


def test_the_panel_reads_in_english(world: World, login_as: Any, session: Any) -> None:
    _risk_with_action(session, world.a.syndicate, [A51], treatment=Treatment.ACCEPT, accepted_by="Board")
    rf.ParcoursMeasureFactory(
        phase=rf.ParcoursPhaseFactory(parcours=rf.ParcoursFactory(organisation=world.a.syndicate)),
        control_ids=[A51],
    )
    _ebios_measure(session, world.a.syndicate, [A51])
    session.flush()
    client = login_as(world.a.users[Role.RSSI])  # the syndicate, active by default (no French flash)
    assert client.post("/language", data={"lang": "en", "next": "/"}).status_code == 302
    for control_id in (A51, A52):  # with rows, and empty
        response = client.get(f"/smsi/soa/control?id={control_id}")
        page = response.get_data(as_text=True)
        assert french_left_in(page) == [], control_id
        assert "Related risks and actions" in page
    assert "Risks citing this control" in page
    assert "No risk in the register cites this control." in page
    listing = client.get("/smsi/soa/").get_data(as_text=True)
    assert french_left_in(listing) == []
    assert re.search(r"1 risk · 3 actions", html.unescape(listing))


def _queries(client: Any, url: str) -> int:
    count = [0]

    def seen(*_args: Any) -> None:
        count[0] += 1

    engine = f._SessionHolder.session.get_bind()  # the test's connection: every request's too
    event.listen(engine, "before_cursor_execute", seen)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    return count[0]


def test_the_panel_and_the_list_counts_read_in_a_constant_number_of_queries(
    world: World, login_as: Any, session: Any
) -> None:
    org = world.a.syndicate
    client = login_as(world.a.users[Role.RSSI], org)
    _risk_with_action(session, org, [A51])
    _ebios_measure(session, org, [A51])
    session.flush()
    url = f"/smsi/soa/control?id={A51}"
    few, few_list = _queries(client, url), _queries(client, "/smsi/soa/")
    for _n in range(5):
        _risk_with_action(session, org, [A51, A52])
        _ebios_measure(session, org, [A51])
    session.flush()
    assert _queries(client, url) == few
    assert _queries(client, "/smsi/soa/") == few_list


def test_the_list_counts_risks_and_actions_per_control(
    world: World, app: Flask, login_as: Any, session: Any
) -> None:
    org = world.a.syndicate
    _risk_with_action(session, org, [A51, A52])
    _risk_with_action(session, org, [A510])
    _ebios_measure(session, org, [A51])
    _risk_with_action(session, world.b.syndicate, [A51])  # another organisation's: not counted
    session.flush()
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], org):
        counts = controls.link_counts()
    assert counts[A51] == controls.LinkCounts(risks=1, actions=2)
    assert counts[A52] == controls.LinkCounts(risks=1, actions=1)
    assert counts[A510] == controls.LinkCounts(risks=1, actions=1)
    assert "A.5.3" not in counts

    page = html.unescape(login_as(world.a.users[Role.RSSI], org).get("/smsi/soa/").get_data(as_text=True))
    row = page[page.index('id="c-A.5.1"') : page.index('id="c-A.5.2"')]
    assert "1 risque · 2 actions" in row
    assert "risque" not in page[page.index('id="c-A.5.3"') : page.index('id="c-A.5.4"')]


def test_an_unknown_control_has_no_links(world: World, app: Flask, session: Any) -> None:
    _risk_with_action(session, world.a.syndicate, [A51])
    session.flush()
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        assert controls.control_links("A.99.1") == controls.ControlLinks([], [])
        assert controls.control_links('A.5.1"') == controls.ControlLinks([], [])
        assert [r.title for r in controls.control_links(A51).risks] == ["Flood of the server room"]
