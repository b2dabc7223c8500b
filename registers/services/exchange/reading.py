"""Reading an uploaded register file (XLSX or CSV) into a table of text cells, or refusing it as a
whole (see :mod:`registers.services.exchange`)."""

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

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_XLSX_UNCOMPRESSED = 50 * 1024 * 1024  # a zip bomb is refused before openpyxl opens it
MAX_ROWS = 2000


# --- reading a file ----------------------------------------------------------------------------


class ImportFileError(Exception):
    """The file as a whole cannot be read (type, size, encoding, missing sheet or columns)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Table:
    fmt: str
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (line number in the spreadsheet, cells)


def file_format(content: bytes, filename: str) -> str:
    """ "xlsx" or "csv" from the extension and the content (python-magic); a clear error otherwise."""
    extension = Path(filename or "").suffix.lower().lstrip(".")
    mime = magic.from_buffer(content, mime=True) if content else "application/x-empty"
    if extension == "xlsx" and mime in (XLSX_MIMETYPE, "application/zip"):
        return "xlsx"
    if extension == "csv" and (
        mime.startswith("text/") or mime in ("application/csv", "application/x-empty")
    ):
        return "csv"
    raise ImportFileError(
        _(
            "Ce fichier n'est pas un registre exporté par Égide : choisissez un classeur Excel (.xlsx) "
            "ou un fichier CSV (.csv). Type reconnu : %(mime)s.",
            mime=mime,
        )
    )


def _cell(value: Any) -> str:
    """A cell's text as the export wrote it (Excel may have turned a date or a number into a value)."""
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return encode_date(value.date() if isinstance(value, datetime) else value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return clean_text(str(value))


def _read_xlsx(content: bytes) -> list[list[str]]:
    from openpyxl import load_workbook  # noqa: PLC0415 — openpyxl loads only for XLSX files

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_XLSX_UNCOMPRESSED:
                raise ImportFileError(_("Le classeur est trop volumineux une fois décompressé."))
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except ImportFileError:
        raise
    except Exception:
        raise ImportFileError(_("Le classeur Excel est illisible ou endommagé.")) from None
    try:
        if SHEET_REGISTER not in book.sheetnames:
            raise ImportFileError(_("Le classeur n'a pas de feuille « %(s)s ».", s=SHEET_REGISTER))
        rows = []
        for index, row in enumerate(book[SHEET_REGISTER].iter_rows(values_only=True)):
            if index > MAX_ROWS:  # index 0 is the header row
                raise ImportFileError(_("Le fichier compte plus de %(n)d fiches.", n=MAX_ROWS))
            rows.append([_cell(v) for v in row])
        return rows
    finally:
        book.close()


def _read_csv(content: bytes) -> list[list[str]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = content.decode("cp1252", errors="replace")  # what Excel writes back in France
    first = text.split("\n", 1)[0]
    delimiter = "," if first.count(",") > first.count(";") else ";"
    try:
        rows = []
        for index, row in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)):
            if index > MAX_ROWS:  # index 0 is the header row
                raise ImportFileError(_("Le fichier compte plus de %(n)d fiches.", n=MAX_ROWS))
            rows.append([_cell(v) for v in row])
        return rows
    except csv.Error:
        raise ImportFileError(_("Le fichier CSV est mal formé.")) from None


def read_table(content: bytes, filename: str) -> Table:
    if len(content) > MAX_UPLOAD_BYTES:
        raise ImportFileError(_("Le fichier dépasse %(n)d Mo.", n=MAX_UPLOAD_BYTES // (1024 * 1024)))
    fmt = file_format(content, filename)
    raw = _read_xlsx(content) if fmt == "xlsx" else _read_csv(content)
    if not raw or not any(cell.strip() for cell in raw[0]):
        raise ImportFileError(_("Le fichier est vide : la première ligne doit porter les noms des colonnes."))
    header = [cell.strip() for cell in raw[0]]
    rows = [(number, cells) for number, cells in enumerate(raw[1:], start=2) if any(c.strip() for c in cells)]
    return Table(fmt, header, rows)
