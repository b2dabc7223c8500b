"""Each organisation's register figures are kept by database triggers (migration 20261203g): after
any write to the fiches — through the ORM, a Core INSERT or UPDATE (the import's bulk path), a
status change, an archive, a model, a delete — they equal what the fiches themselves say."""

from __future__ import annotations

import random
from typing import Any

from sqlalchemy import and_, case, delete, func, insert, select, update

from accounts.models import Organisation
from registers.models import ActivityStatus, DpiaStatus, ProcessingActivity, RegisterFigures
from registers.services import queries
from tests.accounts.factories import OrganisationFactory
from tests.registers.factories import ProcessingActivityFactory

PA = ProcessingActivity


CONDITIONS = (
    queries.is_dpia_missing,
    queries.is_incomplete,
    queries.is_awaiting_validation,
    queries.is_template_decision,
)
RF = RegisterFigures
KEPT = (RF.dpia_missing, RF.incomplete, RF.awaiting_validation, RF.template_decisions)


def _from_fiches(session: Any) -> dict[int, tuple[int, ...]]:
    stmt = (
        select(
            PA.organisation_id,
            func.count(),
            func.coalesce(func.sum(PA.completeness), 0),
            *(func.sum(case((condition(), 1), else_=0)) for condition in CONDITIONS),
        )
        .where(queries.in_register())
        .group_by(PA.organisation_id)
    )
    return {row[0]: tuple(int(v) for v in row[1:]) for row in session.execute(stmt)}


def _kept(session: Any) -> dict[int, tuple[int, ...]]:
    rows = session.execute(select(RF.organisation_id, RF.fiches, RF.completeness_total, *KEPT))
    # An organisation whose fiches all left the register keeps a row of zeros.
    return {row[0]: tuple(row[1:]) for row in rows if any(row[1:])}


def test_figures_follow_orm_writes(session: Any) -> None:
    one, two = OrganisationFactory(), OrganisationFactory()
    a = ProcessingActivityFactory(organisation=one, completeness=40)
    b = ProcessingActivityFactory(organisation=one, completeness=100, is_dpia_required=True)
    ProcessingActivityFactory(organisation=two, completeness=70, is_model=True)  # a model: not counted
    session.flush()
    assert _kept(session) == _from_fiches(session) == {one.id: (2, 140, 1, 1, 0, 0)}
    b.dpia_status = DpiaStatus.DONE
    a.completeness = 90
    session.flush()
    assert _kept(session) == _from_fiches(session)
    a.status, a.has_model_update = ActivityStatus.IN_REVIEW, True  # sent for review; the model changed
    session.flush()
    assert _kept(session)[one.id] == (2, 190, 0, 1, 1, 1)
    a.status, a.has_model_update = ActivityStatus.DRAFT, False
    session.flush()
    assert _kept(session) == _from_fiches(session) == {one.id: (2, 190, 0, 1, 0, 0)}
    a.status = ActivityStatus.ARCHIVED
    session.flush()
    assert _kept(session) == _from_fiches(session) == {one.id: (1, 100, 0, 0, 0, 0)}
    a.status = ActivityStatus.VALIDATED  # back from the archive
    b.organisation_id = two.id  # moved (a merge of organisations)
    session.flush()
    assert (
        _kept(session) == _from_fiches(session) == {one.id: (1, 90, 0, 1, 0, 0), two.id: (1, 100, 0, 0, 0, 0)}
    )
    session.delete(a)
    session.flush()
    assert _kept(session) == _from_fiches(session) == {two.id: (1, 100, 0, 0, 0, 0)}


def test_figures_follow_core_inserts_updates_and_deletes(session: Any) -> None:
    org = OrganisationFactory()
    session.flush()
    rng = random.Random(20261203)
    rows = [
        {
            "organisation_id": org.id,
            "reference": f"IMP-{i}",
            "name": f"Importé {i}",
            "sort_name": f"importe {i}",
            "completeness": rng.randint(0, 100),
            "is_dpia_required": rng.random() < 0.3,
            "has_model_update": rng.random() < 0.2,
            "is_archive_proposed": rng.random() < 0.1,
            "status": rng.choice(list(ActivityStatus)),
            "created_at": org.created_at,
            "updated_at": org.created_at,
            "version": 1,
        }
        for i in range(60)
    ]
    session.execute(insert(PA), rows)  # the bulk path of an import
    assert _kept(session) == _from_fiches(session)
    session.execute(update(PA).where(PA.completeness < 50).values(completeness=PA.completeness + 25))
    assert _kept(session) == _from_fiches(session)
    session.execute(
        update(PA)
        .where(and_(PA.organisation_id == org.id, PA.is_dpia_required.is_(True)))
        .values(dpia_status=DpiaStatus.DONE)
    )
    assert _kept(session) == _from_fiches(session)
    session.execute(update(PA).where(PA.has_model_update.is_(True)).values(has_model_update=False))
    assert _kept(session) == _from_fiches(session)
    session.execute(delete(PA).where(PA.completeness > 80))
    assert _kept(session) == _from_fiches(session)


def test_the_portfolio_ranks_by_the_kept_figures(session: Any) -> None:
    from registers.services.portfolio import _ordering  # noqa: PLC0415

    orgs = [OrganisationFactory() for _ in range(3)]
    for org, completeness in zip(orgs, (90, 10, 50), strict=True):
        ProcessingActivityFactory(organisation=org, completeness=completeness)
    session.flush()
    scope = select(RegisterFigures.organisation_id).where(
        RegisterFigures.organisation_id.in_([o.id for o in orgs])
    )
    stats, order = _ordering("completeness", scope)
    ranked = list(
        session.scalars(
            select(stats.c.org_id).join(Organisation, stats.c.org_id == Organisation.id).order_by(*order)
        )
    )
    assert ranked == [orgs[1].id, orgs[2].id, orgs[0].id]
