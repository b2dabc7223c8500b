"""An EBIOS Risk Manager study walked through its five workshops in headless Chromium, as the demo
RSSI, through the forms only: the study, then each workshop's objects, the risk that workshop 4 puts
in the register, its treatment and a measure in workshop 5, and the study's risk map at the end.
Screenshots of each workshop go to artifacts/screenshots/."""

from __future__ import annotations

import datetime as dt
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


def _add(page: Page, section: str) -> None:
    page.get_by_role("link", name=f"Ajouter — {section}").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Ajouter")


def _save(page: Page) -> None:
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_role("status").filter(has_text="Enregistré")).to_be_visible()


def _first(page: Page, select: str) -> None:
    page.select_option(select, index=1)


def test_an_ebios_study_through_its_five_workshops(
    signed_in: Callable[[str], Page], watch: PageWatch, screenshot_dir: Path
) -> None:
    page = signed_in(RSSI)
    page.set_viewport_size(DESKTOP)
    page.goto("/risks/ebios/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Études EBIOS Risk Manager")
    page.get_by_role("link", name="Nouvelle étude").first.click()
    page.fill("#title", "Messagerie mutualisée")
    page.fill("#scope", "Le service de messagerie hébergé pour les villes adhérentes")
    page.fill("#missions", "Échanges des agents et des élus")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page).to_have_url(re.compile(r"/risks/ebios/\d+/atelier-1$"))
    study = re.search(r"/risks/ebios/(\d+)/", page.url).group(1)

    # Workshop 1: a business value, a supporting asset, a feared event, the baseline pre-filled.
    _add(page, "Valeurs métier")
    page.fill("#name", "Courriels des élus")
    page.select_option("#nature", "information")
    _save(page)
    _add(page, "Biens supports")
    page.fill("#name", "Serveurs de messagerie")
    page.select_option("#kind", "infrastructure")
    page.check("#business_value_ids-0")
    _save(page)
    _add(page, "Événements redoutés")
    _first(page, "#business_value_id")
    page.fill("#description", "Divulgation des échanges des élus")
    page.select_option("#gravity", "3")
    _save(page)
    page.get_by_role("button", name=re.compile("Pré-remplir")).click()
    expect(page.get_by_role("status").filter(has_text="ajouté")).to_be_visible()
    expect(page.get_by_role("table", name="Événements redoutés")).to_contain_text("Divulgation des échanges")
    page.screenshot(path=screenshot_dir / "70-ebios-atelier-1-1366.png", full_page=True)
    watch.check()

    # Workshop 2: a pair, selected.
    page.goto(f"/risks/ebios/{study}/atelier-2")
    _add(page, "Couples source de risque / objectif visé")
    page.fill("#risk_origin", "Cybercriminel")
    page.fill("#target_objective", "Revendre les courriels")
    page.select_option("#motivation", "4")
    page.select_option("#resources", "3")
    page.select_option("#activity", "4")
    page.check("#is_selected")
    _save(page)
    expect(page.get_by_text("retenu", exact=True)).to_be_visible()
    page.screenshot(path=screenshot_dir / "71-ebios-atelier-2-1366.png", full_page=True)
    watch.check()

    # Workshop 3: a stakeholder (its threat level), a strategic scenario, an attack path.
    page.goto(f"/risks/ebios/{study}/atelier-3")
    _add(page, "Parties prenantes de l'écosystème")
    page.fill("#name", "Éditeur de la messagerie")
    page.select_option("#category", "provider")
    for field, value in (("#dependency", "4"), ("#penetration", "3"), ("#maturity", "2"), ("#trust", "2")):
        page.select_option(field, value)
    _save(page)
    expect(page.get_by_role("table", name="Parties prenantes de l'écosystème")).to_contain_text("3.00")
    _add(page, "Scénarios stratégiques")
    _first(page, "#srov_id")
    page.fill("#title", "Vol des courriels par l'éditeur compromis")
    page.check("#feared_event_ids-0")
    _save(page)
    _add(page, "Chemins d'attaque")
    _first(page, "#scenario_id")
    _first(page, "#stakeholder_id")
    page.fill("#description", "Compte d'administration de l'éditeur")
    _save(page)
    page.screenshot(path=screenshot_dir / "72-ebios-atelier-3-1366.png", full_page=True)
    watch.check()

    # Workshop 4: an operational scenario, which becomes a risk of the register.
    page.goto(f"/risks/ebios/{study}/atelier-4")
    _add(page, "Scénarios opérationnels")
    _first(page, "#strategic_scenario_id")
    page.fill("#title", "Export des boîtes par la console d'administration")
    page.check("#asset_ids-0")
    page.select_option("#likelihood", "3")
    _save(page)
    expect(
        page.get_by_role("table", name="Scénarios opérationnels").get_by_role("link", name=re.compile("RSK-"))
    ).to_be_visible()
    page.screenshot(path=screenshot_dir / "73-ebios-atelier-4-1366.png", full_page=True)
    watch.check()

    # Workshop 5: the treatment, a measure (an action of the SMSI), then the map.
    page.goto(f"/risks/ebios/{study}/atelier-5")
    page.get_by_role("link", name=re.compile("^Traiter")).click()
    page.select_option("#treatment", "reduce")
    page.check('input[name="control_ids"][value="A.8.5"]')
    page.select_option("#residual_likelihood", "1")
    page.select_option("#residual_impact", "3")
    _save(page)
    _add(page, "Mesures de sécurité")
    _first(page, "#scenario_id")
    page.fill("#title", "MFA sur la console d'administration")
    _first(page, "#owner_id")
    page.fill("#due_on", (dt.date.today() + dt.timedelta(days=60)).isoformat())
    _save(page)
    expect(page.get_by_role("link", name="voir l'action")).to_be_visible()
    page.screenshot(path=screenshot_dir / "74-ebios-atelier-5-1366.png", full_page=True)
    watch.check()

    page.get_by_role("link", name="Carte des risques de l'étude").last.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Carte des risques de l'étude")
    for title in ("Risques bruts (avant traitement)", "Risques résiduels (après traitement)"):
        expect(page.get_by_role("group", name=title)).to_be_visible()
    page.screenshot(path=screenshot_dir / "75-ebios-carte-1366.png", full_page=True)
    watch.check()
