"""Spreadsheet exports shared by every domain: formula neutralisation, CSV as French Excel reads it,
and XLSX files that are byte-identical when their content is.

* **Formula neutralisation** (OWASP "CSV injection"): a cell that a spreadsheet would read as a
  formula (it starts with ``= + - @``, a tab, a carriage return or NUL) is written with a leading
  apostrophe. :func:`neutralise` is the one-way rule (the journal export). A file meant to be
  imported again uses ``neutralise(value, reversible=True)``, which also doubles a leading
  apostrophe, so that :func:`unneutralise` (drop one leading apostrophe) restores every value
  exactly: ``"=1+1"`` → ``"'=1+1"`` → ``"=1+1"`` and ``"'abc"`` → ``"''abc"`` → ``"'abc"``.
* **CSV**: UTF-8 with a byte-order mark, ``;`` between cells, CRLF between rows, quotes only where
  needed — what Excel in French expects (a comma is the decimal separator there).
* **XLSX**: :func:`xlsx_file` writes the workbook itself (text cells, a bold header row, column
  widths, a frozen pane: all Égide's exports need), streamed as the rows are read. openpyxl's
  per-cell machinery cost more than reading the register it writes; openpyxl stays the reference
  the files are checked against (tests/core/test_exports_xlsx.py: openpyxl and python-calamine
  read every cell back) and the baseline of bench/bench_exchange.py. The document's time and that
  of every zip entry is the one given, so two exports of the same data are the same bytes. Excel
  holds at most 32,767 characters in a cell: :func:`xlsx_file` never cuts one, it names the cells
  too long (:class:`TooLongForXlsx`).
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import methodcaller
from typing import IO, Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0")
# Characters XML 1.0 cannot hold (control characters, U+FFFE, U+FFFF, lone surrogates): removed from
# XLSX and CSV alike.
ILLEGAL_XML_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# What clean_text changes: those characters and carriage returns (one search says "nothing to do").
_UNCLEAN = re.compile(r"[\x00-\x08\x0b-\x1f\ud800-\udfff\ufffe\uffff]")
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIMETYPE = "text/csv"
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry


def neutralise(value: str, *, reversible: bool = False) -> str:
    """A cell a spreadsheet would read as a formula gets a leading apostrophe (CSV injection).

    ``reversible``: also prefix a value that already starts with an apostrophe, so that
    :func:`unneutralise` can tell the added apostrophe from one that was typed.
    """
    if value.startswith(FORMULA_STARTS) or (reversible and value.startswith("'")):
        return "'" + value
    return value


_REVERSIBLE_STARTS = (*FORMULA_STARTS, "'")


def reversible_cell(value: str) -> str:
    """``neutralise(clean_text(value), reversible=True)`` in one call: the cell of a file meant to be
    imported again (a large export writes hundreds of thousands)."""
    if _UNCLEAN.search(value) is not None:
        value = clean_text(value)
    return "'" + value if value.startswith(_REVERSIBLE_STARTS) else value


# What a row's cells joined by NUL hold when one of them needs reversible_cell: a character to clean
# (NUL aside: the separators are counted), or a cell starting with one of FORMULA_STARTS or "'" ("\r"
# and NUL are in the first class or the count). Two scans in C: the second starts with a literal.
_ROW_UNCLEAN = re.compile(r"[\x01-\x08\x0b-\x1f\ud800-\udfff\ufffe\uffff]")
_ROW_MARKED = re.compile(r"\0[=+\-@\t']")


def reversible_cells(cells: list[str]) -> list[str]:
    """:func:`reversible_cell` of every cell of a row, checked as one text (a few scans in C rather
    than two calls per cell): the row itself when no cell changes."""
    joined = "\0".join(cells)
    if (
        _ROW_UNCLEAN.search(joined) is None
        and _ROW_MARKED.search(joined) is None
        and not joined.startswith(_REVERSIBLE_STARTS)
        and joined.count("\0") == len(cells) - 1
    ):
        return cells
    return [reversible_cell(value) for value in cells]


def unneutralise(value: str) -> str:
    """The value written by ``neutralise(value, reversible=True)``: drop one leading apostrophe."""
    return value[1:] if value.startswith("'") else value


def clean_text(value: str) -> str:
    """One text for both formats: line breaks as ``\\n`` (XLSX cannot keep a carriage return) and
    no character XML cannot hold."""
    if _UNCLEAN.search(value) is None:  # the common case: a large export cleans every cell
        return value
    return ILLEGAL_XML_CHARS.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))


def csv_bytes(rows: Iterable[Sequence[Any]]) -> bytes:
    """``;``-separated UTF-8 with a BOM and CRLF line ends (cells are written as given)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    for row in rows:
        writer.writerow(["" if cell is None else cell for cell in row])
    return out.getvalue().encode("utf-8-sig")


# --- streamed exports ----------------------------------------------------------------------------
#
# A large export (10,000 fiches) is written as it is read, so memory stays bounded whatever the size.
# XLSX: Égide's own writer (below) compresses each sheet's rows into an anonymous temporary file as
# they come, every zip entry carrying the given time, then the file is streamed from there: the
# same content and time give the same bytes, and nothing stays on disk.

STREAM_CHUNK_ROWS = 500
FILE_CHUNK = 1 << 16
XLSX_CELL_LIMIT = 32_767  # the most characters (UTF-16 code units) an Excel cell holds


@dataclass
class Sheet:
    """One sheet of a streamed workbook: its title, header row and rows (text cells; None or "" empty)."""

    title: str
    header: Sequence[str]
    rows: Iterable[Sequence[str | None]]
    width: float = 28.0
    widths: Sequence[float] = ()
    freeze: str | None = None  # the top-left cell of the scrolling pane, e.g. "C2"


@dataclass(frozen=True)
class LongCell:
    """A cell longer than Excel holds: its sheet, its row's first cell (the row's key), its column."""

    sheet: str
    key: str
    column: str
    length: int


class TooLongForXlsx(Exception):
    """Some cells hold more than :data:`XLSX_CELL_LIMIT` characters: Excel would cut them."""

    def __init__(self, cells: list[LongCell]) -> None:
        super().__init__(f"{len(cells)} cell(s) longer than {XLSX_CELL_LIMIT} characters")
        self.cells = cells


_is_formula = methodcaller("startswith", "=")


def _utc_moment(timestamp: datetime) -> datetime:
    moment = (timestamp.astimezone(UTC) if timestamp.tzinfo else timestamp).replace(
        tzinfo=None, microsecond=0
    )
    return max(moment, datetime(*ZIP_EPOCH))


def excel_length(value: str) -> int:
    """The length Excel counts: UTF-16 code units (a character beyond U+FFFF counts twice)."""
    if len(value) * 2 <= XLSX_CELL_LIMIT:
        return len(value)
    return len(value.encode("utf-16-le")) // 2


# --- the XLSX writer -----------------------------------------------------------------------------
#
# The parts of a SpreadsheetML package (ECMA-376) that a workbook of text cells needs, written as
# text: [Content_Types].xml, the relationships, docProps/core.xml and app.xml, xl/workbook.xml,
# xl/styles.xml (the default font and its bold variant, for the header row) and one
# xl/worksheets/sheetN.xml per sheet, its cells as inline strings (``t="inlineStr"``: streamed,
# no shared-strings table held in memory) that keep their spaces (``xml:space="preserve"``).

_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS_PKG_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_OFFICE_TYPES = "application/vnd.openxmlformats-officedocument"
_STYLES = (
    f'{_XML}<styleSheet xmlns="{_NS_MAIN}">'
    '<fonts count="2">'
    '<font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    "</fonts>"
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
_BOLD = 1  # the header's style: cellXfs[1], the bold font
# What a text cannot hold as it is: characters XML 1.0 excludes, carriage returns (a parser reads
# them as "\n"), and the three characters to escape.
_TEXT_WORK = re.compile(r"[\x00-\x08\x0b-\x1f&<>\ud800-\udfff\ufffe\uffff]")
_ROW_WORK = re.compile(r"[\x01-\x08\x0b-\x1f&<>\ud800-\udfff\ufffe\uffff]")  # NUL: see _write_rows
_SHEET_TITLE_FORBIDDEN = re.compile(r"[\\/?*:\[\]]")
_FREEZE = re.compile(r"([A-Z]{1,3})([1-9][0-9]{0,6})")
_BATCH = 1 << 20  # characters of sheet XML gathered before they are compressed


def column_letter(index: int) -> str:
    """The letters of the ``index``-th column (1 → A, 27 → AA)."""
    letters = ""
    while index > 0:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - 64
    return index


def xml_text(value: str) -> str:
    """A text as an XML element holds it: clean (:func:`clean_text`) and escaped."""
    if _TEXT_WORK.search(value) is None:
        return value
    value = clean_text(value)
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attribute(value: str) -> str:
    return xml_text(value).replace('"', "&quot;")


def _sheet_view(freeze: str | None, selected: bool) -> str:
    """The sheet's view: selected (the workbook opens on it) and its frozen pane, as Excel writes them."""
    tab = ' tabSelected="1"' if selected else ""
    if not freeze or freeze == "A1":
        return f'<sheetViews><sheetView{tab} workbookViewId="0"/></sheetViews>'
    match = _FREEZE.fullmatch(freeze)
    if match is None:
        raise ValueError(f"not a cell: {freeze!r}")
    column, row = _column_index(match[1]) - 1, int(match[2]) - 1
    split = (f' xSplit="{column}"' if column else "") + (f' ySplit="{row}"' if row else "")
    active = ("bottomRight" if column else "bottomLeft") if row else "topRight"
    panes = ["topRight", "bottomLeft"] if row and column else []
    selections = "".join(f'<selection pane="{pane}"/>' for pane in panes)
    return (
        f'<sheetViews><sheetView{tab} workbookViewId="0">'
        f'<pane{split} topLeftCell="{freeze}" activePane="{active}" state="frozen"/>{selections}'
        f'<selection pane="{active}" activeCell="{freeze}" sqref="{freeze}"/></sheetView></sheetViews>'
    )


def _sheet_head(sheet: Sheet, selected: bool) -> str:
    widths = list(sheet.widths) or [sheet.width] * len(sheet.header)
    cols = "".join(
        f'<col min="{index}" max="{index}" width="{float(width):g}" customWidth="1"/>'
        for index, width in enumerate(widths, start=1)
    )
    return (
        f'{_XML}<worksheet xmlns="{_NS_MAIN}" xmlns:r="{_NS_DOC_RELS}">'
        f'{_sheet_view(sheet.freeze, selected)}<sheetFormatPr defaultRowHeight="15"/>'
        f"{f'<cols>{cols}</cols>' if cols else ''}<sheetData>"
    )


_SHEET_TAIL = (
    '</sheetData><pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
    "</worksheet>"
)


def _package_parts(titles: Sequence[str], moment: datetime, creator: str) -> list[tuple[str, str]]:
    """Every part but the sheets: (name in the zip, text)."""
    sheets = range(1, len(titles) + 1)
    sheet_type = f"{_OFFICE_TYPES}.spreadsheetml.worksheet+xml"
    content_types = (
        f'{_XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{_OFFICE_TYPES}.spreadsheetml.sheet.main+xml"/>'
        + "".join(
            f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="{sheet_type}"/>' for n in sheets
        )
        + f'<Override PartName="/xl/styles.xml" ContentType="{_OFFICE_TYPES}.spreadsheetml.styles+xml"/>'
        '<Override PartName="/docProps/core.xml" '
        'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
        f'<Override PartName="/docProps/app.xml" ContentType="{_OFFICE_TYPES}.extended-properties+xml"/>'
        "</Types>"
    )
    package_rels = (
        f'{_XML}<Relationships xmlns="{_NS_PKG_RELS}">'
        f'<Relationship Id="rId1" Type="{_NS_DOC_RELS}/officeDocument" Target="xl/workbook.xml"/>'
        f'<Relationship Id="rId2" Type="{_NS_PKG_RELS}/metadata/core-properties" Target="docProps/core.xml"/>'
        f'<Relationship Id="rId3" Type="{_NS_DOC_RELS}/extended-properties" Target="docProps/app.xml"/>'
        "</Relationships>"
    )
    stamp = f"{moment:%Y-%m-%dT%H:%M:%S}Z"
    who = xml_text(creator)
    core = (
        f"{_XML}<cp:coreProperties "
        'xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<dc:creator>{who}</dc:creator><cp:lastModifiedBy>{who}</cp:lastModifiedBy>"
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified>'
        "</cp:coreProperties>"
    )
    app = (
        f'{_XML}<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
        f"<Application>{who}</Application></Properties>"
    )
    workbook = (
        f'{_XML}<workbook xmlns="{_NS_MAIN}" xmlns:r="{_NS_DOC_RELS}"><workbookPr/>'
        '<bookViews><workbookView activeTab="0"/></bookViews><sheets>'
        + "".join(
            f'<sheet name="{_attribute(title)}" sheetId="{n}" r:id="rId{n}"/>'
            for n, title in zip(sheets, titles, strict=True)
        )
        + '</sheets><calcPr calcId="191029"/></workbook>'
    )
    workbook_rels = (
        f'{_XML}<Relationships xmlns="{_NS_PKG_RELS}">'
        + "".join(
            f'<Relationship Id="rId{n}" Type="{_NS_DOC_RELS}/worksheet" Target="worksheets/sheet{n}.xml"/>'
            for n in sheets
        )
        + f'<Relationship Id="rId{len(titles) + 1}" Type="{_NS_DOC_RELS}/styles" Target="styles.xml"/>'
        "</Relationships>"
    )
    return [
        ("[Content_Types].xml", content_types),
        ("_rels/.rels", package_rels),
        ("docProps/core.xml", core),
        ("docProps/app.xml", app),
        ("xl/workbook.xml", workbook),
        ("xl/_rels/workbook.xml.rels", workbook_rels),
        ("xl/styles.xml", _STYLES),
    ]


def _check_titles(titles: Sequence[str]) -> None:
    """Excel's rules for sheet names: 1 to 31 characters, none of ``\\ / ? * : [ ]``, no apostrophe at
    either end, no two alike (whatever their case)."""
    folded = [title.casefold() for title in titles]
    for title in titles:
        if not 0 < len(title) <= 31 or _SHEET_TITLE_FORBIDDEN.search(title) or "'" in (title[0], title[-1]):
            raise ValueError(f"not a sheet name Excel accepts: {title!r}")
    if len(set(folded)) != len(folded):
        raise ValueError(f"two sheets with the same name: {titles!r}")


class _SheetWriter:
    """The rows of one sheet as XML, handed to ``write`` (text) in batches of :data:`_BATCH`."""

    def __init__(self, sheet: Sheet, write: Callable[[str], Any], too_long: list[LongCell]) -> None:
        self.sheet = sheet
        self.write = write
        self.too_long = too_long
        self.letters = [column_letter(n) for n in range(1, max(len(sheet.header), 1) + 1)]
        self.parts: list[str] = []
        self.size = 0
        self.number = 0

    def row(self, texts: Sequence[str], cells: Sequence[str], style: str = "") -> None:
        """``cells``: the row's texts escaped (``texts`` as they are read, for the lengths)."""
        self.number += 1
        n = self.number
        if len(cells) > len(self.letters):
            self.letters = [column_letter(i) for i in range(1, len(cells) + 1)]
        if sum(map(len, texts)) * 2 > XLSX_CELL_LIMIT:
            self._long(texts)
        if self.too_long:  # the file will not be sent: the rest is only read, for the other long cells
            return
        xml = "".join(
            [
                f'<c r="{letter}{n}"{style} t="inlineStr"><is><t xml:space="preserve">{cell}</t></is></c>'
                for letter, cell in zip(self.letters, cells, strict=False)  # letters ≥ cells
                if cell
            ]
        )
        self.parts.append(f'<row r="{n}">{xml}</row>')
        self.size += len(xml)
        if self.size > _BATCH:
            self.flush()

    def _long(self, texts: Sequence[str]) -> None:
        header = self.sheet.header
        for index, text in enumerate(texts):
            if len(text) * 2 > XLSX_CELL_LIMIT and (length := excel_length(text)) > XLSX_CELL_LIMIT:
                column = str(header[index]) if index < len(header) else column_letter(index + 1)
                self.too_long.append(LongCell(self.sheet.title, texts[0] or "", column, length))

    def flush(self) -> None:
        if self.parts:
            self.write("".join(self.parts))
            self.parts.clear()
            self.size = 0


def _write_rows(rows: Iterable[Sequence[str | None]], writer: _SheetWriter) -> None:
    """Each row checked and escaped as one text (its cells joined by NUL, which no clean text holds):
    a few scans in C per row rather than per cell — a large export has hundreds of thousands."""
    for row in rows:
        try:
            joined = "\0".join(row)  # type: ignore[arg-type]
        except TypeError:  # an empty cell given as None (a cell that is not text fails again)
            row = ["" if value is None else value for value in row]
            joined = "\0".join(row)  # type: ignore[arg-type]
        cells: Sequence[str] | None = None
        if _ROW_WORK.search(joined) is None:
            cells = joined.split("\0")
            if len(cells) != len(row):  # a cell holding NUL
                cells = None
        if cells is None:  # cells to clean or escape: one at a time
            texts = [clean_text(value) for value in row]  # type: ignore[arg-type]
            cells = [xml_text(text) for text in texts]
            formula = any(map(_is_formula, texts))
        else:  # the cells are the texts, and NUL separates them only
            texts = cells
            formula = joined.startswith("=") or "\0=" in joined
        if formula:
            raise ValueError("a text cell starting with '=' must be neutralised first")
        writer.row(texts, cells)


def _zip_entry(name: str, date_time: tuple[int, ...]) -> zipfile.ZipInfo:
    """A zip entry that depends on its name and time only (no "now", no file modes of the machine)."""
    info = zipfile.ZipInfo(name, date_time=date_time)  # type: ignore[arg-type]
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3
    info.external_attr = 0o600 << 16
    return info


def xlsx_file(sheets: Sequence[Sheet], timestamp: datetime, *, creator: str = "Égide") -> IO[bytes]:
    """The workbook, written by Égide's own writer into an anonymous temporary file (read it from its
    start; closing it deletes it) as the rows are read. ``timestamp`` (aware or naive UTC) is the
    document's created/modified time and the time of every zip entry: the same content and time
    give the same bytes. The header row is bold.

    Cells are text (None or "" empty), cleaned here (:func:`clean_text`) and written as text, never
    as a formula; each must still be neutralised (:func:`neutralise`) for the spreadsheet that will
    open the file: a text starting with ``=`` is refused (``ValueError``). A cell longer than Excel
    holds is never cut: :class:`TooLongForXlsx` names every such cell (all rows are read).
    """
    moment = _utc_moment(timestamp)
    date_time = moment.timetuple()[:6]
    titles = [str(sheet.title) for sheet in sheets]
    _check_titles(titles)
    too_long: list[LongCell] = []
    out = tempfile.TemporaryFile()  # noqa: SIM115 — handed to the caller, who closes it
    try:
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, text in _package_parts(titles, moment, creator):
                archive.writestr(_zip_entry(name, date_time), text.encode())
            for number, sheet in enumerate(sheets, start=1):
                entry = _zip_entry(f"xl/worksheets/sheet{number}.xml", date_time)
                with archive.open(entry, "w") as part:

                    def write(text: str, part: IO[bytes] = part) -> None:
                        part.write(text.encode())

                    write(_sheet_head(sheet, selected=number == 1))
                    writer = _SheetWriter(sheet, write, too_long)
                    header = [clean_text(str(title)) for title in sheet.header]
                    writer.row(header, [xml_text(title) for title in header], style=f' s="{_BOLD}"')
                    _write_rows(sheet.rows, writer)
                    writer.flush()
                    write(_SHEET_TAIL)
    except BaseException:
        out.close()
        raise
    if too_long:
        out.close()
        raise TooLongForXlsx(too_long)
    out.seek(0)
    return out


def file_chunks(file: IO[bytes]) -> Iterator[bytes]:
    """A file from its current position, chunk by chunk; closed at the end (or when abandoned)."""
    try:
        while chunk := file.read(FILE_CHUNK):
            yield chunk
    finally:
        file.close()


def csv_stream(rows: Iterable[Sequence[Any]], *, chunk_rows: int = STREAM_CHUNK_ROWS) -> Iterator[bytes]:
    """What :func:`csv_bytes` writes, chunk by chunk as the rows are read."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    yield "\ufeff".encode()
    for count, row in enumerate(rows, start=1):
        writer.writerow(["" if cell is None else cell for cell in row])
        if count % chunk_rows == 0:
            yield out.getvalue().encode("utf-8")
            out.seek(0)
            out.truncate()
    yield out.getvalue().encode("utf-8")
