"""Shared reportlab (platypus) building blocks: fonts, styles, French typography, the numbered
canvas ("page X / Y" and the footer), the cover page, tables, and :func:`build` → bytes.

Everything here takes plain values (strings, dates, the dataclasses a domain builds — e.g.
:mod:`registers.documents.data`),
never ORM objects. User text is always escaped (``& < >``) before it reaches a ``Paragraph``.

Fonts: DejaVu Sans (shipped in ``reports/fonts/``, Bitstream Vera licence) prints every character
French needs, narrow no-break space included. Without those files we fall back to Helvetica and
replace what its WinAnsi encoding cannot print.

Output is deterministic apart from the generation date printed in the footer: reportlab's
invariant mode (fixed internal dates, fixed font subset names) and a document ID derived from the
content rather than from the clock.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from babel.dates import format_date
from flask_babel import get_locale
from flask_babel import gettext as _
from reportlab import rl_config
from reportlab.lib import colors, rl_accel
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.pdfgen import pathobject, textobject
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    KeepTogether,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from core.db import PARIS

FONT_DIR = Path(__file__).parent / "fonts"
PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 18 * mm
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN

NBSP = "\u00a0"
NNBSP = "\u202f"  # narrow no-break space ("espace fine insécable")

INK = colors.HexColor("#1f2933")
MUTED = colors.HexColor("#52606d")
RULE = colors.HexColor("#9aa5b1")
SHADE = colors.HexColor("#e4e7eb")
ACCENT = colors.HexColor("#0b4f8a")

# --- fonts ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fonts:
    regular: str
    bold: str
    italic: str
    is_unicode: bool  # False: Helvetica, WinAnsi only


def _memoise_fp_str() -> None:
    """Without reportlab's optional C accelerator (the ``rl_accel`` package), formatting numbers
    for the PDF operators (``fp_str``) is a quarter of the time of a large register. It is a pure
    function called again and again with the same few values (font sizes, column positions,
    leading), so a cache in front of it gives the same bytes, faster."""
    original = rl_accel.fp_str
    if getattr(original, "__name__", "") != "_py_fp_str":
        return  # the C accelerator is installed
    cached = lru_cache(maxsize=1 << 16)(original)

    def fp_str(*args: Any) -> str:
        try:
            return str(cached(*args))
        except TypeError:  # a list argument (unhashable)
            return str(original(*args))

    for module in (rl_canvas, pathobject, textobject):
        module.fp_str = fp_str  # type: ignore[attr-defined]


@cache
def fonts() -> Fonts:
    """Register DejaVu Sans once per process; Helvetica when the files are missing."""
    _memoise_fp_str()
    files = {
        "EgideSans": FONT_DIR / "DejaVuSans.ttf",
        "EgideSans-Bold": FONT_DIR / "DejaVuSans-Bold.ttf",
        "EgideSans-Oblique": FONT_DIR / "DejaVuSans-Oblique.ttf",
    }
    if not all(path.is_file() for path in files.values()):
        return Fonts("Helvetica", "Helvetica-Bold", "Helvetica-Oblique", is_unicode=False)
    for name, path in files.items():
        pdfmetrics.registerFont(TTFont(name, str(path)))
    pdfmetrics.registerFontFamily(
        "EgideSans",
        normal="EgideSans",
        bold="EgideSans-Bold",
        italic="EgideSans-Oblique",
        boldItalic="EgideSans-Bold",
    )
    return Fonts("EgideSans", "EgideSans-Bold", "EgideSans-Oblique", is_unicode=True)


def printable(text: str) -> str:
    """``text`` restricted to what the active font can print (only matters for Helvetica)."""
    if fonts().is_unicode:
        return text
    text = text.replace(NNBSP, NBSP).replace("\u2019", "'")
    return text.encode("cp1252", "replace").decode("cp1252")


# --- French typography ----------------------------------------------------------------------------

_BEFORE_COLON = re.compile(r"[ \u00a0\u202f]+:")
_BEFORE_TALL = re.compile(r"[ \u00a0\u202f]+([;!?])")
_BEFORE_CLOSING = re.compile(r"[ \u00a0\u202f]+»")
_AFTER_OPENING = re.compile(r"«[ \u00a0\u202f]+")
MONTHS_FR = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


def typo(text: str | None) -> str:
    """French spacing: no-break space before « : », narrow no-break space before « ; ! ? » and
    inside guillemets. Only spaces already typed are made unbreakable (none is added, so that
    ``https://`` or ``10:30`` stay as they are)."""
    if not text:
        return ""
    text = _BEFORE_COLON.sub(NBSP + ":", text)
    text = _BEFORE_TALL.sub(NNBSP + r"\1", text)
    text = _BEFORE_CLOSING.sub(NNBSP + "»", text)
    return _AFTER_OPENING.sub("«" + NNBSP, text)


def quote(text: str) -> str:
    """« text » with narrow no-break spaces."""
    return f"«{NNBSP}{text}{NNBSP}»"


def fr_date(value: date | None, empty: str = "—") -> str:
    """``24 novembre 2026``, ``1er mai 2026``."""
    if value is None:
        return empty
    if isinstance(value, datetime):
        value = value.astimezone(PARIS).date() if value.tzinfo else value.date()
    day = "1er" if value.day == 1 else str(value.day)
    return f"{day}{NBSP}{MONTHS_FR[value.month - 1]} {value.year}"


def paris(value: datetime) -> datetime:
    """A UTC (or naive UTC) datetime in Paris time."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo("UTC"))
    return value.astimezone(PARIS)


def fr_datetime(value: datetime | None, empty: str = "—") -> str:
    """``24 novembre 2026 à 14 h 05`` (Paris time)."""
    if value is None:
        return empty
    local = paris(value)
    return _("%(date)s à %(time)s", date=fr_date(local.date()), time=f"{local.hour}{NBSP}h{NBSP}{local:%M}")


def _in_french() -> bool:
    locale = get_locale()
    return locale is None or locale.language == "fr"


def long_date(value: date | None, empty: str = "—") -> str:
    """A date in words, in the language of the document (the request's): ``24 novembre 2026``
    (:func:`fr_date`) or ``24 November 2026``. Every date a document prints goes through this
    function or :func:`long_datetime`."""
    if value is None:
        return empty
    if _in_french():
        return fr_date(value)
    if isinstance(value, datetime):
        value = value.astimezone(PARIS).date() if value.tzinfo else value.date()
    return format_date(value, "d MMMM y", locale=get_locale()).replace(" ", NBSP, 1)


def long_datetime(value: datetime | None, empty: str = "—") -> str:
    """``24 novembre 2026 à 14 h 05`` or ``24 November 2026 at 14:05`` (Paris time)."""
    if value is None:
        return empty
    if _in_french():
        return fr_datetime(value)
    local = paris(value)
    return _("%(date)s à %(time)s", date=long_date(local.date()), time=f"{local:%H:%M}")


def short_month(value: date) -> str:
    """A month on a chart's axis: ``déc. 26`` or ``Dec 26`` (the request's language)."""
    return format_date(value, "MMM yy", locale=get_locale() or "fr")


def yes_no(value: bool) -> str:
    return _("oui") if value else _("non")


def text_or_dash(value: Any) -> str:
    return "—" if value in (None, "") else str(value)


# --- styles ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Styles:
    body: ParagraphStyle
    small: ParagraphStyle
    muted: ParagraphStyle
    cell: ParagraphStyle
    cell_bold: ParagraphStyle
    head: ParagraphStyle
    title: ParagraphStyle
    subtitle: ParagraphStyle
    h1: ParagraphStyle
    h2: ParagraphStyle
    h3: ParagraphStyle
    cover_title: ParagraphStyle
    cover_org: ParagraphStyle


@cache
def styles() -> Styles:
    f = fonts()
    body = ParagraphStyle("body", fontName=f.regular, fontSize=9, leading=11.5, textColor=INK)
    cell = ParagraphStyle("cell", parent=body, fontSize=8, leading=10)
    return Styles(
        body=body,
        small=ParagraphStyle("small", parent=body, fontSize=8, leading=10),
        muted=ParagraphStyle("muted", parent=body, fontSize=8, leading=10, textColor=MUTED),
        cell=cell,
        cell_bold=ParagraphStyle("cell_bold", parent=cell, fontName=f.bold),
        head=ParagraphStyle("head", parent=cell, fontName=f.bold, textColor=colors.white),
        title=ParagraphStyle("title", parent=body, fontName=f.bold, fontSize=16, leading=20, spaceAfter=6),
        subtitle=ParagraphStyle("subtitle", parent=body, fontSize=10, leading=13, textColor=MUTED),
        h1=ParagraphStyle(
            "h1",
            parent=body,
            fontName=f.bold,
            fontSize=13,
            leading=16,
            spaceBefore=4,
            spaceAfter=4,
            textColor=ACCENT,
        ),
        h2=ParagraphStyle(
            "h2", parent=body, fontName=f.bold, fontSize=10, leading=13, spaceBefore=8, spaceAfter=3
        ),
        h3=ParagraphStyle(
            "h3", parent=body, fontName=f.bold, fontSize=9, leading=11.5, spaceBefore=5, spaceAfter=2
        ),
        cover_title=ParagraphStyle(
            "cover_title",
            parent=body,
            fontName=f.bold,
            fontSize=20,
            leading=25,
            alignment=TA_CENTER,
            textColor=ACCENT,
            spaceAfter=8,
        ),
        cover_org=ParagraphStyle(
            "cover_org",
            parent=body,
            fontName=f.bold,
            fontSize=15,
            leading=19,
            alignment=TA_CENTER,
            spaceAfter=4,
        ),
    )


# --- paragraphs -----------------------------------------------------------------------------------


def markup(text: Any) -> str:
    """User text → safe Paragraph markup: escaped, French spacing, line breaks kept.

    reportlab's Paragraph breaks lines at a narrow no-break space (it counts U+202F as white
    space), so inside paragraphs it becomes a plain no-break space, which it never breaks at.
    """
    value = printable(typo(str(text))).replace(NNBSP, NBSP)
    value = escape(value)
    return "<br/>".join(value.replace("\r\n", "\n").replace("\r", "\n").split("\n"))


def para(text: Any, style: ParagraphStyle | None = None) -> Paragraph:
    """A paragraph of user (or translated) text; ``None`` and "" print as a dash."""
    return Paragraph(markup(text_or_dash(text)), style or styles().body)


def rich(fragments: Iterable[tuple[str, Any]], style: ParagraphStyle | None = None) -> Paragraph:
    """A paragraph built from (tag, text) pairs, e.g. ``[("b", label), ("", value)]``; text escaped."""
    parts = []
    for tag, text in fragments:
        value = markup(text)
        parts.append(f"<{tag}>{value}</{tag}>" if tag else value)
    return Paragraph("".join(parts), style or styles().body)


def bullets(items: Sequence[Any]) -> str:
    """A compact list for a table cell, one "• item" per line ("—" when empty)."""
    return "\n".join(f"• {item}" for item in items) if items else "—"


# --- tables ---------------------------------------------------------------------------------------

CELL_SIZE, CELL_LEADING = 8, 10
PADDING = 3
# Few commands: each one is applied cell by cell when a table is built (top and bottom padding
# keep reportlab's default of 3 points).
GRID = [
    # An outer box and horizontal rules: half the line segments of a full grid.
    ("BOX", (0, 0), (-1, -1), 0.5, RULE),
    ("LINEBELOW", (0, 0), (-1, -2), 0.3, RULE),
    ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ("LEFTPADDING", (0, 0), (-1, -1), PADDING),
    ("RIGHTPADDING", (0, 0), (-1, -1), PADDING),
]


class FastTable(Table):
    """A Table that draws a plain-text cell as one PDF text object rather than one per line
    (reportlab's ``drawString`` also measures every line, which left-aligned text never needs)."""

    def draw(self) -> None:
        if not getattr(self.canv, "layout_only", False):  # a first pass finds pages, draws nothing
            super().draw()

    def _drawCell(self, cellval: Any, cellstyle: Any, pos: Any, size: Any) -> None:  # noqa: N802 — reportlab's
        if not (
            isinstance(cellval, str)
            and cellstyle.alignment == "LEFT"
            and cellstyle.valign == "TOP"
            and not (cellstyle.direction or cellstyle.shaping or cellstyle.href or cellstyle.destination)
        ):
            super()._drawCell(cellval, cellstyle, pos, size)
            return
        canv = self.canv
        cur = self._curcellstyle
        if cur is not cellstyle:
            if cur is None or cellstyle.color != cur.color:
                canv.setFillColor(cellstyle.color)
            if (
                cur is None
                or cellstyle.fontname != cur.fontname
                or cellstyle.fontsize != cur.fontsize
                or cellstyle.leading != cur.leading
            ):
                canv.setFont(cellstyle.fontname, cellstyle.fontsize, cellstyle.leading)
            self._curcellstyle = cellstyle
        colpos, rowpos = pos
        _colwidth, rowheight = size
        text = canv.beginText(
            colpos + cellstyle.leftPadding, rowpos + rowheight - cellstyle.topPadding - cellstyle.fontsize
        )
        for value in cellval.split("\n"):
            text.textLine(value)
        canv.drawText(text)


@lru_cache(maxsize=8192)
def _word_width(word: str, font: str, size: float) -> float:
    return pdfmetrics.stringWidth(word, font, size)


def _cut(word: str, font: str, size: float, width: float) -> list[str]:
    """A word wider than the column (a URL, a reference without spaces) cut into pieces."""
    pieces, piece = [], ""
    for char in word:
        if piece and _word_width(piece + char, font, size) > width:
            pieces.append(piece)
            piece = char
        else:
            piece += char
    return [*pieces, piece]


def wrap_plain(text: str, font: str, width: float, size: float = CELL_SIZE) -> str:
    """``text`` broken into lines of at most ``width`` points, at plain spaces only (no-break
    spaces glue); words wider than a line are cut.

    Table cells are drawn as such plain strings rather than Paragraphs: no markup parser (so
    nothing to escape), word widths cached, and reportlab still splits a tall row across pages.
    This is what keeps a 500-fiche register within a few seconds.
    """
    space = _word_width(" ", font, size)
    lines: list[str] = []
    for raw in text.split("\n"):
        line, line_width = "", 0.0
        words = raw.split(" ")
        i = 0
        while i < len(words):
            word = words[i]
            i += 1
            if not word:
                continue
            w = _word_width(word, font, size)
            if w > width:
                pieces = _cut(word, font, size, width)
                words[i:i] = pieces[1:]
                word = pieces[0]
                w = _word_width(word, font, size)
            if line and line_width + space + w <= width:
                line, line_width = f"{line} {word}", line_width + space + w
            elif line:
                lines.append(line)
                line, line_width = word, w
            else:
                line, line_width = word, w
        lines.append(line)
    return "\n".join(lines)


def plain(text: Any) -> str:
    """User or translated text as printed in a plain cell: dash when empty, French spacing."""
    value = text_or_dash(text).replace("\r\n", "\n").replace("\r", "\n")
    return printable(typo(value))


@lru_cache(maxsize=16384)
def _plain_cell(text: str, font: str, width: float) -> str:
    return wrap_plain(plain(text), font, width - 2 * PADDING)


def cell(value: Any, width: float, *, bold: bool = False) -> Any:
    """A table cell of ``width`` points: a flowable as it is, anything else as wrapped plain text."""
    if isinstance(value, Flowable):
        return value
    f = fonts()
    return _plain_cell(text_or_dash(value), f.bold if bold else f.regular, width)


def _widest_word(text: Any, font: str) -> float:
    """The widest run of text a cell cannot break (it breaks at plain spaces only)."""
    words = plain(text).replace("\n", " ").split(" ")
    return max((_word_width(w, font, CELL_SIZE) for w in words), default=0.0) + 2 * PADDING + 1


SHORT_CELL = 40  # characters: amounts, dates, statuses — a value that should never be cut
WIDEST_WORD_SHARE = 0.35  # no column widened beyond this share of the page for one of its words


def fitted_widths(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], weights: Sequence[float], bold: str, regular: str
) -> list[float]:
    """Column widths in points: ``weights`` shared out over the page's width, then each column too
    narrow for a word of its heading ("Cofinancement") or of one of its short values ("148 000,00 €")
    widened to hold it, the width taken from the other columns in proportion to their weights. A
    heading or an amount then breaks between words only — never "Cofinancem / ent" or "148 000,0 /
    0 €". Long texts wrap as before; a URL wider than a third of the page is still cut. Should the
    words not fit side by side, the values give way first, then the headings (weights kept)."""
    total = sum(weights)
    widths = [CONTENT_WIDTH * w / total for w in weights]
    heading_needs = [_widest_word(h, bold) for h in headers]
    value_needs = list(heading_needs)
    cap = CONTENT_WIDTH * WIDEST_WORD_SHARE
    for row in rows:
        for i, value in enumerate(row):
            if isinstance(value, str | int | float | Decimal) and len(text := str(value)) <= SHORT_CELL:
                value_needs[i] = max(value_needs[i], min(cap, _widest_word(text, regular)))
    for needs in (value_needs, heading_needs):
        if sum(needs) <= CONTENT_WIDTH:
            return _widened(weights, needs)
    return widths


def _widened(weights: Sequence[float], needs: Sequence[float]) -> list[float]:
    fixed: dict[int, float] = {}
    while True:
        free = [i for i in range(len(weights)) if i not in fixed]
        left = CONTENT_WIDTH - sum(fixed.values())
        free_weight = sum(weights[i] for i in free)
        shares = {i: left * weights[i] / free_weight for i in free} if free_weight else {}
        short = {i for i, w in shares.items() if w < needs[i]}
        if not short:
            return [fixed.get(i, shares.get(i, 0.0)) for i in range(len(weights))]
        fixed.update({i: needs[i] for i in short})


def data_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    widths: Sequence[float],
    *,
    empty: str | None = None,
) -> Flowable:
    """A table with a repeated header row; cells are text or flowables. Rows split across pages,
    and so does a single tall row (``splitInRow``)."""
    st = styles()
    f = fonts()
    if not rows:
        return para(empty or _("Aucun élément."), st.muted)
    col_widths = fitted_widths(headers, rows, widths, f.bold, f.regular)
    data = [[cell(h, w, bold=True) for h, w in zip(headers, col_widths, strict=True)]]
    data.extend([cell(v, w) for v, w in zip(row, col_widths, strict=True)] for row in rows)
    table = FastTable(data, colWidths=col_widths, repeatRows=1, splitByRow=1, splitInRow=1, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                *GRID,
                ("FONT", (0, 1), (-1, -1), f.regular, CELL_SIZE, CELL_LEADING),
                ("FONT", (0, 0), (-1, 0), f.bold, CELL_SIZE, CELL_LEADING),
                ("BACKGROUND", (0, 0), (-1, 0), SHADE),
            ]
        )
    )
    return table


def field_table(rows: Sequence[tuple[str, Any]], label_width: float = 0.3) -> Flowable:
    """Label → value rows (the fields of a fiche); labels shaded, values wrap and may split."""
    f = fonts()
    widths = [CONTENT_WIDTH * label_width, CONTENT_WIDTH * (1 - label_width)]
    data = [[cell(label, widths[0], bold=True), cell(value, widths[1])] for label, value in rows]
    table = FastTable(data, colWidths=widths, splitByRow=1, splitInRow=1, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                *GRID,
                ("FONT", (1, 0), (1, -1), f.regular, CELL_SIZE, CELL_LEADING),
                ("FONT", (0, 0), (0, -1), f.bold, CELL_SIZE, CELL_LEADING),
                ("BACKGROUND", (0, 0), (0, -1), SHADE),
            ]
        )
    )
    return table


class TextLines(Flowable):
    """Short text (a heading, a title) drawn as plain lines: much cheaper than a Paragraph, which
    matters with thousands of headings in a large register."""

    def __init__(self, lines: list[str], font: str, size: float, leading: float, colour: Any,
                 space_before: float = 0, space_after: float = 0) -> None:  # fmt: skip
        super().__init__()
        self.lines, self.font, self.size, self.leading, self.colour = lines, font, size, leading, colour
        self.spaceBefore, self.spaceAfter = space_before, space_after

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        return avail_width, self.leading * len(self.lines)

    def draw(self) -> None:
        if getattr(self.canv, "layout_only", False):  # a first pass finds pages, draws nothing
            return
        self.canv.setFont(self.font, self.size)
        self.canv.setFillColor(self.colour)
        y = self.leading * len(self.lines) - self.size
        for line in self.lines:
            self.canv.drawString(0, y, line)
            y -= self.leading


def line(text: Any, style: ParagraphStyle) -> Flowable:
    """Short ``text`` (a heading) in ``style``: left-aligned plain lines, one font."""
    wrapped = wrap_plain(plain(text), style.fontName, CONTENT_WIDTH, style.fontSize)
    return TextLines(
        wrapped.split("\n"), style.fontName, style.fontSize, style.leading, style.textColor,
        style.spaceBefore, style.spaceAfter,
    )  # fmt: skip


def heading(text: str, style: ParagraphStyle, *, keep: float = 40 * mm) -> list[Flowable]:
    """A heading that never ends a page alone."""
    return [CondPageBreak(keep), line(text, style)]


def keep(*flowables: Flowable) -> KeepTogether:
    return KeepTogether(list(flowables))


# --- cover page -----------------------------------------------------------------------------------


def cover_page(
    title: str, organisation: str, rows: Sequence[tuple[str, Any]], notes: Sequence[str] = ()
) -> list[Flowable]:
    """Title, organisation, a table of facts, notes; then a page break."""
    st = styles()
    story: list[Flowable] = [
        Spacer(1, 35 * mm),
        para(title, st.cover_title),
        Spacer(1, 6 * mm),
        para(organisation, st.cover_org),
        Spacer(1, 14 * mm),
        field_table(rows, label_width=0.38),
    ]
    for note in notes:
        story += [Spacer(1, 4 * mm), para(note, st.muted)]
    story.append(PageBreak())
    return story


# --- approval and signatures ----------------------------------------------------------------------

BLANK = "…………………………"  # a line to fill in by hand
SIGNATURE_HEIGHT = 26 * mm  # the room left for a visa or a signature
BOXES_PER_ROW = 3
BOX_GAP = 6 * mm
NOTICE = colors.HexColor("#b7791f")
NOTICE_BACKGROUND = colors.HexColor("#fffaf0")


@dataclass(frozen=True)
class Signatory:
    """One box of a signature block: who signs (their function), and the name and date printed in
    it — each left ``None`` is a dotted line, filled in by hand."""

    function: str
    name: str | None = None
    date: str | None = None  # already in words (:func:`long_date`)


def notice_box(title: str, text: str) -> Flowable:
    """A framed warning (a draft, a document not approved): ``title`` in bold, then ``text``."""
    st = styles()
    table = Table(
        [[rich([("b", title), ("", " " + text)], st.body)]], colWidths=[CONTENT_WIDTH], hAlign="LEFT"
    )
    table.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 1, NOTICE),
                ("BACKGROUND", (0, 0), (-1, -1), NOTICE_BACKGROUND),
                ("LEFTPADDING", (0, 0), (-1, -1), 6),
                ("RIGHTPADDING", (0, 0), (-1, -1), 6),
                ("TOPPADDING", (0, 0), (-1, -1), 5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
            ]
        )
    )
    return table


def signature_boxes(signatories: Sequence[Signatory]) -> list[Flowable]:
    """Side by side (two or three to a row), one box per signatory: function, name, date, and room
    for a visa or signature below the words « Visa / signature »."""
    f = fonts()
    out: list[Flowable] = []
    for start in range(0, len(signatories), BOXES_PER_ROW):
        row = signatories[start : start + BOXES_PER_ROW]
        across = max(len(row), 2)  # a lone box takes half the width, not all of it
        box = (CONTENT_WIDTH - BOX_GAP * (across - 1)) / across
        widths: list[float] = []
        columns: list[list[Any]] = []
        for i, who in enumerate(row):
            if i:
                widths.append(BOX_GAP)
                columns.append([""] * 5)
            widths.append(box)
            columns.append(
                [
                    cell(who.function, box, bold=True),
                    cell(_("Nom : %(name)s", name=who.name or BLANK), box),
                    cell(_("Date : %(date)s", date=who.date or BLANK), box),
                    cell(_("Visa / signature :"), box),
                    "",
                ]
            )
        data = [list(r) for r in zip(*columns, strict=True)]
        table = FastTable(data, colWidths=widths, rowHeights=[None] * 4 + [SIGNATURE_HEIGHT], hAlign="LEFT")
        commands: list[tuple[Any, ...]] = [
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), PADDING + 1),
            ("RIGHTPADDING", (0, 0), (-1, -1), PADDING + 1),
            ("FONT", (0, 0), (-1, -1), f.regular, CELL_SIZE, CELL_LEADING),
            ("FONT", (0, 0), (-1, 0), f.bold, CELL_SIZE, CELL_LEADING),
            ("TEXTCOLOR", (0, 3), (-1, 3), MUTED),
        ]
        for i in range(0, len(widths), 2):  # the boxes, not the gaps between them
            commands += [
                ("BOX", (i, 0), (i, -1), 0.6, RULE),
                ("BACKGROUND", (i, 0), (i, 0), SHADE),
                ("LINEBELOW", (i, 0), (i, 0), 0.3, RULE),
            ]
        table.setStyle(TableStyle(commands))
        out += [table, Spacer(1, 4 * mm)]
    return out


def signature_block(
    heading: str,
    facts: Sequence[tuple[str, Any]] = (),
    signatories: Sequence[Signatory] = (),
    *,
    notice: tuple[str, str] | None = None,
    notes: Sequence[str] = (),
) -> list[Flowable]:
    """A document's closing approval section: its heading, a framed ``notice`` (title, text: a
    draft that is not approved), a table of ``facts`` (version, approver, function, date, comment),
    then the :func:`signature_boxes` and ``notes``. Kept on one page when it fits: the heading
    never ends a page alone, and the boxes are never split from it."""
    st = styles()
    section: list[Flowable] = [Spacer(1, 4 * mm), line(heading, st.h1), Spacer(1, 2 * mm)]
    if notice is not None:
        section += [notice_box(*notice), Spacer(1, 4 * mm)]
    if facts:
        section += [field_table(facts, label_width=0.3), Spacer(1, 6 * mm)]
    if signatories:
        section += signature_boxes(signatories)
    for note in notes:
        section += [para(note, st.muted), Spacer(1, 2 * mm)]
    return [CondPageBreak(60 * mm), KeepTogether(section)]


# --- canvas and build -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DocInfo:
    title: str
    subject: str
    author: str  # the organisation
    generated_at: datetime
    running_title: str = ""  # printed at the top of every page but the first


def _numbered_canvas(info: DocInfo) -> type[Canvas]:
    f = fonts()
    footer_left = printable(
        _(
            "%(org)s — généré le %(when)s (heure de Paris)",
            org=info.author,
            when=long_datetime(info.generated_at),
        )
    )
    running = printable(info.running_title)

    class NumberedCanvas(Canvas):
        """Keeps each page's state so that the total is known when the footer is drawn."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 — reportlab API
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                self._decorate(total)
                super().showPage()
            super().save()

        def _decorate(self, total: int) -> None:
            number = self._pageNumber
            self.saveState()
            self.setStrokeColor(RULE)
            self.setLineWidth(0.4)
            self.line(MARGIN, MARGIN - 4 * mm, PAGE_WIDTH - MARGIN, MARGIN - 4 * mm)
            self.setFillColor(MUTED)
            self.setFont(f.regular, 7.5)
            self.drawString(MARGIN, MARGIN - 8 * mm, footer_left[:140])
            self.drawRightString(
                PAGE_WIDTH - MARGIN, MARGIN - 8 * mm, _("page %(n)d / %(total)d", n=number, total=total)
            )
            if running and number > 1:
                self.drawString(MARGIN, PAGE_HEIGHT - MARGIN + 5 * mm, running[:150])
                self.line(
                    MARGIN,
                    PAGE_HEIGHT - MARGIN + 3.5 * mm,
                    PAGE_WIDTH - MARGIN,
                    PAGE_HEIGHT - MARGIN + 3.5 * mm,
                )
            self.restoreState()

    return NumberedCanvas


def anchored(flowable: Flowable, key: Hashable) -> Flowable:
    """Mark ``flowable`` (a section's heading) so that :func:`build_with_pages` learns the page it
    lands on, under ``key``."""
    flowable.page_anchor = key  # type: ignore[attr-defined]
    return flowable


class _AnchorsDocTemplate(BaseDocTemplate):
    """Notes the page of each anchored flowable as it is laid out (reportlab's ``afterFlowable``)."""

    def __init__(
        self,
        *args: Any,
        anchors: dict[Hashable, int] | None = None,
        on_anchor: Callable[[int], None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.anchors = anchors if anchors is not None else {}
        self.on_anchor = on_anchor

    def afterFlowable(self, flowable: Flowable) -> None:  # noqa: N802 — reportlab API
        key = getattr(flowable, "page_anchor", None)
        if key is not None:
            self.anchors.setdefault(key, self.page)
            if self.on_anchor is not None:
                self.on_anchor(len(self.anchors))  # sections laid out so far (a job's progress)


class _LayoutCanvas(Canvas):
    """The canvas of a first pass that only finds where pages break: our tables and headings draw
    nothing on it (``layout_only``), its pages are dropped and nothing is written."""

    layout_only = True

    def showPage(self) -> None:  # noqa: N802 — reportlab API
        self._startPage()

    def save(self) -> None:
        pass


# A summary settles in two passes when its page numbers do not change its own length (one line
# each, in a column of fixed width): a first pass that only lays out finds the pages, the second
# prints them and finds the same. More are allowed in case a number did move a line.
MAX_PASSES = 3


def build_with_pages(
    make_story: Callable[[Mapping[Hashable, int]], list[Flowable]],
    info: DocInfo,
    *,
    progress: Callable[[float], None] | None = None,
    sections: int = 0,
) -> bytes:
    """:func:`build` for a document that prints the pages its sections start on (a summary):
    ``make_story(pages)`` builds the story with ``pages`` (anchor key → page number, empty at first)
    and anchors its sections with :func:`anchored`. The story is laid out again until the pages it
    prints are the pages it finds: the numbers are read from the layout (reportlab's
    ``afterFlowable``), never estimated. The first pass draws nothing (about a third of the cost of
    a full one); ``make_story`` may hand back the same section flowables each time.

    ``progress`` (a background job's): called with the fraction laid out, 0 … 1, as each of the
    ``sections`` anchored sections is placed — the first pass counts for a third, the second for
    the rest (a third pass, rare, reports nothing new)."""

    def reporter(start: float, share: float) -> Callable[[int], None] | None:
        if progress is None or sections <= 0:
            return None
        return lambda done: progress(start + share * min(done, sections) / sections)

    pages: dict[Hashable, int] = {}
    build(make_story(pages), info, anchors=pages, layout_only=True, on_anchor=reporter(0.0, 1 / 3))
    data = b""
    for number in range(MAX_PASSES):
        found: dict[Hashable, int] = {}
        data = build(
            make_story(pages), info, anchors=found, on_anchor=reporter(1 / 3, 2 / 3) if number == 0 else None
        )
        if found == pages:
            break
        pages = found
    return data


def build(
    story: list[Flowable],
    info: DocInfo,
    *,
    anchors: dict[Hashable, int] | None = None,
    layout_only: bool = False,
    on_anchor: Callable[[int], None] | None = None,
) -> bytes:
    """Lay out ``story`` on A4 pages and return the PDF bytes (``anchors``: filled with the page of
    each flowable marked by :func:`anchored`; ``layout_only``: only that, no PDF — returns b"")."""
    fonts()
    # Binary (Flate only) streams: smaller and faster than reportlab's default ASCII85 wrapping.
    rl_config.useA85 = 0
    buffer = io.BytesIO()
    doc = _AnchorsDocTemplate(
        buffer,
        anchors=anchors,
        on_anchor=on_anchor,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=printable(info.title),
        subject=printable(info.subject),
        author=printable(info.author),
        creator="Égide",
        producer="Égide (reportlab)",
        lang="fr-FR" if _in_french() else "en-GB",
        invariant=1,
    )
    frame = Frame(
        MARGIN, MARGIN, CONTENT_WIDTH, PAGE_HEIGHT - 2 * MARGIN, id="body", leftPadding=0, rightPadding=0
    )
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame])])
    doc.build(story, canvasmaker=_LayoutCanvas if layout_only else _numbered_canvas(info))
    if layout_only:
        return b""
    return _fix_id(buffer.getvalue(), info)


_ID_RE = re.compile(rb"/ID\s*\n?\[<[0-9a-fA-F]*><[0-9a-fA-F]*>\]")


def _fix_id(pdf: bytes, info: DocInfo) -> bytes:
    """Replace reportlab's document ID by one derived from the title and the generation time
    (same length, so the cross-reference offsets stay valid)."""
    match = _ID_RE.search(pdf)
    if match is None:
        return pdf
    seed = f"{info.title}|{info.author}|{info.generated_at.isoformat()}".encode()
    digest = hashlib.md5(seed, usedforsecurity=False).hexdigest().upper().encode()
    old = match.group(0)
    new = re.sub(rb"<[0-9a-fA-F]*>", b"<" + digest + b">", old)
    if len(new) != len(old):
        return pdf
    return pdf[: match.start()] + new + pdf[match.end() :]


def table_of(
    items: Sequence[Any], columns: Sequence[tuple[str, float, Callable[[Any], Any]]], empty: str
) -> Flowable:
    """``data_table`` from items and (header, width, getter) column specs."""
    return data_table(
        [header for header, _w, _g in columns],
        [[getter(item) for _h, _w, getter in columns] for item in items],
        [width for _h, width, _g in columns],
        empty=empty,
    )
