"""Reads of the register of processing activities: the scoped, filtered and sorted list query
and the headline figures of an organisation's register. Re-exported by
:mod:`registers.services.activities`.

The list reads columns, never whole fiches: a fiche's content is a dozen JSON columns, decoded for
nothing on a page that shows six columns (bench/bench_http.py measures the page).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, func, or_, select

from catalogue.models import Application
from core.db import today
from core.extensions import db
from core.tenancy import UNSCOPED, execute_rows, reused_per_organisation, scoped
from core.text import fold
from registers import reference as ref
from registers.models import ActivityStatus, DpiaStatus, ProcessingActivity, activity_applications

# --- what a fiche waits for: one definition each, for the list's filters, the home page's figures
# and the portfolio's (registers.services.home, .portfolio), so a figure and its list always agree.
# ``today_``: a date or a bound parameter (the portfolio's statements are built once).

PA = ProcessingActivity


def is_incomplete() -> ColumnElement[bool]:
    """A fiche to complete: something the CNIL model asks for is missing."""
    return PA.completeness < 100


def is_awaiting_validation() -> ColumnElement[bool]:
    """Sent for review: the DPO validates it (or sends it back)."""
    return PA.status == ActivityStatus.IN_REVIEW


def is_template_decision() -> ColumnElement[bool]:
    """The syndicate's model changed, or the subscription ended: the organisation decides."""
    return or_(PA.has_model_update.is_(True), PA.is_archive_proposed.is_(True))


def is_dpia_missing() -> ColumnElement[bool]:
    """A DPIA is required and not done."""
    return and_(PA.is_dpia_required.is_(True), PA.dpia_status != DpiaStatus.DONE)


def is_review_overdue(today_: Any) -> ColumnElement[bool]:
    return PA.next_review_on < today_


def is_to_review(today_: Any) -> ColumnElement[bool]:
    """Any of the above that asks for a reading: in review, review date passed, template decision."""
    return or_(is_awaiting_validation(), is_review_overdue(today_), is_template_decision())


def in_register() -> ColumnElement[bool]:
    """A fiche of the register (not a model, not archived): what the figures count."""
    return and_(PA.is_model.is_(False), PA.status != ActivityStatus.ARCHIVED)


@dataclass(frozen=True)  # hashable: the key of the list's statement (core.tenancy.reused_per_organisation)
class ActivityFilters:
    q: str = ""
    status: str = ""
    legal_basis: str = ""
    sensitive: str = ""  # "1" / "0"
    dpia: str = ""  # "required" / "required_not_done"
    review: str = ""  # "overdue" / "model_update" / "to_review"
    completeness: str = ""  # "incomplete"
    application_id: int | None = None
    models: bool = False  # the syndicate's models instead of its register
    sort: str = "name"

    @property
    def shows_the_register(self) -> bool:
        """No filter chosen: the list shows exactly what :func:`in_register` counts for the active
        organisation, and the page takes its number of rows from the register's figures (one count
        query less on the busiest page). Only the untouched form says so; a value that is ignored
        (an unknown status) is still counted, as any other filtered list."""
        return not (
            self.models
            or self.q
            or self.status
            or self.legal_basis
            or self.sensitive
            or self.dpia
            or self.review
            or self.completeness
            or self.application_id
        )


SORTS = {
    "name": (ProcessingActivity.sort_name,),
    "reference": (ProcessingActivity.reference,),
    "updated": (ProcessingActivity.updated_at.desc(),),
    "completeness": (ProcessingActivity.completeness, ProcessingActivity.sort_name),
    "review": (ProcessingActivity.next_review_on, ProcessingActivity.sort_name),
}


# What the register list shows of a fiche (templates/registers/activity_list.html), and nothing more.
LIST_COLUMNS = (
    ProcessingActivity.id,
    ProcessingActivity.reference,
    ProcessingActivity.name,
    ProcessingActivity.status,
    ProcessingActivity.legal_basis,
    ProcessingActivity.completeness,  # kept by the services on every save: no content decoded here
    ProcessingActivity.next_review_on,
    ProcessingActivity.model_id.is_not(None).label("is_inherited"),
    ProcessingActivity.has_model_update,
    ProcessingActivity.is_archive_proposed,
    ProcessingActivity.has_sensitive_data,
    ProcessingActivity.is_dpia_required,
    ProcessingActivity.dpia_status,
)


def activities_query(filters: ActivityFilters) -> Select[Any]:
    """The list's rows (:data:`LIST_COLUMNS`), scoped to the active organisation, filtered, sorted."""
    return _activities_statement(filters, today())


@reused_per_organisation
def _activities_statement(filters: ActivityFilters, on: date) -> Select[Any]:
    """:func:`activities_query` for the day ``on`` (the review filters compare with it)."""
    stmt = scoped(select(*LIST_COLUMNS), ProcessingActivity).where(
        ProcessingActivity.is_model.is_(filters.models)
    )
    if filters.q:
        stmt = stmt.where(
            or_(
                ProcessingActivity.sort_name.like(f"%{fold(filters.q)}%"),
                func.lower(ProcessingActivity.reference).like(f"%{filters.q.lower()}%"),
            )
        )
    if filters.status in ActivityStatus.__members__.values():
        stmt = stmt.where(ProcessingActivity.status == ActivityStatus(filters.status))
    elif filters.status != "all":
        stmt = stmt.where(ProcessingActivity.status != ActivityStatus.ARCHIVED)
    if filters.legal_basis in ref.ids(ref.legal_bases()):
        stmt = stmt.where(ProcessingActivity.legal_basis == filters.legal_basis)
    if filters.sensitive in ("0", "1"):
        stmt = stmt.where(ProcessingActivity.has_sensitive_data.is_(filters.sensitive == "1"))
    if filters.dpia == "required":
        stmt = stmt.where(ProcessingActivity.is_dpia_required.is_(True))
    elif filters.dpia == "required_not_done":
        stmt = stmt.where(is_dpia_missing())
    if filters.review == "overdue":
        stmt = stmt.where(is_review_overdue(on))
    elif filters.review == "model_update":
        stmt = stmt.where(is_template_decision())
    elif filters.review == "to_review":
        stmt = stmt.where(is_to_review(on))
    if filters.completeness == "incomplete":
        stmt = stmt.where(is_incomplete())
    if filters.application_id:
        stmt = stmt.where(
            ProcessingActivity.id.in_(
                select(activity_applications.c.activity_id).where(
                    activity_applications.c.application_id == filters.application_id
                )
            )
        )
    # unscoped: scoped() above already; the safety net would add every tenant model's criteria
    return stmt.order_by(*SORTS.get(filters.sort, SORTS["name"]), ProcessingActivity.id).execution_options(
        **UNSCOPED
    )


def application_names(activity_ids: list[int]) -> dict[int, list[str]]:
    """The applications of these fiches, by fiche, alphabetical (a models page shows them): one query."""
    if not activity_ids:
        return {}
    stmt = (
        select(activity_applications.c.activity_id, Application.name)
        .join(Application, Application.id == activity_applications.c.application_id)
        .where(activity_applications.c.activity_id.in_(activity_ids))
        .order_by(Application.sort_name)
    )
    names: dict[int, list[str]] = {}
    for activity_id, name in db.session.execute(stmt):
        names.setdefault(activity_id, []).append(name)
    return names


@dataclass(frozen=True)
class RegisterSummary:
    total: int
    average_completeness: int
    complete: int
    to_review: int
    dpia_missing: int


def register_summary(org_id: int) -> RegisterSummary:
    """Headline figures of an organisation's register (archived fiches and models excluded)."""
    row = execute_rows(_summary_statement(), {"org_id": org_id, "today": today()}).one()
    return RegisterSummary(int(row[0]), round(float(row[1])), int(row[2]), int(row[3]), int(row[4]))


@functools.cache
def _summary_statement() -> Any:
    """Built once, then run with its parameters: on a list page, building this expression anew cost
    more than running it (bench/bench_http.py)."""
    pa = ProcessingActivity
    return (
        select(
            func.count(pa.id),
            func.coalesce(func.avg(pa.completeness), 0),
            func.count(pa.id).filter(pa.completeness == 100),
            func.count(pa.id).filter(is_to_review(bindparam("today"))),
            func.count(pa.id).filter(is_dpia_missing()),
        )
        .where(pa.organisation_id == bindparam("org_id"), in_register())
        # unscoped: already filtered on org_id; figures read from the covering index
        .execution_options(**UNSCOPED)
    )


def activity_titles(ids: Iterable[int]) -> dict[int, str]:
    """ "Reference — name" of the active organisation's fiches by id (the journal's entries, a rights
    request's fiche)."""
    ids = {int(i) for i in ids}
    if not ids:
        return {}
    rows = db.session.execute(
        scoped(
            select(ProcessingActivity.id, ProcessingActivity.reference, ProcessingActivity.name),
            ProcessingActivity,
        ).where(ProcessingActivity.id.in_(ids))
    )
    return {row.id: f"{row.reference} — {row.name}" for row in rows}
