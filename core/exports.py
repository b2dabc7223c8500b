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
from collections.abc import Iterable, Sequence
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
