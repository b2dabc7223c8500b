"""The registers' figures of a year for the annual report (``registers.DOMAIN.yearly_figures``): the
register's completeness and the AIPD, the rights requests and their response delays, the breaches
and their notification delays (72 h, GDPR art. 33). Aggregate queries over the whole scope."""

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
    days_between,
    hours_between,
    month_labels,
    month_of,
    monthly,
    number,
    ratio,
    year_bounds,
    year_of,
)
from core.tenancy import UNSCOPED
from registers.models import (
    Breach,
    DpiaStatus,
    NotificationDecision,
    ProcessingActivity,
    RegisterFigures,
    RightsRequest,
    RightType,
)
from registers.services.queries import in_register

NOTIFICATION_HOURS = 72  # GDPR art. 33: within 72 hours of becoming aware of the breach
RIGHT_COLOURS = ("#2b6cb0", "#2f855a", "#c53030", "#d69e2e", "#6b46c1", "#7b8794")


def _run(stmt: Select[Any]) -> list[Any]:
    # unscoped: the organisations are named by the statement (the report's scope, chosen by reports)
    return list(db.session.execute(stmt.execution_options(**UNSCOPED)))


def _register(orgs: Select[Any], year: int) -> YearlyFigures:
    f = RegisterFigures
    fiches, completeness_total, incomplete = _run(
        select(
            func.coalesce(func.sum(f.fiches), 0),
            func.coalesce(func.sum(f.completeness_total), 0),
            func.coalesce(func.sum(f.incomplete), 0),
        ).where(f.organisation_id.in_(orgs))
    )[0]
    pa = ProcessingActivity
    start, _e = date_bounds(year - 1)
    _s, end = date_bounds(year)
    done_rows = _run(
        select(year_of(pa.dpia_done_on), func.count())
        .where(
            pa.organisation_id.in_(orgs),
            in_register(),
            pa.dpia_status == DpiaStatus.DONE,
            pa.dpia_done_on >= start,
            pa.dpia_done_on < end,
        )
        .group_by(year_of(pa.dpia_done_on))
    )
    done = {int(y): int(n) for y, n in done_rows}
    required, required_done = _run(
        select(
            func.count(),
            func.count().filter(pa.dpia_status == DpiaStatus.DONE),
        ).where(pa.organisation_id.in_(orgs), in_register(), pa.is_dpia_required.is_(True))
    )[0]
    fiches = int(fiches)
    return YearlyFigures(
        key="registers.register",
        title=_("Registre des activités de traitement"),
        figures=(
            KeyFigure(_("Fiches au registre"), fiches),
            KeyFigure(
                _("Complétude moyenne du registre"),
                (int(completeness_total) / fiches) if fiches else None,
                "%",
                decimals=1,
            ),
            KeyFigure(_("Fiches incomplètes"), int(incomplete)),
            KeyFigure(_("AIPD réalisées dans l'année"), done.get(year, 0), previous=done.get(year - 1, 0)),
            KeyFigure(
                _("Traitements à AIPD obligatoire couverts"), ratio(required_done, required), "%", decimals=1
            ),
        ),
        note=_("Registre et complétude : état à la date du document."),
    )


def _rights(orgs: Select[Any], year: int) -> YearlyFigures:
    rr = RightsRequest
    start, _e = date_bounds(year - 1)
    _s, end = date_bounds(year)
    received = _run(
        select(year_of(rr.received_on), month_of(rr.received_on), rr.right, func.count())
        .where(rr.organisation_id.in_(orgs), rr.received_on >= start, rr.received_on < end)
        .group_by(year_of(rr.received_on), month_of(rr.received_on), rr.right)
    )
    this = by_month(((y, m, RightType(r).value, n) for y, m, r, n in received), year)
    before = by_month(((y, m, RightType(r).value, n) for y, m, r, n in received), year - 1)
    delay = days_between(rr.answered_on, rr.received_on)
    answered = _run(
        select(
            year_of(rr.received_on),
            func.count(),
            func.avg(delay),
            func.count().filter(rr.answered_on <= rr.due_on),
        )
        .where(
            rr.organisation_id.in_(orgs),
            rr.received_on >= start,
            rr.received_on < end,
            rr.answered_on.is_not(None),
        )
        .group_by(year_of(rr.received_on))
    )
    per_year = {
        int(y): (int(n), float(avg) if avg is not None else None, int(in_time))
        for y, n, avg, in_time in answered
    }
    now = per_year.get(year, (0, None, 0))
    then = per_year.get(year - 1, (0, None, 0))
    return YearlyFigures(
        key="registers.rights",
        title=_("Demandes d'exercice de droits"),
        figures=(
            KeyFigure(
                _("Demandes reçues"),
                sum(sum(v) for v in this.values()),
                previous=sum(sum(v) for v in before.values()),
            ),
            KeyFigure(_("Demandes répondues"), now[0], previous=then[0]),
            KeyFigure(_("Délai moyen de réponse"), now[1], _("j"), previous=then[1], decimals=1),
            KeyFigure(
                _("Réponses dans le délai légal"),
                ratio(now[2], now[0]),
                "%",
                previous=ratio(then[2], then[0]),
                decimals=1,
            ),
        ),
        charts=(
            Chart(
                key="rights-month",
                title=_("Demandes reçues par mois et par droit"),
                periods=month_labels(year),
                series=tuple(
                    Series(
                        r.value,
                        str(r.label),
                        RIGHT_COLOURS[i % len(RIGHT_COLOURS)],
                        tuple(this.get(r.value, [0] * 12)),
                    )
                    for i, r in enumerate(RightType)
                ),
                stacked=True,
            ),
        ),
        tables=(
            FigureTable(
                _("Demandes reçues par droit"),
                (_("Droit"), str(year), str(year - 1)),
                tuple(
                    (str(r.label), number(sum(this.get(r.value, []))), number(sum(before.get(r.value, []))))
                    for r in RightType
                    if r.value in this or r.value in before
                ),
            ),
        ),
        note=_("Délais comptés en jours calendaires, de la réception à la réponse."),
    )


def _breaches(orgs: Select[Any], year: int) -> YearlyFigures:
    b = Breach
    start, _e = year_bounds(year - 1)
    _s, end = year_bounds(year)
    hours = hours_between(b.cnil_notified_at, b.discovered_at)
    rows = _run(
        select(
            year_of(b.discovered_at),
            func.count(),
            func.count().filter(b.cnil_decision == NotificationDecision.NOTIFIED),
            func.count().filter(and_(b.cnil_notified_at.is_not(None), hours <= NOTIFICATION_HOURS)),
            func.avg(hours).filter(b.cnil_notified_at.is_not(None)),
        )
        .where(b.organisation_id.in_(orgs), b.discovered_at >= start, b.discovered_at < end)
        .group_by(year_of(b.discovered_at))
    )
    per_year = {int(y): (int(n), int(notified), int(in_time), avg) for y, n, notified, in_time, avg in rows}
    now = per_year.get(year, (0, 0, 0, None))
    then = per_year.get(year - 1, (0, 0, 0, None))
    months = _run(
        select(month_of(b.discovered_at), func.count())
        .where(b.organisation_id.in_(orgs), b.discovered_at >= _s, b.discovered_at < end)
        .group_by(month_of(b.discovered_at))
    )
    per_month = monthly(((year, month, n) for month, n in months), year)
    return YearlyFigures(
        key="registers.breaches",
        title=_("Violations de données personnelles"),
        figures=(
            KeyFigure(_("Violations constatées"), now[0], previous=then[0]),
            KeyFigure(_("Notifiées à la CNIL"), now[1], previous=then[1]),
            KeyFigure(
                _("Notifications dans les 72 heures"),
                ratio(now[2], now[1]),
                "%",
                previous=ratio(then[2], then[1]),
                decimals=1,
            ),
            KeyFigure(
                _("Délai moyen de notification"),
                float(now[3]) if now[3] is not None else None,
                _("h"),
                previous=float(then[3]) if then[3] is not None else None,
                decimals=1,
            ),
        ),
        charts=(
            Chart(
                key="breaches-month",
                title=_("Violations constatées par mois"),
                periods=month_labels(year),
                series=(Series("breaches", _("Violations"), "#c53030", tuple(per_month)),),
            ),
        ),
    )


def yearly(orgs: Select[Any], year: int) -> list[YearlyFigures]:
    return [_register(orgs, year), _rights(orgs, year), _breaches(orgs, year)]


__all__ = ["yearly"]
