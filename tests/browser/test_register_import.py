"""A DPO imports the register she already keeps, in the CNIL model's columns, in headless Chromium.

The file (tests/registers/fixtures/cnil_registre.csv, cp1252, ``;``) first holds one impossible date:
the mapping step proposes every column, the preview shows that one error with its line and column
and nothing can be confirmed; she fixes the file, uploads it again, confirms, and sees the result
and the fiches in her register. Screenshots at 1366 px and 390 px go to artifacts/screenshots/.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect

if TYPE_CHECKING:
    from collections.abc import Callable

    from playwright.sync_api import Page

    from tests.browser.conftest import PageWatch

pytestmark = pytest.mark.browser

DPO = "dpo.mutualise@siim94.example.org"
FIXTURE = Path(__file__).resolve().parents[1] / "registers" / "fixtures" / "cnil_registre.csv"
NARROW = {"width": 390, "height": 844}
WIDE = {"width": 1366, "height": 900}


# The innermost elements sticking out of the screen (a table scrolls inside its .table-responsive).
WIDER_THAN_SCREEN = """() => [...document.querySelectorAll("body *")]
  .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5
               && !e.closest(".table-responsive"))
  .filter((e, _, all) => !all.some(o => o !== e && e.contains(o)))
  .slice(0, 8)
  .map(e => `${e.tagName.toLowerCase()}#${e.id}.${[...e.classList].join(".")}`
            + ` ${Math.round(e.getBoundingClientRect().right)}px`)"""


def _good() -> bytes:
    return FIXTURE.read_bytes()


def _with_one_bad_cell() -> bytes:
    """The same register with an impossible creation date on its first fiche (line 2)."""
    text = FIXTURE.read_bytes().decode("cp1252")
    assert text.count("RH-01;Gestion de la paie;12/03/2019;") == 1
    return text.replace(
        "RH-01;Gestion de la paie;12/03/2019;", "RH-01;Gestion de la paie;31/02/2019;"
    ).encode("cp1252")


def shoot(page: Page, directory: Path, name: str) -> None:
    """The page at 1366 px and at 390 px (a phone), full height; back to 1366 px afterwards."""
    page.screenshot(path=directory / f"{name}-1366.png", full_page=True)
    page.set_viewport_size(NARROW)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    wide = page.evaluate(WIDER_THAN_SCREEN) if overflow > 0 else []
    page.screenshot(path=directory / f"{name}-390.png", full_page=True)
    page.set_viewport_size(WIDE)
    assert overflow <= 0, f"{name}: the page is {overflow} px wider than a 390 px screen: {wide}"


def upload(page: Page, body: bytes) -> None:
    page.goto("/registers/import")
    expect(page.get_by_role("heading", level=1)).to_have_text("Importer un registre")
    page.locator("#import-upload input[type=file]").set_input_files(
        {"name": "cnil_registre.csv", "mimeType": "text/csv", "buffer": body}
    )
    page.get_by_role("button", name="Lire le fichier").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Associer les colonnes du fichier")


def test_dpo_imports_a_cnil_layout_register_after_fixing_one_cell(
    signed_in: Callable[[str], Page], watch: PageWatch, screenshot_dir: Path
) -> None:
    page = signed_in(DPO)
    page.set_viewport_size(WIDE)

    # 1. The file with one impossible date: every column is proposed a field.
    upload(page, _with_one_bad_cell())
    expect(page.get_by_text("3 lignes lues.")).to_be_visible()
    mapping = page.locator("#import-mapping")
    expect(mapping.get_by_label("Date de création")).to_have_value("declared_created_on")
    expect(mapping.get_by_label("Nom / sigle")).to_have_value("name")
    expect(mapping.get_by_label("Base légale")).to_have_value("legal_basis")
    expect(page.locator("#col_0-help")).to_have_text("Exemples : RH-01 ; EDU-02 ; COM-03")
    shoot(page, screenshot_dir, "40-import-correspondance")

    # 2. The preview: the one error, with its line and column; nothing to confirm.
    watch.allow_console_error("status of 422", "/preview")
    page.get_by_role("button", name="Vérifier l'import").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Aperçu de l'import")
    expect(
        page.get_by_role("heading", name="1 erreur : rien ne sera importé tant qu'elle n'est pas corrigée.")
    ).to_be_visible()
    errors = page.locator("#import-errors tbody tr")
    expect(errors).to_have_count(1)
    cells = errors.first.locator("td")
    expect(cells.nth(0)).to_have_text("2")
    expect(cells.nth(1)).to_have_text("Date de création")
    expect(cells.nth(2)).to_have_text("31/02/2019")
    expect(cells.nth(3)).to_contain_text("31/02/2019")
    expect(page.get_by_role("button", name="Confirmer l'import")).to_have_count(0)
    shoot(page, screenshot_dir, "41-import-apercu-erreur")
    watch.check()

    # 3. The file fixed and uploaded again: the preview plans three new fiches; confirmed.
    upload(page, _good())
    page.get_by_role("button", name="Vérifier l'import").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Aperçu de l'import")
    expect(page.locator("#import-summary")).to_have_text(
        "3 fiche(s) créée(s), 0 modifiée(s), 0 inchangée(s)."
    )
    expect(page.locator("#import-errors")).to_have_count(0)
    rows = page.locator("#import-rows tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("RH-01")
    shoot(page, screenshot_dir, "42-import-apercu")
    page.get_by_role("button", name="Confirmer l'import").click()

    # 4. The result, then the fiches in the register with their declared dates.
    done = page.locator("#import-done")
    expect(done).to_contain_text("3 fiche(s) créée(s), 0 modifiée(s), 0 inchangée(s)")
    shoot(page, screenshot_dir, "43-import-resultat")
    page.get_by_role("link", name="Voir le registre").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Registre des activités de traitement")
    table = page.get_by_role("table", name="Fiches de traitement")
    expect(table.get_by_role("link", name="Gestion de la paie", exact=True)).to_be_visible()
    table.get_by_role("link", name="Gestion de la paie", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Gestion de la paie")
    expect(page.get_by_text(re.compile("12 mars 2019"))).not_to_have_count(0)
    shoot(page, screenshot_dir, "44-fiche-importee")
    watch.check()
