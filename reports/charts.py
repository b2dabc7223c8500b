"""Charts drawn once, printed twice: a reportlab ``Drawing`` goes into a PDF as a flowable and into a
page as inline SVG (:func:`to_svg`), so the dashboard and the documents show the same picture from the
same code, and a page needs no JavaScript to show a chart.

Two shapes cover what the domains draw today:

* :func:`stacked_bars` — one horizontal bar per row, split by category (controls of a theme by
  status, open incidents by severity), with a legend;
* :func:`columns` — grouped vertical columns per period (mean hours to contain and to resolve, per
  month), with a value axis.

:func:`to_svg` rewrites reportlab's SVG for the page: inline ``style`` attributes become
presentation attributes (the Content-Security-Policy allows no inline style), ids are prefixed (two
charts on one page), and the chart gets a title and ``role="img"`` for screen readers. Every chart on a
page is shown beside a table of its figures (the templates' ``chart`` macro): the chart is a picture
of the table, not the only way to read it.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from threading import Lock
from xml.etree import ElementTree as ET

from markupsafe import Markup
from reportlab.graphics import renderSVG
from reportlab.graphics.shapes import Drawing, Line, Rect, String
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth

from reports import pdf

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
ET.register_namespace("", SVG_NS)
ET.register_namespace("xlink", XLINK_NS)

LABEL_SIZE = 7.5
LEGEND_SIZE = 7.0


@dataclass(frozen=True)
class Category:
    """One colour of a chart: a status, a severity, a measured delay."""

    key: str
    label: str
    colour: str  # "#rrggbb"


@dataclass(frozen=True)
class BarRow:
    label: str
    values: dict[str, int]  # category key → count

    @property
    def total(self) -> int:
        return sum(self.values.values())


def _legend(drawing: Drawing, categories: Sequence[Category], y: float) -> None:
    f = pdf.fonts()
    x = 0.0
    for cat in categories:
        drawing.add(Rect(x, y, 3 * mm, 3 * mm, fillColor=colors.HexColor(cat.colour), strokeColor=None))
        text = pdf.printable(cat.label)
        drawing.add(String(x + 4 * mm, y + 0.6 * mm, text, fontName=f.regular, fontSize=LEGEND_SIZE))
        x += 7 * mm + stringWidth(text, f.regular, LEGEND_SIZE)


def stacked_bars(
    rows: Sequence[BarRow],
    categories: Sequence[Category],
    *,
    width: float = pdf.CONTENT_WIDTH,
    label_width: float = 62 * mm,
    label_chars: int = 48,
) -> Drawing:
    """One stacked horizontal bar per row (its categories in ``categories`` order, its total at the
    end) and the legend below; bars share one scale, the longest row's total."""
    f = pdf.fonts()
    bar_height, gap, legend_height = 5 * mm, 3 * mm, 8 * mm
    bar_width = width - label_width - 12 * mm
    widest = max((r.total for r in rows), default=0) or 1
    height = len(rows) * (bar_height + gap) + legend_height
    drawing = Drawing(width, height)
    y = height - bar_height
    for row in rows:
        drawing.add(
            String(
                0,
                y + 1.5 * mm,
                pdf.printable(row.label)[:label_chars],
                fontName=f.regular,
                fontSize=LABEL_SIZE,
            )
        )
        x = label_width
        for cat in categories:
            n = row.values.get(cat.key, 0)
            if n:
                w = bar_width * n / widest
                drawing.add(
                    Rect(
                        x,
                        y,
                        w,
                        bar_height,
                        fillColor=colors.HexColor(cat.colour),
                        strokeColor=colors.white,
                        strokeWidth=0.3,
                    )
                )
                x += w
        drawing.add(String(x + 2, y + 1.5 * mm, str(row.total), fontName=f.regular, fontSize=LABEL_SIZE))
        y -= bar_height + gap
    _legend(drawing, categories, 1 * mm)
    return drawing


def _nice_ceiling(value: float) -> tuple[float, float]:
    """A round top for a value axis and its step (4 or 5 ticks): 37 → (40, 10), 0.4 → (0.5, 0.1)."""
    if value <= 0:
        return 1.0, 0.25
    magnitude = 10 ** (len(str(int(value))) - 1) if value >= 1 else 0.1
    for step in (
        magnitude / 5,
        magnitude / 4,
        magnitude / 2,
        magnitude,
        magnitude * 2,
        magnitude * 2.5,
        magnitude * 5,
    ):
        if value <= step * 5:
            top = step * -(-value // step)
            return float(top), float(step)
    return float(value), float(value / 4)


def _tick(value: float) -> str:
    return f"{value:g}"


def columns(
    periods: Sequence[str],
    series: Sequence[tuple[Category, Sequence[float | None]]],
    *,
    width: float = pdf.CONTENT_WIDTH,
    height: float = 55 * mm,
    unit: str = "",
) -> Drawing:
    """Grouped vertical columns: for each period (a month), one column per series; ``None`` draws
    nothing (no incident reached that stage that month). A value axis with round ticks on the left,
    the unit above it, the legend below."""
    f = pdf.fonts()
    axis_width, legend_height, label_height = 12 * mm, 8 * mm, 5 * mm
    top_margin = 5 * mm
    plot_height = height - legend_height - label_height - top_margin
    plot_bottom = legend_height + label_height
    values = [v for _c, vs in series for v in vs if v is not None]
    top, step = _nice_ceiling(max(values, default=0.0))
    drawing = Drawing(width, height)
    plot_width = width - axis_width
    grey = colors.HexColor("#cbd2d9")
    tick = 0.0
    while tick <= top + 1e-9:
        y = plot_bottom + plot_height * tick / top
        drawing.add(Line(axis_width, y, width, y, strokeColor=grey, strokeWidth=0.3))
        drawing.add(
            String(
                axis_width - 2, y - 2, _tick(tick), fontName=f.regular, fontSize=LEGEND_SIZE, textAnchor="end"
            )
        )
        tick += step
    if unit:
        drawing.add(String(0, height - 3 * mm, pdf.printable(unit), fontName=f.regular, fontSize=LEGEND_SIZE))
    slot = plot_width / max(len(periods), 1)
    column = slot * 0.8 / max(len(series), 1)
    for i, period in enumerate(periods):
        x0 = axis_width + i * slot + slot * 0.1
        for j, (cat, vs) in enumerate(series):
            value = vs[i] if i < len(vs) else None
            if value is None:
                continue
            h = plot_height * value / top
            drawing.add(
                Rect(
                    x0 + j * column,
                    plot_bottom,
                    column,
                    max(h, 0.5),
                    fillColor=colors.HexColor(cat.colour),
                    strokeColor=None,
                )
            )
        drawing.add(
            String(
                axis_width + i * slot + slot / 2,
                legend_height + 1.5 * mm,
                pdf.printable(period),
                fontName=f.regular,
                fontSize=LEGEND_SIZE,
                textAnchor="middle",
            )
        )
    _legend(drawing, [c for c, _vs in series], 1 * mm)
    return drawing


def ink_on(background: str) -> colors.Color:
    """Black or white, whichever reads better on ``background`` (WCAG relative luminance)."""
    fill = colors.HexColor(background)

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    luminance = 0.2126 * linear(fill.red) + 0.7152 * linear(fill.green) + 0.0722 * linear(fill.blue)
    return colors.HexColor("#1f2933") if luminance > 0.3 else colors.white


@dataclass(frozen=True)
class Box:
    """Where a drawing put something a page may make clickable (drawing coordinates, origin at the
    bottom left, as reportlab draws)."""

    x: float
    y: float
    width: float
    height: float


def grid(
    x_labels: Sequence[str],
    y_labels: Sequence[str],
    cells: dict[tuple[int, int], tuple[str, str]],
    *,
    x_title: str,
    y_title: str,
    width: float = 100 * mm,
) -> tuple[Drawing, dict[tuple[int, int], Box]]:
    """A matrix of coloured cells (a risk heat map): ``cells[(x, y)]`` = (colour, text), ranks from 1,
    y growing upwards; axis labels on the left and below, axis titles. Returns the drawing and each
    cell's box, for links on a page (:func:`to_svg`)."""
    f = pdf.fonts()
    left, bottom, top_pad = 34 * mm, 14 * mm, 2 * mm
    cols, rows = max(len(x_labels), 1), max(len(y_labels), 1)
    side = min((width - left) / cols, 16 * mm)
    height = bottom + rows * side + top_pad
    drawing = Drawing(left + cols * side, height)
    boxes: dict[tuple[int, int], Box] = {}
    for y in range(1, rows + 1):
        y0 = bottom + (y - 1) * side
        drawing.add(
            String(
                left - 2,
                y0 + side / 2 - 2.5,
                pdf.printable(y_labels[y - 1])[:26],
                fontName=f.regular,
                fontSize=LEGEND_SIZE,
                textAnchor="end",
            )
        )
        for x in range(1, cols + 1):
            x0 = left + (x - 1) * side
            colour, text = cells.get((x, y), ("#e2e8f0", ""))
            drawing.add(
                Rect(
                    x0,
                    y0,
                    side,
                    side,
                    fillColor=colors.HexColor(colour),
                    strokeColor=colors.white,
                    strokeWidth=1.5,
                )
            )
            if text:
                drawing.add(
                    String(
                        x0 + side / 2,
                        y0 + side / 2 - 3.5,
                        text,
                        fontName=f.bold,
                        fontSize=10,
                        textAnchor="middle",
                        fillColor=ink_on(colour),
                    )
                )
            boxes[(x, y)] = Box(x0, y0, side, side)
    for x in range(1, cols + 1):
        drawing.add(
            String(
                left + (x - 0.5) * side,
                bottom - 4 * mm,
                pdf.printable(x_labels[x - 1].split(" ")[0]),
                fontName=f.regular,
                fontSize=LEGEND_SIZE,
                textAnchor="middle",
            )
        )
    drawing.add(
        String(
            left + cols * side / 2,
            2 * mm,
            pdf.printable(x_title),
            fontName=f.bold,
            fontSize=LEGEND_SIZE,
            textAnchor="middle",
        )
    )
    drawing.add(String(0, height - 4 * mm, pdf.printable(y_title), fontName=f.bold, fontSize=LEGEND_SIZE))
    return drawing, boxes


def radar(
    axes: Sequence[str],
    series: Sequence[tuple[Category, Sequence[float]]],
    *,
    width: float = 110 * mm,
    height: float = 95 * mm,
) -> Drawing:
    """A radar (spider) chart: one axis per label, values from 0 to 100, one polygon per series (an
    assessment), the legend below."""
    from reportlab.graphics.charts.spider import SpiderChart  # noqa: PLC0415 — charts load on use

    f = pdf.fonts()
    drawing = Drawing(width, height)
    chart = SpiderChart()
    chart.x, chart.y = 22 * mm, 14 * mm
    chart.width, chart.height = width - 44 * mm, height - 20 * mm
    chart.labels = [pdf.printable(a) for a in axes]
    chart.data = [list(values) for _c, values in series] or [[0] * len(axes)]
    chart.strands.strokeWidth = 1.2
    chart.strandLabels.fontName = f.regular
    chart.spokeLabels.fontName = f.regular
    chart.spokeLabels.fontSize = LEGEND_SIZE
    chart.fillColor = None
    for i, (cat, _values) in enumerate(series):
        colour = colors.HexColor(cat.colour)
        chart.strands[i].strokeColor = colour
        chart.strands[i].fillColor = colors.Color(colour.red, colour.green, colour.blue, alpha=0.15)
    chart.spokes.strokeColor = colors.HexColor("#cbd2d9")
    chart.spokes.strokeWidth = 0.4
    # Rings at 25, 50, 75 and 100 %: every radar reads on the same scale, whatever its values.
    for ring in (25, 50, 75, 100):
        chart.data.append([ring] * len(axes))
        strand = chart.strands[len(chart.data) - 1]
        strand.strokeColor = colors.HexColor("#e4e7eb")
        strand.strokeWidth = 0.3
        strand.fillColor = None
    drawing.add(chart)
    _legend(drawing, [c for c, _v in series], 1 * mm)
    return drawing


@dataclass(frozen=True)
class Link:
    box: Box
    href: str
    label: str


# --- SVG for the pages ----------------------------------------------------------------------------

_FONT_FAMILY = "system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', Arial, sans-serif"
# The CSS properties reportlab writes that SVG also knows as presentation attributes.
_PRESENTATION = {
    "fill",
    "fill-opacity",
    "fill-rule",
    "stroke",
    "stroke-width",
    "stroke-linecap",
    "stroke-linejoin",
    "stroke-opacity",
    "stroke-dasharray",
    "font-size",
    "font-weight",
    "font-style",
    "text-anchor",
    "clip-path",
}
_ID_REF = re.compile(r"url\(#([^)]+)\)")


_CACHE: OrderedDict[Hashable, Markup] = OrderedDict()
_CACHE_SIZE = 512
_CACHE_LOCK = Lock()


def cached_svg(key: Hashable, build: Callable[[], Markup]) -> Markup:
    """The SVG ``build`` returns, kept for the next request with the same ``key`` (an LRU of 512).

    reportlab's SVG renderer takes tens of milliseconds per chart, more than the rest of a list page;
    the figures behind a chart change far less often than it is shown. ``key`` must hold everything
    the picture depends on (figures, labels, language, links' root): the SVG carries no organisation
    or person, so two organisations with the same figures may share it."""
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    svg = build()
    with _CACHE_LOCK:
        _CACHE[key] = svg
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return svg


def to_svg(drawing: Drawing, *, title: str, key: str, links: Sequence[Link] = ()) -> Markup:
    """``drawing`` as an inline ``<svg>`` element for a page: no ``style`` attribute (CSP), ids
    prefixed with ``key``, scaled to its container's width, titled for screen readers; each of
    ``links`` a transparent clickable area over its box (a heat map's cells), named for screen
    readers and shown as a tooltip."""
    raw = renderSVG.drawToString(drawing)
    root = ET.fromstring(raw.encode("utf-8") if isinstance(raw, str) else raw)  # noqa: S314 — reportlab's own output
    prefix = re.sub(r"[^a-zA-Z0-9_-]", "-", key)
    for element in root.iter():
        style = element.attrib.pop("style", None)
        if style:
            for declaration in style.split(";"):
                name, _sep, value = declaration.partition(":")
                name, value = name.strip(), value.strip()
                if name == "font-family":
                    element.set("font-family", _FONT_FAMILY)
                elif name in _PRESENTATION and value:
                    element.set(name, value)
        if "id" in element.attrib:
            element.set("id", f"{prefix}-{element.attrib['id']}")
        for name, value in list(element.attrib.items()):
            if "url(#" in value:
                element.set(name, _ID_REF.sub(lambda m: f"url(#{prefix}-{m.group(1)})", value))
    for tag in ("title", "desc"):
        for old in root.findall(f"{{{SVG_NS}}}{tag}"):
            root.remove(old)
    heading = ET.Element(f"{{{SVG_NS}}}title", {"id": f"{prefix}-title"})
    heading.text = title
    root.insert(0, heading)
    if links:
        layer = next(root.iter(f"{{{SVG_NS}}}g"))  # reportlab's flipped group: drawing coordinates
        for link in links:
            anchor = ET.SubElement(layer, f"{{{SVG_NS}}}a", {"href": link.href, "aria-label": link.label})
            hint = ET.SubElement(anchor, f"{{{SVG_NS}}}title")
            hint.text = link.label
            ET.SubElement(
                anchor,
                f"{{{SVG_NS}}}rect",
                {
                    "x": f"{link.box.x:g}",
                    "y": f"{link.box.y:g}",
                    "width": f"{link.box.width:g}",
                    "height": f"{link.box.height:g}",
                    "fill": "transparent",
                    "class": "chart-link",
                },
            )
    root.set("role", "group" if links else "img")
    root.set("aria-labelledby", f"{prefix}-title")
    root.set("class", "egide-chart")
    for attribute in ("width", "height"):
        root.attrib.pop(attribute, None)
    return Markup(ET.tostring(root, encoding="unicode"))  # noqa: S704 — built by ElementTree, text escaped
