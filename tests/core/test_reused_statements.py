"""core.tenancy.reused_per_organisation and core.pagination: a list's statement built once per
organisation and arguments, its count and its bounded form once per statement — and never the rows
of another organisation, another day or another auditor's scope."""

from __future__ import annotations

import datetime as dt
import gc
from typing import Any

from flask import Flask
from sqlalchemy import select

from audits.services import audits as audit_svc
from audits.services import findings as finding_svc
from core import pagination, tenancy
from core.extensions import db
from core.pagination import paginate
from core.security import Role
from core.tenancy import execute_rows, reused_per_organisation, scoped
from registers.services import queries
from smsi.models import Incident
from smsi.services import incidents as incident_svc
from tests.conftest import World, acting_as
from tests.smsi.factories import IncidentFactory


@reused_per_organisation
def _titles(order: str) -> Any:
    stmt = scoped(select(Incident.id, Incident.title), Incident)
    return stmt.order_by(Incident.title.desc() if order == "desc" else Incident.title, Incident.id)


def test_one_statement_per_organisation_and_arguments(world: World, session: Any, app_ctx: Flask) -> None:
    a_ids = [IncidentFactory(organisation=world.a.syndicate, title=f"A{n}").id for n in range(3)]
    b_id = IncidentFactory(organisation=world.b.syndicate, title="B0").id
    with acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        built = _titles("asc")
        assert _titles("asc") is built  # the same object: SQLAlchemy walks it once
        assert _titles("desc") is not built
        assert [row.id for row in execute_rows(built)] == a_ids
        assert [row.id for row in execute_rows(_titles("desc"))] == a_ids[::-1]
    with acting_as(world.b.users[Role.RSSI], world.b.syndicate):
        tenancy.resolve_request_org()  # as the next request does: the session bound to B
        for_b = _titles("asc")
        assert for_b is not built
        assert [row.id for row in execute_rows(for_b)] == [b_id]
        # Kept for A, run for B (as a wrong key would): the safety net adds B's criteria to A's.
        assert list(execute_rows(built)) == []


def test_pages_of_a_reused_statement(world: World, session: Any, app_ctx: Flask) -> None:
    org = world.a.syndicate
    ids = [IncidentFactory(organisation=org, title=f"T{n:02d}").id for n in range(7)]
    rssi = world.a.users[Role.RSSI]
    seen = []
    for number in (1, 2, 3):
        with app_ctx.test_request_context(f"/?page={number}&per_page=3"), acting_as(rssi, org):
            page = paginate(_titles("asc"), scalars=False)
            assert page.total == 7
            seen.append([row.id for row in page.items])
    assert seen == [ids[0:3], ids[3:6], ids[6:7]]
    with app_ctx.test_request_context("/?page=9&per_page=3"), acting_as(rssi, org):  # beyond: the last
        page = paginate(_titles("asc"), scalars=False)
        assert (page.page, [row.id for row in page.items]) == (3, ids[6:7])
    with app_ctx.test_request_context("/?per_page=3"), acting_as(rssi, org):  # objects, through the ORM
        objects = paginate(incident_svc.incidents_query(incident_svc.IncidentFilters(status="all")))
        assert objects.total == 7
        assert len(objects.items) == 3
        assert all(isinstance(item, Incident) for item in objects.items)


def test_the_register_list_is_rebuilt_for_a_new_day(world: World, app_ctx: Flask, monkeypatch: Any) -> None:
    filters = queries.ActivityFilters(review="overdue")
    with acting_as(world.a.users[Role.DPO], world.a.syndicate):
        monkeypatch.setattr(queries, "today", lambda: dt.date(2026, 12, 4))
        first = queries.activities_query(filters)
        assert queries.activities_query(filters) is first
        monkeypatch.setattr(queries, "today", lambda: dt.date(2026, 12, 5))
        assert queries.activities_query(filters) is not first


def test_an_auditors_scope_is_part_of_the_key(world: World, app_ctx: Flask, monkeypatch: Any) -> None:
    filters = audit_svc.AuditFilters()
    lists = (lambda: audit_svc.audits_query(filters), lambda: finding_svc.finding_rows_query("", "open"))
    with acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        for query in lists:
            monkeypatch.setattr(audit_svc.access, "visible_audit_ids", lambda: None)
            everyone = query()
            monkeypatch.setattr(audit_svc.access, "visible_audit_ids", lambda: {1, 2})
            narrowed = query()
            assert narrowed is not everyone
            monkeypatch.setattr(audit_svc.access, "visible_audit_ids", lambda: {1})  # an access ended
            assert query() is not narrowed
            monkeypatch.setattr(audit_svc.access, "visible_audit_ids", lambda: None)
            assert query() is everyone


def test_without_an_organisation_nothing_is_kept(app_ctx: Flask) -> None:
    kept = len(_titles.kept)  # type: ignore[attr-defined]
    db.session.info.pop(tenancy.ORG_INFO_KEY, None)
    assert _titles("asc") is not _titles("asc")  # anonymous: built each time, never kept
    assert len(_titles.kept) == kept  # type: ignore[attr-defined]


def test_a_statement_built_anew_on_each_page_leaves_nothing_behind(world: World, app_ctx: Flask) -> None:
    with acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        before = len(pagination._DERIVED)
        for n in range(50):
            stmt = scoped(select(Incident.id), Incident).where(Incident.id > n)
            assert pagination._derived(stmt, pagination.count_statement) is not None
            assert pagination._derived(stmt, pagination._limited) is pagination._derived(
                stmt, pagination._limited
            )
            del stmt
        gc.collect()
        assert len(pagination._DERIVED) == before  # its count and bounded form went with it
