"""Text helpers for sorting and searching French names the way people expect."""

from __future__ import annotations

import unicodedata
from functools import lru_cache


@lru_cache(maxsize=65_536)  # imports fold the same labels and values again and again
def fold(text: str | None) -> str:
    """Lower case without accents: "Décisionnel" sorts between "Dalle" and "Doctolib", and a search
    for "decisionnel" finds it. Stored in ``sort_name`` columns, so it works the same on SQLite and
    PostgreSQL and stays indexable."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()
