"""Corrective actions by organisation: one row per organisation whose SMSI the reader follows — a
mutualised RSSI, or a referent of several members — with its open actions, those overdue, those due
within seven days and those done whose effectiveness is still to be checked (ISO/IEC 27001 §10.2).

The organisations are the reader's own: those where a current membership gives a role that reads
the SMSI (:func:`core.security.roles_granting`), never one they were not given. The figures come
from one grouped query over the actions' ``(organisation_id, is_open, due_on)`` index, for the
page's organisations when sorted by name, for all the reader's when sorted by a figure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select, and_, func, select

from accounts.models import Membership, Organisation, membership_is_current
from core.extensions import db
from core.pagination import Page, paginate
from core.security import Permission, roles_granting
from core.tenancy import UNSCOPED
from smsi.models import Action, ActionStatus

SORTS = ("name", "overdue", "open")
WEEK = 7


@dataclass(frozen=True)
class OrganisationActions:
    organisation_id: int
    name: str
    open: int
    overdue: int
    week: int
    to_check: int


def followed_organisations(user_id: int, on: date) -> Select[Any]:
    """Ids of the organisations where ``user_id`` holds, on ``on``, a role reading the SMSI."""
    return (
        select(Membership.organisation_id)
        .where(
            Membership.user_id == user_id,
            Membership.role.in_(sorted(roles_granting(Permission.SMSI_VIEW))),
            membership_is_current(Membership, on),
        )
        .distinct()
    )


def follows_several(user_id: int, on: date) -> bool:
    """Whether the page is worth offering: the reader follows more than one organisation's SMSI."""
    followed = followed_organisations(user_id, on).limit(2).subquery()
    # unscoped: the reader's own memberships, in every organisation
    count = db.session.scalar(select(func.count()).select_from(followed).execution_options(**UNSCOPED))
    return (count or 0) > 1


def by_organisation(user_id: int, on: date, sort: str = "name") -> Page:
    """The page (``?page=``) of the reader's organisations with their actions' figures."""
    followed = followed_organisations(user_id, on)
    a = Action
    soon = on + timedelta(days=WEEK)
    figures = (
        select(
            a.organisation_id.label("organisation_id"),
            func.count().label("open"),
            func.count().filter(a.due_on < on).label("overdue"),
            func.count().filter(and_(a.due_on >= on, a.due_on <= soon)).label("week"),
            func.count().filter(a.status == ActionStatus.DONE).label("to_check"),
        )
        .where(a.organisation_id.in_(followed), a.is_open.is_(True))
        .group_by(a.organisation_id)
        .subquery()
    )
    counts = [func.coalesce(c, 0).label(c.name) for c in (figures.c.open, figures.c.overdue, figures.c.week)]
    to_check = func.coalesce(figures.c.to_check, 0).label("to_check")
    o = Organisation
    order = {
        "name": (o.sort_name, o.id),
        "overdue": (counts[1].desc(), counts[0].desc(), o.sort_name, o.id),
        "open": (counts[0].desc(), counts[1].desc(), o.sort_name, o.id),
    }[sort if sort in SORTS else "name"]
    stmt = (
        select(o.id.label("organisation_id"), o.name.label("name"), *counts, to_check)
        .outerjoin(figures, figures.c.organisation_id == o.id)
        .where(o.id.in_(followed))
        .order_by(*order)
        # unscoped: the reader's own organisations (followed_organisations), each named by membership
        .execution_options(**UNSCOPED)
    )
    page = paginate(stmt, scalars=False)
    page.items = [OrganisationActions(*row) for row in page.items]
    return page
