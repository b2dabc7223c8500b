"""Roles and permissions, the admin's deliberate blindness, and the ORM tenant safety net."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import aliased

from accounts.models import Organisation
from catalogue.models import Application, Subscription
from core import tenancy
from core.extensions import db
from core.pagination import count_statement
from core.security import PLATFORM_PERMISSIONS, ROLE_PERMISSIONS, Permission, Role, can, current_permissions
from core.tenancy import UNSCOPED, bind_session, execute_rows, scoped
from smsi.models import Incident, incident_organisations
from tests import factories as f
from tests.conftest import World, acting_as
from tests.smsi.factories import IncidentFactory

# The role → permission matrix, as the product card states it. "x" = granted.
MATRIX = """
permission              admin  rssi  dpo  referent  reader  auditor
organisations_view        x     x     x      x        x       x
organisations_edit        x     x     x      .        .       .
organisations_manage      x     .     .      .        .       .
users_manage              x     .     .      .        .       .
catalogue_view            x     x     x      x        x       x
catalogue_manage          x     x     x      .        .       .
registers_view            .     x     x      x        x       x
registers_edit            .     .     x      x        .       .
registers_validate        .     .     x      .        .       .
breaches_record           .     x     x      x        .       .
smsi_view                 .     x     x      x        x       x
smsi_edit                 .     x     .      .        .       .
risks_view                .     x     x      x        x       x
risks_edit                .     x     .      .        .       .
hygiene_assess            .     x     .      x        .       .
audits_view               .     x     x      .        x       x
audits_edit               .     x     .      .        .       .
evidence_view             .     x     x      x        x       x
evidence_edit             .     x     x      .        .       .
audit_findings_edit       .     x     .      .        .       .
reports_view              .     x     x      x        x       x
audit_trail_view          x     x     x      .        .       x
"""


def _matrix() -> dict[tuple[Role, Permission], bool]:
    lines = [line.split() for line in MATRIX.strip().splitlines()]
    roles = [Role(name) for name in lines[0][1:]]
    return {
        (role, Permission(row[0])): mark == "x"
        for row in lines[1:]
        for role, mark in zip(roles, row[1:], strict=True)
    }


EXPECTED = _matrix()


def test_matrix_covers_every_role_and_permission() -> None:
    assert {role for role, _ in EXPECTED} == set(Role)
    assert {perm for _, perm in EXPECTED} == set(Permission)


@pytest.mark.parametrize(("role", "permission"), list(EXPECTED), ids=lambda v: str(v))
def test_role_permission_matrix(app: Flask, role: Role, permission: Permission) -> None:
    """As installed: the app adds the grants of each domain's record (Domain.permissions)."""
    assert (permission in ROLE_PERMISSIONS[role]) is EXPECTED[(role, permission)]


def test_admin_reads_no_register_isms_or_risk_content() -> None:
    admin = ROLE_PERMISSIONS[Role.ADMIN]
    assert not admin & {Permission.REGISTERS_VIEW, Permission.SMSI_VIEW, Permission.RISKS_VIEW}
    assert not admin & {Permission.AUDITS_VIEW, Permission.REPORTS_VIEW}


def test_referent_edits_registers_but_not_the_catalogue() -> None:
    assert Permission.REGISTERS_EDIT in ROLE_PERMISSIONS[Role.REFERENT]
    assert Permission.CATALOGUE_MANAGE not in ROLE_PERMISSIONS[Role.REFERENT]


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.READER])
def test_auditor_and_reader_change_nothing(role: Role) -> None:
    writes = {p for p in ROLE_PERMISSIONS[role] if p.value.endswith(("_edit", "_manage"))}
    assert writes == set()


def test_platform_permissions_belong_to_the_admin_role_only() -> None:
    assert ROLE_PERMISSIONS[Role.ADMIN] >= PLATFORM_PERMISSIONS
    for role in set(Role) - {Role.ADMIN}:
        assert not PLATFORM_PERMISSIONS & ROLE_PERMISSIONS[role], role


# --- can() in a request -----------------------------------------------------------------------


def test_two_roles_in_one_organisation_grant_the_union(world: World, app_ctx: Flask) -> None:
    user = f.UserFactory()
    member = db.session.get(Organisation, world.a.member.id)
    f.MembershipFactory(user=user, organisation=member, role=Role.REFERENT)
    f.MembershipFactory(user=user, organisation=member, role=Role.AUDITOR)
    # Neither role alone holds both of these.
    assert Permission.AUDITS_VIEW not in ROLE_PERMISSIONS[Role.REFERENT]
    assert Permission.REGISTERS_EDIT not in ROLE_PERMISSIONS[Role.AUDITOR]
    with acting_as(user, member):
        assert can(Permission.REGISTERS_EDIT)
        assert can(Permission.AUDITS_VIEW)
        assert can("registers_view")
        assert not can(Permission.SMSI_EDIT)
        assert not can(Permission.CATALOGUE_MANAGE)
        assert current_permissions() == ROLE_PERMISSIONS[Role.REFERENT] | ROLE_PERMISSIONS[Role.AUDITOR]


def test_roles_in_another_organisation_do_not_count(world: World, app_ctx: Flask) -> None:
    user = f.UserFactory()
    f.MembershipFactory(
        user=user, organisation=db.session.get(Organisation, world.a.syndicate.id), role=Role.RSSI
    )
    f.MembershipFactory(
        user=user, organisation=db.session.get(Organisation, world.b.syndicate.id), role=Role.READER
    )
    with acting_as(user, world.b.syndicate):
        assert can(Permission.SMSI_VIEW)
        assert not can(Permission.SMSI_EDIT)
        assert not can(Permission.ORGANISATIONS_EDIT)


def test_platform_permissions_come_from_an_admin_role_in_any_organisation(
    world: World, app_ctx: Flask
) -> None:
    user = f.UserFactory()
    f.MembershipFactory(
        user=user, organisation=db.session.get(Organisation, world.a.syndicate.id), role=Role.ADMIN
    )
    f.MembershipFactory(
        user=user, organisation=db.session.get(Organisation, world.b.syndicate.id), role=Role.READER
    )
    with acting_as(user, world.b.syndicate):
        assert can(Permission.USERS_MANAGE)
        assert can(Permission.ORGANISATIONS_MANAGE)
        # ...but the admin role's other permissions stay in the organisation where it is held.
        assert not can(Permission.CATALOGUE_MANAGE)
        assert not can(Permission.ORGANISATIONS_EDIT)
        assert can(Permission.SMSI_VIEW)


def test_a_reader_elsewhere_gets_no_platform_permission(world: World, app_ctx: Flask) -> None:
    with acting_as(world.b.users[Role.READER], world.b.syndicate):
        assert not can(Permission.USERS_MANAGE)
        assert not can(Permission.ORGANISATIONS_MANAGE)


# --- the admin does not see domain content ----------------------------------------------------

DOMAIN_PAGES = ("/registers/activities/", "/smsi/", "/risks/")


@pytest.mark.parametrize("url", DOMAIN_PAGES)
def test_admin_gets_403_on_domain_pages_that_an_rssi_opens(world: World, login_as: Any, url: str) -> None:
    assert login_as(world.a.users[Role.ADMIN]).get(url).status_code == 403
    assert login_as(world.a.users[Role.RSSI]).get(url).status_code == 200


def test_admin_navigation_has_no_link_to_domain_content(world: World, login_as: Any) -> None:
    admin_nav = login_as(world.a.users[Role.ADMIN]).get("/").get_data(as_text=True)
    rssi_nav = login_as(world.a.users[Role.RSSI]).get("/").get_data(as_text=True)
    for url in DOMAIN_PAGES:
        assert f'href="{url}"' not in admin_nav
        assert f'href="{url}"' in rssi_nav
    assert 'href="/admin/users/"' in admin_nav
    assert 'href="/admin/users/"' not in rssi_nav


# --- the ORM safety net -----------------------------------------------------------------------
# ``world`` is requested before ``app_ctx`` so that it is built in the test's own session: the
# request session's identity map starts empty and every read below goes to the database.


def test_safety_net_hides_another_tenants_application(world: World, app_ctx: Flask) -> None:
    a_id, b_id = world.a.application.id, world.b.application.id
    bind_session(world.b.syndicate.id)
    assert set(db.session.scalars(select(Application.id))) == {b_id}
    assert db.session.get(Application, a_id) is None
    assert db.session.get(Application, b_id) is not None
    unscoped = select(Application.id).execution_options(**UNSCOPED)
    assert set(db.session.scalars(unscoped)) == {a_id, b_id}
    skipped = db.session.get(Application, a_id, execution_options=UNSCOPED)
    assert skipped is not None
    assert skipped.name == "Application A"


def test_safety_net_kept_cache_keys_carry_each_organisations_id(world: World, app_ctx: Flask) -> None:
    """The net's options keep their SQL cache key (core/tenancy.py, _NetCriteria): one query shape
    run for organisation B, A, B, no organisation, A — each time from SQLAlchemy's compiled-SQL
    cache after the first — returns that organisation's rows, never those the cached SQL was first
    compiled for."""
    a_id, b_id = world.a.application.id, world.b.application.id
    for _ in range(2):
        for org, expected in (
            (world.b.syndicate.id, {b_id}),
            (world.a.syndicate.id, {a_id}),
            (world.b.syndicate.id, {b_id}),
            (None, set()),
            (world.a.syndicate.id, {a_id}),
        ):
            bind_session(org)
            assert set(db.session.scalars(select(Application.id).where(Application.id > 0))) == expected
            rows = db.session.execute(select(Application.id, Application.name))
            assert {row.id for row in rows} == expected
            db.session.expire_all()


def test_safety_net_bound_to_no_organisation_shows_nothing(world: World, app_ctx: Flask) -> None:
    bind_session(None)
    assert list(db.session.scalars(select(Application))) == []
    assert list(db.session.scalars(select(Subscription))) == []


def test_unbound_session_is_not_filtered(world: World, app_ctx: Flask) -> None:
    ids = set(db.session.scalars(select(Application.id)))
    assert ids == {world.a.application.id, world.b.application.id}


@pytest.fixture
def other_subscription(world: World, session: Any) -> Subscription:
    """A second member of syndicate A subscribing to A's application (built before ``app_ctx``)."""
    other = f.OrganisationFactory(name="Ville A bis", syndicate=world.a.syndicate)
    return f.SubscriptionFactory(
        application=world.a.application, member=other, started_on=dt.date(2021, 1, 1)
    )


def test_member_sees_its_own_subscription_only(
    world: World, other_subscription: Subscription, app_ctx: Flask
) -> None:
    other = other_subscription
    bind_session(world.a.member.id)
    assert set(db.session.scalars(select(Subscription.id))) == {world.a.subscription.id}
    assert db.session.get(Subscription, other.id) is None
    # A subscribing member also sees the application it uses.
    assert set(db.session.scalars(select(Application.id))) == {world.a.application.id}


def test_syndicate_sees_every_subscription_of_its_members(
    world: World, other_subscription: Subscription, app_ctx: Flask
) -> None:
    other = other_subscription
    bind_session(world.a.syndicate.id)
    assert set(db.session.scalars(select(Subscription.id))) == {world.a.subscription.id, other.id}


def test_scoped_queries_follow_the_same_rules(
    world: World, other_subscription: Subscription, app_ctx: Flask
) -> None:
    other = other_subscription
    with acting_as(world.a.member_referent, world.a.member):
        stmt = scoped(select(Subscription.id), Subscription).execution_options(**UNSCOPED)
        assert set(db.session.scalars(stmt)) == {world.a.subscription.id}
    with acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        stmt = scoped(select(Subscription.id), Subscription).execution_options(**UNSCOPED)
        assert set(db.session.scalars(stmt)) == {world.a.subscription.id, other.id}


# --- list rows through Core (core.tenancy.execute_rows) ------------------------------------------


@pytest.fixture
def two_incidents(world: World, session: Any) -> tuple[int, int]:
    """An incident of syndicate A and one of syndicate B (built before ``app_ctx``)."""
    return (
        IncidentFactory(organisation=world.a.syndicate).id,
        IncidentFactory(organisation=world.b.syndicate).id,
    )


def test_a_scoped_list_runs_through_core_with_the_rows_the_orm_gives(
    world: World, two_incidents: tuple[int, int], app_ctx: Flask
) -> None:
    own, other = two_incidents
    with acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        stmt = scoped(select(Incident.id, Incident.title, Incident.severity), Incident).order_by(Incident.id)
        counted = count_statement(stmt)
        assert tenancy._net_adds_nothing(stmt, db.session)
        assert tenancy._net_adds_nothing(counted, db.session)
        assert execute_rows(stmt).all() == db.session.execute(stmt).all()
        assert [row.id for row in execute_rows(stmt)] == [own]
        assert execute_rows(counted).scalar() == db.session.execute(counted).scalar() == 1
        unscoped = select(Incident.id).execution_options(**UNSCOPED)  # deliberate: both tenants
        assert {row.id for row in execute_rows(unscoped)} == {own, other}
        whole = scoped(select(Incident, Incident.title), Incident)  # an entity: the ORM builds it
        assert not tenancy._net_adds_nothing(whole, db.session)
        assert [type(row[0]) for row in execute_rows(whole)] == [Incident]
        links = select(incident_organisations.c.incident_id)  # an association table: nothing to scope
        assert tenancy._net_adds_nothing(links, db.session)
        assert execute_rows(links).all() == db.session.execute(links).all()


def test_a_list_built_anew_on_each_page_reads_its_rows_by_name(
    world: World, two_incidents: tuple[int, int], app_ctx: Flask
) -> None:
    """Each page builds its list statement anew: SQLAlchemy runs the first one's compiled form, and
    execute_rows tells it not to re-key the result on the new statement's columns. Rows by position,
    by name and by key stay those of the ORM."""
    own, _other = two_incidents
    with acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        pages = []
        for _page in range(3):
            stmt = scoped(
                select(Incident.id, Incident.title, Incident.severity.label("level")), Incident
            ).order_by(Incident.id)
            rows = execute_rows(stmt).all()
            assert rows == db.session.execute(stmt).all()
            pages.append([(row.id, row.title, row.level, row[2], tuple(row._fields)) for row in rows])
        assert pages[0] == pages[1] == pages[2]
        assert [p[0] for p in pages[0]] == [own]
        assert pages[0][0][4] == ("id", "title", "level")


def test_what_is_not_proven_scoped_goes_through_the_safety_net(world: World, app_ctx: Flask) -> None:
    """Each statement below would show B's application through Core; the net hides it."""
    own, other = world.a.application.id, world.b.application.id
    with acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        forgotten = select(Application.id)  # scoped() forgotten
        joined = (  # scoped, joined to another tenant table the net scopes too
            scoped(select(Application.id), Application).outerjoin(
                Subscription, Subscription.application_id == Application.id
            )
        )
        own_table_again = scoped(select(Application.id), Application).where(  # a subquery on it, unscoped
            Application.id.in_(select(Application.id))
        )
        other_alias = aliased(Application)
        alias = scoped(select(Application.id), Application).where(  # an alias of a tenant table
            Application.id.in_(select(other_alias.id))
        )
        for stmt in (forgotten, joined, own_table_again, alias):
            assert not tenancy._net_adds_nothing(stmt, db.session)
            assert {row.id for row in execute_rows(stmt)} == {own}
        built_for_a = scoped(select(Application.id), Application)
    with acting_as(world.b.users[Role.RSSI], world.b.syndicate):  # the active organisation changed
        tenancy.resolve_request_org()  # as the next request does: the session bound to B
        assert not tenancy._net_adds_nothing(built_for_a, db.session)
        assert list(execute_rows(built_for_a)) == []  # A's criterion and B's net: nothing
        assert {row.id for row in execute_rows(scoped(select(Application.id), Application))} == {other}
