"""Corrective actions by organisation (issue 11: "Lists: mine, overdue, by origin, by organisation"):
whoever follows the SMSI of several organisations sees each one's figures — and only theirs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from core.db import today
from core.security import Role
from smsi.models import ActionStatus
from smsi.services import organisations as svc
from tests import factories as f
from tests.conftest import World
from tests.smsi.factories import ActionFactory


def _actions(
    org: Any, *, overdue: int = 0, week: int = 0, later: int = 0, done: int = 0, closed: int = 0
) -> None:
    on = today()
    for _ in range(overdue):
        ActionFactory(organisation=org, due_on=on - dt.timedelta(days=3))
    for _ in range(week):
        ActionFactory(organisation=org, due_on=on + dt.timedelta(days=5))
    for _ in range(later):
        ActionFactory(organisation=org, due_on=on + dt.timedelta(days=60))
    for _ in range(done):
        ActionFactory(organisation=org, due_on=on + dt.timedelta(days=60), status=ActionStatus.DONE)
    for _ in range(closed):
        ActionFactory(
            organisation=org, due_on=on - dt.timedelta(days=9), status=ActionStatus.EFFECTIVE, is_open=False
        )


def _mutualised_rssi(world: World, session: Any) -> Any:
    """The syndicate's RSSI, also RSSI of its member (a mutualised RSSI)."""
    rssi = world.a.users[Role.RSSI]
    f.MembershipFactory(user=rssi, organisation=world.a.member, role=Role.RSSI)
    session.flush()
    return rssi


def test_each_followed_organisation_with_its_figures_and_no_other(
    app: Any, world: World, session: Any, login_as: Any
) -> None:
    rssi = _mutualised_rssi(world, session)
    _actions(world.a.syndicate, overdue=2, week=1, later=1, done=1, closed=3)
    _actions(world.a.member, week=2)
    _actions(world.b.syndicate, overdue=7)  # another syndicate: its RSSI's, not ours
    session.flush()

    with app.test_request_context("/"):
        page = svc.by_organisation(rssi.id, today())
        rows = {r.name: (r.open, r.overdue, r.week, r.to_check) for r in page.items}
        assert rows == {world.a.syndicate.name: (5, 2, 1, 1), world.a.member.name: (2, 0, 2, 0)}
        assert svc.follows_several(rssi.id, today())
        assert not svc.follows_several(world.a.member_referent.id, today())
        by_overdue = svc.by_organisation(rssi.id, today(), "overdue")
        assert [r.name for r in by_overdue.items] == [world.a.syndicate.name, world.a.member.name]

    client = login_as(rssi, world.a.syndicate)
    assert 'href="/smsi/actions/organisations"' in client.get("/smsi/actions/").get_data(as_text=True)
    referent = login_as(world.a.member_referent, world.a.member)  # one organisation: no such link
    assert 'href="/smsi/actions/organisations"' not in referent.get("/smsi/actions/").get_data(as_text=True)
    html = client.get("/smsi/actions/organisations").get_data(as_text=True)
    assert world.a.member.name in html
    assert world.b.syndicate.name not in html
    # A figure is a button of its row's form: it makes the organisation active, then opens the list.
    assert f'<form method="post" action="/active-organisation" id="org-{world.a.member.id}">' in html
    assert f'form="org-{world.a.syndicate.id}" name="next" value="/smsi/actions/?due=overdue"' in html
    switched = client.post(
        "/active-organisation",
        data={"organisation_id": world.a.member.id, "next": "/smsi/actions/?due=week"},
    )
    assert switched.status_code == 302
    assert switched.location.endswith("/smsi/actions/?due=week")


def test_a_revoked_membership_or_a_role_without_the_smsi_hides_the_organisation(
    app: Any, world: World, session: Any
) -> None:
    rssi = _mutualised_rssi(world, session)
    admin = world.a.users[Role.ADMIN]  # the administrator reads no SMSI content
    with app.test_request_context("/"):
        assert {r.organisation_id for r in svc.by_organisation(admin.id, today()).items} == set()
        membership = next(m for m in rssi.memberships if m.organisation_id == world.a.member.id)
        membership.revoked_at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        session.flush()
        assert [r.organisation_id for r in svc.by_organisation(rssi.id, today()).items] == [
            world.a.syndicate.id
        ]
