"""Route: the SMSI's dashboard — open incidents, response times, corrective actions, the Statement of
Applicability and the weekly review, each figure a link to its filtered list, each chart drawn on the
server as SVG by the documents' drawing code (no JavaScript)."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from flask import render_template
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup
from reportlab.graphics.shapes import Drawing

from core.security import Permission, require
from core.tenancy import current_org
from reports.charts import cached_svg, to_svg
from smsi.blueprint import bp
from smsi.documents import charts
from smsi.documents.soa import bar_chart
from smsi.services import dashboard, soa


def _svg(name: str, figures: Hashable, drawing: Callable[[], Drawing], title: str) -> Markup:
    """A chart as inline SVG, kept while its figures and the language stay the same."""
    key = ("smsi.dashboard", name, figures, str(get_locale()))
    return cached_svg(key, lambda: to_svg(drawing(), title=title, key=name))


@bp.route("/")
@require(Permission.SMSI_VIEW)
def index() -> Any:
    org = current_org._get_current_object()
    incidents = dashboard.open_incidents()
    months = dashboard.response_times()
    action_figures = dashboard.action_figures()
    summary = soa.summary(soa.rows(org))
    return render_template(
        "smsi/dashboard.html",
        incidents=incidents,
        months=months,
        actions=action_figures,
        summary=summary,
        review=dashboard.review_status(org.id),
        svg={
            "severity": _svg(
                "severity",
                tuple(n for _s, n in incidents.most_severe_first),
                lambda: charts.severity_chart(incidents),
                _("Incidents en cours par gravité"),
            ),
            "response": _svg(
                "response",
                tuple((m.month, m.mean_to_contain, m.mean_to_resolve) for m in months),
                lambda: charts.response_chart(months),
                _("Délais moyens de confinement et de résolution"),
            ),
            "overdue": _svg(
                "overdue",
                tuple(action_figures.overdue_by_priority.values()),
                lambda: charts.overdue_chart(action_figures),
                _("Actions en retard par priorité"),
            ),
            "soa": _svg(
                "soa",
                tuple(
                    (t.id, tuple(sorted(c.by_status.items())), c.not_assessed, c.total)
                    for t, c in summary.themes
                ),
                lambda: bar_chart(summary),
                _("Mise en œuvre des mesures par thème"),
            ),
        },
        month_label=charts.month_label,
    )
