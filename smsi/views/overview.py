"""Route: the SMSI's dashboard — open incidents, response times, corrective actions, the Statement of
Applicability and the weekly review, each figure a link to its filtered list, each chart drawn on the
server as SVG by the documents' drawing code (no JavaScript)."""

from __future__ import annotations

from typing import Any

from flask import render_template
from flask_babel import gettext as _

from core.security import Permission, require
from core.tenancy import current_org
from reports.charts import to_svg
from smsi.blueprint import bp
from smsi.documents import charts
from smsi.documents.soa import bar_chart
from smsi.services import dashboard, soa


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
            "severity": to_svg(
                charts.severity_chart(incidents), title=_("Incidents en cours par gravité"), key="severity"
            ),
            "response": to_svg(
                charts.response_chart(months),
                title=_("Délais moyens de confinement et de résolution"),
                key="response",
            ),
            "overdue": to_svg(
                charts.overdue_chart(action_figures), title=_("Actions en retard par priorité"), key="overdue"
            ),
            "soa": to_svg(bar_chart(summary), title=_("Mise en œuvre des mesures par thème"), key="soa"),
        },
        month_label=charts.month_label,
    )
