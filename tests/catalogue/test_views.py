"""Catalogue pages: the list and its filters, tenancy on each page, writes, and query counts."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select

from accounts.models import Organisation, User
from catalogue.models import AppDomain, Application, Criticality, Hosting, Subscription
from core.extensions import db
from core.security import Role
from tests import factories as f
from tests.conftest import World

EMPTY_MESSAGE = "Aucune application ne correspond à ces critères."
DUPLICATE_MESSAGE = "Le catalogue contient déjà une application de ce nom."
ALREADY_SUBSCRIBED = "Cet adhérent utilise déjà cette application."
END_BEFORE_START = "La date de fin précède la date de début."

APP_LINK = re.compile(r'<a href="/catalogue/applications/(\d+)">')


# --- helpers ---------------------------------------------------------------------------------------


def _html(response: Any) -> str:
    return response.get_data(as_text=True)


def _listed(html: str) -> list[int]:
    """Ids of the applications listed on a catalogue page, in order."""
    return [int(i) for i in APP_LINK.findall(html)]


def _count_cell(html: str, app_id: int) -> str:
    """The "Abonnés"/"Abonnement" cell of an application's row in the list."""
    match = re.search(
        rf'<a href="/catalogue/applications/{app_id}">.*?<td class="text-end">([^<]*)</td>', html, re.S
    )
    assert match, f"application {app_id} not listed"
    return match.group(1).strip()


def _input_value(html: str, name: str) -> str | None:
    tag = re.search(rf'<input[^>]*\bname="{name}"[^>]*>', html)
    assert tag, f"no input {name}"
    value = re.search(r'\bvalue="([^"]*)"', tag.group(0))
    return value.group(1) if value else None


def _options(html: str, select_name: str) -> dict[int, str]:
    select_tag = re.search(rf'<select[^>]*\bname="{select_name}".*?</select>', html, re.S)
    assert select_tag, f"no select {select_name}"
    return {
        int(v): label.strip()
        for v, label in re.findall(r'<option[^>]*value="(\d+)"[^>]*>([^<]*)</option>', select_tag.group(0))
    }


def _field_error(html: str, field: str) -> str:
    match = re.search(rf'<div id="{field}-error"[^>]*>(.*?)</div>', html, re.S)
    assert match, f"no error beside {field}"
    return match.group(1)


def _app_form(**overrides: Any) -> dict[str, Any]:
    data = {
        "name": "Concerto",
        "editor": "Arpège",
        "domain": AppDomain.ENFANCE.value,
        "description": "Familles et scolaire",
        "hosting": Hosting.DATACENTRE.value,
        "criticality": Criticality.ELEVEE.value,
        "has_personal_data": "y",
    }
    return data | overrides


def _reload(session: Any, obj: Any) -> Any:
    session.expire_all()
    return session.get(type(obj), obj.id)


def _member(syndicate: Organisation, name: str, **kw: Any) -> Organisation:
    return f.OrganisationFactory(name=name, syndicate=syndicate, **kw)


def _member_rssi(org: Organisation) -> User:
    user = f.UserFactory(email=f"rssi.{org.id}@example.org")
    f.MembershipFactory(user=user, organisation=org, role=Role.RSSI)
    return user


@pytest.fixture
def rssi_a(world: World, login_as: Any) -> FlaskClient:
    return login_as(world.a.users[Role.RSSI], world.a.syndicate)


@pytest.fixture
def referent_a(world: World, login_as: Any) -> FlaskClient:
    return login_as(world.a.member_referent, world.a.member)


# --- the list ---------------------------------------------------------------------------------------


def test_syndicate_lists_all_its_applications_and_none_of_another(world: World, login_as: Any) -> None:
    unused = f.ApplicationFactory(syndicate=world.a.syndicate, name="Sans abonné")
    client = login_as(world.a.users[Role.RSSI], world.a.syndicate)
    response = client.get("/catalogue/")
    assert response.status_code == 200
    assert _listed(_html(response)) == [world.a.application.id, unused.id]
    assert "CANARY-B" not in _html(response)


@pytest.mark.parametrize(
    ("q", "expected"),
    [("berger", {"paie"}), ("PAIE", {"paie"}), ("familles", {"concerto"}), ("ConCerto", {"concerto"})],
)
def test_search_matches_name_editor_or_description_case_insensitively(
    world: World, login_as: Any, q: str, expected: set[str]
) -> None:
    apps = {
        "paie": f.ApplicationFactory(syndicate=world.a.syndicate, name="Paie", editor="Berger-Levrault"),
        "concerto": f.ApplicationFactory(
            syndicate=world.a.syndicate, name="Concerto", description="Portail FAMILLES"
        ),
    }
    client = login_as(world.a.users[Role.RSSI], world.a.syndicate)
    listed = _listed(_html(client.get("/catalogue/", query_string={"q": q})))
    assert listed == [apps[k].id for k in sorted(expected)]


def test_filters_by_domain_hosting_and_criticality(world: World, login_as: Any) -> None:
    rh = f.ApplicationFactory(syndicate=world.a.syndicate, name="Carrières", domain=AppDomain.RH)
    saas = f.ApplicationFactory(syndicate=world.a.syndicate, name="Parapheur", hosting=Hosting.SAAS)
    critical = f.ApplicationFactory(
        syndicate=world.a.syndicate, name="Messagerie", criticality=Criticality.CRITIQUE
    )
    client = login_as(world.a.users[Role.RSSI], world.a.syndicate)
    assert _listed(_html(client.get("/catalogue/?domain=rh"))) == [rh.id]
    assert _listed(_html(client.get("/catalogue/?hosting=saas"))) == [saas.id]
    assert _listed(_html(client.get("/catalogue/?criticality=critique"))) == [critical.id]
    assert _listed(
        _html(client.get("/catalogue/?domain=finances&hosting=datacentre&criticality=moyenne"))
    ) == [world.a.application.id]


def test_member_filter_keeps_only_apps_the_member_actively_uses(world: World, login_as: Any) -> None:
    syndicate = world.a.syndicate
    used = f.ApplicationFactory(syndicate=syndicate, name="Utilisée")
    ended = f.ApplicationFactory(syndicate=syndicate, name="Abandonnée")
    other = f.ApplicationFactory(syndicate=syndicate, name="Autre commune")
    f.SubscriptionFactory(application=used, member=world.a.member)
    f.SubscriptionFactory(application=ended, member=world.a.member, ended_on=dt.date(2023, 1, 31))
    f.SubscriptionFactory(application=other, member=_member(syndicate, "Commune Bis"))
    client = login_as(world.a.users[Role.RSSI], syndicate)

    html = _html(client.get("/catalogue/", query_string={"member": world.a.member.id}))

    assert _listed(html) == [world.a.application.id, used.id]
    assert f'<option value="{world.a.member.id}" selected>' in html


def test_retired_apps_are_hidden_unless_asked_for(world: World, login_as: Any) -> None:
    retired = f.ApplicationFactory(
        syndicate=world.a.syndicate, name="Ancienne", retired_on=dt.date(2021, 12, 31)
    )
    client = login_as(world.a.users[Role.RSSI], world.a.syndicate)
    assert retired.id not in _listed(_html(client.get("/catalogue/")))
    assert _listed(_html(client.get("/catalogue/?retired=1"))) == [retired.id, world.a.application.id]


@pytest.fixture
def thirty_apps(world: World) -> list[Application]:
    """30 applications besides "Application A": "App 01" … "App 30" sort before it."""
    return [f.ApplicationFactory(syndicate=world.a.syndicate, name=f"App {n:02}") for n in range(1, 31)]


def test_second_page_holds_the_rest(world: World, rssi_a: FlaskClient, thirty_apps: list[Any]) -> None:
    everything = [a.id for a in thirty_apps] + [world.a.application.id]
    first = _html(rssi_a.get("/catalogue/"))
    second = _html(rssi_a.get("/catalogue/?page=2"))
    assert _listed(first) == everything[:25]
    assert _listed(second) == everything[25:]
    assert "26 à 31 sur 31" in second


def test_per_page_is_capped_by_max_page_size(
    app: Flask, rssi_a: FlaskClient, thirty_apps: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "MAX_PAGE_SIZE", 10)
    html = _html(rssi_a.get("/catalogue/?per_page=50"))
    assert _listed(html) == [a.id for a in thirty_apps[:10]]
    assert "1 à 10 sur 31" in html


def test_per_page_below_the_cap_is_honoured(rssi_a: FlaskClient, thirty_apps: list[Any]) -> None:
    assert _listed(_html(rssi_a.get("/catalogue/?per_page=7"))) == [a.id for a in thirty_apps[:7]]


def test_page_beyond_the_end_shows_the_last_page(
    world: World, rssi_a: FlaskClient, thirty_apps: list[Any]
) -> None:
    html = _html(rssi_a.get("/catalogue/?page=99"))
    assert _listed(html) == [a.id for a in thirty_apps[25:]] + [world.a.application.id]
    assert '<span class="page-link" aria-current="page">2</span>' in html


def test_nothing_matching_shows_the_empty_state(world: World, rssi_a: FlaskClient) -> None:
    response = rssi_a.get("/catalogue/?q=aucune-application-de-ce-nom")
    assert response.status_code == 200
    assert _listed(_html(response)) == []
    assert EMPTY_MESSAGE in _html(response)
    assert EMPTY_MESSAGE not in _html(rssi_a.get("/catalogue/"))


def test_subscriber_count_counts_only_active_subscriptions(world: World, login_as: Any) -> None:
    syndicate = world.a.syndicate
    app = f.ApplicationFactory(syndicate=syndicate, name="Partagée")
    for name in ("Commune Un", "Commune Deux"):
        f.SubscriptionFactory(application=app, member=_member(syndicate, name))
    f.SubscriptionFactory(
        application=app, member=_member(syndicate, "Commune Trois"), ended_on=dt.date(2022, 12, 31)
    )
    f.SubscriptionFactory(application=app, member=world.a.member, ended_on=dt.date(2023, 12, 31))
    client = login_as(world.a.users[Role.RSSI], syndicate)
    html = _html(client.get("/catalogue/"))
    assert _count_cell(html, app.id) == "2"
    assert _count_cell(html, world.a.application.id) == "1"


# --- tenancy ---------------------------------------------------------------------------------------


@pytest.fixture
def second_member(world: World) -> Organisation:
    """Another member of syndicate A, subscribed to "Application A" too."""
    bis = _member(world.a.syndicate, "Commune Voisine")
    f.SubscriptionFactory(application=world.a.application, member=bis, started_on=dt.date(2021, 3, 1))
    return bis


def test_member_lists_only_the_apps_it_subscribes_to(
    world: World, second_member: Organisation, login_as: Any
) -> None:
    not_used = f.ApplicationFactory(syndicate=world.a.syndicate, name="Pas chez nous")
    f.SubscriptionFactory(application=not_used, member=second_member)
    client = login_as(world.a.member_referent, world.a.member)
    html = _html(client.get("/catalogue/"))
    assert _listed(html) == [world.a.application.id]
    assert _count_cell(html, world.a.application.id) == "actif"
    assert "Pas chez nous" not in html


def test_member_sees_only_its_own_subscription_on_the_detail_page(
    world: World, second_member: Organisation, referent_a: FlaskClient
) -> None:
    response = referent_a.get(f"/catalogue/applications/{world.a.application.id}")
    assert response.status_code == 200
    html = _html(response)
    assert "Votre abonnement" in html
    assert world.a.member.name in html
    assert second_member.name not in html


def test_syndicate_sees_every_subscriber_on_the_detail_page(
    world: World, second_member: Organisation, rssi_a: FlaskClient
) -> None:
    html = _html(rssi_a.get(f"/catalogue/applications/{world.a.application.id}"))
    table = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert world.a.member.name in table
    assert second_member.name in table


def test_user_of_another_syndicate_gets_404_on_the_detail_page(world: World, login_as: Any) -> None:
    client = login_as(world.b.users[Role.RSSI], world.b.syndicate)
    response = client.get(f"/catalogue/applications/{world.a.application.id}")
    assert response.status_code == 404
    assert "CANARY-A" not in _html(response)
    assert client.get(f"/catalogue/applications/{world.b.application.id}").status_code == 200


def test_member_referent_has_no_edit_button_and_cannot_edit(world: World, referent_a: FlaskClient) -> None:
    edit_url = f"/catalogue/applications/{world.a.application.id}/edit"
    html = _html(referent_a.get(f"/catalogue/applications/{world.a.application.id}"))
    assert edit_url not in html
    assert "Ajouter un abonné" not in html
    assert referent_a.get(edit_url).status_code == 403


def test_member_rssi_cannot_manage_the_syndicates_catalogue(world: World, login_as: Any) -> None:
    """A member's RSSI holds CATALOGUE_MANAGE, but only the owning syndicate manages its catalogue."""
    app_id = world.a.application.id
    client = login_as(_member_rssi(world.a.member), world.a.member)

    detail = _html(client.get(f"/catalogue/applications/{app_id}"))
    assert f"/catalogue/applications/{app_id}/edit" not in detail
    assert "Nouvelle application" not in _html(client.get("/catalogue/"))
    assert client.get(f"/catalogue/applications/{app_id}/edit").status_code == 403
    assert client.post(f"/catalogue/applications/{app_id}/edit", data=_app_form()).status_code == 403
    assert client.get("/catalogue/applications/new").status_code == 404  # syndicate only: one code (404)
    assert client.get(f"/catalogue/subscriptions/{world.a.subscription.id}/end").status_code == 403


def test_syndicate_rssi_has_the_edit_button(world: World, rssi_a: FlaskClient) -> None:
    app_id = world.a.application.id
    html = _html(rssi_a.get(f"/catalogue/applications/{app_id}"))
    assert f'href="/catalogue/applications/{app_id}/edit"' in html
    assert rssi_a.get(f"/catalogue/applications/{app_id}/edit").status_code == 200


# --- creating and editing applications -------------------------------------------------------------


def _apps_named(session: Any, name: str) -> list[Application]:
    session.expire_all()
    return list(session.scalars(select(Application).where(func.lower(Application.name) == name.lower())))


def test_create_application(world: World, rssi_a: FlaskClient, session: Any) -> None:
    response = rssi_a.post("/catalogue/applications/new", data=_app_form())
    assert response.status_code == 302
    [created] = _apps_named(session, "Concerto")
    assert response.location == f"/catalogue/applications/{created.id}"
    assert created.syndicate_id == world.a.syndicate.id
    assert (created.domain, created.criticality) == (AppDomain.ENFANCE, Criticality.ELEVEE)
    assert "Application ajoutée au catalogue." in _html(rssi_a.get(response.location))


@pytest.mark.parametrize("missing", ["name", "domain", "hosting", "criticality"])
def test_create_application_requires_its_fields(rssi_a: FlaskClient, session: Any, missing: str) -> None:
    response = rssi_a.post("/catalogue/applications/new", data=_app_form(**{missing: ""}))
    assert response.status_code == 422
    assert _field_error(_html(response), missing)
    assert _apps_named(session, "Concerto") == []


def test_duplicate_name_in_the_same_syndicate_is_refused_whatever_the_case(
    world: World, rssi_a: FlaskClient, session: Any
) -> None:
    response = rssi_a.post(
        "/catalogue/applications/new", data=_app_form(name="APPLICATION a", editor="Saisi à la main")
    )
    assert response.status_code == 422
    html = _html(response)
    assert DUPLICATE_MESSAGE in _field_error(html, "name")
    assert _input_value(html, "name") == "APPLICATION a"
    assert _input_value(html, "editor") == "Saisi à la main"
    assert [a.id for a in _apps_named(session, "Application A")] == [world.a.application.id]


def test_same_name_in_another_syndicate_is_allowed(world: World, login_as: Any, session: Any) -> None:
    client = login_as(world.b.users[Role.RSSI], world.b.syndicate)
    response = client.post("/catalogue/applications/new", data=_app_form(name="Application A"))
    assert response.status_code == 302
    owners = [a.syndicate_id for a in _apps_named(session, "Application A")]
    assert sorted(owners) == [world.a.syndicate.id, world.b.syndicate.id]


def test_edit_application(world: World, rssi_a: FlaskClient, session: Any) -> None:
    app = world.a.application
    url = f"/catalogue/applications/{app.id}/edit"
    version = _input_value(_html(rssi_a.get(url)), "version")
    response = rssi_a.post(url, data=_app_form(name="Renommée", version=version))
    assert response.status_code == 302
    reloaded = _reload(session, app)
    assert reloaded.name == "Renommée"
    assert reloaded.version == int(version) + 1


def test_edit_keeping_its_own_name_is_not_a_duplicate(world: World, rssi_a: FlaskClient) -> None:
    app = world.a.application
    url = f"/catalogue/applications/{app.id}/edit"
    version = _input_value(_html(rssi_a.get(url)), "version")
    response = rssi_a.post(url, data=_app_form(name="application A", version=version))
    assert response.status_code == 302


def test_edit_with_a_stale_version_shows_the_conflict_page(
    world: World, rssi_a: FlaskClient, login_as: Any, session: Any
) -> None:
    app = world.a.application
    url = f"/catalogue/applications/{app.id}/edit"
    stale = _input_value(_html(rssi_a.get(url)), "version")
    dpo = login_as(world.a.users[Role.DPO], world.a.syndicate)
    assert dpo.post(url, data=_app_form(name="Saisie du DPO", version=stale)).status_code == 302

    response = rssi_a.post(url, data=_app_form(name="Saisie du RSSI", editor="Éditeur RSSI", version=stale))

    assert response.status_code == 409
    html = _html(response)
    assert "Modification concurrente" in html
    conflict = html.split('id="conflict"', 1)[1].split("</table>", 1)[0]
    assert "Saisie du RSSI" in conflict
    assert "Saisie du DPO" in conflict
    assert _input_value(html, "name") == "Saisie du RSSI"
    assert _input_value(html, "editor") == "Éditeur RSSI"
    assert _input_value(html, "version") == str(int(stale) + 1)
    assert _reload(session, app).name == "Saisie du DPO"


# --- subscriptions ---------------------------------------------------------------------------------


def _subscriptions(session: Any, app: Application) -> list[tuple[int, dt.date | None]]:
    session.expire_all()
    rows = session.execute(
        select(Subscription.organisation_id, Subscription.ended_on)
        .where(Subscription.application_id == app.id)
        .order_by(Subscription.id)
    )
    return [tuple(r) for r in rows]


def test_subscribe_a_member(world: World, rssi_a: FlaskClient, session: Any) -> None:
    app = world.a.application
    bis = _member(world.a.syndicate, "Commune Bis")
    response = rssi_a.post(
        f"/catalogue/applications/{app.id}/subscriptions",
        data={"organisation_id": bis.id, "started_on": "2024-09-01"},
    )
    assert response.status_code == 302
    assert _subscriptions(session, app) == [(world.a.member.id, None), (bis.id, None)]
    assert _count_cell(_html(rssi_a.get("/catalogue/")), app.id) == "2"


def test_subscribing_an_organisation_outside_the_syndicate_is_refused(
    world: World, rssi_a: FlaskClient, session: Any
) -> None:
    app = world.a.application
    response = rssi_a.post(
        f"/catalogue/applications/{app.id}/subscriptions",
        data={"organisation_id": world.b.member.id, "started_on": "2024-09-01"},
    )
    assert response.status_code == 422  # not among the select's choices
    assert _field_error(_html(response), "organisation_id")
    assert _subscriptions(session, app) == [(world.a.member.id, None)]


def test_subscribing_a_member_already_subscribed_is_refused(
    world: World, rssi_a: FlaskClient, session: Any
) -> None:
    app = world.a.application
    response = rssi_a.post(
        f"/catalogue/applications/{app.id}/subscriptions",
        data={"organisation_id": world.a.member.id, "started_on": "2024-09-01"},
    )
    assert response.status_code == 422
    assert ALREADY_SUBSCRIBED in _field_error(_html(response), "organisation_id")
    assert _subscriptions(session, app) == [(world.a.member.id, None)]


def test_member_that_left_is_not_offered_and_cannot_be_subscribed(
    world: World, rssi_a: FlaskClient, session: Any
) -> None:
    app = world.a.application
    gone = _member(world.a.syndicate, "Commune Partie", left_on=dt.date(2022, 6, 30))
    staying = _member(world.a.syndicate, "Commune Restée")
    options = _options(_html(rssi_a.get(f"/catalogue/applications/{app.id}")), "organisation_id")
    assert staying.id in options
    assert gone.id not in options

    response = rssi_a.post(
        f"/catalogue/applications/{app.id}/subscriptions",
        data={"organisation_id": gone.id, "started_on": "2024-09-01"},
    )
    assert response.status_code == 422
    assert _subscriptions(session, app) == [(world.a.member.id, None)]


def _end_url(sub: Subscription) -> str:
    return f"/catalogue/subscriptions/{sub.id}/end"


def test_end_date_before_the_start_is_refused(world: World, rssi_a: FlaskClient, session: Any) -> None:
    sub = world.a.subscription
    version = _input_value(_html(rssi_a.get(_end_url(sub))), "version")
    response = rssi_a.post(_end_url(sub), data={"ended_on": "2019-12-31", "version": version})
    assert response.status_code == 422
    assert END_BEFORE_START in _field_error(_html(response), "ended_on")
    assert _reload(session, sub).ended_on is None


def test_ending_a_subscription_drops_the_syndicates_count(
    world: World, rssi_a: FlaskClient, session: Any
) -> None:
    sub, app = world.a.subscription, world.a.application
    assert _count_cell(_html(rssi_a.get("/catalogue/")), app.id) == "1"
    version = _input_value(_html(rssi_a.get(_end_url(sub))), "version")

    response = rssi_a.post(_end_url(sub), data={"ended_on": "2024-06-30", "version": version})

    assert response.status_code == 302
    assert response.location == f"/catalogue/applications/{app.id}"
    assert _reload(session, sub).ended_on == dt.date(2024, 6, 30)
    assert _count_cell(_html(rssi_a.get("/catalogue/")), app.id) == "0"


def test_after_its_subscription_ends_the_member_no_longer_sees_the_app(
    world: World, rssi_a: FlaskClient, referent_a: FlaskClient
) -> None:
    sub, app = world.a.subscription, world.a.application
    assert _listed(_html(referent_a.get("/catalogue/"))) == [app.id]
    version = _input_value(_html(rssi_a.get(_end_url(sub))), "version")
    assert rssi_a.post(_end_url(sub), data={"ended_on": "2024-06-30", "version": version}).status_code == 302

    assert app.id not in _listed(_html(referent_a.get("/catalogue/")))


# --- query counts ----------------------------------------------------------------------------------


@contextmanager
def _counting(app: Flask) -> Iterator[list[str]]:
    """Every SQL statement the engine sends while the block runs."""
    with app.app_context():
        engine = db.engine
    statements: list[str] = []

    def _count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", _count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", _count)


def _queries(app: Flask, client: FlaskClient, url: str) -> int:
    response = client.get(url)  # warm-up: first-request work is not what is measured
    assert response.status_code == 200
    with _counting(app) as statements:
        assert client.get(url).status_code == 200
    return len(statements)


def _catalogue(syndicate: Organisation, apps: int, subscribers: int, label: str) -> Application:
    members = [_member(syndicate, f"Adhérent {label}{n:02}") for n in range(subscribers)]
    created = [f.ApplicationFactory(syndicate=syndicate, name=f"{label} {n:02}") for n in range(apps)]
    for application in created:
        for member in members:
            f.SubscriptionFactory(application=application, member=member)
    return created[0]


def test_catalogue_pages_do_not_query_per_application_or_subscriber(
    app: Flask, world: World, rssi_a: FlaskClient
) -> None:
    syndicate = world.a.syndicate
    small_app = _catalogue(syndicate, apps=3, subscribers=2, label="Petit")
    small_list = _queries(app, rssi_a, "/catalogue/?per_page=25")
    small_detail = _queries(app, rssi_a, f"/catalogue/applications/{small_app.id}")

    big_app = _catalogue(syndicate, apps=40, subscribers=5, label="Grand")
    big_list_html = _html(rssi_a.get("/catalogue/?per_page=25"))
    big_list = _queries(app, rssi_a, "/catalogue/?per_page=25")
    big_detail = _queries(app, rssi_a, f"/catalogue/applications/{big_app.id}")

    assert len(_listed(big_list_html)) == 25  # the big case really fills a page
    assert _count_cell(big_list_html, big_app.id) == "5"
    assert big_list == small_list
    assert big_detail == small_detail


def test_member_catalogue_pages_do_not_query_per_application(
    app: Flask, world: World, referent_a: FlaskClient
) -> None:
    syndicate, member = world.a.syndicate, world.a.member

    def subscribe_member(apps: list[Application]) -> None:
        for application in apps:
            f.SubscriptionFactory(application=application, member=member)

    subscribe_member([f.ApplicationFactory(syndicate=syndicate, name=f"Petit {n}") for n in range(3)])
    small = _queries(app, referent_a, "/catalogue/?per_page=25")
    subscribe_member([f.ApplicationFactory(syndicate=syndicate, name=f"Grand {n:02}") for n in range(40)])
    big = _queries(app, referent_a, "/catalogue/?per_page=25")
    assert big == small


def test_organisation_list_does_not_query_per_organisation(
    app: Flask, world: World, rssi_a: FlaskClient
) -> None:
    syndicate = world.a.syndicate
    for n in range(5):
        _member(syndicate, f"Petite commune {n}")
    small = _queries(app, rssi_a, "/organisations/")
    for n in range(55):
        _member(syndicate, f"Grande commune {n:02}")
    html = _html(rssi_a.get("/organisations/"))
    big = _queries(app, rssi_a, "/organisations/")
    assert html.count('href="/organisations/') >= 25
    assert "61 adhérents" in html  # Ville A + 60
    assert big == small


# --- large syndicates: member filter by name ---------------------------------------------------------


def test_large_syndicate_filters_members_by_name_instead_of_a_select(
    world: World, rssi_a: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from catalogue.services import applications  # noqa: PLC0415

    monkeypatch.setattr(applications, "MEMBER_FILTER_MAX", 1)
    other = f.ApplicationFactory(syndicate=world.a.syndicate, name="Logiciel sans abonné")
    html = _html(rssi_a.get("/catalogue/"))
    assert 'name="member_q"' in html
    assert 'name="member"' not in html

    listed = _listed(_html(rssi_a.get("/catalogue/?member_q=ville%20a")))  # accents and case folded
    assert listed == [world.a.application.id]
    assert other.id not in listed
    assert _listed(_html(rssi_a.get("/catalogue/?member_q=inconnue"))) == []


def test_subscribe_form_offers_only_organisations_not_yet_subscribed(
    world: World, rssi_a: FlaskClient
) -> None:
    second = f.OrganisationFactory(name="Ville Seconde", syndicate=world.a.syndicate)
    html = _html(rssi_a.get(f"/catalogue/applications/{world.a.application.id}"))
    select_html = html[
        html.index('id="organisation_id"') : html.index("</select>", html.index('id="organisation_id"'))
    ]
    assert f'value="{second.id}"' in select_html
    assert f'value="{world.a.member.id}"' not in select_html  # already subscribed
    assert "— choisir —" in select_html

    searched = _html(rssi_a.get(f"/catalogue/applications/{world.a.application.id}?member_q=seconde"))
    start = searched.index('id="organisation_id"')
    narrowed = searched[start : searched.index("</select>", start)]
    assert f'value="{second.id}"' in narrowed
    assert f'value="{world.a.syndicate.id}"' not in narrowed
