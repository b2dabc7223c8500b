"""The RSSI's risk register and the hygiene maturity in headless Chromium, on the demo data: the heat
maps are inline SVG whose cells are links (a cell leads to the list filtered on it), and the hygiene
self-assessment draws its radar per chapter. Screenshots go to artifacts/screenshots/."""

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


def test_heat_map_cells_filter_the_register_and_the_maturity_radar(
    signed_in: Callable[[str], Page], watch: PageWatch, screenshot_dir: Path
) -> None:
    page = signed_in(RSSI)
    page.set_viewport_size(DESKTOP)

    page.goto("/risks/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Registre des risques")
    for stage in ("inherent", "residual"):
        heat_map = page.locator(f"#h-map-{stage} ~ .chart svg")
        expect(heat_map).to_be_visible()
        box = heat_map.bounding_box()
        assert box is not None
        assert box["width"] > 250  # scaled to its card
    page.screenshot(path=screenshot_dir / "58-risques-carte-de-chaleur-1366.png", full_page=True)
    # A cell that counts risks: its link says how many, and leads to exactly those.
    cell = page.locator("a[href*='stage=inherent']:not([aria-label^='0 '])").first
    counted = int(re.match(r"\d+", cell.get_attribute("aria-label") or "").group(0))
    assert counted > 0
    cell.click()
    expect(page).to_have_url(re.compile(r"/risks/\?stage=inherent&v=\d&g=\d$"))
    expect(page.locator("main table tbody tr")).to_have_count(counted)
    watch.check()

    page.goto("/risks/hygiene/")
    expect(page.get_by_role("heading", name="Maturité par chapitre")).to_be_visible()
    radar = page.locator("#h-radar ~ .chart svg")
    expect(radar).to_be_visible()
    box = radar.bounding_box()
    assert box is not None
    assert box["width"] > 250
    page.screenshot(path=screenshot_dir / "59-hygiene-radar-1366.png", full_page=True)
    watch.check()
