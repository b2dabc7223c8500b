"""The content of a processing activity ("fiche de traitement") and its rules: the field lists,
normalisation and validation, completeness against the CNIL register model, the DPIA verdict, and
copies of a fiche's content.

A fiche's content is exchanged as a plain dict keyed by column name (see :data:`CONTENT_FIELDS` and
:data:`LOCAL_FIELDS`): forms, imports, restores and model inheritance all go through
:func:`normalise` and the writers of :mod:`registers.services.activities`, so the rules are checked
once. Other code reaches these names through :mod:`registers.services.activities`, which
re-exports them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from core import audit
from core.forms import FieldError
from core.params import parse_int
from registers import reference as ref
from registers.models import ActivityStatus, DpiaStatus, ProcessingActivity

# Fields a model passes on to the entries inheriting from it (the description of the processing).
CONTENT_FIELDS: tuple[str, ...] = (
    "name",
    "purpose",
    "sub_purposes",
    "legal_basis",
    "legal_basis_text",
    "data_subjects",
    "data_subjects_other",
    "data_categories",
    "sensitive_data",
    "art9_exception",
    "sensitive_details",
    "recipients",
    "transfers",
    "security_measures",
    "dpia_criteria",
    "dpia_cnil_required",
    "dpia_cnil_exempt",
    "dpia_justification",
)
# Fields that always belong to the organisation's own register.
LOCAL_FIELDS: tuple[str, ...] = (
    "reference",
    "status",
    "next_review_on",
    "joint_controllers",
    "representative",
    "dpia_status",
    "dpia_done_on",
    "declared_created_on",
    "declared_updated_on",
)
ALL_FIELDS = CONTENT_FIELDS + LOCAL_FIELDS
LIST_FIELDS = frozenset(
    {
        "sub_purposes",
        "data_subjects",
        "data_categories",
        "sensitive_data",
        "recipients",
        "transfers",
        "security_measures",
        "dpia_criteria",
    }
)
AUDITED_FIELDS = (*ALL_FIELDS, "application_ids")

FIELD_LABELS: dict[str, Any] = {
    "reference": _l("Référence"),
    "name": _l("Nom du traitement"),
    "status": _l("Statut"),
    "next_review_on": _l("Prochaine révision"),
    "joint_controllers": _l("Responsables conjoints"),
    "representative": _l("Représentant"),
    "purpose": _l("Finalité principale"),
    "sub_purposes": _l("Sous-finalités"),
    "legal_basis": _l("Base légale"),
    "legal_basis_text": _l("Texte de référence de la base légale"),
    "data_subjects": _l("Catégories de personnes concernées"),
    "data_subjects_other": _l("Autres personnes concernées"),
    "data_categories": _l("Catégories de données et durées de conservation"),
    "sensitive_data": _l("Données sensibles"),
    "art9_exception": _l("Exception de l'article 9.2"),
    "sensitive_details": _l("Précisions sur les données sensibles"),
    "recipients": _l("Destinataires"),
    "transfers": _l("Transferts hors de l'Union européenne"),
    "security_measures": _l("Mesures de sécurité"),
    "dpia_criteria": _l("Critères AIPD remplis"),
    "dpia_cnil_required": _l("Liste CNIL des traitements soumis à AIPD"),
    "dpia_cnil_exempt": _l("Liste CNIL des traitements dispensés d'AIPD"),
    "dpia_justification": _l("Motivation de la décision sur l'AIPD"),
    "dpia_status": _l("État de l'AIPD"),
    "dpia_done_on": _l("AIPD réalisée le"),
    "application_ids": _l("Applications utilisées"),
    "declared_created_on": _l("Date de création déclarée"),
    "declared_updated_on": _l("Date de mise à jour déclarée"),
}
DATE_FIELDS = ("next_review_on", "dpia_done_on", "declared_created_on", "declared_updated_on")

REFERENCE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,29}$")
# What a fiche holds, as long as a DPO writes (a security measure's precisions run to pages): past
# these limits a save is refused with the field named — never cut (normalise keeps every character).
MAX_LIST_ITEMS = 100
MAX_NAME = 200  # the column's size
MAX_TEXT = 20_000  # a text field (purpose, legal text, justification…)
MAX_ITEM_TEXT = 10_000  # a sub-purpose, or a cell of a list row (precisions, retention, recipient…)


# --- normalisation ------------------------------------------------------------------------------


@cache
def _known(items: Callable[[], tuple[ref.Item, ...]]) -> frozenset[str]:
    """The ids of one of the reference lists (static data of the application, the same for every
    organisation): built once rather than at each of the many checks of a bulk import."""
    return ref.ids(items())


def _text(value: Any) -> str | None:
    """Stripped text (None when empty), never shortened: :func:`validate` refuses what is too long."""
    if value is None:
        return None
    return (value if type(value) is str else str(value)).strip() or None


def _strings(values: Iterable[Any] | None, allowed: frozenset[str] | None = None) -> list[str]:
    out: list[str] = []
    for value in values or ():
        text = _text(value)
        if text and text not in out and (allowed is None or text in allowed):
            out.append(text)
    return out


def _rows(
    values: Iterable[Mapping[str, Any]] | None, keys: tuple[str, ...], key: str
) -> list[dict[str, Any]]:
    """Rows of a list field, each with exactly ``keys``; rows whose ``key`` is empty are dropped."""
    out = []
    for row in values or ():
        clean = {k: (row.get(k) if k in ID_KEYS else _text(row.get(k))) for k in keys}
        if clean.get(key):
            out.append(clean)
    return out


CATEGORY_KEYS = ("category", "details", "active", "intermediate", "final")
RECIPIENT_KEYS = ("type", "name", "organisation_id", "processor_id")
ID_KEYS = frozenset({"organisation_id", "processor_id"})  # ids in list rows: kept as numbers
TRANSFER_KEYS = ("recipient", "country", "safeguard", "documentation")
MEASURE_KEYS = ("measure", "details")


def _recipients(values: Iterable[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    rows = _rows(values, RECIPIENT_KEYS, "type")
    for row in rows:
        row["organisation_id"] = _int_or_none(row.get("organisation_id"))
        row["processor_id"] = _int_or_none(row.get("processor_id"))
    return rows


def _date(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) and value else (value or None)


# How each field is normalised (any other field of ALL_FIELDS: stripped text, None when empty).
_NORMALISERS: dict[str, Callable[[Any], Any]] = {
    "sub_purposes": _strings,
    "data_subjects": lambda value: _strings(value, _known(ref.data_subjects)),
    "sensitive_data": lambda value: _strings(value, _known(ref.sensitive_data)),
    "dpia_criteria": lambda value: _strings(value, _known(ref.dpia_criteria)),
    "data_categories": lambda value: _rows(value, CATEGORY_KEYS, "category"),
    "recipients": _recipients,
    "transfers": lambda value: _rows(value, TRANSFER_KEYS, "recipient"),
    "security_measures": lambda value: _rows(value, MEASURE_KEYS, "measure"),
    "status": lambda value: ActivityStatus(value) if value else ActivityStatus.DRAFT,
    "dpia_status": lambda value: DpiaStatus(value) if value else DpiaStatus.NOT_STARTED,
    **dict.fromkeys(DATE_FIELDS, _date),
    "name": lambda value: _text(value) or "",
    "reference": lambda value: (_text(value) or "").upper(),
}


def normalise(data: Mapping[str, Any]) -> dict[str, Any]:
    """The canonical content of a fiche from a form, an import or a stored snapshot.

    Unknown reference ids are kept out of the multi-choice fields; everything else is checked
    by :func:`validate`, which names the field.
    """
    out: dict[str, Any] = {}
    normalisers = _NORMALISERS
    for name in ALL_FIELDS:
        if name not in data:
            continue
        out[name] = normalisers.get(name, _text)(data[name])
    if "application_ids" in data:
        ids = (parse_int(v) for v in data["application_ids"] or ())
        out["application_ids"] = sorted({i for i in ids if i is not None})
    return out


def _int_or_none(value: Any) -> int | None:
    return parse_int(value)  # bounded: an id from a file or a form never overflows a column


def validate(data: Mapping[str, Any]) -> list[FieldError]:
    """Rules a fiche must follow to be saved at all (completeness is separate: a draft may be
    incomplete, never wrong). Returns every error, each tied to its field."""
    errors: list[FieldError] = _length_errors(data)
    if "name" in data and not data["name"]:
        errors.append(FieldError("name", _("Le nom du traitement est obligatoire.")))
    if "reference" in data and data["reference"] and not REFERENCE_RE.match(data["reference"]):
        errors.append(
            FieldError("reference", _("Référence : lettres, chiffres, « . _ / - », 30 caractères au plus."))
        )
    basis = data.get("legal_basis")
    if basis and basis not in _known(ref.legal_bases):
        errors.append(FieldError("legal_basis", _("Base légale inconnue.")))
    exception = data.get("art9_exception")
    if exception and exception not in _known(ref.art9_exceptions):
        errors.append(FieldError("art9_exception", _("Exception de l'article 9.2 inconnue.")))
    known_categories = _known(ref.data_categories)
    for row in data.get("data_categories", ()):
        if row["category"] not in known_categories:
            errors.append(
                FieldError("data_categories", _("Catégorie de données inconnue : %(v)s", v=row["category"]))
            )
    known_types = _known(ref.recipient_types)
    for row in data.get("recipients", ()):
        if row["type"] not in known_types:
            errors.append(FieldError("recipients", _("Type de destinataire inconnu : %(v)s", v=row["type"])))
    known_safeguards = _known(ref.transfer_safeguards)
    for row in data.get("transfers", ()):
        if not row.get("country"):
            errors.append(FieldError("transfers", _("Indiquez le pays de destination de chaque transfert.")))
        if row.get("safeguard") and row["safeguard"] not in known_safeguards:
            errors.append(
                FieldError("transfers", _("Garantie de transfert inconnue : %(v)s", v=row["safeguard"]))
            )
    known_measures = _known(ref.security_measures)
    for row in data.get("security_measures", ()):
        if row["measure"] not in known_measures:
            errors.append(
                FieldError("security_measures", _("Mesure de sécurité inconnue : %(v)s", v=row["measure"]))
            )
    if data.get("dpia_cnil_required") and data["dpia_cnil_required"] not in _known(ref.dpia_required_types):
        errors.append(FieldError("dpia_cnil_required", _("Élément inconnu de la liste CNIL.")))
    if data.get("dpia_cnil_exempt") and data["dpia_cnil_exempt"] not in _known(ref.dpia_exempt_types):
        errors.append(FieldError("dpia_cnil_exempt", _("Élément inconnu de la liste CNIL.")))
    if data.get("dpia_status") == DpiaStatus.DONE and not data.get("dpia_done_on"):
        errors.append(FieldError("dpia_done_on", _("Indiquez la date de réalisation de l'AIPD.")))
    return errors


def _too_long(name: str, limit: int, length: int) -> FieldError:
    return FieldError(
        name,
        _(
            "%(f)s : %(n)d caractères, au-delà de la limite de %(max)d. Rien n'est coupé : "
            "raccourcissez le texte ou répartissez-le.",
            f=FIELD_LABELS.get(name, name),
            n=length,
            max=limit,
        ),
    )


def _longest_text(item: Any) -> int:
    """The length of the longest text of a list item (a text, or a row's texts but its ids)."""
    if isinstance(item, str):
        return len(item)
    longest = 0
    if isinstance(item, Mapping):
        for k, v in item.items():
            if isinstance(v, str) and len(v) > longest and k != "organisation_id":
                longest = len(v)
    return longest


def _length_errors(data: Mapping[str, Any]) -> list[FieldError]:
    """Texts over their limit (:data:`MAX_TEXT`…) and lists over :data:`MAX_LIST_ITEMS`: one error per
    field, naming the longest text — the stored content is never shortened behind the writer's back."""
    errors: list[FieldError] = []
    for name, value in data.items():
        if name == "name" and isinstance(value, str) and len(value) > MAX_NAME:
            errors.append(_too_long(name, MAX_NAME, len(value)))
        elif name in ALL_FIELDS and name not in LIST_FIELDS and isinstance(value, str):
            if name != "reference" and len(value) > MAX_TEXT:
                errors.append(_too_long(name, MAX_TEXT, len(value)))
        elif name in LIST_FIELDS and isinstance(value, list):
            if len(value) > MAX_LIST_ITEMS:
                errors.append(
                    FieldError(
                        name,
                        _(
                            "%(f)s : %(n)d éléments, au-delà de la limite de %(max)d.",
                            f=FIELD_LABELS.get(name, name),
                            n=len(value),
                            max=MAX_LIST_ITEMS,
                        ),
                    )
                )
                continue
            longest = max(map(_longest_text, value), default=0)
            if longest > MAX_ITEM_TEXT:
                errors.append(_too_long(name, MAX_ITEM_TEXT, longest))
    return errors


# --- derived values ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Completeness:
    score: int
    missing: list[str]  # labels of what is missing, in the order of the CNIL model


def completeness(content: Mapping[str, Any]) -> Completeness:
    """Which fields of the CNIL register model are filled in; a validated fiche should reach 100."""
    checks: list[tuple[bool, Any]] = [
        (bool(content.get("purpose")), FIELD_LABELS["purpose"]),
        (bool(content.get("legal_basis")), FIELD_LABELS["legal_basis"]),
        (
            bool(content.get("data_subjects") or content.get("data_subjects_other")),
            FIELD_LABELS["data_subjects"],
        ),
        (bool(content.get("data_categories")), _l("Catégories de données")),
        (
            bool(content.get("data_categories"))
            and all(row.get("active") for row in content["data_categories"]),
            _l("Durée de conservation de chaque catégorie de données"),
        ),
        (bool(content.get("recipients")), FIELD_LABELS["recipients"]),
        (bool(content.get("security_measures")), FIELD_LABELS["security_measures"]),
    ]
    if ref.legal_basis_needs_text(content.get("legal_basis")):
        checks.append((bool(content.get("legal_basis_text")), FIELD_LABELS["legal_basis_text"]))
    if any(ref.sensitive_regime(s) == "art9" for s in content.get("sensitive_data") or ()):
        checks.append((bool(content.get("art9_exception")), FIELD_LABELS["art9_exception"]))
    if content.get("transfers"):
        checks.append(
            (all(row.get("safeguard") for row in content["transfers"]), _l("Garantie de chaque transfert"))
        )
    missing = [str(label) for ok, label in checks if not ok]
    return Completeness(round(100 * (len(checks) - len(missing)) / len(checks)), missing)


@dataclass(frozen=True)
class DpiaVerdict:
    required: bool
    reasons: list[str]
    criteria_met: list[ref.Item]
    suggested: list[ref.Item] = field(default_factory=list)  # criteria the content hints at


def dpia_required(content: Mapping[str, Any]) -> bool:
    """``dpia_verdict(content).required`` without its reasons (no translation: a bulk import asks
    it of every row)."""
    if ref.by_id(ref.dpia_required_types()).get(content.get("dpia_cnil_required") or ""):
        return True
    if ref.by_id(ref.dpia_exempt_types()).get(content.get("dpia_cnil_exempt") or ""):
        return False
    criteria = ref.by_id(ref.dpia_criteria())
    return sum(1 for c in content.get("dpia_criteria") or () if c in criteria) >= ref.DPIA_THRESHOLD


def dpia_verdict(content: Mapping[str, Any]) -> DpiaVerdict:
    """WP248 screening: the CNIL lists prevail; otherwise two criteria or more → DPIA required."""
    criteria = ref.by_id(ref.dpia_criteria())
    met = [criteria[c] for c in content.get("dpia_criteria") or () if c in criteria]
    suggested = []
    if content.get("sensitive_data") and "donnees_sensibles" not in (content.get("dpia_criteria") or ()):
        suggested.append(criteria["donnees_sensibles"])
    vulnerable = {s.id for s in ref.data_subjects() if s.extra.get("may_be_vulnerable")}
    if set(content.get("data_subjects") or ()) & vulnerable and "personnes_vulnerables" not in (
        content.get("dpia_criteria") or ()
    ):
        suggested.append(criteria["personnes_vulnerables"])
    required_type = ref.by_id(ref.dpia_required_types()).get(content.get("dpia_cnil_required") or "")
    exempt_type = ref.by_id(ref.dpia_exempt_types()).get(content.get("dpia_cnil_exempt") or "")
    if required_type:
        return DpiaVerdict(
            True,
            [
                _(
                    "Type de traitement figurant sur la liste CNIL des traitements soumis à AIPD : "
                    "« %(t)s ».",
                    t=required_type.label,
                )
            ],
            met,
            suggested,
        )
    if exempt_type:
        return DpiaVerdict(
            False,
            [
                _(
                    "Type de traitement figurant sur la liste CNIL des traitements dispensés d'AIPD : "
                    "« %(t)s ».",
                    t=exempt_type.label,
                )
            ],
            met,
            suggested,
        )
    if len(met) >= ref.DPIA_THRESHOLD:
        reasons = [
            _(
                "%(n)d critères du G29 (WP248) sont remplis : une AIPD est en principe obligatoire "
                "(seuil : %(t)d).",
                n=len(met),
                t=ref.DPIA_THRESHOLD,
            )
        ]
        return DpiaVerdict(True, reasons, met, suggested)
    if len(met) == 1:
        reasons = [
            _(
                "Un seul critère est rempli : l'AIPD n'est en principe pas obligatoire, mais un critère "
                "peut suffire lorsque le risque est élevé ; motivez la décision."
            )
        ]
    elif suggested:  # never "no criterion" beside the criteria the fiche suggests
        reasons = [
            ngettext(
                "Pas d'AIPD requise en principe pour l'instant, mais le contenu de la fiche suggère "
                "%(num)d critère à examiner.",
                "Pas d'AIPD requise en principe pour l'instant, mais le contenu de la fiche suggère "
                "%(num)d critères à examiner.",
                len(suggested),
            )
        ]
    else:
        reasons = [_("Aucun critère du G29 n'est rempli : pas d'AIPD requise en principe.")]
    return DpiaVerdict(False, reasons, met, suggested)


def content_of(activity: ProcessingActivity, fields: Iterable[str] = ALL_FIELDS) -> dict[str, Any]:
    return {name: getattr(activity, name) for name in fields}


def snapshot_json(activity: ProcessingActivity, fields: Iterable[str] = CONTENT_FIELDS) -> dict[str, Any]:
    """A JSON-safe copy of the fiche's content (model snapshots, history)."""
    return {name: audit.jsonable(getattr(activity, name)) for name in fields}


def retention_text(row: Mapping[str, Any]) -> str:
    """A data category's retention in one line: the phases that are filled in, labelled."""
    phases = [
        (_("base active"), row.get("active")),
        (_("archivage intermédiaire"), row.get("intermediate")),
        (_("sort final"), row.get("final")),
    ]
    known = [f"{label} : {value}" for label, value in phases if value]
    return "; ".join(known) if known else _("durée de conservation non renseignée")
