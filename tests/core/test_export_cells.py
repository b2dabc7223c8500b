"""core.exports: the fast paths of a cell's text give what the plain rules give."""

from __future__ import annotations

import pytest

from core.exports import clean_text, neutralise, reversible_cell, unneutralise

VALUES = [
    "",
    "texte",
    "Précisions\nsur deux lignes",
    "=1+1",
    "+33 1 23 45 67 89",
    "-5",
    "@SUM(A1)",
    "\tindenté",
    "\rretour",
    "\r\n",
    "a\r\nb\rc",
    "'déjà une apostrophe",
    "''deux",
    "\x00nul",
    "bip\x07 et \x0b\x0c\x1f",
    "=\x01",
    "\x01=1",
    "tab\tau milieu",
]


@pytest.mark.parametrize("value", VALUES)
def test_reversible_cell_is_clean_then_neutralised(value: str) -> None:
    assert reversible_cell(value) == neutralise(clean_text(value), reversible=True)
    assert unneutralise(reversible_cell(value)) == clean_text(value)


@pytest.mark.parametrize("value", VALUES)
def test_clean_text_of_a_clean_text_is_itself(value: str) -> None:
    cleaned = clean_text(value)
    assert "\r" not in cleaned
    assert clean_text(cleaned) == cleaned
