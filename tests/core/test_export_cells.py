"""core.exports: the fast paths of a cell's text give what the plain rules give."""

from __future__ import annotations

import pytest

from core.exports import clean_text, neutralise, reversible_cell, reversible_cells, unneutralise

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
    "non-caractères \ufffe et \uffff",
    "\ud800 surrogate seul",
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


def test_reversible_cells_of_a_row_are_those_of_each_cell() -> None:
    """The row-at-once path gives what reversible_cell gives cell by cell, whichever cell needs it."""
    plain = ["TRT-001", "", "Nom", "ligne\nsuivante", "a'b", "x=1", "a\t-b", ""]
    assert reversible_cells(list(plain)) == plain
    for value in [*VALUES, "\0", "a\0b", "\0=", "'", "-", "+1", "@", "\t"]:
        for position in range(len(plain) + 1):
            row = [*plain[:position], value, *plain[position:]]
            assert reversible_cells(list(row)) == [reversible_cell(cell) for cell in row], (value, position)
    assert reversible_cells([]) == []
