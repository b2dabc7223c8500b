"""The RSSI's week in headless Chromium, on the demo data: the SMSI dashboard draws its charts as
inline SVG (no script, nothing the CSP blocks: the page watch fails on any console error), the
weekly review prints as a PDF stored among the documents, and the Statement of Applicability shows
its summary. Screenshots go to artifacts/screenshots/."""

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


def test_the_rssis_dashboard_review_and_statement(
    signed_in: Callable[[str], Page], watch: PageWatch, screenshot_dir: Path
) -> None:
    page = signed_in(RSSI)
    page.set_viewport_size(DESKTOP)

    page.goto("/smsi/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Tableau de bord du SMSI")
    for title in (
        "Incidents en cours par gravité",
        "Délais moyens de confinement et de résolution",
        "Mise en œuvre des mesures par thème",
    ):
        chart = page.get_by_role("img", name=title)
        expect(chart).to_be_visible()
        box = chart.bounding_box()
        assert box is not None
        assert box["width"] > 300  # scaled to its card, not a 0×0 element
    # The demo's year of incidents: the chart's table lists twelve months with detections.
    page.get_by_text("Les chiffres").click()
    months = page.get_by_role("table", name="Délais moyens de confinement et de résolution")
    expect(months.locator("tbody tr")).to_have_count(12)
    page.screenshot(path=screenshot_dir / "55-smsi-tableau-de-bord-1366.png", full_page=True)
    # A figure leads to its filtered list.
    page.locator('[data-figure="open-incidents"]').click()
    expect(page).to_have_url(re.compile(r"/smsi/incidents/\?status=open$"))
    watch.check()

    page.goto("/smsi/review/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Revue hebdomadaire du SMSI")
    page.screenshot(path=screenshot_dir / "56-smsi-revue-1366.png", full_page=True)
    page.get_by_role("button", name="PDF de la revue").click()
    expect(page.get_by_role("status").filter(has_text="Document généré")).to_be_visible()
    expect(page.get_by_text(re.compile(r"[0-9a-f]{64}"))).to_be_visible()
    watch.check()

    page.goto("/smsi/soa/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("applicabilité")
    page.screenshot(path=screenshot_dir / "57-smsi-applicabilite-1366.png", full_page=True)
    watch.check()
