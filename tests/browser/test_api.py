"""The JSON API as a person meets it, in headless Chromium on the demo data: a token created on
"Mon compte" is shown once, the API's documentation page draws the OpenAPI document with the
vendored Redoc (nothing the CSP blocks: the page watch fails on any console error), and the token
reads the API. Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

import datetime as dt
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


def test_a_token_is_created_shown_once_and_reads_the_documented_api(
    signed_in: Callable[[str], Page], watch: PageWatch, screenshot_dir: Path
) -> None:
    page = signed_in(RSSI)
    page.set_viewport_size(DESKTOP)
    page.goto("/account/")
    expect(page).to_have_title("Mon compte · Égide")
    page.get_by_label("Nom du jeton").fill("Tableau de bord régional")
    page.get_by_label("Portée").select_option("read")
    page.get_by_label("Expire le").fill((dt.date.today() + dt.timedelta(days=90)).isoformat())
    page.get_by_role("button", name="Créer un jeton").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Jeton d'accès créé")
    secret = page.locator("#api-token-secret").inner_text().strip()
    assert secret.startswith("egide_pat_")
    page.screenshot(path=screenshot_dir / "80-api-jeton-cree.png", full_page=True)
    watch.check()

    # Shown once: "Mon compte" lists it by its prefix only.
    page.get_by_role("link", name="J'ai copié le jeton, continuer").click()
    expect(page.get_by_text("Tableau de bord régional")).to_be_visible()
    assert secret not in page.content()

    # The documentation page: Redoc, served by Égide, draws the document.
    page.goto("/api/v1/docs")
    expect(page.get_by_role("heading", name="Égide API").first).to_be_visible(timeout=15_000)
    expect(page.get_by_text("/api/v1/rights-requests").first).to_be_attached()
    page.screenshot(path=screenshot_dir / "81-api-documentation.png")
    watch.check()

    # The token reads the API of its organisation; without it, a 401 problem.
    answer = page.request.get("/api/v1/organisations", headers={"Authorization": f"Bearer {secret}"})
    assert answer.status == 200
    assert answer.json()["items"]
    refused = page.request.get("/api/v1/organisations", headers={"Authorization": "Bearer egide_pat_x"})
    assert refused.status == 401
    assert refused.headers["content-type"].startswith("application/problem+json")
