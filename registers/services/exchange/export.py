"""Export of the register: the "Organisation" and "Registre" sheets as XLSX, or the "Registre"
sheet as CSV (see :mod:`registers.services.exchange`).

The export is streamed, with bounded memory whatever the register's size: the fiches are read
:data:`CHUNK` at a time as plain rows (their applications with them: one query per chunk, never
one per fiche). CSV: :func:`export_register` journals the export and ``Export.chunks()`` writes each
chunk's rows before reading the next. XLSX: the workbook (:func:`core.exports.xlsx_file`, rows
compressed as they come) is written first into an anonymous temporary file (so a text too long for
an Excel cell stops the export before anything is journalled or sent:
:class:`core.exports.TooLongForXlsx`), then ``chunks()`` streams that file and closes it (deleting
it). bench/bench_exchange.py measures both.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from itertools import chain
from types import SimpleNamespace
from typing import Any

from sqlalchemy import JSON, Text, bindparam, cast, func, select

from accounts.models import Organisation, User
from catalogue.models import Application
from core import audit
from core.db import today
from core.exports import (
    CSV_MIMETYPE,
    XLSX_MIMETYPE,
    Sheet,
    csv_stream,
    file_chunks,
    neutralise,
    reversible_cells,
    xlsx_file,
)
from core.extensions import db
from core.text import fold
from registers.models import ProcessingActivity, activity_applications
from registers.services.exchange.cells import _text
from registers.services.exchange.columns import (
    CATEGORY_KEYS,
    SHEET_REGISTER,
    Encoder,
    _held_categories,
    columns,
    headers,
)

FORMATS = ("xlsx", "csv")
SHEET_ORGANISATION = "Organisation"
CHUNK = 500


# --- export ------------------------------------------------------------------------------------


def _register_filter(org: Organisation) -> Any:
    return (ProcessingActivity.organisation_id == org.id) & ProcessingActivity.is_model.is_(False)


def register_ids(org: Organisation) -> list[int]:
    """The fiches of the register (models excluded, archived included), by reference.

    Sorted here rather than by the database, whose collation may differ (PostgreSQL's ignores
    punctuation): the same register gives the same file on both."""
    rows = db.session.execute(
        select(ProcessingActivity.id, ProcessingActivity.reference).where(_register_filter(org))
    ).all()
    return [row.id for row in sorted(rows, key=lambda r: (r.reference, r.id))]


# Not read by an export (no column shows them; the export holds no model).
_UNREAD = frozenset(
    {
        "organisation_id",
        "sort_name",
        "has_sensitive_data",
        "completeness",
        "is_model",
        "content_version",
        "model_id",
        "synced_model_version",
        "model_snapshot",
        "has_model_update",
        "is_archive_proposed",
        "version",
    }
)
_decode_json = json.JSONDecoder().decode


@cache
def _fiche_columns() -> tuple[tuple[Any, ...], tuple[str, ...]]:
    """The columns an export reads, and the names of the JSON ones among them. These are read as
    their text and decoded by :func:`_json` (what the JSON type does, without its layers of calls
    per value: 80,000 values for 10,000 fiches)."""
    table = ProcessingActivity.__table__
    read = [column for column in table.c if column.name not in _UNREAD]
    json_names = tuple(column.name for column in read if isinstance(column.type, JSON))
    return (
        tuple(cast(c, Text).label(c.name) if c.name in json_names else c for c in read),
        json_names,
    )


def _json(text: str | None) -> Any:
    if text is None:
        return None
    return [] if text == "[]" else _decode_json(text)  # most lists of a fiche are empty


def register_activities(org: Organisation, ids: list[int] | None = None) -> Iterator[Any]:
    """The fiches of :func:`register_ids`, in that order, read :data:`CHUNK` at a time: their columns
    as plain rows (no ORM objects: an export reads, it never changes a fiche), each with its
    ``applications`` (objects with a ``name``, by sort name) read in one query per chunk."""
    ids = register_ids(org) if ids is None else ids
    table = ProcessingActivity.__table__
    columns, json_names = _fiche_columns()
    names = [column.name for column in columns]
    json_positions = [names.index(name) for name in json_names]
    for start in range(0, len(ids), CHUNK):
        batch = ids[start : start + CHUNK]
        by_id: dict[int, dict[str, Any]] = {}
        for row in db.session.execute(select(*columns).where(_among(table.c.id, batch))).all():
            values = list(row)
            for position in json_positions:
                values[position] = _json(values[position])
            fiche = dict(zip(names, values, strict=True))
            fiche["applications"] = []
            by_id[fiche["id"]] = fiche
        for activity_id, name in db.session.execute(
            select(activity_applications.c.activity_id, Application.name)
            .join(Application, Application.id == activity_applications.c.application_id)
            .where(_among(activity_applications.c.activity_id, batch))
            .order_by(activity_applications.c.activity_id, Application.sort_name)
        ):
            by_id[activity_id]["applications"].append(SimpleNamespace(name=name))
        for activity_id in batch:
            yield _Fiche(by_id[activity_id])


def _among(column: Any, ids: list[int]) -> Any:
    """``column IN (ids)`` with the ids written into the SQL (integers read from the database): a
    driver then has no 500 placeholders to parse in each chunk's statement (psycopg parses them
    again for every statement that long)."""
    return column.in_(bindparam("ids", ids, expanding=True, literal_execute=True))


class _Fiche:
    """A fiche as an export reads it: its values as attributes (the dict is used as it is)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__ = values


@cache
def _layout() -> tuple[tuple[tuple[int, Encoder], ...], dict[tuple[str, str], int], int]:
    """The "Registre" row's shape, from :func:`columns`: (position, encoder) of the computed cells,
    the position of each data category's cell by (category id, key), and the number of cells."""
    computed = []
    positions = {}
    for index, column in enumerate(columns()):
        if column.category is None:
            computed.append((index, column.encode))
        else:
            positions[column.category] = index
    return tuple(computed), positions, len(columns())


def row_cells(activity: ProcessingActivity) -> list[str]:
    """The cells of a fiche's row, as written in both formats: text, clean (see
    :func:`core.exports.clean_text`) and neutralised (:func:`core.exports.reversible_cells`, the
    whole row at once).

    Run for every fiche of an export: the data categories' cells (four per category of the
    reference list, most of them empty) are filled from the categories the fiche holds, rather
    than looked up one column at a time."""
    computed, positions, width = _layout()
    cells = [""] * width
    for index, encode in computed:
        value = encode(activity)
        if value is not None and value != "":  # most cells are empty: "" already
            cells[index] = value if type(value) is str else str(value)
    for category_id, row in _held_categories(activity).items():
        for key in CATEGORY_KEYS:
            index = positions.get((category_id, key))
            value = row.get(key)
            if index is not None and value is not None and value != "":
                cells[index] = value if type(value) is str else str(value)
    return reversible_cells(cells)


def organisation_rows(org: Organisation) -> list[tuple[str, str]]:
    values = [
        ("Organisme", org.name),
        ("SIREN", org.siren),
        ("Adresse", org.address),
        ("Code postal", org.postal_code),
        ("Ville", org.city),
        ("Responsable du traitement : fonction", org.head_title),
        ("Responsable du traitement : nom", org.head_name),
        ("Délégué à la protection des données (DPO) : nom", org.dpo_name),
        ("DPO : adresse électronique", org.dpo_email),
        ("DPO : téléphone", org.dpo_phone),
        ("N° de désignation du DPO auprès de la CNIL", org.cnil_dpo_number),
    ]
    return [(label, neutralise(_text(value), reversible=True)) for label, value in values]


@dataclass(frozen=True)
class Export:
    chunks: Callable[[], Iterator[bytes]]  # the file, produced as it is read (a generator; read it once)
    mimetype: str
    filename: str
    rows: int

    @property
    def body(self) -> bytes:
        """The whole file at once (tests, small registers)."""
        return b"".join(self.chunks())


def _file_time(org: Organisation) -> datetime:
    """The workbook's date: the latest change of what it shows, so the same data gives the same file."""
    latest = db.session.scalar(select(func.max(ProcessingActivity.updated_at)).where(_register_filter(org)))
    moments = [m for m in (latest, org.updated_at) if m]
    return max(moments, default=datetime(2000, 1, 1, tzinfo=UTC))


def _rows(org: Organisation, ids: list[int]) -> Iterator[list[str]]:
    for activity in register_activities(org, ids):
        yield row_cells(activity)


def export_register(org: Organisation, actor: User | None, fmt: str) -> Export:
    """The register as XLSX or CSV; the export is journalled ("register.export") when asked for,
    the file is produced when read (``Export.chunks()``)."""
    if fmt not in FORMATS:
        raise ValueError(fmt)
    ids = register_ids(org)
    if fmt == "csv":

        def chunks() -> Iterator[bytes]:
            yield from csv_stream(chain([headers()], _rows(org, ids)))

        mimetype = CSV_MIMETYPE
    else:
        sheets = [
            Sheet(SHEET_ORGANISATION, ["Rubrique", "Valeur"], organisation_rows(org), widths=(48, 60)),
            Sheet(SHEET_REGISTER, list(headers()), _rows(org, ids), freeze="C2"),
        ]
        # Written now (a temporary file): a cell too long for Excel raises TooLongForXlsx before
        # anything is journalled or sent.
        file = xlsx_file(sheets, _file_time(org))

        def chunks() -> Iterator[bytes]:
            file.seek(0)
            yield from file_chunks(file)

        mimetype = XLSX_MIMETYPE
    audit.record(
        org,
        actor,
        "register.export",
        audit.Ref("Register", org.id),
        {"format": (None, fmt), "rows": (None, len(ids))},
    )
    stem = re.sub(r"[^A-Za-z0-9]+", "-", fold(org.short_name or org.name)).strip("-") or "registre"
    return Export(chunks, mimetype, f"registre-{stem}-{today():%Y%m%d}.{fmt}", len(ids))
