"""The risks domain's figures of a year for the annual report (``risks.DOMAIN.yearly_figures``): the
ANSSI parcours (measures done, money expected, received and spent) and the hygiene maturity (the
year's last self-assessment of each organisation). Aggregate queries over the whole scope."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, case, func, select

from core.extensions import db
from core.figures import Chart, KeyFigure, Series, YearlyFigures, date_bounds, ratio
from core.tenancy import UNSCOPED
from risks import reference as ref
from risks.models import HygieneAnswer, HygieneAssessment, HygieneStatus, Parcours, ParcoursMeasure, Subsidy
from risks.services.parcours import DONE, Action


def _run(stmt: Select[Any]) -> list[Any]:
    # unscoped: the organisations are named by the statement (the report's scope, chosen by reports)
    return list(db.session.execute(stmt.execution_options(**UNSCOPED)))


def _parcours(orgs: Select[Any], year: int) -> YearlyFigures:
    m = ParcoursMeasure
    themes = _run(
        select(m.theme, func.count(), func.count().filter(Action.status.in_(DONE)), func.sum(m.amount_spent))
        .join(Action, Action.id == m.action_id)
        .where(m.organisation_id.in_(orgs))
        .group_by(m.theme)
    )
    found = {theme: (int(n), int(done), float(spent or 0)) for theme, n, done, spent in themes}
    total = sum(n for n, _d, _s in found.values())
    done = sum(d for _n, d, _s in found.values())
    spent = sum(s for _n, _d, s in found.values())
    start, end = date_bounds(year)
    s = Subsidy
    expected, received, received_in_year = _run(
        select(
            func.coalesce(func.sum(s.amount_expected), 0),
            func.coalesce(func.sum(s.amount_received), 0),
            func.coalesce(
                func.sum(case((s.received_on >= start, case((s.received_on < end, s.amount_received))))), 0
            ),
        ).where(s.organisation_id.in_(orgs))
    )[0]
    organisations = _run(
        select(func.count()).select_from(Parcours).where(Parcours.organisation_id.in_(orgs))
    )[0][0]
    ordered = [t for t in ref.parcours_themes() if t.id in found]
    return YearlyFigures(
        key="risks.parcours",
        title=_("Parcours de cybersécurité (ANSSI)"),
        figures=(
            KeyFigure(_("Organisations engagées dans un parcours"), int(organisations)),
            KeyFigure(_("Mesures du plan de sécurisation réalisées"), ratio(done, total), "%", decimals=1),
            KeyFigure(_("Mesures réalisées"), done),
            KeyFigure(_("Subvention attendue"), float(expected), "€"),
            KeyFigure(_("Subvention reçue dans l'année"), float(received_in_year or 0), "€"),
            KeyFigure(_("Subvention reçue au total"), float(received), "€"),
            KeyFigure(_("Dépenses engagées"), spent, "€"),
        ),
        charts=(
            Chart(
                key="parcours-themes",
                title=_("Mesures par thème : réalisées et restantes"),
                periods=tuple(t.id for t in ordered),
                series=(
                    Series("done", _("Réalisées"), "#2f855a", tuple(found[t.id][1] for t in ordered)),
                    Series(
                        "left",
                        _("Restantes"),
                        "#cbd2d9",
                        tuple(found[t.id][0] - found[t.id][1] for t in ordered),
                    ),
                ),
                stacked=True,
            ),
        )
        if ordered
        else (),
        note=_("État à la date du document."),
    )


SCORE = case(
    (HygieneAnswer.status == HygieneStatus.IMPLEMENTED, 1.0),
    (HygieneAnswer.status == HygieneStatus.PARTIAL, 0.5),
    (HygieneAnswer.status == HygieneStatus.NOT_IMPLEMENTED, 0.0),
    else_=None,
)


def _maturity(orgs: Select[Any], year: int) -> tuple[float | None, int]:
    """The mean score (per cent) of the last assessment of the year of each organisation, and how
    many organisations assessed themselves that year."""
    start, end = date_bounds(year)
    h = HygieneAssessment
    last = (
        select(h.organisation_id, func.max(h.assessed_on).label("on"))
        .where(h.organisation_id.in_(orgs), h.assessed_on >= start, h.assessed_on < end)
        .group_by(h.organisation_id)
        .subquery()
    )
    chosen = select(h.id).join(
        last, (last.c.organisation_id == h.organisation_id) & (last.c.on == h.assessed_on)
    )
    value, organisations = _run(
        select(func.avg(SCORE), func.count(func.distinct(HygieneAnswer.organisation_id))).where(
            HygieneAnswer.assessment_id.in_(chosen)
        )
    )[0]
    return (float(value) * 100 if value is not None else None), int(organisations or 0)


def _hygiene(orgs: Select[Any], year: int) -> YearlyFigures:
    now, assessed = _maturity(orgs, year)
    then, assessed_before = _maturity(orgs, year - 1)
    return YearlyFigures(
        key="risks.hygiene",
        title=_("Maturité en hygiène informatique (guide de l'ANSSI)"),
        figures=(
            KeyFigure(_("Score moyen d'hygiène"), now, "%", previous=then, decimals=1),
            KeyFigure(_("Organisations auto-évaluées dans l'année"), assessed, previous=assessed_before),
        ),
        note=_(
            "Dernière auto-évaluation de l'année de chaque organisation : appliquée compte 1, "
            "partiellement 0,5, non appliquée 0 ; les mesures sans objet ne comptent pas."
        ),
    )


def yearly(orgs: Select[Any], year: int) -> list[YearlyFigures]:
    return [_parcours(orgs, year), _hygiene(orgs, year)]
