"""Text helpers for French names: sorting and searching them the way people expect, and "de"
before them (elided: "d'Ivry")."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from flask_babel import get_locale, pgettext

# Imports fold the same labels and short values again and again: those are remembered, a bounded
# number of short texts only (a long text is folded each time: memory stays small whatever the file).
FOLD_CACHED_LENGTH = 120
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def fold(text: str | None) -> str:
    """Lower case without accents: "Décisionnel" sorts between "Dalle" and "Doctolib", and a search
    for "decisionnel" finds it. Stored in ``sort_name`` columns, so it works the same on SQLite and
    PostgreSQL and stays indexable."""
    if not text:
        return ""
    if len(text) <= FOLD_CACHED_LENGTH:
        return _fold_short(text)
    return _fold(text)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()


_fold_short = lru_cache(maxsize=8192)(_fold)


def loose(text: str | None) -> str:
    """:func:`fold`, punctuation ignored too: "Finalité(s) :" → "finalite s", "Val-de-Marne" and
    "val de marne" the same. How a name typed in a file is matched to one Égide knows."""
    return " ".join(_NOT_ALNUM.split(fold(text))).strip()


# --- French elision ---------------------------------------------------------------------------------

# Vowels, accented ones included once decomposed ("É" → "E"). An initial h is left alone: it is mute
# in "Hérouville" but aspirated in "Houilles" ("de Houilles"), and only a dictionary tells them apart.
_VOWELS = frozenset("aeiouyAEIOUY")


def _starts_with_vowel(name: str) -> bool:
    first = unicodedata.normalize("NFD", name[:1])[:1]
    return bool(first) and first in _VOWELS


def de(name: str | None) -> str:
    """French "de" before a name, elided before a vowel: ``de("Ivry-sur-Seine")`` →
    "d'Ivry-sur-Seine", ``de("Élancourt")`` → "d'Élancourt", ``de("Vitry")`` → "de Vitry". A name
    that starts with the article "Le" or "Les" contracts: "du Kremlin-Bicêtre", "des Lilas"
    ("de La Courneuve", "de L'Haÿ-les-Roses" stay as they are)."""
    name = " ".join((name or "").split())
    if not name:
        return "de"
    head, _sep, rest = name.partition(" ")
    if rest and head == "Le":
        return f"du {rest}"
    if rest and head == "Les":
        return f"des {rest}"
    if _starts_with_vowel(name):
        return f"d'{name}"
    return f"de {name}"


def of(name: str | None) -> str:
    """ "de <name>" in the language of the request: :func:`de` in French (elided), the translation
    of "de %(name)s" otherwise ("of Ivry-sur-Seine"). For a sentence that composes "de {name}":
    ``_("Le registre %(of_org)s.", of_org=of(org.name))``."""
    locale = get_locale()
    if locale is None or locale.language == "fr":
        return de(name)
    # One word, in context: a msgid "de %(name)s" would read as French in any English text holding "de ".
    word = pgettext("devant un nom de lieu ou d'organisation", "de")
    return f"{word} {' '.join((name or '').split())}"
