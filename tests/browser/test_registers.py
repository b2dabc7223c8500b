"""The RGPD register in headless Chromium, on the demo data.

A referent creates a fiche, makes a mistake, corrects it and finds it in the register; the DPO of
the five founding cities reviews a model change in Ivry's register and accepts it; the mutualised
DPO's portfolio lists the organisations served. Screenshots go to artifacts/screenshots/.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from playwright.sync_api import Page

    from tests.browser.conftest import PageWatch

pytestmark = pytest.mark.browser

IVRY_REFERENT = "referent@ivry.example.org"
CITIES_DPO = "dpo@siim94.example.org"
IVRY = "Ivry-sur-Seine"


def shoot(page: Page, directory: Path, name: str) -> None:
    page.screenshot(path=directory / f"{name}.png", full_page=True)


def registers_nav(page: Page) -> None:
    page.get_by_role("navigation", name="Navigation principale").get_by_role(
        "link", name="Registre RGPD"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Registre des activités de traitement")


def test_referent_creates_a_fiche_after_fixing_a_mistake(
    signed_in: Callable[[str], Page], watch: PageWatch, screenshot_dir: Path
) -> None:
    page = signed_in(IVRY_REFERENT)
    page.goto("/")
    registers_nav(page)
    shoot(page, screenshot_dir, "20-registre-ivry")
    page.get_by_role("link", name="Nouvelle fiche").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Nouvelle fiche de traitement")

    # A mistake: no name, and a recipient without its type. The page answers 422 (Chromium logs it).
    watch.allow_console_error("status of 422", "/registers/activities/new")
    page.get_by_label("Finalité principale", exact=True).fill("Gestion des concessions du cimetière communal")
    page.get_by_label("Destinataire, ligne 1", exact=True).fill("Service des cimetières")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_role("alert").filter(has_text="Le formulaire contient des erreurs")).to_be_visible()
    # Beside the row, and in the summary of errors above the form (a link to the field).
    expect(page.get_by_text("Type : Choisissez le type de destinataire.", exact=True)).to_be_visible()
    expect(
        page.locator("#error-summary").get_by_role("link", name="Destinataires, ligne 1 — Type")
    ).to_contain_text("Choisissez le type de destinataire.")
    expect(page.get_by_label("Finalité principale", exact=True)).to_have_value(
        "Gestion des concessions du cimetière communal"
    )
    expect(page.get_by_label("Destinataire, ligne 1", exact=True)).to_have_value("Service des cimetières")
    shoot(page, screenshot_dir, "21-fiche-erreurs")
    watch.check()

    page.get_by_label(re.compile(r"^Nom du traitement")).fill("Concessions funéraires")
    page.get_by_label("Type de destinataire, ligne 1").select_option(
        label="Destinataires internes (services de l'organisme)"
    )
    page.get_by_label("Base légale", exact=True).select_option(value="6.1.e")
    page.get_by_label("Texte de référence de la base légale").fill(
        "Code général des collectivités territoriales, art. L2223-13"
    )
    page.get_by_role("checkbox", name="État civil, identité, données d'identification, images").check()
    page.get_by_label("État civil, identité, données d'identification, images — base active").fill(
        "Durée de la concession"
    )
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Concessions funéraires")
    expect(page.get_by_role("status").filter(has_text="Fiche créée.")).to_be_visible()
    shoot(page, screenshot_dir, "22-fiche-creee")

    registers_nav(page)
    page.get_by_label("Recherche").fill("concessions")
    page.get_by_role("button", name="Filtrer").click()
    table = page.get_by_role("table", name="Fiches de traitement")
    expect(table.get_by_role("link", name="Concessions funéraires", exact=True)).to_be_visible()
    watch.check()


def test_dpo_accepts_a_model_change_and_sees_the_portfolio(
    signed_in: Callable[[str], Page], watch: PageWatch, screenshot_dir: Path
) -> None:
    page = signed_in(CITIES_DPO)
    page.goto("/registers/portfolio/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Portefeuille du DPO")
    portfolio = page.get_by_role("table", name="Organisations servies")
    expect(portfolio.get_by_role("rowheader", name=re.compile(IVRY))).to_be_visible()
    shoot(page, screenshot_dir, "23-portefeuille-dpo")
    portfolio.get_by_role("button", name=f"Ouvrir le registre {IVRY}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Registre des activités de traitement")

    page.get_by_label("À revoir").select_option(value="model_update")
    page.get_by_role("button", name="Filtrer").click()
    table = page.get_by_role("table", name="Fiches de traitement")
    changed = table.get_by_role("row").filter(has_text="modèle modifié").first
    expect(changed).to_be_visible()
    changed.get_by_role("link").click()
    shoot(page, screenshot_dir, "24-fiche-heritee")
    page.get_by_role("link", name="Voir les différences").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("a changé")
    shoot(page, screenshot_dir, "25-differences-modele")
    page.get_by_role("button", name="Valider ma décision").click()
    expect(page.get_by_role("status").filter(has_text="Mise à jour du modèle traitée")).to_be_visible()
    expect(page.get_by_role("link", name="Voir les différences")).to_have_count(0)
    watch.check()


def test_dpo_walks_through_requests_breaches_dpia_and_a_pdf(
    signed_in: Callable[[str], Page], watch: PageWatch, screenshot_dir: Path
) -> None:
    page = signed_in(CITIES_DPO)
    page.goto("/registers/portfolio/")
    page.get_by_role("table", name="Organisations servies").get_by_role(
        "button", name=f"Ouvrir le registre {IVRY}"
    ).click()
    nav = page.get_by_role("navigation", name="Navigation principale")

    nav.get_by_role("link", name="Demandes de droits").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Demandes d'exercice des droits")
    shoot(page, screenshot_dir, "26-demandes-droits")

    nav.get_by_role("link", name="Violations de données").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Registre des violations de données")
    expect(page.get_by_text(re.compile(r"restantes"))).not_to_have_count(0)  # Ivry's open breach: 72 h clock
    shoot(page, screenshot_dir, "27-violations")
    page.get_by_role("table").get_by_role("link").first.click()
    shoot(page, screenshot_dir, "28-violation-detail")

    nav.get_by_role("link", name="Registre RGPD").click()
    page.get_by_role("table", name="Fiches de traitement").get_by_role("link").first.click()
    page.get_by_role("link", name="Analyse AIPD").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Analyse d'impact (AIPD)")
    shoot(page, screenshot_dir, "29-aipd")
    with page.expect_download() as pia_file:  # a POST action (journalled), not a link
        page.get_by_role("button", name="Exporter pour le logiciel PIA de la CNIL").click()
    assert pia_file.value.suggested_filename.endswith("-pia.json")
    expect(page.get_by_role("heading", level=1)).to_have_text("Analyse d'impact (AIPD)")

    nav.get_by_role("link", name="Documents PDF").click()
    page.get_by_role("button", name="Générer le registre (PDF)").click()
    expect(page.get_by_text(re.compile(r"^[0-9a-f]{64}$"))).to_be_visible()  # the SHA-256
    shoot(page, screenshot_dir, "30-document-sha256")
    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger le PDF").click()
    assert download.value.suggested_filename.endswith(".pdf")
    watch.check()
