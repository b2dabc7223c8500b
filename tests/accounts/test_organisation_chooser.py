"""A user serving many organisations (a mutualised DPO) gets a searchable chooser instead of a
select listing them all in the header; the request path never loads all the memberships."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from accounts.models import Organisation
from core.security import Role
from tests import factories as f


def serve_many(session: Any, world: Any, n: int) -> Any:
    dpo = f.UserFactory(email="dpo.mutualise@example.org")
    f.MembershipFactory(user=dpo, organisation=world.a.syndicate, role=Role.DPO)
    for i in range(n):
        org = f.OrganisationFactory(name=f"Commune servie {i:02d}", syndicate=world.a.syndicate)
        f.MembershipFactory(user=dpo, organisation=org, role=Role.DPO)
    session.flush()
    return dpo


def test_header_links_to_the_chooser_above_thirty_organisations(
    world: Any, session: Any, login_as: Any
) -> None:
    client = login_as(serve_many(session, world, 35))
    home = client.get("/").get_data(as_text=True)
    assert 'id="active_organisation_id"' not in home  # no 36-option select
    assert 'href="/active-organisation?next=' in home
    page = client.get("/active-organisation?q=servie+07").get_data(as_text=True)
    assert "Commune servie 07" in page
    assert "Commune servie 08" not in page
    org_id = session.scalar(select(Organisation.id).where(Organisation.name == "Commune servie 07"))
    response = client.post(
        "/active-organisation", data={"organisation_id": org_id, "next": "/registers/activities/"}
    )
    assert response.status_code == 302
    assert "Commune servie 07" in client.get("/registers/activities/").get_data(as_text=True)


def test_chooser_lists_only_the_users_own_organisations(world: Any, session: Any, login_as: Any) -> None:
    client = login_as(serve_many(session, world, 2))
    page = client.get("/active-organisation?per_page=100").get_data(as_text=True)
    assert "Commune servie 01" in page
    assert "Ville B" not in page
    assert "Syndicat B" not in page
    # A few organisations: the header keeps its select.
    assert 'id="active_organisation_id"' in client.get("/").get_data(as_text=True)
    # Someone else's organisation cannot be chosen.
    assert client.post("/active-organisation", data={"organisation_id": world.b.member.id}).status_code == 404


def test_the_token_form_offers_the_active_organisation_only_beyond_thirty(
    world: Any, session: Any, login_as: Any
) -> None:
    """The same limit as the header: "Mon compte" of a DPO serving thousands of members built a
    select of every one of them on each view. Beyond thirty, the active organisation is offered and
    a token may still name any organisation where the user holds a role (the rule of create_token)."""
    import datetime as dt  # noqa: PLC0415

    from accounts.models import ApiToken  # noqa: PLC0415
    from core.db import today  # noqa: PLC0415
    from tests.conftest import csrf_token_from  # noqa: PLC0415

    dpo = serve_many(session, world, 35)
    client = login_as(dpo)
    org_id = session.scalar(select(Organisation.id).where(Organisation.name == "Commune servie 07"))
    client.post("/active-organisation", data={"organisation_id": org_id, "next": "/"})
    page = client.get("/account/").get_data(as_text=True)
    select_html = page.split('id="organisation_id"')[1].split("</select>")[0]
    assert select_html.count("<option") == 1
    assert "Commune servie 07" in select_html
    assert "selected" in select_html
    assert "pour un jeton d" in page
    other = session.scalar(select(Organisation.id).where(Organisation.name == "Commune servie 21"))
    data = {
        "csrf_token": csrf_token_from(page),
        "name": "Export",
        "organisation_id": other,  # served, not active: allowed (a role there today)
        "scope": "read",
        "expires_on": (today() + dt.timedelta(days=30)).isoformat(),
    }
    assert client.post("/account/api-tokens", data=data).status_code == 200
    assert session.scalar(select(ApiToken.organisation_id).where(ApiToken.name == "Export")) == other
    data["organisation_id"] = world.b.member.id  # not served: refused, as before
    data["name"] = "Ailleurs"
    assert client.post("/account/api-tokens", data=data).status_code == 422
    assert session.scalar(select(ApiToken.id).where(ApiToken.name == "Ailleurs")) is None
    # A few organisations: every one is offered, the active one first selected.
    few = login_as(world.a.users[Role.DPO]).get("/account/").get_data(as_text=True)
    assert "pour un jeton d" not in few
