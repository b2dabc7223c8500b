"""Each role's home page in headless Chromium, on the demo data, at 1366 px and on a 390 px phone.

The RSSI of SIIM94 records a breach discovered 70 hours ago; the DPO who serves SIIM94 lands on a
home page showing its 72 h clock in red, which counts down without a reload (Playwright's clock
moves time on). Below 768 px the menu folds into an offcanvas panel, the organisation switch stays
usable and wide tables scroll inside their box. Screenshots go to artifacts/screenshots/.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from playwright.sync_api import Page

    from tests.browser.conftest import PageWatch

pytestmark = pytest.mark.browser

RSSI = "rssi@siim94.example.org"
CITIES_DPO = "dpo@siim94.example.org"
TITLE = "Rançongiciel sur le serveur de fichiers de la DRH"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}


def shoot(page: Page, directory: Path, name: str) -> None:
    page.screenshot(path=directory / f"{name}.png", full_page=True)


def _record_breach_70_hours_ago(page: Page) -> None:
    """The RSSI records the breach through the form (the RSSI may record one)."""
    page.goto("/registers/breaches/new")
    expect(page.get_by_role("heading", level=1)).to_contain_text("violation")
    discovered = datetime.now(ZoneInfo("Europe/Paris")) - timedelta(hours=70)
    page.get_by_label("Intitulé").fill(TITLE)
    page.get_by_label("Découverte le").fill(discovered.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("checkbox", name=re.compile("confidentialité", re.I)).first.check()
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_role("status").filter(has_text="Violation enregistrée")).to_be_visible()


def test_dpo_lands_on_a_home_page_with_a_red_breach_clock(
    signed_in: Callable[[str], Page], watch: PageWatch, screenshot_dir: Path
) -> None:
    rssi = signed_in(RSSI)
    expect(rssi.locator('[data-widget="registers.breaches"]')).to_be_visible()
    _record_breach_70_hours_ago(rssi)
    watch.check()

    page = signed_in(CITIES_DPO)
    page.set_viewport_size(DESKTOP)
    page.clock.install()  # Playwright's clock from here on: the page's timers move when it says
    page.goto("/")
    card = page.locator('[data-widget="registers.breaches"]')
    row = card.get_by_role("listitem").filter(has_text=TITLE)
    clock = row.locator(".deadline-clock")
    expect(clock).to_have_class(re.compile(r"\bdeadline-red\b"))
    expect(clock).to_have_text(re.compile(r"^1 h \d+ min restantes$"))
    expect(clock).to_have_css("background-color", "rgb(176, 42, 55)")  # red, not only a word
    expect(page.locator('[data-widget="registers.dpo"]')).to_be_visible()
    shoot(page, screenshot_dir, "40-accueil-dpo-1366")

    page.goto("/registers/portfolio/?only=pending")
    expect(page.get_by_role("table", name="Organisations servies").locator(".deadline-red")).to_have_count(1)
    shoot(page, screenshot_dir, "44-portefeuille-violations-1366")
    page.goto("/")

    # Two hours later, without a reload: the clock says how late it is.
    page.clock.run_for("02:00:00")
    expect(clock).to_have_text(re.compile(r"^délai dépassé de \d+ h$"))
    expect(clock).to_have_class(re.compile(r"\bdeadline-overdue\b"))
    watch.check()


def test_on_a_phone_the_menu_folds_and_the_organisation_switch_stays_usable(
    signed_in: Callable[[str], Page], watch: PageWatch, screenshot_dir: Path
) -> None:
    page = signed_in(CITIES_DPO)
    page.set_viewport_size(PHONE)
    page.goto("/")
    nav = page.get_by_role("navigation", name="Navigation principale")
    expect(nav.get_by_role("link", name="Registre RGPD")).not_to_be_visible()  # folded away
    shoot(page, screenshot_dir, "41-accueil-dpo-390")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    page.get_by_role("button", name="Menu").click()
    panel = page.get_by_role("dialog", name="Menu")
    expect(panel).to_have_class(re.compile(r"(^| )show( |$)"))  # slid in (Bootstrap's transition done)
    expect(nav.get_by_role("link", name="Registre RGPD")).to_be_visible()
    expect(nav.get_by_role("link", name="Registre RGPD")).to_be_in_viewport()
    shoot(page, screenshot_dir, "42-menu-390")
    page.get_by_role("button", name="Fermer le menu").click()
    expect(nav.get_by_role("link", name="Registre RGPD")).not_to_be_visible()

    # The organisation switch: visible, inside the screen, and it works.
    switch = page.get_by_label("Organisation active")
    expect(switch).to_be_visible()
    box = switch.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= PHONE["width"]
    with page.expect_navigation():
        switch.select_option(label="Ivry-sur-Seine")
    expect(page.get_by_role("status").filter(has_text="Organisation active : Ivry-sur-Seine")).to_be_visible()

    # A wide table scrolls inside its box; the page itself does not scroll sideways.
    page.goto("/registers/portfolio/")
    box_width = page.evaluate(
        "(() => { const b = document.querySelector('#portfolio').closest('.table-responsive');"
        " return [b.scrollWidth, b.clientWidth]; })()"
    )
    assert box_width[0] > box_width[1]  # the table is wider than its box…
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # …not the page
    shoot(page, screenshot_dir, "43-portefeuille-390")
    watch.check()
