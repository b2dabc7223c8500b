"""The fiche form in headless Chromium, on the demo data: Ivry's referent picks an application out of
44 through the filter, adds recipient and transfer rows without saving, is sent to the summary of
errors after a failed save, then saves; the DPO reads the journal, whose table fits its box.
Screenshots go to artifacts/screenshots/ (40-…)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from playwright.sync_api import Page, Request

    from tests.browser.conftest import PageWatch

pytestmark = pytest.mark.browser

IVRY_REFERENT = "referent@ivry.example.org"
CITIES_DPO = "dpo@siim94.example.org"


def shoot(page: Page, directory: Path, name: str, *, full_page: bool = True) -> None:
    page.screenshot(path=directory / f"{name}.png", full_page=full_page)


def test_referent_picks_an_application_and_adds_rows_without_saving(
    signed_in: Callable[[str], Page], watch: PageWatch, screenshot_dir: Path
) -> None:
    page = signed_in(IVRY_REFERENT)
    page.goto("/registers/activities/new")
    expect(page.get_by_role("heading", level=1)).to_have_text("Nouvelle fiche de traitement")
    page.get_by_label(re.compile(r"^Nom du traitement")).fill("Facturation de la cantine")

    # Applications: 44 checkboxes, narrowed by the filter (accents and case ignored).
    apps = page.locator("#application-list li.form-check")
    expect(apps).to_have_count(44)
    page.get_by_label("Filtrer les applications").fill("melo")
    expect(apps.filter(visible=True)).to_have_count(1)
    page.get_by_role("checkbox", name="MÉLODIE").check()
    page.get_by_label("Filtrer les applications").fill("poly")
    expect(apps.filter(visible=True)).to_have_count(4)  # the 3 POLYFAC, and MÉLODIE, ticked, stays
    expect(page.locator("#application-count")).to_have_text("Applications cochées : 1. 4 sur 44 affichées.")
    page.get_by_role("checkbox", name="POLYFAC CCAS").check()
    shoot(page, screenshot_dir, "40-fiche-applications-filtrees", full_page=False)
    page.locator("fieldset").filter(has_text="7. Applications").screenshot(
        path=screenshot_dir / "41-fiche-applications.png"
    )

    # Rows added by the page itself: no request leaves the browser, what was typed stays.
    requests: list[Request] = []
    page.on("request", lambda request: requests.append(request))
    page.get_by_role("button", name="Ajouter un destinataire").click()
    expect(page.get_by_label("Type de destinataire, ligne 4")).to_be_focused()
    page.get_by_label("Type de destinataire, ligne 4").select_option(
        label="Organismes externes (partenaires, autres administrations, organismes sociaux)"
    )
    page.get_by_label("Destinataire, ligne 4", exact=True).fill("Trésor public")
    page.get_by_role("button", name="Ajouter un transfert").click()
    expect(page.get_by_label("Destinataire du transfert, ligne 2")).to_be_focused()
    page.get_by_label("Destinataire du transfert, ligne 2").fill("Éditeur de la plateforme de paiement")
    page.get_by_label("Pays, ligne 2").fill("Suisse")
    assert requests == []
    expect(page.get_by_label(re.compile(r"^Nom du traitement"))).to_have_value("Facturation de la cantine")
    page.locator("fieldset").filter(has_text="5. Destinataires et transferts").screenshot(
        path=screenshot_dir / "42-fiche-lignes-ajoutees.png"
    )

    # A mistake: the name emptied. The page answers 422 and puts the focus on the summary of errors.
    watch.allow_console_error("status of 422", "/registers/activities/new")
    page.get_by_label(re.compile(r"^Nom du traitement")).fill("")
    page.get_by_role("button", name="Enregistrer").click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("La fiche n'est pas enregistrée : 1 erreur à corriger.")
    expect(page.get_by_label("Destinataire, ligne 4", exact=True)).to_have_value("Trésor public")
    expect(page.get_by_role("checkbox", name="MÉLODIE")).to_be_checked()
    shoot(page, screenshot_dir, "43-fiche-resume-erreurs", full_page=False)
    summary.get_by_role("link", name=re.compile("Nom du traitement")).click()
    expect(page.get_by_label(re.compile(r"^Nom du traitement"))).to_be_focused()
    watch.check()

    page.get_by_label(re.compile(r"^Nom du traitement")).fill("Facturation de la cantine")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Facturation de la cantine")
    expect(page.get_by_role("status").filter(has_text="Fiche créée.")).to_be_visible()
    expect(page.get_by_text("Trésor public")).to_be_visible()
    expect(page.get_by_text("Éditeur de la plateforme de paiement")).to_be_visible()
    expect(page.get_by_text("MÉLODIE, POLYFAC CCAS")).to_be_visible()
    shoot(page, screenshot_dir, "44-fiche-enregistree")
    watch.check()


def test_the_journal_table_fits_its_box(signed_in: Callable[[str], Page], screenshot_dir: Path) -> None:
    page = signed_in(CITIES_DPO)
    page.goto("/journal/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Journal d'audit")
    table = page.get_by_role("table", name="Entrées du journal, les plus récentes d'abord")
    total = int(
        re.search(r"sur (\d+)", page.get_by_text(re.compile(r"^1 à \d+ sur \d+$")).inner_text()).group(1)
    )
    expect(table.locator("tbody tr")).to_have_count(min(total, 50))  # 50 entries a page
    sizes = page.evaluate(
        """() => {
            const table = document.querySelector("table.journal-table");
            const box = table.parentElement;
            return {page: document.documentElement.scrollWidth, view: document.documentElement.clientWidth,
                    table: table.scrollWidth, box: box.clientWidth};
        }"""
    )
    assert sizes["page"] <= sizes["view"], sizes  # no horizontal scrolling of the page
    assert sizes["table"] <= sizes["box"], sizes  # the table fits its box
    expect(table).not_to_contain_text("ProcessingActivity")
    shoot(page, screenshot_dir, "45-journal", full_page=False)
