"""core.exports' XLSX writer, read back by openpyxl (the reference) and python-calamine (what the
import reads with): every cell as given, the header bold, the column widths and the frozen pane,
no character XML cannot hold, formula-looking texts kept as text, the same bytes for the same
content, the cells too long for Excel named."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone

import openpyxl
import pytest
from defusedxml import ElementTree
from python_calamine import CalamineWorkbook

from core.exports import (
    XLSX_CELL_LIMIT,
    Sheet,
    TooLongForXlsx,
    clean_text,
    column_letter,
    neutralise,
    xlsx_file,
)

MOMENT = datetime(2026, 3, 14, 15, 9, 27, tzinfo=UTC)

# Texts a register holds: accents, characters beyond U+FFFF, what XML escapes, spaces at the ends,
# line breaks, and every start a spreadsheet reads as a formula (neutralised, as callers must).
TEXTS = [
    "TRT-001",
    "Inscriptions scolaires — été 2026",
    "Données de santé 🙂 et 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "R&D <interne> \"guillemets\" 'apostrophes' &amp; déjà échappé",
    "  espaces au début et à la fin  ",
    "\nligne vide au début\net à la fin\n",
    "Destinataires internes : Service enfance\nSous-traitants : SIIM94 : hébergement\n      et infogérance",
    "tabulation\tau milieu",
    "]]> fin de CDATA",
    *(neutralise(text, reversible=True) for text in ("=1+1", "+33 1 23 45 67 89", "-5", "@SUM(A1)", "'déjà")),
    '\'=HYPERLINK("http://x")',
    "x" * 1000,
]


def _rows(count: int = 40, width: int = 30) -> list[list[str | None]]:
    """Rows of texts, empty cells (None and "") among them, a row longer than the header."""
    rows: list[list[str | None]] = []
    for n in range(count):
        row: list[str | None] = [f"REF-{n:03d}"]
        for c in range(1, width):
            pick = (n * 7 + c * 3) % (len(TEXTS) + 3)
            row.append(TEXTS[pick] if pick < len(TEXTS) else (None, "", "")[pick - len(TEXTS)])
        rows.append(row)
    rows.append(["REF-LONG", *["plus"] * (width + 5)])  # beyond the header: columns AE… AI
    rows.append(["REF-EMPTY"])
    return rows


def _header(width: int = 30) -> list[str]:
    return [f"Colonne {n} & <co>" for n in range(1, width + 1)]


def _sheets(rows: list[list[str | None]] | None = None) -> list[Sheet]:
    return [
        Sheet(
            "Organisation", ["Rubrique", "Valeur"], [["Organisme", "Commune d'Égide & co"]], widths=(48, 60)
        ),
        Sheet("Registre", _header(), _rows() if rows is None else rows, freeze="C2"),
    ]


def _body(sheets: Sequence[Sheet], moment: datetime = MOMENT) -> bytes:
    file = xlsx_file(sheets, moment)
    try:
        return file.read()
    finally:
        file.close()


def _expected(header: list[str], rows: list[list[str | None]]) -> list[list[str | None]]:
    """The cells as a reader gives them back: the texts cleaned, an empty cell None."""
    return [[clean_text(value) if value else None for value in row] for row in [header, *rows]]


def _openpyxl_cells(sheet: openpyxl.worksheet.worksheet.Worksheet) -> list[list[str | None]]:
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def _trimmed(rows: list[list[str | None]]) -> list[list[str | None]]:
    """Rows without their trailing empty cells (readers pad rows to the sheet's width)."""
    out = []
    for row in rows:
        cells = list(row)
        while cells and cells[-1] in (None, ""):
            cells.pop()
        out.append(cells)
    return out


# --- read back by openpyxl and calamine ----------------------------------------------------------


def test_openpyxl_reads_every_cell_as_written() -> None:
    rows = _rows()
    book = openpyxl.load_workbook(io.BytesIO(_body(_sheets(rows))))
    assert book.sheetnames == ["Organisation", "Registre"]
    assert _openpyxl_cells(book["Organisation"]) == [
        ["Rubrique", "Valeur"],
        ["Organisme", "Commune d'Égide & co"],
    ]
    sheet = book["Registre"]
    assert _trimmed(_openpyxl_cells(sheet)) == _trimmed(_expected(_header(), rows))
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            assert cell.value is None or cell.data_type == "s", cell.coordinate  # text, never a formula


def test_calamine_reads_every_cell_as_written() -> None:
    rows = _rows()
    book = CalamineWorkbook.from_filelike(io.BytesIO(_body(_sheets(rows))))
    assert book.sheet_names == ["Organisation", "Registre"]
    read = book.get_sheet_by_name("Registre").to_python()
    expected = [[value or "" for value in row] for row in _expected(_header(), rows)]
    assert _trimmed(read) == _trimmed(expected)


def test_the_same_cells_as_openpyxl_writes_them() -> None:
    """openpyxl, write-only, is the reference: both files read back the same, cell by cell."""
    rows = _rows()
    reference = openpyxl.Workbook(write_only=True)
    for sheet in _sheets(rows):
        ws = reference.create_sheet(sheet.title)
        ws.append(list(sheet.header))
        for row in sheet.rows:
            ws.append([value or None for value in row])
    out = io.BytesIO()
    reference.save(out)
    theirs = openpyxl.load_workbook(out)
    ours = openpyxl.load_workbook(io.BytesIO(_body(_sheets(rows))))
    assert ours.sheetnames == theirs.sheetnames
    for name in ours.sheetnames:
        mine, reference_sheet = ours[name], theirs[name]
        assert (mine.max_row, mine.max_column) == (reference_sheet.max_row, reference_sheet.max_column)
        for ours_row, theirs_row in zip(mine.iter_rows(), reference_sheet.iter_rows(), strict=True):
            for a, b in zip(ours_row, theirs_row, strict=True):
                assert (a.coordinate, a.value, a.data_type) == (b.coordinate, b.value, b.data_type)


def test_header_bold_widths_and_frozen_pane() -> None:
    book = openpyxl.load_workbook(io.BytesIO(_body(_sheets())))
    organisation, register = book["Organisation"], book["Registre"]
    assert [cell.font.b for cell in organisation[1]] == [True, True]
    assert not organisation["A2"].font.b
    assert [cell.font.b for cell in register[1] if cell.value] == [True] * 30
    assert not any(cell.font.b for cell in register[2])
    assert organisation.column_dimensions["A"].width == 48
    assert organisation.column_dimensions["B"].width == 60
    assert [register.column_dimensions[column_letter(n)].width for n in (1, 2, 30)] == [28, 28, 28]
    assert organisation.freeze_panes is None
    assert register.freeze_panes == "C2"
    assert book.active.title == "Organisation"


@pytest.mark.parametrize("freeze", ["A2", "B1", "C2", "AB10", None])
def test_frozen_panes_as_openpyxl_reads_them(freeze: str | None) -> None:
    sheet = Sheet("Feuille", ["a", "b"], [["1", "2"]], widths=(9.5, 12.25), freeze=freeze)
    read = openpyxl.load_workbook(io.BytesIO(_body([sheet])))["Feuille"]
    assert read.freeze_panes == freeze
    assert (read.column_dimensions["A"].width, read.column_dimensions["B"].width) == (9.5, 12.25)


def test_characters_xml_cannot_hold_are_removed() -> None:
    dirty = "a\x00b\x01c\x07d\x08e\x0bf\x0cg\x0eh\x1fi\ufffej\uffffk"
    rows: list[list[str | None]] = [["REF", dirty, "ligne\r\nsuivante\rencore", "'=1+1\x03"]]
    body = _body([Sheet("Feuille", ["A", "B", "C", "D"], rows)])
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        for name in archive.namelist():
            ElementTree.fromstring(archive.read(name))  # every part is well-formed XML
    expected = ["REF", "abcdefghijk", "ligne\nsuivante\nencore", "'=1+1"]
    assert [c.value for c in openpyxl.load_workbook(io.BytesIO(body))["Feuille"][2]] == expected
    assert (
        CalamineWorkbook.from_filelike(io.BytesIO(body)).get_sheet_by_name("Feuille").to_python()[1]
        == expected
    )


def test_formula_looking_texts_stay_neutralised_text() -> None:
    texts = [neutralise(t, reversible=True) for t in ("=1+1", "+1", "-1", "@A1", "\t=1", "'=1")]
    body = _body([Sheet("Feuille", [f"h{n}" for n in range(len(texts))], [texts])])
    row = openpyxl.load_workbook(io.BytesIO(body))["Feuille"][2]
    assert [cell.value for cell in row] == ["'=1+1", "'+1", "'-1", "'@A1", "'\t=1", "''=1"]
    assert {cell.data_type for cell in row} == {"s"}
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert b"<f>" not in archive.read("xl/worksheets/sheet1.xml")


@pytest.mark.parametrize("row", [["=1+1"], ["ok", "=SUM(A1)"], ["ok", "\x01=1"], [None, "=1"]])
def test_a_text_that_is_not_neutralised_is_refused(row: list[str | None]) -> None:
    with pytest.raises(ValueError, match="neutralised"):
        xlsx_file([Sheet("Feuille", ["a", "b"], [row])], MOMENT)


# --- the same bytes -------------------------------------------------------------------------------


def test_the_same_content_gives_the_same_bytes() -> None:
    first = _body(_sheets())
    assert _body(_sheets()) == first
    paris = timezone(timedelta(hours=1))
    assert _body(_sheets(), MOMENT.astimezone(paris)) == first  # the same moment
    assert _body(_sheets(), MOMENT.replace(tzinfo=None, microsecond=999)) == first  # naive UTC
    assert _body(_sheets(), MOMENT + timedelta(seconds=2)) != first
    changed = _rows()
    changed[3][2] = "autre"
    assert _body(_sheets(changed)) != first
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        infos = archive.infolist()
        core = ElementTree.fromstring(archive.read("docProps/core.xml"))
    assert {info.date_time for info in infos} == {(2026, 3, 14, 15, 9, 26)}  # zip times: 2-second steps
    assert {info.external_attr for info in infos} == {0o600 << 16}
    assert [info.filename for info in infos] == [
        "[Content_Types].xml",
        "_rels/.rels",
        "docProps/core.xml",
        "docProps/app.xml",
        "xl/workbook.xml",
        "xl/_rels/workbook.xml.rels",
        "xl/styles.xml",
        "xl/worksheets/sheet1.xml",
        "xl/worksheets/sheet2.xml",
    ]
    dc, dcterms = "{http://purl.org/dc/elements/1.1/}", "{http://purl.org/dc/terms/}"
    assert core.findtext(f"{dc}creator") == "Égide"
    assert core.findtext(f"{dcterms}created") == core.findtext(f"{dcterms}modified") == "2026-03-14T15:09:27Z"
    properties = openpyxl.load_workbook(io.BytesIO(first)).properties
    assert (properties.creator, properties.modified) == ("Égide", datetime(2026, 3, 14, 15, 9, 27))


def test_rows_are_read_once_as_they_come() -> None:
    """A generator of rows (the export's) is written as it is read."""
    read: list[int] = []

    def rows():
        for n in range(1200):
            read.append(n)
            yield [f"R{n}", "x" * (n % 50)]

    book = openpyxl.load_workbook(io.BytesIO(_body([Sheet("Feuille", ["a", "b"], rows())])))
    assert read == list(range(1200))
    assert book["Feuille"].max_row == 1201
    assert book["Feuille"]["A1201"].value == "R1199"


# --- Excel's limits ------------------------------------------------------------------------------


def test_cells_longer_than_excel_holds_are_all_named() -> None:
    rows: list[list[str | None]] = [
        ["A-1", "x" * XLSX_CELL_LIMIT, "ok"],  # at the limit: written whole
        ["A-2", "y" * (XLSX_CELL_LIMIT + 1), "ok"],
        ["A-3", "ok", "🙂" * (XLSX_CELL_LIMIT // 2 + 1)],  # 16,384 characters, 32,768 UTF-16 units
        ["A-4", "ok", "ok", "z" * 40_000],  # beyond the header: named by its letter
    ]
    with pytest.raises(TooLongForXlsx) as raised:
        xlsx_file([Sheet("Feuille", ["Clé", "Texte", "Autre"], rows)], MOMENT)
    assert [(c.sheet, c.key, c.column, c.length) for c in raised.value.cells] == [
        ("Feuille", "A-2", "Texte", XLSX_CELL_LIMIT + 1),
        ("Feuille", "A-3", "Autre", XLSX_CELL_LIMIT + 1),
        ("Feuille", "A-4", "D", 40_000),
    ]
    whole = _body([Sheet("Feuille", ["Clé", "Texte"], rows[:1])])
    assert openpyxl.load_workbook(io.BytesIO(whole))["Feuille"]["B2"].value == "x" * XLSX_CELL_LIMIT


@pytest.mark.parametrize("title", ["", "x" * 32, "a/b", "a:b", "a[1]", "a*", "a?", "a\\b", "'a", "a'"])
def test_a_sheet_name_excel_refuses_is_refused(title: str) -> None:
    with pytest.raises(ValueError, match="sheet name"):
        xlsx_file([Sheet(title, ["a"], [])], MOMENT)


def test_sheet_names_are_escaped_and_unique() -> None:
    book = openpyxl.load_workbook(io.BytesIO(_body([Sheet('R&D <"x">', ["a"], [["1"]])])))
    assert book.sheetnames == ['R&D <"x">']
    with pytest.raises(ValueError, match="same name"):
        xlsx_file([Sheet("Registre", ["a"], []), Sheet("registre", ["a"], [])], MOMENT)


def test_column_letters() -> None:
    assert [column_letter(n) for n in (1, 26, 27, 52, 53, 702, 703, 16_384)] == [
        "A",
        "Z",
        "AA",
        "AZ",
        "BA",
        "ZZ",
        "AAA",
        "XFD",
    ]


def test_a_wide_sheet_reads_back_in_place() -> None:
    width = 800  # columns up to ADT
    row = [f"v{n}" for n in range(width)]
    body = _body([Sheet("Large", [f"h{n}" for n in range(width)], [row])])
    sheet = openpyxl.load_workbook(io.BytesIO(body))["Large"]
    assert [cell.value for cell in sheet[2]] == row
    assert sheet.cell(2, 703).coordinate == "AAA2"
    assert CalamineWorkbook.from_filelike(io.BytesIO(body)).get_sheet_by_name("Large").to_python()[1] == row
