"""reports.pdf.data_table's column widths: a heading or a short value (an amount, a date) is never
cut inside a word — the column is widened, the others narrowed — while long texts still wrap and a
URL wider than a third of the page is still cut (the parcours PDF printed "Cofinancem / ent" and
"148 000,0 / 0 €" in its money table)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from flask import Flask

from reports import pdf

MONEY_HEADINGS = [
    "Phase",
    "Subventions attendues",
    "Subventions reçues",
    "Coût prévu des mesures",
    "Part du bénéficiaire",
    "Cofinancement",
    "Dépensé",
    "Reste à financer",
]
MONEY_WEIGHTS = [20, 12, 12, 12, 9, 12, 11, 12]
# As Babel writes amounts in French: narrow no-break spaces between thousands, a no-break space before €.
AMOUNT, TOTAL = "148\u202f000,00\u00a0€", "90\u202f000,00\u00a0€"


def _lines(text: str, font: str, width: float) -> list[str]:
    return pdf.wrap_plain(pdf.plain(text), font, width - 2 * pdf.PADDING).split("\n")


def _whole_words(text: str, font: str, width: float) -> bool:
    words = pdf.plain(text).split(" ")
    return all(word in words for line in _lines(text, font, width) for word in line.split(" "))


@pytest.fixture
def fonts(app: Flask) -> pdf.Any:
    with app.test_request_context():
        yield pdf.fonts()


def test_headings_and_amounts_break_between_words_only(fonts: pdf.Any) -> None:
    rows = [["Phase 2 — mesures correctives (pack relais)", *[AMOUNT] * 7]]
    # Before: the weights alone gave "Cofinancement" and the amounts too little room.
    naive = [pdf.CONTENT_WIDTH * w / sum(MONEY_WEIGHTS) for w in MONEY_WEIGHTS]
    assert not _whole_words("Cofinancement", fonts.bold, naive[5])
    assert not _whole_words("Subventions", fonts.bold, naive[1])
    widths = pdf.fitted_widths(MONEY_HEADINGS, rows, MONEY_WEIGHTS, fonts.bold, fonts.regular)
    assert sum(widths) == pytest.approx(pdf.CONTENT_WIDTH)
    for heading, width in zip(MONEY_HEADINGS, widths, strict=True):
        assert _whole_words(heading, fonts.bold, width), heading
    for value, width in zip(rows[0], widths, strict=True):
        assert _whole_words(value, fonts.regular, width), value
    # the widest column (the phase's long name) gave the room, and still wraps
    assert widths[0] < naive[0]
    assert len(_lines(rows[0][0], fonts.regular, widths[0])) > 1


def test_numbers_and_decimals_count_as_short_values(fonts: pdf.Any) -> None:
    rows = [["x", Decimal("123456789012.50"), 12345678901234]]
    widths = pdf.fitted_widths(["A", "B", "C"], rows, [80, 10, 10], fonts.bold, fonts.regular)
    assert _whole_words(str(rows[0][1]), fonts.regular, widths[1])
    assert _whole_words(str(rows[0][2]), fonts.regular, widths[2])


def test_a_long_url_is_still_cut_and_its_column_kept_under_a_third_of_the_page(fonts: pdf.Any) -> None:
    url = "https://example.org/" + "a" * 15  # short enough to be measured (≤ 40 characters)
    long_url = "https://example.org/" + "b" * 200  # a long text: wraps, never measured
    widths = pdf.fitted_widths(
        ["Lien", "Autre"], [[url, "x"], [long_url, "y"]], [10, 90], fonts.bold, fonts.regular
    )
    assert widths[0] <= pdf.CONTENT_WIDTH * pdf.WIDEST_WORD_SHARE + 0.01
    assert _whole_words(url, fonts.regular, widths[0])
    assert len(_lines(long_url, fonts.regular, widths[0])) > 1  # cut, as a too-long word is


def test_words_that_cannot_all_fit_keep_the_weights(fonts: pdf.Any) -> None:
    headings = ["Anticonstitutionnellement"] * 20
    widths = pdf.fitted_widths(headings, [["x"] * 20], [1] * 20, fonts.bold, fonts.regular)
    assert widths == pytest.approx([pdf.CONTENT_WIDTH / 20] * 20)


def test_the_money_table_of_a_parcours_is_built_with_the_fitted_widths(fonts: pdf.Any) -> None:
    table = pdf.data_table(MONEY_HEADINGS, [["Total", *[TOTAL] * 7]], MONEY_WEIGHTS)
    expected = pdf.fitted_widths(
        MONEY_HEADINGS, [["Total", *[TOTAL] * 7]], MONEY_WEIGHTS, fonts.bold, fonts.regular
    )
    assert list(table._colWidths) == pytest.approx(expected)
    header_cells = table._cellvalues[0]
    assert "Cofinancement" in header_cells[5].split("\n")
