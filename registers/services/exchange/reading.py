"""Reading an uploaded register file (CSV, XLSX or ODS) into a table of text cells, or refusing it as a
whole (see :mod:`registers.services.exchange`).

* **CSV**: any encoding Excel or LibreOffice writes — UTF-8 with or without a byte-order mark,
  UTF-16 with one, else Windows-1252, else Latin-1 (which reads any byte) — and ``;``, ``,`` or a tab
  between cells (sniffed from the first lines).
* **XLSX and ODS** are read with python-calamine (the cached value of a formula, never the formula),
  after a check of the archive: at most :data:`MAX_UNCOMPRESSED` bytes once decompressed (a zip
  bomb is refused before the workbook is opened). The sheet "Registre" if there is one (Égide's
  own export), else the first sheet.
* The first non-empty row holds the column names; the lines keep the spreadsheet's numbers.

Limits, stated on the upload form: :data:`MAX_UPLOAD_BYTES` per file, :data:`MAX_ROWS` fiches.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import magic
from flask_babel import gettext as _

from core.exports import XLSX_MIMETYPE, clean_text
from registers.services.exchange.cells import encode_date
from registers.services.exchange.columns import SHEET_REGISTER

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_UNCOMPRESSED = 250 * 1024 * 1024  # a zip bomb is refused before the workbook is opened
MAX_ROWS = 10_000
MAX_COLUMNS = 500
ROWS_SHOWN = f"{MAX_ROWS:,}".replace(",", "\u202f")  # "10 000", as French writes it
FORMATS = ("csv", "xlsx", "ods")
ODS_MIMETYPE = "application/vnd.oasis.opendocument.spreadsheet"
CSV_DELIMITERS = ";,\t"


class ImportFileError(Exception):
    """The file as a whole cannot be read (type, size, encoding, structure, limits)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Table:
    fmt: str
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (line number in the spreadsheet, cells)
    encoding: str = ""  # CSV: the encoding read
    delimiter: str = ""  # CSV: the separator read


def limits_text() -> str:
    return _(
        "CSV, XLSX ou ODS, %(mb)d Mo et %(rows)s fiches au plus par fichier.",
        mb=MAX_UPLOAD_BYTES // (1024 * 1024),
        rows=ROWS_SHOWN,
    )


def file_format(content: bytes, filename: str) -> str:
    """ "csv", "xlsx" or "ods" from the extension and the content (python-magic); a clear error otherwise."""
    extension = Path(filename or "").suffix.lower().lstrip(".")
    mime = magic.from_buffer(content[:65536], mime=True) if content else "application/x-empty"
    if extension == "xlsx" and mime in (XLSX_MIMETYPE, "application/zip"):
        return "xlsx"
    if extension == "ods" and mime in (ODS_MIMETYPE, "application/zip"):
        return "ods"
    if extension == "csv" and (
        mime.startswith("text/") or mime in ("application/csv", "application/x-empty")
    ):
        return "csv"
    raise ImportFileError(
        _(
            "Ce fichier n'est pas un tableur lisible : choisissez un fichier CSV (.csv), un classeur Excel "
            "(.xlsx) ou LibreOffice (.ods). Type reconnu : %(mime)s.",
            mime=mime,
        )
    )


def _cell(value: Any) -> str:
    """A cell's text (a spreadsheet may hold a date, a number or a boolean instead of text)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, bool):
        return "Oui" if value else "Non"
    if isinstance(value, datetime | date):
        return encode_date(value.date() if isinstance(value, datetime) else value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return clean_text(str(value))


def _too_many() -> ImportFileError:
    return ImportFileError(
        _(
            "Le fichier compte plus de %(n)s fiches : découpez-le en plusieurs fichiers.",
            n=ROWS_SHOWN,
        )
    )


def _table(fmt: str, raw: Any, **extra: str) -> Table:
    """Header (first non-empty row) and the non-empty rows after it, with their line numbers."""
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    for line, values in enumerate(raw, start=1):
        cells = [_cell(v) for v in values]
        if not any(c.strip() for c in cells):
            continue
        if header is None:
            header = [c.strip() for c in cells]
            if len(header) > MAX_COLUMNS:
                raise ImportFileError(_("Le fichier compte plus de %(n)d colonnes.", n=MAX_COLUMNS))
            continue
        if len(rows) >= MAX_ROWS:
            raise _too_many()
        rows.append((line, cells))
    if header is None:
        raise ImportFileError(_("Le fichier est vide : la première ligne doit porter les noms des colonnes."))
    while header and not header[-1]:
        header.pop()
    return Table(fmt, header, rows, **extra)


def _read_workbook(content: bytes, fmt: str) -> Table:
    from python_calamine import CalamineWorkbook  # noqa: PLC0415 — loads only for workbooks

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNCOMPRESSED:
                raise ImportFileError(_("Le classeur est trop volumineux une fois décompressé."))
    except zipfile.BadZipFile:
        raise ImportFileError(_("Le classeur est illisible ou endommagé.")) from None
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(content))
        names = book.sheet_names
        if not names:
            raise ImportFileError(_("Le classeur ne contient aucune feuille."))
        sheet = book.get_sheet_by_name(SHEET_REGISTER if SHEET_REGISTER in names else names[0])
        return _table(fmt, sheet.iter_rows())
    except ImportFileError:
        raise
    except Exception:  # calamine's errors are of its own kinds (CalamineError, XmlError, ZipError…)
        raise ImportFileError(_("Le classeur est illisible ou endommagé.")) from None


def decode_text(content: bytes) -> tuple[str, str]:
    """The text of a CSV file and the encoding it was read with."""
    if content.startswith(b"\xef\xbb\xbf"):
        candidates = ["utf-8-sig"]
    elif content.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8", "cp1252", "latin-1"]
    for encoding in candidates:
        try:
            return content.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise ImportFileError(_("Le fichier CSV n'est pas un texte lisible (encodage inconnu)."))


def sniff_delimiter(text: str) -> str:
    sample = "\n".join(text.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(sample, delimiters=CSV_DELIMITERS).delimiter
    except csv.Error:
        first = sample.split("\n", 1)[0]
        return max(CSV_DELIMITERS, key=first.count) if any(d in first for d in CSV_DELIMITERS) else ";"


def _read_csv(content: bytes) -> Table:
    text, encoding = decode_text(content)
    delimiter = sniff_delimiter(text)
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        return _table("csv", reader, encoding=encoding, delimiter=delimiter)
    except csv.Error:
        raise ImportFileError(_("Le fichier CSV est mal formé.")) from None


def read_table(content: bytes, filename: str) -> Table:
    if len(content) > MAX_UPLOAD_BYTES:
        raise ImportFileError(_("Le fichier dépasse %(n)d Mo.", n=MAX_UPLOAD_BYTES // (1024 * 1024)))
    fmt = file_format(content, filename)
    return _read_csv(content) if fmt == "csv" else _read_workbook(content, fmt)
