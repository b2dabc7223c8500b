"""Export and import of an organisation's register (XLSX and CSV) in the column layout of the CNIL
register model ("modèle de registre", art. 30.1).

**Files.** The XLSX workbook has a sheet "Organisation" (the header of the CNIL model: the
organisation, its head and its DPO; exported for the reader, ignored on import: these are edited on
the organisation's page) and a sheet "Registre", one row per fiche of the register (models excluded,
archived fiches included: the "Statut" column says so), ordered by reference. The CSV file is the
"Registre" sheet alone, UTF-8 with a BOM, ``;`` between cells, CRLF between rows (what Excel in
French opens without an import wizard; the import also accepts ``,`` and Windows-1252, which is
what Excel writes back).

**Cells.** Everything is text, in French whatever the language of the page (the file is a document
of the register, and the same file must import for everybody): reference lists are written with
their French label and read back from the French or English label, the short label (before the
parenthesis) or the id, ignoring case and accents. Dates are ``JJ/MM/AAAA``. Multi-valued cells hold
one value per line; a value that itself runs over several lines goes on with lines indented by four
spaces, so the encoding stays unambiguous:

* Sous-finalités, Personnes concernées, Catégories de données, Données sensibles, Applications,
  Critères AIPD: one label (or name) per line;
* Destinataires: ``<type> : <nom>`` per line, e.g. ``Sous-traitants : SIIM94`` (the type alone when
  there is no name);
* Mesures de sécurité: ``<mesure> : <précisions>`` per line;
* Transferts hors UE: one block per transfer, ``Destinataire : <nom>`` then, indented by two spaces,
  ``Pays : …``, ``Garantie : …`` and ``Documentation : …`` lines (empty ones left out).

Each data category has four columns (details and the three retention phases) after the
"Catégories de données" column, which lists the categories the fiche holds (a category may be held
with nothing written beside it). Three DPIA columns follow the criteria beyond the CNIL model's list
(the CNIL lists of processing types and the reasoning): without them a verdict "AIPD requise" could
not be explained, and an import would lose them. "Date de création", "Dernière mise à jour" and
"AIPD requise" are computed: exported, never imported.

**Formulas.** Every cell goes through ``core.exports.neutralise(value, reversible=True)``: a cell
starting with ``= + - @``, a tab or a carriage return (or an apostrophe) gets a leading apostrophe,
which the import removes (see :mod:`core.exports`).

**Import.** A row whose reference is that of a fiche of the register updates it, any other row
creates a fiche (an empty reference gets the next ``TRT-NNN``). Each row is compared with what the
export of that fiche would write, column by column: only the columns that differ are read and
passed to :func:`registers.services.activities.update_activity`, so a row left as exported changes
nothing (no version, no journal entry, "Dernière mise à jour" stays), a link kept outside the file
(a recipient's organisation) survives, and a re-import of an export gives back the same export,
byte for byte. Everything is checked before anything is written (:func:`plan_import`); the writes
then run in the caller's single transaction (:func:`apply_import`), which the view rolls back on
the first failure.

**Confirmation.** The preview and the confirmation are two requests. The uploaded file is kept
server-side (:func:`store_upload`) in ``REGISTER_IMPORT_DIR`` (default ``<instance>/imports``)
under a random token bound to the user and the organisation, for ``REGISTER_IMPORT_TTL_MINUTES``
(30): the confirmation names the token, the file is read and checked again (the register may have
changed meanwhile), and the writes happen only if the plan is still the one the person saw (its
fingerprint). Nobody re-uploads, nothing travels through the browser twice, and a token is useless
to another account or organisation. With several servers, the folder must be shared.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import secrets
import time
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import magic
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from accounts.models import Organisation, User
from catalogue.models import Application
from core import audit
from core.concurrency import EditConflict
from core.db import today
from core.exports import (
    CSV_MIMETYPE,
    XLSX_MIMETYPE,
    clean_text,
    csv_bytes,
    neutralise,
    unneutralise,
    xlsx_bytes,
)
from core.extensions import db
from core.forms import FieldError
from core.text import fold
from registers import reference as ref
from registers.models import ActivityStatus, DpiaStatus, ProcessingActivity
from registers.services import activities as acts

FORMATS = ("xlsx", "csv")
SHEET_ORGANISATION = "Organisation"
SHEET_REGISTER = "Registre"
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_XLSX_UNCOMPRESSED = 50 * 1024 * 1024  # a zip bomb is refused before openpyxl opens it
MAX_ROWS = 2000
INDENT = "    "  # a value going on over several lines
SUB = "  "  # a sub-field of a transfer
SEP = " : "
TIMEZONE = ZoneInfo("Europe/Paris")  # dates of the file are those of the people reading it
DATE_RE = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*$")
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")
UNSCOPED = {"skip_org_scope": True}


# --- reference lists: French label out, any label or id in -------------------------------------


def short(label: str) -> str:
    """ "Sous-traitants (hébergeurs, éditeurs…)" → "Sous-traitants"."""
    return label.split(" (", 1)[0].strip()


class Labels:
    """Labels of a reference list for the file: one French label per id, many ways to read it."""

    def __init__(self, items: Iterable[ref.Item], *, use_short: bool = False) -> None:
        items = tuple(items)
        self.out = {i.id: short(i.label_fr) if use_short else i.label_fr for i in items}
        keys: dict[str, set[str]] = {}
        for item in items:
            for text in (item.id, item.label_fr, item.label_en, short(item.label_fr), short(item.label_en)):
                keys.setdefault(fold(text), set()).add(item.id)
        self.lookup = {key: next(iter(found)) for key, found in keys.items() if key and len(found) == 1}

    def label(self, item_id: str | None) -> str:
        return self.out.get(item_id, item_id) if item_id else ""  # an old id is shown as it is

    def find(self, text: str) -> str | None:
        return self.lookup.get(fold(text))


class EnumLabels(Labels):
    def __init__(self, enum_cls: Any) -> None:
        items = []
        for member in enum_cls:
            with force_locale("fr"):
                french = str(member.label)
            with force_locale("en"):
                english = str(member.label)
            items.append(ref.Item(id=member.value, label_fr=french, label_en=english))
        super().__init__(items)


@dataclass(frozen=True)
class Vocabulary:
    status: Labels
    dpia_status: Labels
    legal_bases: Labels
    subjects: Labels
    categories: Labels
    sensitive: Labels
    art9: Labels
    recipient_types: Labels
    safeguards: Labels
    measures: Labels
    criteria: Labels
    cnil_required: Labels
    cnil_exempt: Labels


@cache
def vocabulary() -> Vocabulary:
    return Vocabulary(
        status=EnumLabels(ActivityStatus),
        dpia_status=EnumLabels(DpiaStatus),
        legal_bases=Labels(ref.legal_bases()),
        subjects=Labels(ref.data_subjects()),
        categories=Labels(ref.data_categories()),
        sensitive=Labels(ref.sensitive_data()),
        art9=Labels(ref.art9_exceptions()),
        recipient_types=Labels(ref.recipient_types(), use_short=True),
        safeguards=Labels(ref.transfer_safeguards()),
        measures=Labels(ref.security_measures()),
        criteria=Labels(ref.dpia_criteria()),
        cnil_required=Labels(ref.dpia_required_types()),
        cnil_exempt=Labels(ref.dpia_exempt_types()),
    )


# --- cell encodings ----------------------------------------------------------------------------


class CellError(Exception):
    """A cell that cannot be read; the message names what is wrong (the caller adds line/column)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _text(value: Any) -> str:
    return clean_text(str(value)) if value not in (None, "") else ""


def _continued(head: str, value: Any) -> list[str]:
    """``head + value`` as lines, the value's own line breaks going on with :data:`INDENT`."""
    first, *rest = _text(value).split("\n")
    return [head + first, *(INDENT + line for line in rest)]


def encode_list(values: Iterable[Any]) -> str:
    return "\n".join(line for value in values for line in _continued("", value))


def decode_list(cell: str) -> list[str]:
    """Values one per line, lines indented by :data:`INDENT` going on with the previous value."""
    items: list[str] = []
    for line in cell.split("\n"):
        if line.startswith(INDENT) and items:
            items[-1] += "\n" + line[len(INDENT) :]
        elif line.strip():
            items.append(line.lstrip())
    return items


def _split_label(line: str) -> tuple[str, bool, str]:
    """``"Libellé : valeur"`` → ("Libellé", True, "valeur"); the first colon separates."""
    label, sep, value = line.partition(SEP.strip())
    return label.strip(), bool(sep), value.lstrip()


def encode_pairs(rows: Iterable[tuple[str, Any]]) -> str:
    """``libellé : valeur`` per line (the label alone when there is no value)."""
    lines: list[str] = []
    for label, value in rows:
        lines += _continued(label + SEP, value) if _text(value) else [label]
    return "\n".join(lines)


def decode_pairs(cell: str) -> list[tuple[str, str]]:
    out = []
    for item in decode_list(cell):
        first, newline, rest = item.partition("\n")
        label, has_value, value = _split_label(first)
        if newline and not has_value:
            raise CellError(_("Ligne illisible : « %(v)s » (attendu « libellé : précisions »).", v=first))
        out.append((label, value + newline + rest))
    return out


TRANSFER_HEAD = "Destinataire"
TRANSFER_PARTS = (("country", "Pays"), ("safeguard", "Garantie"), ("documentation", "Documentation"))


def encode_transfers(rows: Iterable[Mapping[str, Any]]) -> str:
    safeguards = vocabulary().safeguards
    lines: list[str] = []
    for row in rows:
        lines += _continued(TRANSFER_HEAD + SEP, row.get("recipient"))
        for key, label in TRANSFER_PARTS:
            value = safeguards.label(row.get(key)) if key == "safeguard" else row.get(key)
            if _text(value):
                lines += _continued(SUB + label + SEP, value)
    return "\n".join(lines)


def decode_transfers(cell: str) -> list[dict[str, Any]]:
    parts = {fold(label): key for key, label in TRANSFER_PARTS}
    rows: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    key = ""
    for line in cell.split("\n"):
        if line.startswith(INDENT) and current:
            current[key] = (current[key] or "") + "\n" + line[len(INDENT) :]
        elif not line.strip():
            continue
        elif line.startswith(SUB) and current:
            label, has_value, value = _split_label(line)
            key = parts.get(fold(label), "")
            if not key or not has_value:
                raise CellError(
                    _(
                        "Ligne de transfert illisible : « %(v)s » (attendu « Pays : … », « Garantie : … » "
                        "ou « Documentation : … »).",
                        v=line.strip(),
                    )
                )
            current[key] = value
        else:
            label, has_value, value = _split_label(line)
            if fold(label) != fold(TRANSFER_HEAD) or not has_value:
                raise CellError(
                    _(
                        "Chaque transfert commence par une ligne « Destinataire : … » ; lu : « %(v)s ».",
                        v=line.strip(),
                    )
                )
            key = "recipient"
            current = {"recipient": value, "country": None, "safeguard": None, "documentation": None}
            rows.append(current)
    safeguards = vocabulary().safeguards
    for row in rows:
        if row["safeguard"]:
            found = safeguards.find(row["safeguard"])
            if found is None:
                raise CellError(_("Garantie de transfert inconnue : « %(v)s ».", v=row["safeguard"].strip()))
            row["safeguard"] = found
    return rows


def encode_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(TIMEZONE).date() if value.tzinfo else value.date()
    return f"{value:%d/%m/%Y}"


def decode_date(cell: str) -> date | None:
    if not cell.strip():
        return None
    match = DATE_RE.match(cell)
    try:
        if match is None:
            raise ValueError(cell)
        day, month, year = (int(g) for g in match.groups())
        return date(year, month, day)
    except ValueError:
        raise CellError(_("Date invalide : « %(v)s » (attendu JJ/MM/AAAA).", v=cell.strip())) from None


Unknown = Callable[[str], str]  # the message for a label missing from its list


def _labels_in(labels: Labels, values: Iterable[str], unknown: Unknown) -> list[str]:
    out: list[str] = []
    for value in values:
        found = labels.find(value)
        if found is None:
            raise CellError(unknown(value.strip()))
        if found not in out:
            out.append(found)
    return out


def _one_label(labels: Labels, cell: str, unknown: Unknown) -> str | None:
    return _labels_in(labels, [cell], unknown)[0] if cell.strip() else None


# --- the columns of the "Registre" sheet -------------------------------------------------------


@dataclass
class Context:
    """What a row needs besides its cells: the catalogue, and the fiche it updates (if any)."""

    application_ids: dict[str, int | None]  # folded name → id (None: two applications share it)
    activity: ProcessingActivity | None = None


Encoder = Callable[[ProcessingActivity], str]
Decoder = Callable[[str, Context], dict[str, Any]]


@dataclass(frozen=True)
class Column:
    header: str
    group: str  # the field it carries; the data categories' columns form one group
    encode: Encoder
    decode: Decoder | None = None  # None: computed, exported only


def _text_column(name: str, header: str) -> Column:
    return Column(header, name, lambda a: _text(getattr(a, name)), lambda s, c: {name: s})


def _choice_column(name: str, header: str, labels: Callable[[], Labels], unknown: Unknown) -> Column:
    return Column(
        header,
        name,
        lambda a: labels().label(getattr(a, name)),
        lambda s, c: {name: _one_label(labels(), s, unknown)},
    )


def _choices_column(name: str, header: str, labels: Callable[[], Labels], unknown: Unknown) -> Column:
    return Column(
        header,
        name,
        lambda a: encode_list(labels().label(v) for v in getattr(a, name) or ()),
        lambda s, c: {name: _labels_in(labels(), decode_list(s), unknown)},
    )


def _date_column(name: str, header: str) -> Column:
    return Column(header, name, lambda a: encode_date(getattr(a, name)), lambda s, c: {name: decode_date(s)})


def _status(cell: str, ctx: Context) -> dict[str, Any]:
    found = _one_label(vocabulary().status, cell, lambda v: _("Statut inconnu : « %(v)s ».", v=v))
    return {"status": ActivityStatus(found) if found else ActivityStatus.DRAFT}


def _dpia_status(cell: str, ctx: Context) -> dict[str, Any]:
    found = _one_label(
        vocabulary().dpia_status, cell, lambda v: _("État de l'AIPD inconnu : « %(v)s ».", v=v)
    )
    return {"dpia_status": DpiaStatus(found) if found else DpiaStatus.NOT_STARTED}


def _encode_recipients(activity: ProcessingActivity) -> str:
    types = vocabulary().recipient_types
    return encode_pairs((types.label(r.get("type")), r.get("name")) for r in activity.recipients or ())


def _decode_recipients(cell: str, ctx: Context) -> dict[str, Any]:
    # The organisation a recipient is linked to is not in the file: it is kept when the same
    # recipient (type and name) is already on the fiche.
    linked = {
        (r.get("type"), _text(r.get("name"))): r.get("organisation_id")
        for r in (ctx.activity.recipients if ctx.activity is not None else None) or ()
    }
    rows = []
    for label, name in decode_pairs(cell):
        found = vocabulary().recipient_types.find(label)
        if found is None:
            raise CellError(_("Type de destinataire inconnu : « %(v)s ».", v=label))
        rows.append(
            {"type": found, "name": name or None, "organisation_id": linked.get((found, name.strip()))}
        )
    return {"recipients": rows}


def _encode_measures(activity: ProcessingActivity) -> str:
    measures = vocabulary().measures
    return encode_pairs(
        (measures.label(r.get("measure")), r.get("details")) for r in activity.security_measures or ()
    )


def _decode_measures(cell: str, ctx: Context) -> dict[str, Any]:
    rows = []
    for label, details in decode_pairs(cell):
        found = vocabulary().measures.find(label)
        if found is None:
            raise CellError(_("Mesure de sécurité inconnue : « %(v)s ».", v=label))
        rows.append({"measure": found, "details": details or None})
    return {"security_measures": rows}


def _decode_applications(cell: str, ctx: Context) -> dict[str, Any]:
    ids = []
    for name in decode_list(cell):
        key = fold(name)
        if key not in ctx.application_ids:
            raise CellError(_("Application inconnue du catalogue du syndicat : « %(v)s ».", v=name.strip()))
        if ctx.application_ids[key] is None:
            raise CellError(
                _("Plusieurs applications du catalogue portent ce nom : « %(v)s ».", v=name.strip())
            )
        ids.append(ctx.application_ids[key])
    return {"application_ids": sorted(set(ids))}


CATEGORIES_HEADER = "Catégories de données"
CATEGORY_KEYS = ("details", "active", "intermediate", "final")


def _held_categories(activity: ProcessingActivity) -> dict[str, Mapping[str, Any]]:
    held: dict[str, Mapping[str, Any]] = {}
    for row in activity.data_categories or ():
        held.setdefault(row.get("category"), row)  # a category is held once (the form's rule)
    return held


@cache
def category_columns() -> dict[str, tuple[str, str]]:
    """Header → (category id, key) of the four columns of each data category."""
    parts = ("Précisions", *(short(phase.label_fr) for phase in ref.retention_phases()))
    return {
        f"{short(category.label_fr)} — {part}": (category.id, key)
        for category in ref.data_categories()
        for key, part in zip(CATEGORY_KEYS, parts, strict=True)
    }


def _category_column(header: str, category_id: str, key: str) -> Column:
    return Column(
        header, "data_categories", lambda a: _text(_held_categories(a).get(category_id, {}).get(key))
    )


def decode_categories(cells: Mapping[str, str]) -> dict[str, Any]:
    """The data categories of a row: those listed in "Catégories de données", each with its four
    columns. A category written beside but not listed is an error (rather than a guess)."""
    categories = vocabulary().categories
    listed = _labels_in(
        categories,
        decode_list(cells.get(CATEGORIES_HEADER, "")),
        lambda v: _("Catégorie de données inconnue : « %(v)s ».", v=v),
    )
    written: dict[str, dict[str, str]] = {}
    for header, (category_id, key) in category_columns().items():
        if cells.get(header, "").strip():
            written.setdefault(category_id, {})[key] = cells[header]
    stray = [category_id for category_id in written if category_id not in listed]
    if stray:
        raise CellError(
            _(
                "La catégorie « %(v)s » est renseignée mais absente de la colonne « %(c)s » : "
                "ajoutez-la à cette colonne ou videz ses colonnes.",
                v=categories.label(stray[0]),
                c=CATEGORIES_HEADER,
            )
        )
    return {
        "data_categories": [
            {"category": category_id, **{key: written.get(category_id, {}).get(key) for key in CATEGORY_KEYS}}
            for category_id in listed
        ]
    }


def _yes_no(value: bool) -> str:
    return "Oui" if value else "Non"


@cache
def columns() -> tuple[Column, ...]:
    """The "Registre" sheet, in the order of the CNIL register model."""
    v = vocabulary
    return (
        Column("Référence", "reference", lambda a: a.reference, lambda s, c: {"reference": s}),
        _text_column("name", "Nom du traitement"),
        Column("Statut", "status", lambda a: v().status.label(a.status.value), _status),
        Column("Date de création", "", lambda a: encode_date(a.created_at)),
        Column("Dernière mise à jour", "", lambda a: encode_date(a.updated_at)),
        _text_column("joint_controllers", "Responsables conjoints"),
        _text_column("representative", "Représentant"),
        _text_column("purpose", "Finalité principale"),
        Column(
            "Sous-finalités",
            "sub_purposes",
            lambda a: encode_list(a.sub_purposes or ()),
            lambda s, c: {"sub_purposes": decode_list(s)},
        ),
        _choice_column(
            "legal_basis",
            "Base légale",
            lambda: v().legal_bases,
            lambda x: _("Base légale inconnue : « %(v)s ».", v=x),
        ),
        _text_column("legal_basis_text", "Texte de référence"),
        _choices_column(
            "data_subjects",
            "Personnes concernées",
            lambda: v().subjects,
            lambda x: _("Catégorie de personnes concernées inconnue : « %(v)s ».", v=x),
        ),
        _text_column("data_subjects_other", "Autres personnes concernées"),
        Column(
            CATEGORIES_HEADER,
            "data_categories",
            lambda a: encode_list(v().categories.label(r.get("category")) for r in a.data_categories or ()),
            lambda s, c: {},  # read with the category columns (decode_categories)
        ),
        *(_category_column(header, cid, key) for header, (cid, key) in category_columns().items()),
        _choices_column(
            "sensitive_data",
            "Données sensibles",
            lambda: v().sensitive,
            lambda x: _("Donnée sensible inconnue : « %(v)s ».", v=x),
        ),
        _choice_column(
            "art9_exception",
            "Exception art. 9.2",
            lambda: v().art9,
            lambda x: _("Exception de l'article 9.2 inconnue : « %(v)s ».", v=x),
        ),
        _text_column("sensitive_details", "Précisions données sensibles"),
        Column("Destinataires", "recipients", _encode_recipients, _decode_recipients),
        Column(
            "Transferts hors UE",
            "transfers",
            lambda a: encode_transfers(a.transfers or ()),
            lambda s, c: {"transfers": decode_transfers(s)},
        ),
        Column("Mesures de sécurité", "security_measures", _encode_measures, _decode_measures),
        Column(
            "Applications",
            "application_ids",
            lambda a: encode_list(x.name for x in a.applications),
            _decode_applications,
        ),
        _choices_column(
            "dpia_criteria",
            "Critères AIPD",
            lambda: v().criteria,
            lambda x: _("Critère AIPD inconnu : « %(v)s ».", v=x),
        ),
        _choice_column(
            "dpia_cnil_required",
            "Liste CNIL : AIPD obligatoire",
            lambda: v().cnil_required,
            lambda x: _("Type de traitement absent de la liste CNIL : « %(v)s ».", v=x),
        ),
        _choice_column(
            "dpia_cnil_exempt",
            "Liste CNIL : AIPD non requise",
            lambda: v().cnil_exempt,
            lambda x: _("Type de traitement absent de la liste CNIL : « %(v)s ».", v=x),
        ),
        _text_column("dpia_justification", "Motivation de la décision sur l'AIPD"),
        Column("AIPD requise", "", lambda a: _yes_no(a.is_dpia_required)),
        Column(
            "État AIPD", "dpia_status", lambda a: v().dpia_status.label(a.dpia_status.value), _dpia_status
        ),
        _date_column("dpia_done_on", "AIPD réalisée le"),
        _date_column("next_review_on", "Prochaine révision"),
    )


@cache
def headers() -> tuple[str, ...]:
    return tuple(column.header for column in columns())


@cache
def groups() -> dict[str, tuple[str, ...]]:
    """Field (group) → headers of its columns, for the columns that are imported."""
    out: dict[str, list[str]] = {}
    for column in columns():
        if column.group:
            out.setdefault(column.group, []).append(column.header)
    return {group: tuple(names) for group, names in out.items()}


def column_of_field(name: str) -> str:
    """The column an error about a fiche field is shown in."""
    if name in groups():
        return groups()[name][0]
    return str(acts.FIELD_LABELS.get(name, name))


def decode_group(group: str, cells: Mapping[str, str], ctx: Context) -> dict[str, Any]:
    if group == "data_categories":
        return decode_categories(cells)
    column = next(c for c in columns() if c.group == group)
    assert column.decode is not None  # noqa: S101 — groups() only lists imported columns
    return column.decode(cells.get(column.header, ""), ctx)


# --- export ------------------------------------------------------------------------------------


def catalogue_context(org: Organisation) -> Context:
    """The applications the organisation may link: its syndicate's catalogue (its own if a syndicate)."""
    owner = org.id if org.is_syndicate else org.syndicate_id
    apps = db.session.execute(
        select(Application.id, Application.name)
        .where(Application.syndicate_id == owner)
        .order_by(Application.sort_name, Application.id)
        .execution_options(**UNSCOPED)
    ).all()
    by_name: dict[str, int | None] = {}
    for app_id, name in apps:
        key = fold(name)
        by_name[key] = None if key in by_name else app_id
    return Context(application_ids=by_name)


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
    from openpyxl.styles import Alignment, Font  # noqa: PLC0415

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
    from openpyxl.utils import get_column_letter  # noqa: PLC0415

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
    from openpyxl import load_workbook  # noqa: PLC0415

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
            if index > MAX_ROWS + 1:
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
            if index > MAX_ROWS + 1:
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


# --- planning an import ------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    line: int | None  # None: about the file
    column: str | None
    message: str


@dataclass
class PlannedRow:
    line: int
    reference: str
    name: str
    action: str  # "create", "update", "unchanged"
    data: dict[str, Any] = field(default_factory=dict)
    activity: ProcessingActivity | None = None
    changed: list[str] = field(default_factory=list)  # headers of the columns that change

    @property
    def action_label(self) -> str:
        return {"create": _("Création"), "update": _("Modification"), "unchanged": _("Inchangée")}[
            self.action
        ]


@dataclass
class ImportPlan:
    fmt: str
    filename: str
    sha256: str
    rows: list[PlannedRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)
    token: str | None = None

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)

    @property
    def created(self) -> int:
        return self.count("create")

    @property
    def updated(self) -> int:
        return self.count("update")

    @property
    def unchanged(self) -> int:
        return self.count("unchanged")

    @property
    def has_changes(self) -> bool:
        return bool(self.created or self.updated)

    @property
    def can_confirm(self) -> bool:
        return not self.errors and self.has_changes

    @property
    def fingerprint(self) -> str:
        """What the confirmation will write: the file and the version of every fiche it changes."""
        parts = [
            self.sha256,
            *(f"{r.line}:{r.action}:{r.activity.id}:{r.activity.version}" for r in self.rows if r.activity),
            *(f"{r.line}:{r.action}" for r in self.rows if r.activity is None),
        ]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _header_errors(header: list[str]) -> tuple[dict[str, int], list[RowError]]:
    """Columns are found by name (any order; case and accents ignored). A column the file lacks
    leaves its field as it is on the fiches it updates."""
    known = {fold(h): h for h in headers()}
    positions: dict[str, int] = {}
    errors = []
    for index, name in enumerate(header):
        if not name:
            continue
        canonical = known.get(fold(name))
        if canonical is None:
            errors.append(RowError(1, name, _("Colonne inconnue : « %(c)s ».", c=name)))
        elif canonical in positions:
            errors.append(RowError(1, name, _("Colonne en double : « %(c)s ».", c=name)))
        else:
            positions[canonical] = index
    for required in ("Référence", "Nom du traitement"):
        if required not in positions:
            errors.append(RowError(1, required, _("Colonne obligatoire absente : « %(c)s ».", c=required)))
    category_headers = groups()["data_categories"]
    missing = [h for h in category_headers if h not in positions]
    if missing and len(missing) < len(category_headers):
        errors.append(
            RowError(
                1,
                missing[0],
                _(
                    "Colonne absente : « %(c)s » (les colonnes des catégories de données vont ensemble).",
                    c=missing[0],
                ),
            )
        )
    return positions, errors


def _current(activity: ProcessingActivity, name: str) -> Any:
    if name == "application_ids":
        return sorted(a.id for a in activity.applications)
    return getattr(activity, name)


def _same(a: Any, b: Any) -> bool:
    return audit.jsonable(a) == audit.jsonable(b)


def _changed_groups(cells: Mapping[str, str], activity: ProcessingActivity | None) -> list[str]:
    """The fields to read from a row: all of them for a new fiche; for an existing fiche, those
    whose cells differ from what its export writes (a cell left as exported changes nothing)."""
    present = {group: [h for h in names if h in cells] for group, names in groups().items()}
    present = {group: names for group, names in present.items() if names}
    if activity is None:
        return list(present)
    expected = dict(zip(headers(), row_cells(activity), strict=True))
    return [group for group, names in present.items() if any(cells[h] != expected[h] for h in names)]


def _plan_row(
    line: int, cells: dict[str, str], activity: ProcessingActivity | None, ctx: Context, *, may_validate: bool
) -> tuple[PlannedRow, list[RowError]]:
    """One row: what it changes, and every error with its column."""
    ctx.activity = activity
    plain = {header: unneutralise(value) for header, value in cells.items()}
    parsed: dict[str, Any] = {}
    errors: list[RowError] = []
    for group in _changed_groups(cells, activity):
        try:
            parsed.update(decode_group(group, plain, ctx))
        except CellError as error:
            errors.append(RowError(line, column_of_field(group), error.message))
    data = acts.normalise(parsed)
    name = plain.get("Nom du traitement", "").strip()
    row = PlannedRow(line, plain.get("Référence", "").strip().upper(), name, "create", activity=activity)
    if activity is None:
        data.setdefault("name", "")
        checked = acts.validate(data)
        old_status = None
    else:
        data.pop("reference", None)  # the key of the row, never changed by it
        data = {k: v for k, v in data.items() if not _same(v, _current(activity, k))}
        row.action = "update" if data or errors else "unchanged"
        row.name = row.name or activity.name
        unreadable = [e.column for e in errors if e.column]
        row.changed = list(dict.fromkeys([*(column_of_field(k) for k in data), *unreadable]))
        # The whole fiche after the change, for the rules that tie fields together.
        after = acts.normalise({**acts.content_of(activity), **data})
        checked = [
            e
            for e in acts.validate(after)
            if e.field in data or (e.field == "dpia_done_on" and "dpia_status" in data)
        ]
        old_status = activity.status
    errors += [RowError(line, column_of_field(e.field), e.message) for e in checked]
    status = data.get("status")
    if (
        status in (ActivityStatus.VALIDATED, ActivityStatus.ARCHIVED)
        and status != old_status
        and not may_validate
    ):
        errors.append(
            RowError(
                line,
                "Statut",
                _("Seul le DPO peut valider ou archiver une fiche (statut « %(s)s »).", s=status.label),
            )
        )
    row.data = data
    return row, errors


def _stale_warning(line: int, cells: Mapping[str, str], activity: ProcessingActivity) -> RowError | None:
    stamped = cells.get("Dernière mise à jour", "")
    if not stamped or stamped == encode_date(activity.updated_at):
        return None
    return RowError(
        line,
        "Dernière mise à jour",
        _(
            "La fiche %(r)s a été modifiée le %(d)s, après cet export : ses colonnes modifiées dans le "
            "fichier remplaceront les valeurs actuelles.",
            r=activity.reference,
            d=encode_date(activity.updated_at),
        ),
    )


def plan_import(org: Organisation, content: bytes, filename: str, *, may_validate: bool) -> ImportPlan:
    """Read and check every row of a file against the register. Writes nothing."""
    table = read_table(content, filename)
    plan = ImportPlan(table.fmt, Path(filename or "").name[:200], hashlib.sha256(content).hexdigest())
    positions, plan.errors = _header_errors(table.header)
    if plan.errors:
        return plan
    ctx = catalogue_context(org)
    existing = {
        a.reference.upper(): a
        for a in db.session.scalars(
            select(ProcessingActivity).where(ProcessingActivity.organisation_id == org.id)
        )
    }
    seen: dict[str, int] = {}
    for line, raw in table.rows:
        cells = {h: (raw[i] if i < len(raw) else "") for h, i in positions.items()}
        reference = unneutralise(cells["Référence"]).strip().upper()
        if reference in seen:
            plan.errors.append(
                RowError(
                    line,
                    "Référence",
                    _("La référence « %(r)s » figure déjà ligne %(n)d.", r=reference, n=seen[reference]),
                )
            )
            continue
        if reference:
            seen[reference] = line
        activity = existing.get(reference) if reference else None
        if activity is not None and activity.is_model:
            plan.errors.append(
                RowError(
                    line,
                    "Référence",
                    _(
                        "« %(r)s » est la référence d'un modèle : un modèle ne s'importe pas dans le "
                        "registre.",
                        r=reference,
                    ),
                )
            )
            continue
        row, errors = _plan_row(line, cells, activity, ctx, may_validate=may_validate)
        plan.rows.append(row)
        plan.errors += errors
        if (
            activity is not None
            and row.action == "update"
            and (warning := _stale_warning(line, cells, activity))
        ):
            plan.warnings.append(warning)
    order = {header: index for index, header in enumerate(headers())}
    plan.errors.sort(key=lambda e: (e.line or 0, order.get(e.column or "", -1)))
    return plan


class ImportFailed(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int


def apply_import(org: Organisation, actor: User | None, plan: ImportPlan) -> ImportResult:
    """Write a checked plan through the fiche services (flush only: the view commits once, or rolls
    everything back on :class:`ImportFailed`)."""
    if plan.errors:
        raise ImportFailed(_("Le fichier contient des erreurs : rien n'a été importé."))
    # Rows with a reference first, so that a row without one cannot take a reference the file uses.
    ordered = sorted(plan.rows, key=lambda r: (r.action != "update", not r.reference, r.line))
    for row in ordered:
        try:
            if row.action == "update" and row.activity is not None:
                acts.update_activity(row.activity, actor, {**row.data, "version": row.activity.version})
            elif row.action == "create":
                acts.create_activity(org, actor, row.data)
        except FieldError as error:
            raise ImportFailed(
                _("Ligne %(n)d : %(m)s Rien n'a été importé.", n=row.line, m=error.message)
            ) from error
        except (EditConflict, IntegrityError) as error:
            raise ImportFailed(
                _(
                    "Ligne %(n)d : la fiche a changé pendant l'import. Rien n'a été importé ; recommencez.",
                    n=row.line,
                )
            ) from error
    result = ImportResult(plan.created, plan.updated, plan.unchanged)
    if plan.has_changes:
        audit.record(
            org,
            actor,
            "register.import",
            audit.Ref("Register", org.id),
            {
                "format": (None, plan.fmt),
                "filename": (None, plan.filename),
                "sha256": (None, plan.sha256),
                "created": (None, result.created),
                "updated": (None, result.updated),
                "unchanged": (None, result.unchanged),
            },
        )
    return result


# --- the uploaded file between preview and confirmation ----------------------------------------


def _upload_dir() -> Path:
    folder = current_app.config.get("REGISTER_IMPORT_DIR") or Path(current_app.instance_path) / "imports"
    path = Path(folder)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _ttl_seconds() -> int:
    return int(current_app.config.get("REGISTER_IMPORT_TTL_MINUTES", 30)) * 60


def _purge_expired(folder: Path) -> None:
    limit = time.time() - _ttl_seconds()
    for path in folder.glob("*.json"):
        try:
            if path.stat().st_mtime < limit:
                path.with_suffix(".upload").unlink(missing_ok=True)
                path.unlink(missing_ok=True)
        except OSError:
            continue


def store_upload(content: bytes, filename: str, user_id: int, org_id: int) -> str:
    """Keep an uploaded file for its confirmation; returns the token that names it."""
    folder = _upload_dir()
    _purge_expired(folder)
    token = secrets.token_urlsafe(32)
    (folder / f"{token}.upload").write_bytes(content)
    meta = {"user_id": user_id, "org_id": org_id, "filename": filename, "stored_at": time.time()}
    (folder / f"{token}.json").write_text(json.dumps(meta), encoding="utf-8")
    return token


def load_upload(token: str, user_id: int, org_id: int) -> tuple[bytes, str]:
    """The file stored under ``token`` by this user for this organisation, if not expired."""
    gone = ImportFileError(
        _("Le fichier à importer n'est plus disponible (délai dépassé) : déposez-le à nouveau.")
    )
    if not TOKEN_RE.match(token or ""):
        raise gone
    folder = _upload_dir()
    try:
        meta = json.loads((folder / f"{token}.json").read_text(encoding="utf-8"))
        content = (folder / f"{token}.upload").read_bytes()
    except (OSError, ValueError):
        raise gone from None
    if meta.get("user_id") != user_id or meta.get("org_id") != org_id:
        raise gone
    if time.time() - float(meta.get("stored_at", 0)) > _ttl_seconds():
        discard_upload(token)
        raise gone
    return content, str(meta.get("filename") or "")


def discard_upload(token: str) -> None:
    if not TOKEN_RE.match(token or ""):
        return
    folder = _upload_dir()
    (folder / f"{token}.upload").unlink(missing_ok=True)
    (folder / f"{token}.json").unlink(missing_ok=True)


def preview_upload(
    org: Organisation, user: User, content: bytes, filename: str, *, may_validate: bool
) -> ImportPlan:
    """Plan an uploaded file; keep it for the confirmation when there is something to confirm."""
    plan = plan_import(org, content, filename, may_validate=may_validate)
    if plan.can_confirm:
        plan.token = store_upload(content, plan.filename, user.id, org.id)
    return plan


def plan_stored(org: Organisation, user: User, token: str, *, may_validate: bool) -> ImportPlan:
    """Plan again the file kept under ``token`` (the register may have changed since the preview)."""
    content, filename = load_upload(token, user.id, org.id)
    plan = plan_import(org, content, filename, may_validate=may_validate)
    plan.token = token
    return plan
