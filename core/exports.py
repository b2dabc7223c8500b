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
* **XLSX**: openpyxl stamps the current time into ``docProps/core.xml`` and into every zip entry;
  :func:`xlsx_bytes` sets fixed document properties and rewrites the archive with one fixed
  timestamp and a fixed entry order, so two exports of the same data are the same bytes.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0")
# Characters XML 1.0 cannot hold (openpyxl refuses them): removed from XLSX and CSV alike.
ILLEGAL_XML_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
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


def unneutralise(value: str) -> str:
    """The value written by ``neutralise(value, reversible=True)``: drop one leading apostrophe."""
    return value[1:] if value.startswith("'") else value


def clean_text(value: str) -> str:
    """One text for both formats: line breaks as ``\\n`` (XLSX cannot keep a carriage return) and
    no character XML cannot hold."""
    return ILLEGAL_XML_CHARS.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))


def csv_bytes(rows: Iterable[Sequence[Any]]) -> bytes:
    """``;``-separated UTF-8 with a BOM and CRLF line ends (cells are written as given)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    for row in rows:
        writer.writerow(["" if cell is None else cell for cell in row])
    return out.getvalue().encode("utf-8-sig")


def xlsx_bytes(workbook: Any, timestamp: datetime, *, creator: str = "Égide") -> bytes:
    """Save an openpyxl workbook as bytes that depend only on its content and ``timestamp``.

    ``timestamp`` (aware or naive UTC, seconds kept) becomes the document's created/modified
    properties and the time of every zip entry.
    """
    from openpyxl.writer.excel import ExcelWriter  # noqa: PLC0415 — openpyxl is heavy, load on use

    moment = (timestamp.astimezone(UTC) if timestamp.tzinfo else timestamp).replace(
        tzinfo=None, microsecond=0
    )
    moment = max(moment, datetime(*ZIP_EPOCH))
    props = workbook.properties
    props.creator = creator
    props.lastModifiedBy = creator
    props.created = moment
    props.modified = moment
    raw = io.BytesIO()
    # ExcelWriter.save() is openpyxl's save_workbook() without its "modified = now".
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(workbook, archive).save()
    return _fixed_zip(raw.getvalue(), moment.timetuple()[:6])


def _fixed_zip(data: bytes, date_time: tuple[int, ...]) -> bytes:
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=date_time)  # type: ignore[arg-type]
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            target.writestr(entry, source.read(info.filename))
    return out.getvalue()


# --- streamed exports ----------------------------------------------------------------------------
#
# A large export (10,000 fiches) is written as it is read: rows go out in chunks while the next ones
# are fetched, so memory stays bounded whatever the size. The XLSX writer below writes SpreadsheetML
# directly (inline strings, one style for the header, one for the cells): everything is text, so a
# cell is never a formula whatever it holds, and the bytes depend only on the content and the given
# time, as with :func:`xlsx_bytes`. It writes what openpyxl's write-only mode writes for text cells,
# without its per-cell objects (bench/bench_exchange.py compares the two on the same cells).

STREAM_CHUNK_ROWS = 500
_XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"


@dataclass
class Sheet:
    """One sheet of a streamed workbook: its title, header row and rows (text cells; None or "" empty)."""

    title: str
    header: Sequence[str]
    rows: Iterable[Sequence[str | None]]
    width: float = 28.0
    widths: Sequence[float] = ()
    freeze: str | None = None  # the top-left cell of the scrolling pane, e.g. "C2"


def _xml_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _xml_attr(value: str) -> str:
    return _xml_text(value).replace('"', "&quot;")


def _column_letters(count: int) -> list[str]:
    letters = []
    for index in range(1, count + 1):
        name = ""
        while index:
            index, rest = divmod(index - 1, 26)
            name = chr(65 + rest) + name
        letters.append(name)
    return letters


class _Sink:
    """A write-only stream that hands out what was written since the last :meth:`take`."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        return None

    def take(self) -> bytes:
        data, self._parts = b"".join(self._parts), []
        return data


def _styles_xml() -> str:
    return (
        f'{_XML_HEAD}<styleSheet xmlns="{_MAIN_NS}">'
        '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
        '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1" applyAlignment="1">'
        '<alignment vertical="top" wrapText="1"/></xf>'
        '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyAlignment="1">'
        '<alignment vertical="top" wrapText="1"/></xf></cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"
    )


def _package_parts(sheets: Sequence[Sheet], moment: datetime, creator: str) -> list[tuple[str, str]]:
    count = len(sheets)
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for i in range(1, count + 1)
    )
    stamp = f"{moment:%Y-%m-%dT%H:%M:%S}Z"
    who = _xml_text(creator)
    return [
        (
            "[Content_Types].xml",
            f'{_XML_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            f"{overrides}"
            '<Override PartName="/xl/styles.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            '<Override PartName="/docProps/core.xml" ContentType="application/'
            'vnd.openxmlformats-package.core-properties+xml"/>'
            '<Override PartName="/docProps/app.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.extended-properties+xml"/>'
            "</Types>",
        ),
        (
            "_rels/.rels",
            f'{_XML_HEAD}<Relationships xmlns="{_PKG_REL_NS}">'
            f'<Relationship Id="rId1" Type="{_REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/'
            'metadata/core-properties" Target="docProps/core.xml"/>'
            f'<Relationship Id="rId3" Type="{_REL_NS}/extended-properties" Target="docProps/app.xml"/>'
            "</Relationships>",
        ),
        (
            "docProps/app.xml",
            f'{_XML_HEAD}<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
            'extended-properties"><Application>Égide</Application></Properties>',
        ),
        (
            "docProps/core.xml",
            f'{_XML_HEAD}<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/'
            'metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            f"<dc:creator>{who}</dc:creator><cp:lastModifiedBy>{who}</cp:lastModifiedBy>"
            f'<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
            f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified>'
            "</cp:coreProperties>",
        ),
        (
            "xl/workbook.xml",
            f'{_XML_HEAD}<workbook xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}">'
            "<bookViews><workbookView/></bookViews>"
            "<sheets>"
            + "".join(
                f'<sheet name="{_xml_attr(sheet.title)}" sheetId="{i}" r:id="rId{i}"/>'
                for i, sheet in enumerate(sheets, start=1)
            )
            + "</sheets></workbook>",
        ),
        (
            "xl/_rels/workbook.xml.rels",
            f'{_XML_HEAD}<Relationships xmlns="{_PKG_REL_NS}">'
            + "".join(
                f'<Relationship Id="rId{i}" Type="{_REL_NS}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                for i in range(1, count + 1)
            )
            + f'<Relationship Id="rId{count + 1}" Type="{_REL_NS}/styles" Target="styles.xml"/>'
            "</Relationships>",
        ),
        ("xl/styles.xml", _styles_xml()),
    ]


def _sheet_head(sheet: Sheet, letters: list[str]) -> str:
    pane = ""
    if sheet.freeze:
        col = sum(1 for c in sheet.freeze if c.isalpha())
        letters_part, digits = sheet.freeze[:col], int(sheet.freeze[col:])
        x_split = letters.index(letters_part) if letters_part in letters else 0
        pane = (
            f'<pane xSplit="{x_split}" ySplit="{digits - 1}" topLeftCell="{sheet.freeze}" '
            'activePane="bottomRight" state="frozen"/><selection pane="bottomRight"/>'
        )
    widths = list(sheet.widths) or [sheet.width] * len(sheet.header)
    cols = "".join(
        f'<col min="{i}" max="{i}" width="{width}" customWidth="1"/>'
        for i, width in enumerate(widths, start=1)
    )
    return (
        f'{_XML_HEAD}<worksheet xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}">'
        f'<sheetViews><sheetView workbookViewId="0">{pane}</sheetView></sheetViews>'
        f'<sheetFormatPr defaultRowHeight="15"/><cols>{cols}</cols><sheetData>'
    )


def _row_xml(number: int, cells: Sequence[str | None], letters: list[str], style: int) -> str:
    parts = [f'<row r="{number}">']
    for letter, value in zip(letters, cells, strict=False):
        if value:
            parts.append(
                f'<c r="{letter}{number}" t="inlineStr" s="{style}"><is><t xml:space="preserve">'
                f"{_xml_text(value)}</t></is></c>"
            )
    parts.append("</row>")
    return "".join(parts)


def xlsx_stream(
    sheets: Sequence[Sheet],
    timestamp: datetime,
    *,
    creator: str = "Égide",
    chunk_rows: int = STREAM_CHUNK_ROWS,
) -> Iterator[bytes]:
    """An XLSX workbook, produced chunk by chunk as its rows are read. ``timestamp`` (aware or naive
    UTC) is the document's created/modified time and the time of every zip entry: the same content
    and time give the same bytes. Every cell is text (never a formula): neutralise values for the
    spreadsheet user anyway (:func:`neutralise`)."""
    moment = (timestamp.astimezone(UTC) if timestamp.tzinfo else timestamp).replace(
        tzinfo=None, microsecond=0
    )
    moment = max(moment, datetime(*ZIP_EPOCH))
    date_time = moment.timetuple()[:6]
    sink = _Sink()

    def entry(name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=date_time)  # type: ignore[arg-type]
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o600 << 16
        return info

    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as archive:  # type: ignore[arg-type]
        for name, text in _package_parts(sheets, moment, creator):
            archive.writestr(entry(name), text.encode("utf-8"))
        yield sink.take()
        for index, sheet in enumerate(sheets, start=1):
            letters = _column_letters(max(len(sheet.header), len(sheet.widths), 1))
            with archive.open(entry(f"xl/worksheets/sheet{index}.xml"), "w") as out:
                out.write(_sheet_head(sheet, letters).encode("utf-8"))
                out.write(_row_xml(1, sheet.header, letters, 1).encode("utf-8"))
                batch: list[str] = []
                for number, row in enumerate(sheet.rows, start=2):
                    if len(row) > len(letters):
                        letters = _column_letters(len(row))
                    batch.append(_row_xml(number, row, letters, 2))
                    if len(batch) >= chunk_rows:
                        out.write("".join(batch).encode("utf-8"))
                        batch = []
                        yield sink.take()
                out.write(("".join(batch) + "</sheetData></worksheet>").encode("utf-8"))
            yield sink.take()
    yield sink.take()


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
