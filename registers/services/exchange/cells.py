"""Cells of the register file: the reference lists' vocabulary (French label out, any label or id
in) and the encodings of multi-valued cells and dates (see :mod:`registers.services.exchange`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import force_locale
from flask_babel import gettext as _

from core.exports import clean_text
from core.params import MAX_YEAR, MIN_YEAR, date_in_range
from core.text import fold
from registers import reference as ref
from registers.models import ActivityStatus, DpiaStatus

INDENT = "    "  # a value going on over several lines
SUB = "  "  # a sub-field of a transfer
SEP = " : "
TIMEZONE = ZoneInfo("Europe/Paris")  # dates of the file are those of the people reading it


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


def _indented(text: str) -> str:
    """A value's own line breaks going on with :data:`INDENT` (``"\n".join(_continued("", text))``)."""
    return text.replace("\n", _GOING_ON) if "\n" in text else text


_GOING_ON = "\n" + INDENT


def encode_list(values: Iterable[Any]) -> str:
    return "\n".join([_indented(_text(value)) for value in values])


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
        text = _text(value)
        lines.append(label + SEP + _indented(text) if text else label)
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
    return f"{value.day:02d}/{value.month:02d}/{value.year:04d}"  # JJ/MM/AAAA, without strftime


# Dates as a DPO's spreadsheet holds them: JJ/MM/AAAA (or with - or .), ISO, with a time or not,
# or a number of days as Excel counts them (its "serial" dates, when a date cell lost its format).
_DMY_RE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_YMD_RE = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$"
)
_SERIAL_RE = re.compile(r"^\d{1,6}(?:\.\d+)?$")
EXCEL_EPOCH = date(1899, 12, 30)  # Excel's day 0 (its 1900 leap-year bug included)


def decode_date(cell: str) -> date | None:
    """A date from a cell: JJ/MM/AAAA, AAAA-MM-JJ (a time after it is ignored) or an Excel serial
    number. A date that does not exist (31/02/2024) or a year out of bounds is an error."""
    text = cell.strip()
    if not text:
        return None
    parts: tuple[int, int, int] | None = None
    if match := _DMY_RE.match(text):
        day, month, year = (int(g) for g in match.groups())
        parts = (year, month, day)
    elif match := _YMD_RE.match(text):
        year, month, day = (int(g) for g in match.groups())
        parts = (year, month, day)
    elif _SERIAL_RE.match(text):
        serial = int(float(text))
        if serial < 1:
            raise CellError(_("Date invalide : « %(v)s » (attendu JJ/MM/AAAA).", v=text))
        value = EXCEL_EPOCH + timedelta(days=serial)
        parts = (value.year, value.month, value.day)
    if parts is None:
        raise CellError(
            _(
                "Date illisible : « %(v)s » (attendu JJ/MM/AAAA, AAAA-MM-JJ ou une date Excel).",
                v=text,
            )
        )
    try:
        value = date(*parts)
    except ValueError:
        raise CellError(
            _("Date invalide : « %(v)s » n'existe pas dans le calendrier (attendu JJ/MM/AAAA).", v=text)
        ) from None
    if not date_in_range(value):  # the same bounds as every date typed in a form (core.params)
        raise CellError(
            _(
                "Date hors limites : « %(v)s » (années %(min)s à %(max)s).",
                v=text,
                min=MIN_YEAR,
                max=MAX_YEAR,
            )
        )
    return value


# --- forgiving values where the meaning is certain ---------------------------------------------

YES = frozenset({"oui", "o", "yes", "y", "x", "1", "vrai", "true", "✓", "✔", "☑", "ok"})
NO = frozenset({"non", "n", "no", "0", "faux", "false", "☐"})
# What a cell says when a list is empty: certain, read as "nothing".
NOTHING = frozenset(
    {
        "non",
        "aucun",
        "aucune",
        "neant",
        "sans objet",
        "na",
        "n/a",
        "-",
        "—",
        "–",
        "none",
        "no",
        "pas de transfert",
    }
)


def decode_yes_no(cell: str) -> bool | None:
    """True or False from oui/non, x, yes/no, 1/0, vrai/faux… (None: empty); anything else is an error."""
    text = fold(cell).strip().rstrip(".")
    if not text:
        return None
    if text in YES:
        return True
    if text in NO:
        return False
    raise CellError(_("Valeur illisible : « %(v)s » (attendu oui ou non).", v=cell.strip()))


def says_nothing(cell: str) -> bool:
    return fold(cell).strip().rstrip(".") in NOTHING


_WORD_RE = re.compile(r"[^a-z0-9]+")
_ARTICLE_RE = re.compile(r"(?:^|\b)6\s*[.(\s-]?\s*1\s*[.)\s-]?\s*[.(\s-]?\s*([a-f])\b\)?")
_STOP_WORDS = frozenset(
    {"l", "le", "la", "les", "d", "de", "du", "des", "un", "une", "a", "au", "aux", "art", "article", "rgpd"}
)
# Wordings of the legal bases (Art. 6.1) met in registers: the CNIL's, Madis's, Égide's, English.
LEGAL_BASIS_WORDINGS = {
    "6.1.a": ("consentement", "consentement de la personne", "consent"),
    "6.1.b": (
        "contrat",
        "execution contrat",
        "execution du contrat",
        "mesures precontractuelles",
        "execution contrat ou mesures precontractuelles",
        "contract",
    ),
    "6.1.c": ("obligation legale", "respect obligation legale", "legal obligation"),
    "6.1.d": (
        "interet vital",
        "interets vitaux",
        "sauvegarde interets vitaux",
        "sauvegarde interet vital",
        "vital interest",
    ),
    "6.1.e": (
        "mission interet public",
        "execution mission interet public",
        "mission service public",
        "interet public",
        "exercice autorite publique",
        "mission interet public ou exercice autorite publique",
        "mission interet public exercice autorite publique",
        "public task",
        "public interest",
    ),
    "6.1.f": ("interet legitime", "interets legitimes", "legitimate interest"),
}
UNDETERMINED = frozenset({"a determiner", "a definir", "non determinee", "non determine", "inconnue", "?"})


def _words(text: str) -> str:
    words = [w for w in _WORD_RE.split(fold(text)) if w and w not in _STOP_WORDS]
    return " ".join(w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in words)


@cache
def _legal_basis_keys() -> dict[str, str]:
    keys = {
        _words(wording): basis for basis, wordings in LEGAL_BASIS_WORDINGS.items() for wording in wordings
    }
    for item in ref.legal_bases():
        for text in (item.label_fr, item.label_en):
            keys[_words(text)] = item.id
    return keys


def decode_legal_basis(cell: str) -> str | None:
    """The Art. 6.1 basis a cell names: "6.1.f", "Art. 6(1)(f)", "Intérêt légitime", "L'intérêt
    légitime", "intérêts légitimes"… (None: empty). Unknown wording is an error, never a guess."""
    text = cell.strip()
    if not text:
        return None
    folded = fold(text)
    if folded.strip(" .") in UNDETERMINED:
        return None
    match = _ARTICLE_RE.search(folded)
    if match:
        return f"6.1.{match.group(1)}"
    found = _legal_basis_keys().get(_words(text))
    if found is None:
        found = vocabulary().legal_bases.find(text)
    if found is None:
        raise CellError(_("Base légale inconnue : « %(v)s ».", v=text))
    return found


_DURATION_RE = re.compile(r"^\s*([+-]?\s*\d+(?:[.,]\d+)?)\s*(.*)$")
_UNITS = (
    "jour",
    "jours",
    "j",
    "semaine",
    "semaines",
    "mois",
    "an",
    "ans",
    "annee",
    "annees",
    "year",
    "years",
    "month",
    "months",
    "day",
    "days",
    "week",
    "weeks",
)


def check_duration(cell: str) -> str:
    """A retention period as written ("5 ans", "durée du contrat + 2 ans", "jusqu'à la fin de la
    scolarité"); a negative or zero number, or a bare number without its unit, is an error."""
    text = cell.strip()
    match = _DURATION_RE.match(fold(text))
    if not match:
        return cell
    number = match.group(1).replace(" ", "").replace(",", ".")
    rest = match.group(2).strip()
    if float(number) <= 0 or number.startswith("-"):
        raise CellError(_("Durée de conservation impossible : « %(v)s » (une durée est positive).", v=text))
    unit = _WORD_RE.split(rest)[0] if rest else ""
    if not rest or (unit and unit not in _UNITS and not rest[0].isalpha()):
        raise CellError(
            _(
                "Durée de conservation illisible : « %(v)s » (précisez l'unité, par exemple « 5 ans »).",
                v=text,
            )
        )
    return cell


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
