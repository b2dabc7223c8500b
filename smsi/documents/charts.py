"""The SMSI's charts, drawn once (``reports.charts``) for the dashboard's SVG and the documents' PDF:
open incidents by severity, response times per month, corrective actions overdue by priority. The
Statement of Applicability's chart is :func:`smsi.documents.soa.bar_chart`."""

from __future__ import annotations

from collections.abc import Sequence

from flask_babel import gettext as _
from reportlab.graphics.shapes import Drawing
from reportlab.lib.units import mm

from reports import charts, pdf
from smsi.models import ActionPriority, Severity
from smsi.services.dashboard import ActionFigures, MonthTimes, OpenIncidents

SEVERITY_COLOURS = {
    Severity.MINOR: "#7b8794",
    Severity.SIGNIFICANT: "#2b6cb0",
    Severity.MAJOR: "#d69e2e",
    Severity.CRITICAL: "#c53030",
}
PRIORITY_COLOURS = {
    ActionPriority.LOW: "#7b8794",
    ActionPriority.NORMAL: "#2b6cb0",
    ActionPriority.HIGH: "#c53030",
}
HALF = 100 * mm  # a chart in half a page (or a half-width card)
CONTAIN_COLOUR = "#d69e2e"
RESOLVE_COLOUR = "#2f855a"


def severity_chart(figures: OpenIncidents, *, width: float = HALF) -> Drawing:
    """One bar per severity, most severe first."""
    levels = sorted(Severity, key=lambda s: s.value, reverse=True)
    cats = [charts.Category(s.value, str(s.label), SEVERITY_COLOURS[s]) for s in levels]
    rows = [charts.BarRow(str(s.label), {s.value: figures.by_severity.get(s, 0)}) for s in levels]
    return charts.stacked_bars(rows, cats, width=width, label_width=30 * mm)


def month_label(month: MonthTimes) -> str:
    """A month as the chart's axis names it: "janv. 26" in French, "Jan 26" in English."""
    return pdf.short_month(month.month)


def response_chart(months: Sequence[MonthTimes], *, width: float = pdf.CONTENT_WIDTH) -> Drawing:
    """Mean hours to contain and to resolve, per month of detection."""
    series = [
        (
            charts.Category("contain", _("Délai moyen de confinement"), CONTAIN_COLOUR),
            [m.mean_to_contain for m in months],
        ),
        (
            charts.Category("resolve", _("Délai moyen de résolution"), RESOLVE_COLOUR),
            [m.mean_to_resolve for m in months],
        ),
    ]
    return charts.columns([month_label(m) for m in months], series, width=width, unit=_("heures"))


def overdue_chart(figures: ActionFigures, *, width: float = HALF) -> Drawing:
    """Overdue actions, one bar per priority, highest first."""
    levels = list(reversed(ActionPriority))
    cats = [charts.Category(p.value, str(p.label), PRIORITY_COLOURS[p]) for p in levels]
    rows = [charts.BarRow(str(p.label), {p.value: figures.overdue_by_priority.get(p, 0)}) for p in levels]
    return charts.stacked_bars(rows, cats, width=width, label_width=30 * mm)
