"""The RSSI's parcours de cybersécurité in headless Chromium, on the demo data: the overview draws its
progress chart as inline SVG (nothing the CSP blocks: the page watch fails on any console error),
shows the funding with the beneficiary's co-financing and flags the late measures; the home card's
figure leads to the late measures; the progress report prints as a PDF stored among the documents.
Screenshots go to artifacts/screenshots/."""

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

RSSI = "rssi@siim94.example.org"
DESKTOP = {"width": 1366, "height": 900}


def test_the_rssis_parcours(signed_in: Callable[[str], Page], watch: PageWatch, screenshot_dir: Path) -> None:
    page = signed_in(RSSI)
    page.set_viewport_size(DESKTOP)

    page.goto("/risks/parcours/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Parcours de cybersécurité")
    chart = page.get_by_role("img", name="Avancement des mesures par thème")
    expect(chart).to_be_visible()
    box = chart.bounding_box()
    assert box is not None
    assert box["width"] > 300  # scaled to its card, not a 0×0 element
    expect(page.get_by_text("Outil de centralisation des évènements de sécurité (SIEM)")).to_be_visible()
    expect(page.get_by_text("Subvention phase 2 (pack relais)").first).to_be_visible()
    expect(page.get_by_text("menacé par des mesures en retard")).to_be_visible()
    funding = page.locator('[data-table="funding"]')
    expect(funding).to_contain_text("40 000,00")
    expect(funding).to_contain_text("50 000,00")
    expect(page.locator('tr[data-late="1"]').first).to_be_visible()
    page.screenshot(path=screenshot_dir / "60-parcours-cybersecurite-1366.png", full_page=True)
    watch.check()

    # The home card's figure leads to the late measures.
    page.goto("/")
    page.locator('[data-figure="parcours-late"]').click()
    expect(page).to_have_url(re.compile(r"/risks/parcours/\?late=1#h-measures$"))
    expect(page.locator('tr[data-late="1"]')).to_have_count(2)
    watch.check()

    # The progress report for ANSSI, stored among the documents.
    page.goto("/risks/parcours/")
    page.get_by_label("Destinataire").select_option("anssi")
    page.get_by_role("button", name="Générer le rapport").click()
    expect(page.get_by_role("status").filter(has_text="Document généré")).to_be_visible()
    expect(page.get_by_text(re.compile(r"[0-9a-f]{64}"))).to_be_visible()
    watch.check()
