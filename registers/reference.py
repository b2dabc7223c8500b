"""RGPD reference lists (core/data/gdpr_reference.json) as typed, locale-aware choices.

The JSON file carries French and English labels side by side (they are reference data, not UI
strings, so they do not go through the gettext catalogue); :func:`label` picks the one matching the
request's locale. Ids are what the database stores: they never change, labels may.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from core.data import load_json
from core.templating import locale_code


@dataclass(frozen=True)
class Item:
    id: str
    label_fr: str
    label_en: str
    article: str = ""
    hint_fr: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def label(self) -> str:
        return label(self)

    @property
    def hint(self) -> str:
        """The French hint (examples), shown only to French readers: there is no English one."""
        return "" if _english() else self.hint_fr


def _english() -> bool:
    try:
        return locale_code() == "en"  # once a request: a register list asks on every row
    except RuntimeError:  # outside a request (CLI, PDF built in a worker)
        return False


def label(item: Item) -> str:
    return item.label_en if _english() and item.label_en else item.label_fr


def _items(rows: list[dict[str, Any]], hint: str = "") -> tuple[Item, ...]:
    out = []
    for row in rows:
        known = {"id", "label_fr", "label_en", "article", hint}
        out.append(
            Item(
                id=str(row["id"]),
                label_fr=row["label_fr"],
                label_en=row.get("label_en", row["label_fr"]),
                article=row.get("article", ""),
                hint_fr=row.get(hint, "") if hint else "",
                extra={k: v for k, v in row.items() if k not in known},
            )
        )
    return tuple(out)


@cache
def _data() -> dict[str, Any]:
    return load_json("gdpr_reference.json")


@cache
def legal_bases() -> tuple[Item, ...]:
    return _items(_data()["legal_bases"], "notes_fr")


@cache
def data_categories() -> tuple[Item, ...]:
    return _items(_data()["data_categories"], "examples_fr")


@cache
def sensitive_data() -> tuple[Item, ...]:
    return _items(_data()["sensitive_data"]["categories"], "notes_fr")


@cache
def art9_exceptions() -> tuple[Item, ...]:
    return _items(_data()["art9_2_exceptions"])


@cache
def data_subjects() -> tuple[Item, ...]:
    return _items(_data()["data_subject_categories"]["categories"])


@cache
def recipient_types() -> tuple[Item, ...]:
    return _items(_data()["recipient_types"], "notes_fr")


@cache
def transfer_safeguards() -> tuple[Item, ...]:
    return _items(_data()["transfer_safeguards"])


@cache
def security_measures() -> tuple[Item, ...]:
    return _items(_data()["security_measures"]["items"], "hint_fr")


@cache
def retention_phases() -> tuple[Item, ...]:
    return _items(_data()["retention_phases"], "notes_fr")


@cache
def dpia_criteria() -> tuple[Item, ...]:
    return _items(_data()["dpia"]["criteria"])


DPIA_THRESHOLD = int(_data()["dpia"]["rule"]["threshold"])  # WP248: two criteria or more


@cache
def dpia_required_types() -> tuple[Item, ...]:
    """CNIL list of processing types that always require a DPIA (délibération n° 2018-327)."""
    types = _data()["dpia"]["cnil_list_required"]["types_fr"]
    return tuple(Item(id=f"R{i:02d}", label_fr=t, label_en=t) for i, t in enumerate(types, start=1))


# CNIL list of processing types that do not require a DPIA (délibération n° 2019-118 du
# 12 septembre 2019). Paraphrased, shortened labels: the DPO checks the text on cnil.fr.
DPIA_EXEMPT_TYPES_FR = (
    "Gestion des ressources humaines d'un organisme de moins de 250 personnes (hors profilage)",
    "Gestion des relations fournisseurs",
    "Gestion des membres et donateurs d'une association, fondation ou congrégation (hors données sensibles)",
    "Prise en charge d'un patient par un professionnel de santé exerçant à titre individuel",
    "Traitements mis en œuvre par les avocats dans l'exercice de leur profession",
    "Traitements mis en œuvre par les greffiers des tribunaux de commerce",
    "Traitements mis en œuvre par les notaires pour leur activité notariale",
    "Gestion des contrôles d'accès physiques et des horaires (hors biométrie), sans surveillance constante",
    "Gestion des éthylotests dans les transports de personnes",
)


@cache
def dpia_exempt_types() -> tuple[Item, ...]:
    return tuple(Item(id=f"E{i:02d}", label_fr=t, label_en=t) for i, t in enumerate(DPIA_EXEMPT_TYPES_FR, 1))


@cache
def rights() -> tuple[Item, ...]:
    return _items([r for r in _data()["rights"]["items"] if not r.get("is_obligation")], "notes_fr")


_BY_ID: dict[int, tuple[tuple[Item, ...], dict[str, Item]]] = {}


def by_id(items: tuple[Item, ...]) -> dict[str, Item]:
    """``items`` by id, built once per list: the lists are the cached tuples of this module (a
    register list looked its legal bases up this way on every row). Kept by the tuple's identity,
    the tuple held beside so that the identity cannot be reused; a list built on the fly (not one
    of the cached tuples) is simply indexed each time."""
    kept = _BY_ID.get(id(items))
    if kept is not None and kept[0] is items:
        return kept[1]
    index = {item.id: item for item in items}
    if len(_BY_ID) < 256:
        _BY_ID[id(items)] = (items, index)
    return index


def label_of(items: tuple[Item, ...], item_id: str | None) -> str:
    """Label of ``item_id`` in ``items``; unknown ids (an old value) are shown as they are."""
    if not item_id:
        return ""
    item = by_id(items).get(item_id)
    return item.label if item else item_id


def choices(items: tuple[Item, ...]) -> list[tuple[str, str]]:
    return [(item.id, item.label) for item in items]


def ids(items: tuple[Item, ...]) -> frozenset[str]:
    return frozenset(item.id for item in items)


def legal_basis_label(basis_id: str | None) -> str:
    """The one wording of a legal basis wherever it is shown (register list, its filter, the fiche,
    its form, the public register, the journal): "Mission d'intérêt public (Art. 6(1)(e))". An
    unknown id (an old value) is shown as it is; none gives ""."""
    return legal_basis_texts().get(basis_id or "") or basis_id or ""


class _Wordings(dict[Any, str]):
    """Wordings by id; an id without one reads as itself, no id as "—" (``texts[row.legal_basis]`` in
    a template: no call a row)."""

    def __missing__(self, key: Any) -> str:
        return str(key) if key else "—"


def legal_basis_texts() -> dict[str, str]:
    """Every legal basis's wording (:func:`legal_basis_label`) by id, in the reader's language: built
    once per process and language; a list takes it once a page and looks each row up in it
    (``texts[basis]``: an unknown id reads as itself, none as "—")."""
    english = _english()
    texts = _LEGAL_BASIS_TEXTS.get(english)
    if texts is None:
        texts = _LEGAL_BASIS_TEXTS[english] = _Wordings(
            (item.id, f"{label(item)} ({item.article})" if item.article else label(item))
            for item in legal_bases()
        )
    return texts


_LEGAL_BASIS_TEXTS: dict[bool, _Wordings] = {}


def legal_basis_choices() -> list[tuple[str, str]]:
    return [(item.id, legal_basis_label(item.id)) for item in legal_bases()]


def legal_basis_needs_text(basis_id: str | None) -> bool:
    item = by_id(legal_bases()).get(basis_id or "")
    return bool(item and item.extra.get("requires_legal_text"))


def sensitive_regime(item_id: str) -> str:
    item = by_id(sensitive_data()).get(item_id)
    return str(item.extra.get("regime", "")) if item else ""


@cache
def processor_clauses() -> tuple[Item, ...]:
    """What the contract with a processor must stipulate (Art. 28.3), one answer each."""
    return _items(_data()["processor_clauses"]["clauses"])


@cache
def processor_certifications() -> tuple[Item, ...]:
    return _items(_data()["processor_certifications"])
