"""The SMSI's figures of a year for the annual report (``smsi.DOMAIN.yearly_figures``): incidents by
month and severity, corrective actions opened and closed, the Statement of Applicability's
implementation rate. A few aggregate queries over every organisation of the scope at once."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, and_, func, select

from core.extensions import db
from core.figures import (
    Chart,
    FigureTable,
    KeyFigure,
    Series,
    YearlyFigures,
    by_month,
    date_bounds,
    month_labels,
    month_of,
    monthly,
    number,
    ratio,
    year_bounds,
    year_of,
)
from core.tenancy import UNSCOPED
from smsi.documents.charts import SEVERITY_COLOURS
from smsi.models import (
    Action,
    ActionStatus,
    ImplementationStatus,
    Incident,
    IncidentCategory,
    Severity,
    SoaEntry,
)

OPENED_COLOUR = "#2b6cb0"
CLOSED_COLOUR = "#2f855a"


def _run(stmt: Select[Any]) -> list[Any]:
    # unscoped: the organisations are named by the statement (the report's scope, chosen by reports)
    return list(db.session.execute(stmt.execution_options(**UNSCOPED)))


def _incidents(orgs: Select[Any], year: int) -> YearlyFigures:
    start, _end = year_bounds(year - 1)
    _start, end = year_bounds(year)
    i = Incident
    rows = _run(
        select(year_of(i.detected_at), month_of(i.detected_at), i.severity, func.count())
        .where(i.organisation_id.in_(orgs), i.detected_at >= start, i.detected_at < end)
        .group_by(year_of(i.detected_at), month_of(i.detected_at), i.severity)
    )
    this = by_month(((y, m, Severity(s).value, n) for y, m, s, n in rows), year)
    before = by_month(((y, m, Severity(s).value, n) for y, m, s, n in rows), year - 1)
    total = sum(sum(v) for v in this.values())
    total_before = sum(sum(v) for v in before.values())
    serious = (Severity.MAJOR.value, Severity.CRITICAL.value)
    months = month_labels(year)
    categories = _run(
        select(year_of(i.detected_at), i.category, func.count())
        .where(i.organisation_id.in_(orgs), i.detected_at >= start, i.detected_at < end)
        .group_by(year_of(i.detected_at), i.category)
    )
    per_category: dict[str, list[int]] = {}
    for y, category, n in categories:
        per_category.setdefault(IncidentCategory(category).value, [0, 0])[0 if int(y) == year else 1] += int(
            n
        )
    return YearlyFigures(
        key="smsi.incidents",
        title=_("Incidents de sécurité"),
        figures=(
            KeyFigure(_("Incidents enregistrés"), total, previous=total_before),
            KeyFigure(
                _("Incidents majeurs ou critiques"),
                sum(sum(this.get(s, [])) for s in serious),
                previous=sum(sum(before.get(s, [])) for s in serious),
            ),
        ),
        charts=(
            Chart(
                key="incidents-month",
                title=_("Incidents par mois et par gravité"),
                periods=months,
                series=tuple(
                    Series(s.value, str(s.label), SEVERITY_COLOURS[s], tuple(this.get(s.value, [0] * 12)))
                    for s in Severity
                ),
                stacked=True,
            ),
        ),
        tables=(
            FigureTable(
                _("Incidents par catégorie"),
                (_("Catégorie"), str(year), str(year - 1)),
                tuple(
                    (str(c.label), number(per_category[c.value][0]), number(per_category[c.value][1]))
                    for c in IncidentCategory
                    if c.value in per_category
                ),
            ),
        ),
    )


def _actions(orgs: Select[Any], year: int) -> YearlyFigures:
    start, _end = year_bounds(year - 1)
    _start, end = year_bounds(year)
    a = Action
    opened = _run(
        select(year_of(a.created_at), month_of(a.created_at), func.count())
        .where(a.organisation_id.in_(orgs), a.created_at >= start, a.created_at < end)
        .group_by(year_of(a.created_at), month_of(a.created_at))
    )
    # Closed: effectiveness verified (the only way an action closes), on the day it was checked.
    d_start, _d = date_bounds(year - 1)
    _d2, d_end = date_bounds(year)
    closed = _run(
        select(year_of(a.checked_on), month_of(a.checked_on), func.count())
        .where(
            a.organisation_id.in_(orgs),
            a.status == ActionStatus.EFFECTIVE,
            a.checked_on >= d_start,
            a.checked_on < d_end,
        )
        .group_by(year_of(a.checked_on), month_of(a.checked_on))
    )
    open_now = _run(
        select(func.count()).where(a.organisation_id.in_(orgs), a.is_open.is_(True), a.created_at < end)
    )[0]
    opened, closed = list(opened), list(closed)
    o, o_before = monthly(opened, year), monthly(opened, year - 1)
    c, c_before = monthly(closed, year), monthly(closed, year - 1)
    return YearlyFigures(
        key="smsi.actions",
        title=_("Actions correctives et préventives"),
        figures=(
            KeyFigure(_("Actions ouvertes dans l'année"), sum(o), previous=sum(o_before)),
            KeyFigure(_("Actions closes (efficacité vérifiée)"), sum(c), previous=sum(c_before)),
            KeyFigure(_("Actions encore ouvertes"), int(open_now[0] or 0)),
        ),
        charts=(
            Chart(
                key="actions-month",
                title=_("Actions ouvertes et closes par mois"),
                periods=month_labels(year),
                series=(
                    Series("opened", _("Ouvertes"), OPENED_COLOUR, tuple(o)),
                    Series("closed", _("Closes"), CLOSED_COLOUR, tuple(c)),
                ),
            ),
        ),
    )


def _soa(orgs: Select[Any]) -> YearlyFigures:
    s = SoaEntry
    applicable = and_(s.applicable.is_(True), s.status != ImplementationStatus.NOT_APPLICABLE)
    counts = _run(
        select(
            func.count().filter(applicable),
            func.count().filter(and_(applicable, s.status == ImplementationStatus.IMPLEMENTED)),
            func.count().filter(and_(applicable, s.status == ImplementationStatus.PARTIAL)),
            func.count(func.distinct(s.organisation_id)),
        ).where(s.organisation_id.in_(orgs))
    )[0]
    total, done, partial, organisations = (int(v or 0) for v in counts)
    rate = ratio(done + 0.5 * partial, total)
    return YearlyFigures(
        key="smsi.soa",
        title=_("Déclaration d'applicabilité (ISO/IEC 27001, annexe A)"),
        figures=(
            KeyFigure(_("Taux de mise en œuvre des mesures applicables"), rate, "%", decimals=1),
            KeyFigure(_("Mesures mises en œuvre"), done),
            KeyFigure(_("Mesures partiellement mises en œuvre"), partial),
            KeyFigure(_("Organisations ayant une déclaration"), organisations),
        ),
        note=_("État à la date du document ; une mesure partiellement mise en œuvre compte pour moitié."),
    )


def yearly(orgs: Select[Any], year: int) -> list[YearlyFigures]:
    return [_incidents(orgs, year), _actions(orgs, year), _soa(orgs)]


__all__ = ["yearly"]
