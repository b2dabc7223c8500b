"""The SMSI's incident log in headless Chromium, on the demo data: the RSSI of SIIM94 records an
incident with personal data on BL SOCIAL, an application six members use; the incident's page lists
the six breaches it opened, each with its 72 h clock; the DPO who serves those members finds them
in his portfolio. Screenshots go to artifacts/screenshots/."""

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
TITLE = "Exfiltration de dossiers d'aide sociale"
DESKTOP = {"width": 1366, "height": 900}


def test_an_incident_with_personal_data_opens_each_members_breach(
    signed_in: Callable[[str], Page], watch: PageWatch, screenshot_dir: Path
) -> None:
    page = signed_in(RSSI)
    page.set_viewport_size(DESKTOP)
    page.goto("/smsi/incidents/new")
    expect(page.get_by_role("heading", level=1)).to_have_text("Nouvel incident de sécurité")
    detected = datetime.now(ZoneInfo("Europe/Paris")) - timedelta(hours=2)
    page.get_by_label(re.compile(r"^Titre")).fill(TITLE)
    page.get_by_label("Détecté le").fill(detected.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Catégorie").select_option(label="Fuite de données")
    page.get_by_role("radio", name=re.compile(r"^3 — Majeur")).check()
    page.get_by_role("checkbox", name="Confidentialité").check()
    page.get_by_role("checkbox", name="BL SOCIAL", exact=True).check()
    page.get_by_role("checkbox", name="Des données personnelles sont en cause").check()
    page.screenshot(path=screenshot_dir / "50-incident-formulaire-1366.png", full_page=True)
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_role("status").filter(has_text="Incident enregistré")).to_be_visible()

    expect(page.get_by_role("heading", level=1)).to_contain_text(TITLE)
    expect(page.get_by_role("heading", name="6 organisations touchées")).to_be_visible()
    breaches = page.get_by_role(
        "table", name="Violations ouvertes dans les registres des organisations touchées"
    )
    expect(breaches.locator("tbody tr")).to_have_count(6)
    expect(breaches.locator(".deadline-clock").first).to_have_text(
        re.compile(r"^(69|70) h \d+ min restantes$")
    )
    page.screenshot(path=screenshot_dir / "51-incident-violations-1366.png", full_page=True)
    watch.check()

    dpo = signed_in(CITIES_DPO)
    dpo.set_viewport_size(DESKTOP)
    dpo.goto("/registers/portfolio/?only=pending")
    table = dpo.get_by_role("table", name="Organisations servies")
    for city in ("Arcueil", "Gentilly", "Villejuif", "Vitry-sur-Seine"):
        expect(table.get_by_role("row").filter(has_text=city)).to_have_count(1)
    dpo.screenshot(path=screenshot_dir / "52-portefeuille-violations-incident-1366.png", full_page=True)
    watch.check()
