"""The risk heat map, drawn once (``reports.charts.grid``) for the register's page — inline SVG whose
cells link to the list filtered on them — and for the register's PDF."""

from __future__ import annotations

from typing import Any

from flask import request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from markupsafe import Markup
from reportlab.graphics.shapes import Drawing

from reports import charts, pdf
from risks import reference as ref
from risks.services.risks import HeatMap
from risks.services.scale import Scale


def stage_title(stage: str) -> str:
    return (
        _("Risques résiduels (après traitement)")
        if stage == "residual"
        else _("Risques bruts (avant traitement)")
    )


def heat_map(
    counts: HeatMap, scale: Scale, stage: str, *, selected: tuple[int, int] | None = None
) -> tuple[Drawing, dict[tuple[int, int], charts.Box]]:
    """Likelihood across, impact upwards; each cell in its level's colour with its count (the
    selected cell, if any, keeps its colour and the others fade)."""
    cells = {}
    for g in scale.impacts:
        for v in scale.likelihoods:
            colour = scale.level(v, g).colour
            if selected is not None and (v, g) != selected:
                colour = "#cbd2d9"
            n = counts.count(stage, v, g)
            cells[(v, g)] = (colour, str(n) if n else "")
    return charts.grid(
        scale.likelihood_labels,
        scale.impact_labels,
        cells,
        x_title=_("Vraisemblance"),
        y_title=_("Gravité"),
    )


def heat_map_svg(
    counts: HeatMap, scale: Scale, stage: str, *, selected: tuple[int, int] | None = None
) -> Markup:
    """The page's heat map, its cells linking to the list filtered on them (kept by
    ``reports.charts.cached_svg``: the key holds the counts, the scale, the language and the root)."""
    cells = counts.residual if stage == "residual" else counts.inherent
    key = (
        "risks.heat_map",
        stage,
        selected,
        tuple(sorted(cells.items())),
        scale.likelihood_labels,
        scale.impact_labels,
        scale.matrix,
        str(get_locale()),
        request.script_root,
    )
    return charts.cached_svg(key, lambda: _heat_map_svg(counts, scale, stage, selected))


def _heat_map_svg(counts: HeatMap, scale: Scale, stage: str, selected: tuple[int, int] | None) -> Markup:
    drawing, boxes = heat_map(counts, scale, stage, selected=selected)
    links = []
    for (v, g), box in boxes.items():
        n = counts.count(stage, v, g)
        label = ngettext(
            "%(num)d risque — %(v)s, %(g)s (%(level)s)",
            "%(num)d risques — %(v)s, %(g)s (%(level)s)",
            n,
            v=scale.likelihood_label(v),
            g=scale.impact_label(g),
            level=scale.level(v, g).label,
        )
        links.append(charts.Link(box, url_for("risks.index", stage=stage, v=v, g=g), label))
    return charts.to_svg(drawing, title=stage_title(stage), key=f"heat-{stage}", links=links)


SERIES_COLOURS = ("#7b8794", "#2b6cb0")


def hygiene_radar(series: list[tuple[Any, Any]]) -> Drawing:
    """The chapters' scores (0–100) of one or two assessments, oldest first."""
    chapters = ref.hygiene_chapters()
    return charts.radar(
        [c.id for c in chapters],
        [
            (
                charts.Category(str(i), pdf.long_date(on), SERIES_COLOURS[-len(series) + i]),
                [scores.chapters[c.id].rate for c in chapters],
            )
            for i, (on, scores) in enumerate(series)
        ],
    )


def hygiene_radar_svg(series: list[tuple[Any, Any]]) -> Markup:
    key = (
        "risks.hygiene_radar",
        tuple((on, tuple(s.chapters[c].rate for c in sorted(s.chapters))) for on, s in series),
        str(get_locale()),
    )
    return charts.cached_svg(
        key,
        lambda: charts.to_svg(
            hygiene_radar(series), title=_("Maturité par chapitre du guide d'hygiène"), key="hygiene"
        ),
    )
