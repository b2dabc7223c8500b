"""Catalogue services, called as a view would: inside a request context, with a user and an active
organisation (``acting_as``), so that the tenant scoping is the real one.
"""

from __future__ import annotations

import datetime as dt
import warnings
from typing import Any

import pytest
from flask import Flask

from catalogue.models import AppDomain, Application, Criticality, Hosting, Subscription
from catalogue.services import applications
from core.concurrency import EditConflict
from core.db import today
from core.extensions import db
from core.forms import FieldError
from core.security import Role
from tests import factories as f
from tests.conftest import World, acting_as

ENDED = dt.date(2023, 12, 31)


def _names(stmt: Any) -> list[str]:
    return [a.name for a in db.session.scalars(stmt)]


def _app_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "name": "Logiciel Neuf",
        "editor": "Éditeur Neuf",
        "domain": AppDomain.RH.value,
        "description": None,
        "hosting": Hosting.SAAS.value,
        "criticality": Criticality.ELEVEE.value,
        "has_personal_data": True,
        "has_sensitive_data": False,
        "retired_on": None,
    }
    return data | overrides


@pytest.fixture
def catalogue(world: World) -> dict[str, Any]:
    """Syndicate A's catalogue beyond the world's "Application A":

    * "Paie": Ville A (active) and Commune Bis (active) subscribe;
    * "Archives": Ville A's subscription ended, Commune Bis still subscribes;
    * "Inutilisée": nobody subscribes; "Ancienne": retired.

    Built in the test's session, before ``app_ctx`` (list ``app_ctx`` last in a test's arguments).
    """
    a = world.a
    bis = f.OrganisationFactory(name="Commune Bis", syndicate=a.syndicate)
    paie = f.ApplicationFactory(
        syndicate=a.syndicate, name="Paie", editor="Berger-Levrault", description="Gestion de la PAIE"
    )
    archives = f.ApplicationFactory(
        syndicate=a.syndicate, name="Archives", editor="Arkhê", domain=AppDomain.GED
    )
    unused = f.ApplicationFactory(syndicate=a.syndicate, name="Inutilisée", hosting=Hosting.SAAS)
    retired = f.ApplicationFactory(syndicate=a.syndicate, name="Ancienne", retired_on=dt.date(2022, 1, 1))
    f.SubscriptionFactory(application=paie, member=a.member)
    f.SubscriptionFactory(application=paie, member=bis)
    f.SubscriptionFactory(application=archives, member=a.member, ended_on=ENDED)
    f.SubscriptionFactory(application=archives, member=bis)
    return {"bis": bis, "paie": paie, "archives": archives, "unused": unused, "retired": retired}


# --- applications_query ---------------------------------------------------------------------------


def test_syndicate_lists_its_whole_catalogue_without_retired_apps(
    world: World, catalogue: dict[str, Any], app_ctx: Flask
) -> None:
    with acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        names = _names(applications.applications_query(applications.ApplicationFilters()))
    assert names == ["Application A", "Archives", "Inutilisée", "Paie"]


def test_syndicate_sees_retired_apps_when_asked(
    world: World, catalogue: dict[str, Any], app_ctx: Flask
) -> None:
    with acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        names = _names(applications.applications_query(applications.ApplicationFilters(include_retired=True)))
    assert "Ancienne" in names
    assert len(names) == 5


def test_member_lists_only_the_apps_it_subscribes_to(
    world: World, catalogue: dict[str, Any], app_ctx: Flask
) -> None:
    with acting_as(world.a.member_referent, world.a.member):
        names = _names(applications.applications_query(applications.ApplicationFilters()))
    assert "Inutilisée" not in names
    assert "Application B" not in names
    assert {"Application A", "Paie"} <= set(names)


def test_other_syndicate_sees_none_of_the_catalogue(
    world: World, catalogue: dict[str, Any], app_ctx: Flask
) -> None:
    with acting_as(world.b.users[Role.RSSI], world.b.syndicate):
        names = _names(applications.applications_query(applications.ApplicationFilters(include_retired=True)))
    assert names == ["Application B"]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("berger", ["Paie"]),  # editor
        ("paie", ["Paie"]),  # name and description, upper case in the data
        ("GESTION", ["Paie"]),  # description only, upper case in the query
        ("canary-a", ["Application A"]),
        ("rien de tel", []),
    ],
)
def test_search_matches_name_editor_or_description_case_insensitively(
    world: World, catalogue: dict[str, Any], q: str, expected: list[str], app_ctx: Flask
) -> None:
    with acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        assert _names(applications.applications_query(applications.ApplicationFilters(q=q))) == expected


@pytest.fixture
def critical_app(world: World) -> Application:
    return f.ApplicationFactory(
        syndicate=world.a.syndicate, name="Critique", criticality=Criticality.CRITIQUE
    )


def test_filters_by_domain_hosting_and_criticality(
    world: World, catalogue: dict[str, Any], critical_app: Application, app_ctx: Flask
) -> None:
    with acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        by_domain = _names(applications.applications_query(applications.ApplicationFilters(domain="ged")))
        by_hosting = _names(applications.applications_query(applications.ApplicationFilters(hosting="saas")))
        by_crit = _names(
            applications.applications_query(applications.ApplicationFilters(criticality="critique"))
        )
        junk = _names(
            applications.applications_query(applications.ApplicationFilters(domain="no-such-domain"))
        )
    assert by_domain == ["Archives"]
    assert by_hosting == ["Inutilisée"]
    assert by_crit == ["Critique"]
    assert len(junk) == 5  # an unknown value filters nothing


def test_member_filter_keeps_only_apps_the_member_actively_uses(
    world: World, catalogue: dict[str, Any], app_ctx: Flask
) -> None:
    with acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        ville = _names(
            applications.applications_query(applications.ApplicationFilters(member_id=world.a.member.id))
        )
        bis = _names(
            applications.applications_query(applications.ApplicationFilters(member_id=catalogue["bis"].id))
        )
    assert ville == ["Application A", "Paie"]  # "Archives" ended
    assert bis == ["Archives", "Paie"]


def test_member_filter_cannot_reach_another_syndicates_member(
    world: World, catalogue: dict[str, Any], app_ctx: Flask
) -> None:
    with acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        names = _names(
            applications.applications_query(applications.ApplicationFilters(member_id=world.b.member.id))
        )
    assert names == []


# --- subscriber_counts ----------------------------------------------------------------------------


def test_syndicate_counts_only_active_subscriptions(
    world: World, catalogue: dict[str, Any], app_ctx: Flask
) -> None:
    ids = [world.a.application.id, *(catalogue[k].id for k in ("paie", "archives", "unused"))]
    with acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        counts = applications.subscriber_counts(ids)
    assert counts == {world.a.application.id: 1, catalogue["paie"].id: 2, catalogue["archives"].id: 1}


@pytest.fixture
def ending_today(world: World, catalogue: dict[str, Any]) -> Subscription:
    return f.SubscriptionFactory(application=catalogue["unused"], member=world.a.member, ended_on=today())


def test_subscription_ending_today_still_counts(
    world: World, catalogue: dict[str, Any], ending_today: Subscription, app_ctx: Flask
) -> None:
    with acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        counts = applications.subscriber_counts([catalogue["unused"].id])
    assert counts == {catalogue["unused"].id: 1}


def test_member_counts_only_its_own_subscriptions(
    world: World, catalogue: dict[str, Any], app_ctx: Flask
) -> None:
    ids = [world.a.application.id, catalogue["paie"].id, catalogue["archives"].id]
    with acting_as(world.a.member_referent, world.a.member):
        counts = applications.subscriber_counts(ids)
    assert counts == {world.a.application.id: 1, catalogue["paie"].id: 1}


def test_subscriber_counts_uses_no_deprecated_sqlalchemy_api(
    world: World, catalogue: dict[str, Any], app_ctx: Flask
) -> None:
    with acting_as(world.a.users[Role.RSSI], world.a.syndicate), warnings.catch_warnings():
        warnings.simplefilter("error")  # as the suite's configuration, whatever this module ignores
        assert applications.subscriber_counts([catalogue["paie"].id]) == {catalogue["paie"].id: 2}


def test_subscriber_counts_of_nothing_is_empty(
    world: World, catalogue: dict[str, Any], app_ctx: Flask
) -> None:
    with acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        assert applications.subscriber_counts([]) == {}


def test_other_syndicate_counts_nothing_of_ours(
    world: World, catalogue: dict[str, Any], app_ctx: Flask
) -> None:
    with acting_as(world.b.users[Role.RSSI], world.b.syndicate):
        assert applications.subscriber_counts([catalogue["paie"].id, world.a.application.id]) == {}


# --- subscriptions_of -----------------------------------------------------------------------------


def test_syndicate_sees_every_subscription_active_first(
    world: World, catalogue: dict[str, Any], app_ctx: Flask
) -> None:
    with acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        app = db.session.get(Application, catalogue["archives"].id)
        rows = [(s.organisation.name, s.ended_on) for s in applications.subscriptions_of(app)]
    assert rows == [("Commune Bis", None), ("Ville A", ENDED)]


def test_member_sees_only_its_own_subscription(
    world: World, catalogue: dict[str, Any], app_ctx: Flask
) -> None:
    with acting_as(world.a.member_referent, world.a.member):
        app = db.session.get(Application, catalogue["paie"].id)
        subs = applications.subscriptions_of(app)
    assert [s.organisation_id for s in subs] == [world.a.member.id]


# --- subscribable_members -------------------------------------------------------------------------


@pytest.fixture
def departed(world: World) -> Any:
    return f.OrganisationFactory(
        name="Commune Partie", syndicate=world.a.syndicate, left_on=dt.date(2022, 6, 30)
    )


def test_subscribable_members_are_the_syndicate_and_its_current_members(
    world: World, catalogue: dict[str, Any], departed: Any, app_ctx: Flask
) -> None:
    with acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        names = [name for _, name in applications.subscribable_members(world.a.syndicate)]
    assert names == ["Commune Bis", "Syndicat A", "Ville A"]


# --- writes ---------------------------------------------------------------------------------------


def test_create_application_belongs_to_the_syndicate(world: World, app_ctx: Flask) -> None:
    rssi = world.a.users[Role.RSSI]
    with acting_as(rssi, world.a.syndicate):
        app = applications.create_application(world.a.syndicate, rssi, _app_data())
    assert app.syndicate_id == world.a.syndicate.id
    assert (app.domain, app.hosting, app.criticality) == (AppDomain.RH, Hosting.SAAS, Criticality.ELEVEE)


def test_create_application_refuses_a_duplicate_name_whatever_the_case(world: World, app_ctx: Flask) -> None:
    rssi = world.a.users[Role.RSSI]
    with acting_as(rssi, world.a.syndicate), pytest.raises(FieldError) as error:
        applications.create_application(world.a.syndicate, rssi, _app_data(name="APPLICATION a"))
    assert error.value.field == "name"


def test_same_name_is_allowed_in_another_syndicate(world: World, app_ctx: Flask) -> None:
    rssi = world.b.users[Role.RSSI]
    with acting_as(rssi, world.b.syndicate):
        app = applications.create_application(world.b.syndicate, rssi, _app_data(name="Application A"))
    assert app.syndicate_id == world.b.syndicate.id


def test_update_application_with_a_stale_version_is_a_conflict(world: World, app_ctx: Flask) -> None:
    rssi = world.a.users[Role.RSSI]
    with acting_as(rssi, world.a.syndicate):
        app = db.session.get(Application, world.a.application.id)
        stale = app.version - 1
        with pytest.raises(EditConflict):
            applications.update_application(app, rssi, _app_data(name="Renommée", version=stale))


def test_subscribe_refuses_an_organisation_outside_the_syndicate(world: World, app_ctx: Flask) -> None:
    rssi = world.a.users[Role.RSSI]
    with acting_as(rssi, world.a.syndicate):
        app = db.session.get(Application, world.a.application.id)
        with pytest.raises(FieldError) as error:
            applications.subscribe(app, world.b.member, rssi, {"started_on": dt.date(2024, 1, 1)})
    assert error.value.field == "organisation_id"


def test_subscribe_refuses_a_member_already_subscribed(world: World, app_ctx: Flask) -> None:
    rssi = world.a.users[Role.RSSI]
    with acting_as(rssi, world.a.syndicate):
        app = db.session.get(Application, world.a.application.id)
        with pytest.raises(FieldError, match="utilise déjà"):
            applications.subscribe(app, world.a.member, rssi, {"started_on": dt.date(2024, 1, 1)})


def test_a_member_whose_subscription_ended_may_subscribe_again(world: World, app_ctx: Flask) -> None:
    rssi = world.a.users[Role.RSSI]
    with acting_as(rssi, world.a.syndicate):
        old = db.session.get(Subscription, world.a.subscription.id)
        old.ended_on = ENDED
        db.session.flush()
        sub = applications.subscribe(
            old.application, world.a.member, rssi, {"started_on": dt.date(2024, 6, 1)}
        )
    assert sub.syndicate_id == world.a.syndicate.id
    assert sub.is_active


def test_end_subscription_before_its_start_is_refused(world: World, app_ctx: Flask) -> None:
    rssi = world.a.users[Role.RSSI]
    with acting_as(rssi, world.a.syndicate):
        sub = db.session.get(Subscription, world.a.subscription.id)
        with pytest.raises(FieldError) as error:
            applications.end_subscription(
                sub, rssi, {"version": sub.version, "ended_on": dt.date(2019, 12, 31)}
            )
    assert error.value.field == "ended_on"
    assert sub.ended_on is None
