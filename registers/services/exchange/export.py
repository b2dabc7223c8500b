"""Export of the register: the "Organisation" and "Registre" sheets as XLSX, or the "Registre"
sheet as CSV (see :mod:`registers.services.exchange`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from accounts.models import Organisation, User
from core import audit
from core.db import today
from core.exports import CSV_MIMETYPE, XLSX_MIMETYPE, csv_bytes, neutralise, xlsx_bytes
from core.extensions import db
from core.text import fold
from registers.models import ProcessingActivity
from registers.services.exchange.cells import _text
from registers.services.exchange.columns import SHEET_REGISTER, columns, headers

FORMATS = ("xlsx", "csv")
SHEET_ORGANISATION = "Organisation"


# --- export ------------------------------------------------------------------------------------


def register_activities(org: Organisation) -> list[ProcessingActivity]:
    """The fiches of the register (models excluded, archived included), by reference.

    Sorted here rather than by the database, whose collation may differ (PostgreSQL's ignores
    punctuation): the same register gives the same file on both."""
    activities = db.session.scalars(
        select(ProcessingActivity).where(
            ProcessingActivity.organisation_id == org.id, ProcessingActivity.is_model.is_(False)
        )
    )
    return sorted(activities, key=lambda a: (a.reference, a.id))


def row_cells(activity: ProcessingActivity) -> list[str]:
    """The cells of a fiche's row, as written in both formats (neutralised)."""
    return [neutralise(_text(column.encode(activity)), reversible=True) for column in columns()]


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
    body: bytes
    mimetype: str
    filename: str
    rows: int


def _workbook(org: Organisation, rows: list[list[str]]) -> Any:
    from openpyxl import Workbook  # noqa: PLC0415 — heavy, used only here
    from openpyxl.styles import Alignment, Font  # noqa: PLC0415 — openpyxl loads only for XLSX files

    bold, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")
    book = Workbook()
    sheet = book.active
    sheet.title = SHEET_ORGANISATION
    sheet.append(["Rubrique", "Valeur"])
    for label, value in organisation_rows(org):
        sheet.append([label, value])
    sheet.column_dimensions["A"].width = 48
    sheet.column_dimensions["B"].width = 60
    for cell in sheet[1]:
        cell.font = bold
    register = book.create_sheet(SHEET_REGISTER)
    register.append(list(headers()))
    for row in rows:
        register.append(row)
    for cell in register[1]:
        cell.font = bold
        cell.alignment = wrap
    for line in register.iter_rows(min_row=2):
        for cell in line:
            cell.alignment = wrap
    register.freeze_panes = "C2"
    for index in range(1, len(headers()) + 1):
        register.column_dimensions[_column_letter(index)].width = 28
    return book


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter  # noqa: PLC0415 — openpyxl loads only for XLSX files

    return str(get_column_letter(index))


def _file_time(org: Organisation, activities: Sequence[ProcessingActivity]) -> datetime:
    """The workbook's date: the latest change of what it shows, so the same data gives the same file."""
    moments = [a.updated_at for a in activities if a.updated_at] + (
        [org.updated_at] if org.updated_at else []
    )
    return max(moments, default=datetime(2000, 1, 1, tzinfo=UTC))


def export_register(org: Organisation, actor: User | None, fmt: str) -> Export:
    """The register as XLSX or CSV; the export is journalled ("register.export")."""
    if fmt not in FORMATS:
        raise ValueError(fmt)
    activities = register_activities(org)
    rows = [row_cells(activity) for activity in activities]
    if fmt == "csv":
        body, mimetype = csv_bytes([headers(), *rows]), CSV_MIMETYPE
    else:
        body, mimetype = xlsx_bytes(_workbook(org, rows), _file_time(org, activities)), XLSX_MIMETYPE
    audit.record(
        org,
        actor,
        "register.export",
        audit.Ref("Register", org.id),
        {"format": (None, fmt), "rows": (None, len(rows))},
    )
    stem = re.sub(r"[^A-Za-z0-9]+", "-", fold(org.short_name or org.name)).strip("-") or "registre"
    return Export(body, mimetype, f"registre-{stem}-{today():%Y%m%d}.{fmt}", len(rows))
