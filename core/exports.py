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
  :func:`xlsx_bytes` (a workbook in memory) and :func:`xlsx_file` (a streamed write-only workbook)
  set fixed document properties and one fixed timestamp on every zip entry, so two exports of the
  same data are the same bytes. Excel holds at most 32,767 characters in a cell: :func:`xlsx_file`
  never cuts one, it names the cells too long (:class:`TooLongForXlsx`).
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import methodcaller
from typing import IO, Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0")
# Characters XML 1.0 cannot hold (openpyxl refuses them): removed from XLSX and CSV alike.
ILLEGAL_XML_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# What clean_text changes: those characters and carriage returns (one search says "nothing to do").
_UNCLEAN = re.compile(r"[\x00-\x08\x0b-\x1f]")
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
# A large export (10,000 fiches) is written as it is read, so memory stays bounded whatever the size.
# XLSX: openpyxl's write-only workbook (rows go to its temporary file as they come), saved into an
# anonymous temporary file whose zip entries all carry the given time (:class:`_FixedTimeZip`), then
# streamed from there: the same content and time give the same bytes, and nothing stays on disk.

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


def excel_length(value: str) -> int:
    """The length Excel counts: UTF-16 code units (a character beyond U+FFFF counts twice)."""
    if len(value) * 2 <= XLSX_CELL_LIMIT:
        return len(value)
    return len(value.encode("utf-16-le")) // 2


class _FixedTimeZip(zipfile.ZipFile):
    """A zip archive whose every entry carries one given time and the same attributes, whatever
    openpyxl's ExcelWriter adds (``writestr`` for its parts, ``write`` for a sheet's rows)."""

    def __init__(self, file: Any, date_time: tuple[int, ...]) -> None:
        super().__init__(file, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
        self._date_time = date_time

    def _entry(self, name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=self._date_time)  # type: ignore[arg-type]
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o600 << 16
        return info

    def writestr(self, zinfo_or_arcname: Any, data: Any, *args: Any, **kwargs: Any) -> None:
        name = (
            zinfo_or_arcname.filename if isinstance(zinfo_or_arcname, zipfile.ZipInfo) else zinfo_or_arcname
        )
        super().writestr(self._entry(name), data)

    def write(self, filename: Any, arcname: Any = None, *args: Any, **kwargs: Any) -> None:
        with open(filename, "rb") as source, self.open(self._entry(arcname or filename), "w") as target:
            shutil.copyfileobj(source, target, FILE_CHUNK)


def _utc_moment(timestamp: datetime) -> datetime:
    moment = (timestamp.astimezone(UTC) if timestamp.tzinfo else timestamp).replace(
        tzinfo=None, microsecond=0
    )
    return max(moment, datetime(*ZIP_EPOCH))


def xlsx_file(sheets: Sequence[Sheet], timestamp: datetime, *, creator: str = "Égide") -> IO[bytes]:
    """The workbook written by openpyxl in write-only mode into an anonymous temporary file (read
    it from its start; closing it deletes it). ``timestamp`` (aware or naive UTC) is the document's
    created/modified time and the time of every zip entry: the same content and time give the same
    bytes. The header row is bold.

    Every text cell must already be neutralised (:func:`neutralise`): openpyxl would store a text
    starting with ``=`` as a formula, so such a cell is refused (``ValueError``). A cell longer than
    Excel holds is never cut: :class:`TooLongForXlsx` names every such cell (all rows are read).
    """
    from openpyxl import Workbook  # noqa: PLC0415 — openpyxl is heavy, load on use
    from openpyxl.cell import WriteOnlyCell  # noqa: PLC0415
    from openpyxl.styles import Font  # noqa: PLC0415
    from openpyxl.utils import get_column_letter  # noqa: PLC0415
    from openpyxl.writer.excel import ExcelWriter  # noqa: PLC0415

    moment = _utc_moment(timestamp)
    book = Workbook(write_only=True)
    props = book.properties
    props.creator = creator
    props.lastModifiedBy = creator
    props.created = moment
    props.modified = moment
    bold = Font(bold=True)
    too_long: list[LongCell] = []
    for sheet in sheets:
        ws = book.create_sheet(sheet.title)
        widths = list(sheet.widths) or [sheet.width] * len(sheet.header)
        for index, width in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(index)].width = width
        if sheet.freeze:
            ws.freeze_panes = sheet.freeze
        header_cells = []
        for title in sheet.header:
            cell = WriteOnlyCell(ws, title)
            cell.font = bold
            header_cells.append(cell)
        ws.append(header_cells)
        for row in sheet.rows:
            values = [value or None for value in row]
            # The checks of every cell, in C loops (map): a large export has hundreds of thousands.
            filled = list(filter(None, values))
            if any(map(_is_formula, filled)):
                raise ValueError("a text cell starting with '=' must be neutralised first")
            if max(map(len, filled), default=0) * 2 <= XLSX_CELL_LIMIT:
                if not too_long:
                    ws.append(values)
                continue
            for index, value in enumerate(values):
                if value is None:
                    continue
                if len(value) * 2 > XLSX_CELL_LIMIT and (length := excel_length(value)) > XLSX_CELL_LIMIT:
                    column = (
                        sheet.header[index] if index < len(sheet.header) else get_column_letter(index + 1)
                    )
                    too_long.append(LongCell(sheet.title, values[0] or "", column, length))
            if not too_long:
                ws.append(values)
    out = tempfile.TemporaryFile()  # noqa: SIM115 — handed to the caller, who closes it
    try:
        with _FixedTimeZip(out, moment.timetuple()[:6]) as archive:
            ExcelWriter(book, archive).save()  # save_workbook() without its "modified = now"
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
