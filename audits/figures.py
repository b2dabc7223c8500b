"""The audits' figures of a year for the annual report (``audits.DOMAIN.yearly_figures``): audits
done in the year (ended then, report issued or closed), their findings by level, and the findings
closed in the year. A few aggregate queries over every organisation of the scope at once."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, func, select

from audits.models import Audit, AuditStatus, Finding, FindingLevel, FindingStatus
from core.extensions import db
from core.figures import FigureTable, KeyFigure, YearlyFigures, date_bounds, number
from core.tenancy import UNSCOPED

DONE = (AuditStatus.REPORT_ISSUED, AuditStatus.CLOSED)


def _scalar(stmt: Select[Any]) -> int:
    # unscoped: the organisations are named by the statement (the report's scope, chosen by reports)
    return int(db.session.scalar(stmt.execution_options(**UNSCOPED)) or 0)


def _done(orgs: Select[Any], year: int) -> Any:
    start, end = date_bounds(year)
    return (
        Audit.organisation_id.in_(orgs),
        Audit.status.in_(DONE),
        Audit.end_on >= start,
        Audit.end_on < end,
    )


def yearly(orgs: Select[Any], year: int) -> list[YearlyFigures]:
    audits_this = _scalar(select(func.count()).select_from(Audit).where(*_done(orgs, year)))
    audits_before = _scalar(select(func.count()).select_from(Audit).where(*_done(orgs, year - 1)))
    rows = db.session.execute(
        select(Finding.level, func.count())
        .join(Audit, Audit.id == Finding.audit_id)
        .where(*_done(orgs, year))
        .group_by(Finding.level)
        .execution_options(**UNSCOPED)  # unscoped: the report's organisations, named above
    )
    by_level = {FindingLevel(level): int(n) for level, n in rows}
    start, end = date_bounds(year)
    closed = _scalar(
        select(func.count())
        .select_from(Finding)
        .where(
            Finding.organisation_id.in_(orgs),
            Finding.status == FindingStatus.CLOSED,
            Finding.closed_on >= start,
            Finding.closed_on < end,
        )
    )
    nonconformities = sum(n for level, n in by_level.items() if level.is_nonconformity)
    return [
        YearlyFigures(
            key="audits.audits",
            title=_("Audits"),
            figures=(
                KeyFigure(_("Audits réalisés"), audits_this, previous=audits_before),
                KeyFigure(_("Constats de ces audits"), sum(by_level.values())),
                KeyFigure(_("Non-conformités relevées"), nonconformities),
                KeyFigure(_("Constats clos dans l'année"), closed),
            ),
            tables=(
                FigureTable(
                    _("Constats par niveau"),
                    (_("Niveau"), _("Constats")),
                    tuple(
                        (f"{level.value} — {level.label}", number(by_level.get(level, 0)))
                        for level in sorted(FindingLevel, key=lambda lv: -lv.rank)
                    ),
                ),
            ),
        )
    ]


__all__ = ["yearly"]
