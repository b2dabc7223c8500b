"""The columns of the "Registre" sheet: headers, encoders and decoders, and the groups of columns
that carry one field of a fiche (see :mod:`registers.services.exchange`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from operator import attrgetter
from typing import Any

from flask_babel import gettext as _

from core.text import fold, loose
from registers import reference as ref
from registers.models import ActivityStatus, DpiaStatus, ProcessingActivity
from registers.services import activities as acts
from registers.services.exchange.cells import (
    CellError,
    Labels,
    Unknown,
    _labels_in,
    _one_label,
    _text,
    decode_date,
    decode_list,
    decode_pairs,
    decode_transfers,
    encode_date,
    encode_list,
    encode_pairs,
    encode_transfers,
    short,
    vocabulary,
)

SHEET_REGISTER = "Registre"


# --- the columns of the "Registre" sheet -------------------------------------------------------


@dataclass
class Context:
    """What a row needs besides its cells: the catalogue, and the fiche it updates (if any)."""

    application_ids: dict[str, int | None]  # folded name → id (None: two applications share it)
    activity: ProcessingActivity | None = None
    # The organisation's processors, core.text.loose name → id (None: two share it): a "Sous-traitants"
    # recipient of that name points to the processor.
    processor_ids: dict[str, int | None] = field(default_factory=dict)


PROCESSOR_TYPE = "sous_traitant"  # the recipient type of processors (reference list id)

# A fiche's value in a column: text, or a value written as its str() (None: empty); the export's
# row_cells cleans and neutralises every cell.
Encoder = Callable[[ProcessingActivity], Any]
Decoder = Callable[[str, Context], dict[str, Any]]


@dataclass(frozen=True)
class Column:
    header: str
    group: str  # the field it carries; the data categories' columns form one group
    encode: Encoder
    decode: Decoder | None = None  # None: computed, exported only
    category: tuple[str, str] | None = None  # a data category's column: (category id, key)


def _text_column(name: str, header: str) -> Column:
    return Column(header, name, attrgetter(name), lambda s, c: {name: s})


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
    # The organisation and the processor a recipient is linked to are not in the file: they are
    # kept when the same recipient (type and name) is already on the fiche; a processor recipient
    # named as one of the organisation's processors points to it.
    linked = {
        (r.get("type"), _text(r.get("name"))): (r.get("organisation_id"), r.get("processor_id"))
        for r in (ctx.activity.recipients if ctx.activity is not None else None) or ()
    }
    rows = []
    for label, name in decode_pairs(cell):
        found = vocabulary().recipient_types.find(label)
        if found is None:
            raise CellError(_("Type de destinataire inconnu : « %(v)s ».", v=label))
        organisation_id, processor_id = linked.get((found, name.strip()), (None, None))
        if processor_id is None and found == PROCESSOR_TYPE and name:
            processor_id = ctx.processor_ids.get(loose(name))
        rows.append(
            {
                "type": found,
                "name": name or None,
                "organisation_id": organisation_id,
                "processor_id": processor_id,
            }
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
        header,
        "data_categories",
        lambda a: _text(_held_categories(a).get(category_id, {}).get(key)),
        category=(category_id, key),
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
        Column("Référence", "reference", attrgetter("reference"), lambda s, c: {"reference": s}),
        _text_column("name", "Nom du traitement"),
        Column("Statut", "status", lambda a: v().status.label(a.status.value), _status),
        # The register's own dates: those declared by the register the fiche was imported from,
        # else Égide's (imported elsewhere, they are kept as declared dates).
        Column("Date de création", "", lambda a: encode_date(a.declared_created_on or a.created_at)),
        Column("Dernière mise à jour", "", lambda a: encode_date(a.declared_updated_on or a.updated_at)),
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
