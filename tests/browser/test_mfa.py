"""Account security in headless Chromium: enrolling a second factor, logging in with it, sessions.

The issue's scenario, as the referent of Ivry-sur-Seine (no MFA in the demo) would live it, with a
screenshot of each new page in ``artifacts/screenshots/`` (``mfa-*.png``). This module enrols the
referent and closes sessions: the conftest gives each module its own server on a fresh demo
database, so the other modules still see the demo accounts as loaded. Inside this module each test
uses its own demo account, so the tests do not depend on each other's order.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

import pyotp
import pytest
from playwright.sync_api import expect

from accounts.demo import DEMO_TOTP_SECRET

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from playwright.sync_api import BrowserContext, Locator, Page

    from tests.browser.conftest import LogIn, TotpSteps

pytestmark = pytest.mark.browser

IVRY_REFERENT = "referent@ivry.example.org"  # Julien Morel: no MFA in the demo
SIIM94_DPO = "dpo@siim94.example.org"  # Sophie Marchand: MFA with the demo key
SIIM94_RSSI = "rssi@siim94.example.org"  # Karim Benali: MFA with the demo key
SICIO_RSSI = "rssi@sicio.example.org"  # Laure Nguyen: MFA with the demo key
AUDITOR = "auditeur@audit.example.org"  # Thomas Lefèvre: MFA with the demo key
VITRY_READER = "lecteur@vitry.example.org"  # Hélène Dubois: no MFA
SECOND_FACTOR_URL = re.compile(r"/login/second-factor$")
LOGIN_URL = re.compile(r"/login(\?.*)?$")
RECOVERY_CODE = re.compile(r"^[a-z2-7]{5}(-[a-z2-7]{5}){4}$")
WRONG_CODE = "Code incorrect ou déjà utilisé."
QUICK = 1_000  # ms: on a loaded page; keeps the expected failures (xfail) from waiting 5 s each


def shoot(page: Page, directory: Path, name: str) -> None:
    page.screenshot(path=directory / f"{name}.png", full_page=True)


def open_my_account(page: Page, full_name: str) -> None:
    """Through the header: the user's name links to « Mon compte »."""
    page.get_by_role("banner").get_by_role("link", name=full_name, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mon compte")


def session_rows(page: Page) -> Locator:
    table = page.get_by_role("table", name="Sessions ouvertes")
    return table.get_by_role("row").filter(has=page.get_by_role("cell"))


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Connexion à Égide")
    expect(page.get_by_text("Vous êtes déconnecté.")).to_be_visible()


def test_referent_enrols_a_second_factor_then_logs_in_with_it_and_sees_the_session(
    web: Page, log_in: LogIn, totp: TotpSteps, screenshot_dir: Path
) -> None:
    page = web
    log_in(page, IVRY_REFERENT)  # the password alone: no MFA yet
    expect(page.get_by_role("heading", level=1)).to_have_text("Bonjour Julien Morel")

    open_my_account(page, "Julien Morel")
    mfa = page.get_by_role("region", name="Double authentification")
    expect(mfa.get_by_text("Non activée", exact=True)).to_be_visible()
    mfa.get_by_role("link", name="Activer", exact=True).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Activer la double authentification")
    expect(page.get_by_role("img", name="QR code d'enrôlement")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret), secret  # base32, 160 bits
    assert secret != DEMO_TOTP_SECRET  # a key of its own, not the published demo key
    shoot(page, screenshot_dir, "mfa-01-activation-qr-code")

    page.get_by_label("Code").fill(totp.code(IVRY_REFERENT, secret))
    page.get_by_role("button", name="Activer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Vos codes de secours")
    codes = page.locator("#recovery-codes li")
    expect(codes).to_have_count(10)
    texts = [text.strip() for text in codes.all_inner_texts()]
    assert all(RECOVERY_CODE.fullmatch(text) for text in texts), texts
    assert len(set(texts)) == 10
    shoot(page, screenshot_dir, "mfa-02-codes-de-secours")
    page.get_by_role("link", name="J'ai noté mes codes, continuer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bonjour Julien Morel")

    log_out(page)
    assert log_in.password_step(page, IVRY_REFERENT)  # now the server asks for the second factor
    expect(page).to_have_url(SECOND_FACTOR_URL)
    expect(page.get_by_role("heading", level=1)).to_have_text("Double authentification")
    expect(page.get_by_label("Code")).to_be_focused()
    shoot(page, screenshot_dir, "mfa-03-second-facteur")

    log_in.second_factor(page, IVRY_REFERENT, secret=secret)  # a step newer than the enrolment's
    expect(page.get_by_role("heading", level=1)).to_have_text("Bonjour Julien Morel")

    open_my_account(page, "Julien Morel")
    expect(mfa.get_by_text("Activée", exact=True)).to_be_visible()
    expect(mfa).to_contain_text("10 codes de secours restants")
    rows = session_rows(page)
    expect(rows).to_have_count(1)  # the enrolment's session was replaced, then logged out
    expect(rows.first).to_contain_text("cette session")
    expect(rows.first).to_contain_text("127.0.0.1")
    expect(page.get_by_role("button", name="Fermer", exact=True)).to_have_count(0)  # not one's own
    shoot(page, screenshot_dir, "mfa-04-mon-compte-sessions")


def test_closing_another_session_from_my_account_logs_that_browser_out(
    watched_context: Callable[..., BrowserContext], log_in: LogIn, screenshot_dir: Path
) -> None:
    office = watched_context().new_page()
    laptop = watched_context().new_page()
    log_in(office, SIIM94_DPO)
    log_in(laptop, SIIM94_DPO)  # a second login of the same account: a newer TOTP step

    open_my_account(office, "Sophie Marchand")
    rows = session_rows(office)
    expect(rows).to_have_count(2)
    current = rows.filter(has_text="cette session")
    other = rows.filter(has=office.get_by_role("button", name="Fermer", exact=True))
    expect(current).to_have_count(1)
    expect(other).to_have_count(1)
    expect(office.get_by_role("button", name="Fermer toutes mes autres sessions")).to_be_visible()
    shoot(office, screenshot_dir, "mfa-05-deux-sessions")

    other.get_by_role("button", name="Fermer", exact=True).click()
    expect(office.get_by_text("Session fermée.")).to_be_visible()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("cette session")

    laptop.goto("/catalogue/")
    expect(laptop).to_have_url(LOGIN_URL)
    expect(laptop.get_by_role("heading", level=1)).to_have_text("Connexion à Égide")

    office.goto("/catalogue/")  # the session that closed the other one is still open
    expect(office.get_by_role("heading", level=1)).to_have_text("Catalogue des applications")


def test_wrong_or_replayed_code_leaves_the_user_on_the_second_factor_page(
    web: Page, log_in: LogIn, totp: TotpSteps, screenshot_dir: Path
) -> None:
    page = web
    assert log_in.password_step(page, SIIM94_RSSI)
    page.get_by_label("Code").fill(totp.invalid_code())
    page.get_by_role("button", name="Valider").click()
    expect(page).to_have_url(SECOND_FACTOR_URL)
    expect(page.get_by_text(WRONG_CODE, exact=True)).to_be_visible()
    expect(page.get_by_label("Code")).to_have_attribute("aria-invalid", "true")
    shoot(page, screenshot_dir, "mfa-06-code-incorrect")

    page.goto("/catalogue/")  # half logged in: every other page sends back to the second factor
    expect(page).to_have_url(SECOND_FACTOR_URL)

    log_in.second_factor(page, SIIM94_RSSI)  # a wrong code does not block the right one
    expect(page.get_by_role("heading", level=1)).to_have_text("Bonjour Karim Benali")

    demo_totp = pyotp.TOTP(DEMO_TOTP_SECRET)
    accepted = totp.last[SIIM94_RSSI]
    log_out(page)
    assert log_in.password_step(page, SIIM94_RSSI)
    # The very code just accepted, still inside the window the server accepts: refused as a replay.
    assert accepted >= int(time.time()) // demo_totp.interval - 1
    page.get_by_label("Code").fill(demo_totp.generate_otp(accepted))
    page.get_by_role("button", name="Valider").click()
    expect(page).to_have_url(SECOND_FACTOR_URL)
    expect(page.get_by_text(WRONG_CODE, exact=True)).to_be_visible()


def test_second_factor_page_shows_neither_the_menu_nor_the_account_before_the_code(
    web: Page, log_in: LogIn
) -> None:
    page = web
    assert log_in.password_step(page, AUDITOR)
    expect(page.get_by_role("heading", level=1)).to_have_text("Double authentification")
    expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible()  # a way out stays
    expect(page.get_by_role("navigation", name="Navigation principale")).to_have_count(0, timeout=QUICK)
    expect(page.get_by_role("banner").get_by_text("Thomas Lefèvre")).to_have_count(0)
    expect(page.get_by_role("banner").get_by_text("SIIM94")).to_have_count(0)


def test_session_actions_are_visible_without_scrolling_the_sessions_table_sideways(
    watched_context: Callable[..., BrowserContext], log_in: LogIn
) -> None:
    page = watched_context().new_page()
    other = watched_context().new_page()
    log_in(page, SICIO_RSSI)
    log_in(other, SICIO_RSSI)
    open_my_account(page, "Laure Nguyen")
    rows = session_rows(page)
    expect(rows.get_by_text("cette session")).to_be_in_viewport(ratio=1, timeout=QUICK)
    expect(rows.get_by_role("button", name="Fermer", exact=True).first).to_be_in_viewport(ratio=1)


def test_enrolment_code_field_asks_for_the_application_code_only(web: Page, log_in: LogIn) -> None:
    page = web
    log_in(page, VITRY_READER)  # no MFA
    page.goto("/account/mfa/enrol")
    expect(page.get_by_role("heading", level=1)).to_have_text("Activer la double authentification")
    expect(page.get_by_label("Code")).to_have_accessible_description(re.compile(r"6 chiffres"))
    expect(page.get_by_label("Code")).not_to_have_accessible_description(
        re.compile(r"code de secours"), timeout=QUICK
    )
