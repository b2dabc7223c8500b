"""Smoke test in headless Chromium: the demo as a DPO and a member's referent would walk through it.

Each step leaves a full-page screenshot in ``artifacts/screenshots/`` for a human to look at.
Locators are accessible ones (roles, labels): a missing label fails the test.
The first test logs in through the pages, second factor included; the others start already logged
in (``signed_in``: one login per account for the whole module).
"""

from __future__ import annotations

import gettext
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect

if TYPE_CHECKING:
    from collections.abc import Callable

    from playwright.sync_api import Locator, Page

    from tests.browser.conftest import LogIn, PageWatch

pytestmark = pytest.mark.browser

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ENGLISH_CATALOGUE = PROJECT_ROOT / "translations" / "en" / "LC_MESSAGES" / "messages.mo"
PASSWORD = "egide-demo-2026"
MUTUALISED_DPO = "dpo.mutualise@siim94.example.org"
IVRY_REFERENT = "referent@ivry.example.org"
SIIM94 = "SIIM94"
GOSB = "EPT Grand-Orly Seine Bièvre (GOSB)"


def shoot(page: Page, directory: Path, name: str) -> None:
    page.screenshot(path=directory / f"{name}.png", full_page=True)


def main_nav(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Navigation principale")


def active_org_line(page: Page) -> Locator:
    return page.get_by_role("main").get_by_text(re.compile(r"^Organisation active : ")).last


def switch_organisation(page: Page, name: str) -> None:
    """Pick an organisation in the header select; egide.js submits the form on change."""
    with page.expect_navigation():
        page.get_by_label("Organisation active").select_option(label=name)
    expect(active_org_line(page)).to_have_text(f"Organisation active : {name}")


def catalogue_rows(page: Page) -> Locator:
    table = page.get_by_role("table", name="Applications du catalogue")
    return table.get_by_role("row").filter(has=page.get_by_role("cell"))


def test_mutualised_dpo_walks_through_home_organisations_catalogue_and_an_application(
    web: Page, watch: PageWatch, log_in: LogIn, screenshot_dir: Path
) -> None:
    page = web
    page.goto("/login")
    expect(page).to_have_title("Connexion · Égide")
    expect(page.get_by_role("heading", name="Connexion à Égide")).to_be_visible()
    shoot(page, screenshot_dir, "01-connexion")

    page.get_by_label("Adresse électronique").fill(MUTUALISED_DPO)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(re.compile(r"/login/second-factor$"))  # a DPO's account has MFA
    log_in.second_factor(page, MUTUALISED_DPO)
    expect(page.get_by_role("heading", level=1)).to_have_text("Bonjour Nadia Ferreira")
    expect(active_org_line(page)).to_have_text(f"Organisation active : {SIIM94}")
    expect(page.get_by_role("link", name="Voir le catalogue")).to_be_visible()
    shoot(page, screenshot_dir, "02-accueil-siim94")
    watch.check()

    switch_organisation(page, GOSB)
    expect(page.get_by_role("status")).to_contain_text(f"Organisation active : {GOSB}")
    expect(page.get_by_label("Organisation active")).to_have_value(re.compile(r"^\d+$"))
    shoot(page, screenshot_dir, "03-accueil-gosb")
    switch_organisation(page, SIIM94)
    shoot(page, screenshot_dir, "04-accueil-retour-siim94")
    watch.check()

    main_nav(page).get_by_role("link", name="Organisations").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Organisations")
    organisations = page.get_by_role("table", name="Liste des organisations")
    expect(organisations.get_by_role("link", name=GOSB)).to_be_visible()
    shoot(page, screenshot_dir, "05-organisations")
    watch.check()

    main_nav(page).get_by_role("link", name="Catalogue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Catalogue des applications")
    expect(catalogue_rows(page)).to_have_count(25)
    unfiltered_total = page.get_by_text(re.compile(r"^1 à 25 sur \d+$"))
    expect(unfiltered_total).to_be_visible()
    shoot(page, screenshot_dir, "06-catalogue")

    page.get_by_label("Domaine", exact=True).select_option(label="Finances")
    with page.expect_navigation():
        page.get_by_role("button", name="Filtrer").click()
    expect(page).to_have_url(re.compile(r"[?&]domain=finances(&|$)"))
    expect(page.get_by_label("Domaine", exact=True)).to_have_value("finances")
    rows = catalogue_rows(page)
    expect(rows).to_have_count(10)  # the demo's ten SIIM94 finance applications
    expect(rows.get_by_role("cell", name="Finances", exact=True)).to_have_count(10)
    expect(page.get_by_text("1 à 10 sur 10", exact=True)).to_be_visible()
    shoot(page, screenshot_dir, "07-catalogue-domaine-finances")
    watch.check()

    first = rows.first.get_by_role("link")
    name = first.inner_text().strip()
    first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    breadcrumb = page.get_by_role("navigation", name="Fil d'Ariane")
    expect(breadcrumb.get_by_role("link", name="Catalogue")).to_be_visible()
    expect(page.get_by_role("heading", name="Abonnés")).to_be_visible()
    shoot(page, screenshot_dir, "08-application-detail")


def test_syndicate_member_count_on_organisations_page_counts_members_only(
    signed_in: Callable[[str], Page],
) -> None:
    page = signed_in(MUTUALISED_DPO)
    page.goto("/organisations/?relation=member")
    total = page.get_by_text(re.compile(r"^1 à \d+ sur \d+$"))
    expect(total).to_be_visible()
    members = int(total.inner_text().rsplit(" ", 1)[1])

    main_nav(page).get_by_role("link", name="Organisations").click()
    table = page.get_by_role("table", name="Liste des organisations")
    siim94 = table.get_by_role("row").filter(has=page.get_by_role("link", name=SIIM94, exact=True))
    expect(siim94.get_by_role("cell", name=re.compile(r"adhérents$"))).to_have_text(f"{members} adhérents")


def test_member_referent_sees_only_the_applications_of_its_own_organisation(
    signed_in: Callable[[str], Page], screenshot_dir: Path
) -> None:
    page = signed_in(IVRY_REFERENT)
    expect(active_org_line(page)).to_have_text("Organisation active : Ivry-sur-Seine")
    expect(page.get_by_label("Organisation active")).to_have_count(0)  # one organisation: no select

    main_nav(page).get_by_role("link", name="Catalogue").click()
    expect(page.get_by_text("Applications utilisées par Ivry-sur-Seine")).to_be_visible()
    shoot(page, screenshot_dir, "09-catalogue-referent-ivry")

    page.goto("/catalogue/?per_page=200")  # every row on one page
    rows = catalogue_rows(page)
    expect(rows.get_by_role("link", name="PELEHAS", exact=True)).to_be_visible()
    expect(rows.get_by_role("link", name="Péléhas (SICIO)")).to_have_count(0)
    expect(rows.get_by_role("link", name=re.compile(r"\(SICIO\)"))).to_have_count(0)
    expect(page.get_by_label("Adhérent", exact=True)).to_have_count(0)  # members filter: syndicate only


def test_unknown_address_shows_the_french_404_page(
    signed_in: Callable[[str], Page], watch: PageWatch, screenshot_dir: Path
) -> None:
    page = signed_in(MUTUALISED_DPO)
    bad = "/cette-page-n-existe-pas"
    watch.allow_console_error("status of 404", bad)  # Chromium logs the 404 response itself

    response = page.goto(bad)
    assert response is not None
    assert response.status == 404
    expect(page).to_have_title("Page introuvable · Égide")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", level=1)).to_have_text("Page introuvable")
    expect(page.get_by_text("Cette page n'existe pas")).to_be_visible()
    expect(main_nav(page)).to_be_visible()  # still inside the application's frame
    shoot(page, screenshot_dir, "10-erreur-404")

    page.get_by_role("link", name="Retour à l'accueil").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bonjour Nadia Ferreira")


def test_language_button_switches_the_interface_to_english(
    signed_in: Callable[[str], Page], screenshot_dir: Path
) -> None:
    page = signed_in(MUTUALISED_DPO)
    main_nav(page).get_by_role("link", name="Catalogue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Catalogue des applications")

    with page.expect_navigation():
        page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("button", name="Français")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/catalogue/"))  # stays on the same page
    shoot(page, screenshot_dir, "11-catalogue-english")

    if not ENGLISH_CATALOGUE.exists():
        pytest.skip(f"English labels not checked: {ENGLISH_CATALOGUE.relative_to(PROJECT_ROOT)} is missing")
    with ENGLISH_CATALOGUE.open("rb") as fh:
        english = gettext.GNUTranslations(fh).gettext
    labels = ("Catalogue des applications", "Accueil", "Se déconnecter", "Filtrer", "Domaine")
    untranslated = [msgid for msgid in labels if english(msgid) == msgid]
    if untranslated:
        pytest.skip(f"English labels not checked: messages.mo does not translate {untranslated}")
    expect(page.get_by_role("heading", level=1)).to_have_text(english("Catalogue des applications"))
    english_nav = page.get_by_role("navigation", name=english("Navigation principale"))
    expect(english_nav.get_by_role("link", name=english("Accueil"), exact=True)).to_be_visible()
    expect(page.get_by_role("button", name=english("Se déconnecter"), exact=True)).to_be_visible()
    expect(page.get_by_role("button", name=english("Filtrer"), exact=True)).to_be_visible()
    expect(page.get_by_label(english("Domaine"), exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Se déconnecter")).to_have_count(0)

    with page.expect_navigation():
        page.get_by_role("button", name="Français").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Catalogue des applications")
