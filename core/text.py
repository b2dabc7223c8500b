"""Text helpers for sorting and searching French names the way people expect."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

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
