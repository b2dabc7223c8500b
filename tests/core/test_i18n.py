"""Translations: complete catalogues, every page in English once chosen, French by default.

The msgids are French; English comes from ``translations/en``. The compiled ``.mo`` files are
git-ignored, so this module compiles the catalogues itself when it is imported (before any request
of the session can cache a missing translation).
"""

from __future__ import annotations

import html
import importlib.util
import io
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, template_rendered
from flask.testing import FlaskClient

from core.mail import outbox
from core.security import Role
from tests import factories as f
from tests.conftest import World, full_login, login, record_ids

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "translations"
TEMPLATES = ROOT / "templates"


def _compile_catalogues() -> None:
    """``pybabel compile -d translations``, written atomically (other test processes may be reading)."""
    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        with po.open("rb") as fh:
            catalog = read_po(fh)
        with tempfile.NamedTemporaryFile(dir=po.parent, suffix=".mo", delete=False) as tmp:
            write_mo(tmp, catalog)
        os.replace(tmp.name, po.with_suffix(".mo"))


_compile_catalogues()


def _load_check_script() -> ModuleType:
    path = ROOT / "scripts/check_translations.py"
    spec = importlib.util.spec_from_file_location("check_translations", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- the catalogues ----------------------------------------------------------------------------


def test_check_script_passes_on_the_committed_catalogues() -> None:
    result = subprocess.run(  # noqa: S603 — fixed arguments
        [sys.executable, str(ROOT / "scripts/check_translations.py")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_script_reports_untranslated_fuzzy_and_mismatched_placeholders() -> None:
    check = _load_check_script()
    catalog = Catalog(locale="en")
    catalog.add("Accueil", "Home")
    catalog.add("Comptes", "")
    catalog.add("Rapports", "Reports", flags=["fuzzy"])
    catalog.add("Bonjour %(name)s", "Hello %(nom)s", flags=["python-format"])

    problems = check.untranslated_or_fuzzy(catalog)

    assert problems == [
        "untranslated: 'Comptes'",
        "fuzzy: 'Rapports'",
        "placeholders (unknown named placeholder 'nom'): 'Bonjour %(name)s'",
    ]


def test_check_script_reports_msgids_missing_from_or_left_in_a_catalogue() -> None:
    check = _load_check_script()

    problems = check.differences("pot", {"Accueil", "Comptes"}, {"Accueil", "Ancien"})

    assert problems == ["pot, missing: 'Comptes'", "pot, no longer in the sources: 'Ancien'"]


# --- pages -------------------------------------------------------------------------------------

# (who, path, status, English phrases the page must show). ``who`` None is an anonymous visitor.
# Every GET page of every domain is already walked in English (walk_every_page_in_english, below):
# a line here pins a page's English phrases, or reaches a template no walk does (a 404 page).
PAGES: list[tuple[Role | None, str, int, tuple[str, ...]]] = [
    (None, "/login", 200, ("Log in to Égide", "Password", "Forgotten your password?")),
    (None, "/password/forgot", 200, ("Forgotten password", "Enter the email address of your account")),
    (None, "/password/reset/unknown-token", 404, ("This link is no longer valid", "Request a new link")),
    (None, "/invitation/unknown-token", 404, ("This link is no longer valid", "send you a new invitation")),
    (Role.RSSI, "/", 200, ("Hello", "Your roles:", "CISO", "Log out", "Organisations", "Catalogue")),
    (Role.RSSI, "/organisations/", 200, ("Organisations", "Filter organisations", "Relationship")),
    (Role.RSSI, "/organisations/{member}", 200, ("Identity", "Membership", "required for sensitive roles")),
    (
        Role.RSSI,
        "/account/",
        200,
        ("My account", "Two-factor authentication", "Enabled", "My sessions", "Weekly digest"),
    ),
    (Role.RSSI, "/account/password", 200, ("Change password", "Current password", "Confirm password")),
    (Role.RSSI, "/account/reauthenticate", 200, ("Confirm your password", "This is a sensitive action")),
    (Role.RSSI, "/organisations/{member}/edit", 200, ("Fields marked with an asterisk", "Save", "Cancel")),
    (Role.RSSI, "/catalogue/", 200, ("Application catalogue", "Syndicate applications", "Criticality")),
    (Role.RSSI, "/catalogue/applications/{application}", 200, ("Subscribers", "Add a subscriber")),
    (Role.RSSI, "/catalogue/applications/new", 200, ("New application", "Business domain", "Hosting")),
    (Role.RSSI, "/catalogue/applications/{application}/edit", 200, ("Processes personal data",)),
    (Role.RSSI, "/catalogue/subscriptions/{subscription}/end", 200, ("End of the subscription of",)),
    (Role.RSSI, "/active-organisation", 200, ("Choose the active organisation", "Your organisations")),
    (Role.RSSI, "/registers/activities/", 200, ("Record of processing activities", "Export as XLSX")),
    (Role.RSSI, "/registers/models/", 200, ("Record templates",)),
    (Role.RSSI, "/registers/activities/{activity}", 200, ("Controller", "Purposes and legal basis")),
    (Role.RSSI, "/registers/activities/{activity}/history", 200, ("History of record",)),
    (Role.RSSI, "/registers/activities/{activity}/versions/1", 200, ("Version 1",)),
    (Role.RSSI, "/registers/activities/{activity}/model-update", 200, ("Your record is up to date",)),
    (Role.RSSI, "/registers/activities/{activity}/dpia", 200, ("Impact assessment (DPIA)", "Verdict")),
    (Role.RSSI, "/registers/processor/", 200, ("Record of categories of processing activities",)),
    (Role.RSSI, "/registers/portfolio/", 200, ("DPO portfolio",)),
    (Role.RSSI, "/registers/requests", 200, ("Rights requests", "GDPR Articles 12 and 15 to 22")),
    (Role.RSSI, "/registers/requests/{rights_request}", 200, ("Right exercised",)),
    (Role.RSSI, "/registers/breaches", 200, ("Personal data breach register",)),
    (Role.RSSI, "/registers/breaches/{breach}", 200, ("Open breach",)),
    (Role.RSSI, "/reports/", 200, ("Generated documents", "Register documents")),
    (Role.RSSI, "/reports/{report}", 200, ("SHA-256 hash", "Download the PDF")),
    (
        Role.RSSI,
        "/reports/jobs/{document_job}",
        200,
        ("Document being prepared", "40 % done", "Being prepared"),
    ),
    (Role.RSSI, "/audits/packs/", 200, ("Evidence packs", "Request a pack", "Prepare the pack")),
    (Role.RSSI, "/audits/packs/{pack}", 200, ("Hashes", "Download the pack (ZIP)", "Archive contents")),
    (Role.DPO, "/registers/activities/new", 200, ("New processing record", "Purposes and legal basis")),
    (Role.DPO, "/registers/requests/new", 200, ("New rights request",)),
    (Role.DPO, "/registers/requests/{rights_request}/edit", 200, ("Edit request",)),
    (Role.DPO, "/registers/breaches/new", 200, ("New personal data breach",)),
    (Role.DPO, "/registers/breaches/{breach}/edit", 200, ("Edit breach",)),
    (Role.DPO, "/registers/import", 200, ("Import a register",)),
    (Role.DPO, "/registers/publication", 200, ("Public register",)),
    (Role.RSSI, "/smsi/", 200, ("ISMS dashboard", "Open incidents", "Response times over twelve months")),
    (Role.RSSI, "/smsi/soa/", 200, ("Statement of Applicability", "Not assessed", "Implementation rate")),
    (Role.RSSI, "/smsi/soa/control?id=A.5.7", 200, ("Threat intelligence", "Reasons for inclusion", "Owner")),
    (Role.RSSI, "/smsi/soa/versions/", 200, ("Approved versions", "Approve a new version")),
    (Role.RSSI, "/smsi/soa/versions/{soa_version}", 200, ("Statement of Applicability, version", "Owner")),
    (Role.RSSI, "/smsi/soa/versions/{soa_version}/diff", 200, ("compared with the current state",)),
    (Role.RSSI, "/audits/evidence/", 200, ("Evidence", "Filter the evidence", "Add evidence")),
    (Role.RSSI, "/audits/evidence/{evidence}", 200, ("File versions", "Linked objects", "Download")),
    (Role.RSSI, "/audits/evidence/new", 200, ("Add evidence", "Maximum size", "Valid until")),
    (Role.RSSI, "/audits/evidence/{evidence}/edit", 200, ("Edit the evidence",)),
    (Role.RSSI, "/audits/evidence/{evidence}/versions/new", 200, ("New version of",)),
    (Role.RSSI, "/risks/", 200, ("Risk register", "Inherent risks (before treatment)", "New risk")),
    (Role.RSSI, "/risks/scale", 200, ("Risk rating scale", "Likelihood levels", "Acceptance threshold")),
    (Role.RSSI, "/risks/hygiene/", 200, ("IT hygiene: self-assessment", "New self-assessment")),
    (Role.RSSI, "/risks/parcours/", 200, ("Cybersecurity programme", "No cybersecurity programme recorded")),
    (
        Role.RSSI,
        "/risks/parcours/measures/{parcours_measure}/edit",
        200,
        ("Edit measure", "Planned cost (€)"),
    ),
    (Role.RSSI, "/risks/parcours/subsidies/{subsidy}/edit", 200, ("Edit the payment", "Amount expected (€)")),
    (
        Role.RSSI,
        "/risks/ebios/",
        200,
        ("EBIOS Risk Manager studies", "New study", "No EBIOS RM study yet."),
    ),
    (
        Role.RSSI,
        "/risks/ebios/{study}/atelier-3",
        200,
        ("Workshop 3 — Strategic scenarios", "Ecosystem stakeholders", "Threat level = (dependency"),
    ),
    (Role.RSSI, "/risks/ebios/{study}/carte", 200, ("Risk map of the study", "Residual risks (workshop 5)")),
    (Role.RSSI, "/audits/", 200, ("New audit", "Filter audits")),
    (Role.RSSI, "/audits/findings/", 200, ("Audit findings", "Filter findings")),
    (Role.RSSI, "/audits/new", 200, ("New audit", "Audited organisations", "Audited frameworks")),
    (Role.RSSI, "/audits/{audit}", 200, ("Number of findings by level", "Follow-up checks", "New finding")),
    (Role.RSSI, "/audits/{audit}/edit", 200, ("Edit audit", "Lead auditor")),
    (Role.RSSI, "/audits/{audit}/auditors", 200, ("Auditor access", "Invite an auditor", "Pages and files")),
    (Role.RSSI, "/audits/{audit}/findings/new", 200, ("New finding of audit", "Root cause analysis")),
    (Role.RSSI, "/audits/findings/{finding}", 200, ("Corrective actions", "Create an action from")),
    (Role.RSSI, "/audits/findings/{finding}/edit", 200, ("Edit finding", "Requirement: framework")),
    (Role.RSSI, "/journal/", 200, ("Audit log", "Export as CSV", "Log integrity", "Filter the log")),
    (Role.RSSI, "/organisations/999999999", 404, ("Page not found", "Back to home")),
    (Role.ADMIN, "/organisations/new", 200, ("New organisation", "Relationship with the syndicate")),
    (Role.ADMIN, "/organisations/{member}/departure", 200, ("Departure or merger of", "Record")),
    (Role.ADMIN, "/admin/users/", 200, ("Accounts", "Account list", "New account")),
    (Role.ADMIN, "/admin/jobs/", 200, ("Background jobs", "Filter jobs", "Done")),
    (Role.ADMIN, "/admin/users/new", 200, ("New account", "Full name", "Account active")),
    (Role.ADMIN, "/admin/users/{reader}", 200, ("Roles by organisation", "Reset two-factor authentication")),
    (Role.ADMIN, "/admin/users/{reader}/edit", 200, ("Edit the account of", "Account active")),
]


def _path(world: World, template: str) -> str:
    t = world.a
    ids = {
        "member": t.member.id,
        "application": t.application.id,
        "subscription": t.subscription.id,
        "reader": t.users[Role.READER].id,
    }
    if set(re.findall(r"{(\w+)}", template)) - ids.keys():  # a domain's record: {breach} ← breach_id
        ids |= {arg.removesuffix("_id"): value for arg, value in record_ids(t).items()}
    return template.format(**ids)


def _client(app: Flask, login_as: Any, world: World, who: Role | None) -> FlaskClient:
    return app.test_client() if who is None else login_as(world.a.users[who])


def _choose(client: FlaskClient, lang: str) -> None:
    response = client.post("/language", data={"lang": lang, "next": "/"})
    assert response.status_code == 302


@dataclass
class _Setup:
    app: Flask
    world: World
    login_as: Any
    session: Any


def _link_in_last_mail() -> str:
    """The path of the link in the last e-mail sent (password reset or invitation)."""
    match = re.search(r"https?://[^/\s]+(/\S+)", outbox[-1].body)
    assert match, outbox[-1].body
    return match.group(1)


def _second_factor_page(s: _Setup, lang: str) -> Any:
    client = s.app.test_client()
    _choose(client, lang)
    assert login(client, s.world.a.users[Role.RSSI]).location == "/login/second-factor"
    return client.get("/login/second-factor")


def _first_enrolment_page(s: _Setup, lang: str) -> Any:
    user = f.UserFactory(email="new.rssi@example.org", totp_secret_enc=None, totp_enabled_at=None)
    f.MembershipFactory(user=user, organisation=s.world.a.syndicate, role=Role.RSSI)
    s.session.flush()
    client = s.app.test_client()
    _choose(client, lang)
    assert login(client, user).location == "/account/mfa/enrol"
    return client.get("/account/mfa/enrol")


def _recovery_codes_page(s: _Setup, lang: str) -> Any:
    client = s.login_as(s.world.a.users[Role.RSSI])
    _choose(client, lang)
    assert client.post("/account/reauthenticate", data={"password": f.PASSWORD}).status_code == 302
    return client.post("/account/mfa/recovery-codes")


def _api_token_created_page(s: _Setup, lang: str) -> Any:
    import datetime as dt  # noqa: PLC0415

    from core.db import local_today  # noqa: PLC0415
    from tests.conftest import csrf_token_from  # noqa: PLC0415

    client = _fresh_dpo(s, f"dpo.api.{lang}@example.org")
    _choose(client, lang)
    token = csrf_token_from(client.get("/account/").get_data(as_text=True))
    data = {
        "csrf_token": token,
        "name": "Export",
        "organisation_id": s.world.a.syndicate.id,
        "scope": "read",
        "expires_on": (local_today() + dt.timedelta(days=30)).isoformat(),
    }
    return client.post("/account/api-tokens", data=data)


def _api_docs_page(s: _Setup, lang: str) -> Any:
    # The API has no session: its pages follow Accept-Language (core.select_locale).
    return s.app.test_client().get("/api/v1/docs", headers={"Accept-Language": lang})


def _password_reset_page(s: _Setup, lang: str) -> Any:
    client = s.app.test_client()
    _choose(client, lang)
    response = client.post("/password/forgot", data={"email": s.world.a.users[Role.READER].email})
    assert response.status_code == 302
    return client.get(_link_in_last_mail())


def _invitation_page(s: _Setup, lang: str) -> Any:
    admin = s.login_as(s.world.a.users[Role.ADMIN])
    assert admin.post(f"/admin/users/{s.world.a.users[Role.READER].id}/invite").status_code == 302
    client = s.app.test_client()
    _choose(client, lang)
    return client.get(_link_in_last_mail())


def _fresh_dpo(s: _Setup, email: str) -> Any:
    """A DPO of syndicate A of its own: the world's DPO may have used up this TOTP step already."""
    user = f.UserFactory(email=email)
    f.MembershipFactory(user=user, organisation=s.world.a.syndicate, role=Role.DPO)
    s.session.flush()
    return s.login_as(user)


def _import_upload(s: _Setup, lang: str, email: str) -> tuple[Any, str]:
    """A DPO uploads a one-row register: (their client, the mapping page's address)."""
    from registers.services import exchange  # noqa: PLC0415

    client = _fresh_dpo(s, email)
    _choose(client, lang)
    header = exchange.headers()
    row = ["" for _ in header]
    row[header.index("Nom du traitement")] = "Traitement importé"
    content = ("\ufeff" + ";".join(header) + "\r\n" + ";".join(row) + "\r\n").encode()
    response = client.post(
        "/registers/import",
        data={"file": (io.BytesIO(content), "registre.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return client, response.location


def _import_mapping_page(s: _Setup, lang: str) -> Any:
    client, location = _import_upload(s, lang, "dpo.mapping@example.org")
    return client.get(location)


def _import_preview_page(s: _Setup, lang: str) -> Any:
    client, location = _import_upload(s, lang, "dpo.import@example.org")
    page = client.get(location).get_data(as_text=True)
    data = dict(re.findall(r'<select[^>]*name="(col_\d+)".*?<option selected value="([^"]*)"', page, re.S))
    data["version"] = re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)
    return client.post(f"{location}/preview", data=data)


def _import_result_page(s: _Setup, lang: str) -> Any:
    client, location = _import_upload(s, lang, "dpo.imported@example.org")
    page = client.get(location).get_data(as_text=True)
    data = dict(re.findall(r'<select[^>]*name="(col_\d+)".*?<option selected value="([^"]*)"', page, re.S))
    data["version"] = re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)
    preview = client.post(f"{location}/preview", data=data).get_data(as_text=True)
    fingerprint = re.search(r'name="fingerprint" type="hidden" value="([0-9a-f]+)"', preview).group(1)
    assert client.post(f"{location}/confirm", data={"fingerprint": fingerprint}).status_code == 302
    return client.get(location)


def _export_too_long_page(s: _Setup, lang: str) -> Any:
    from tests.registers.factories import ProcessingActivityFactory  # noqa: PLC0415

    ProcessingActivityFactory(organisation=s.world.a.syndicate, reference="TRT-LONG", purpose="x" * 40_000)
    client = _fresh_dpo(s, "dpo.export@example.org")
    _choose(client, lang)
    return client.post("/registers/export.xlsx")


def _public_register_page(s: _Setup, lang: str) -> Any:
    dpo = _fresh_dpo(s, "dpo.publication@example.org")
    settings = {"version": "", "is_published": "y", "slug": "registre-a", "fields": ["name", "purpose"]}
    assert dpo.post("/registers/publication", data=settings).status_code == 302
    client = s.app.test_client()
    _choose(client, lang)
    return client.get("/registers/public/registre-a")


def _hygiene_compare_page(s: _Setup, lang: str) -> Any:
    from tests.risks.factories import HygieneAssessmentFactory  # noqa: PLC0415

    first = HygieneAssessmentFactory(organisation=s.world.a.syndicate)
    second = HygieneAssessmentFactory(organisation=s.world.a.syndicate)
    s.session.flush()
    client = _fresh_dpo(s, "dpo.hygiene@example.org")
    _choose(client, lang)
    return client.get(f"/risks/hygiene/compare?a={first.id}&b={second.id}")


# Pages reached only from a state (half logged in, a link from an e-mail, the answer to a POST):
# (id, builder returning the page for a client that chose ``lang``, status, English phrases).
STATE_PAGES: list[tuple[str, Callable[[_Setup, str], Any], int, tuple[str, ...]]] = [
    ("second factor", _second_factor_page, 200, ("Enter the 6-digit code shown by", "Lost your phone?")),
    ("first enrolment", _first_enrolment_page, 200, ("Your role requires two-factor", "Key (for manual")),
    ("recovery codes", _recovery_codes_page, 200, ("Your recovery codes", "I have saved my codes, continue")),
    ("API token created", _api_token_created_page, 200, ("Access token created", "I have copied the token")),
    ("API documentation", _api_docs_page, 200, ("Égide — API documentation",)),
    ("password reset", _password_reset_page, 200, ("Choose a new password", "Account: reader.a@example.org")),
    ("invitation", _invitation_page, 200, ("Welcome to Égide", "Hello reader A, please choose the password")),
    ("register import mapping", _import_mapping_page, 200, ("Map the file's columns", "Check the import")),
    ("register import preview", _import_preview_page, 200, ("Import preview", "record(s) created")),
    ("register import result", _import_result_page, 200, ("Already imported", "See the register")),
    (
        "register XLSX export too long",
        _export_too_long_page,
        422,
        ("XLSX export not possible", "1 text is longer than an Excel cell can hold (32 767 characters)."),
    ),
    ("public register", _public_register_page, 200, ("Record of processing activities",)),
    (
        "hygiene comparison",
        _hygiene_compare_page,
        200,
        ("Maturity by chapter of the hygiene guide", "Overall"),
    ),
]


class _TextAndAttributes(HTMLParser):
    """The texts a reader meets: text nodes, and the attributes read out or shown (labels, hints)."""

    ATTRIBUTES = frozenset({"aria-label", "title", "placeholder", "alt"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self._skip = 0
        self._skipping: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # lang="fr": French on purpose (the register file's labels, the CNIL's lists, French only).
        if tag in ("script", "style") or (tag != "html" and ("lang", "fr") in attrs):
            self._skip += 1
            self._skipping.append(tag)
        self.texts += [v.strip() for k, v in attrs if k in self.ATTRIBUTES and v and v.strip()]

    def handle_endtag(self, tag: str) -> None:
        if self._skipping and tag == self._skipping[-1]:
            self._skipping.pop()
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.texts.append(" ".join(data.split()))


def _french_patterns() -> list[tuple[str, re.Pattern[str]]]:
    """Each msgid whose English differs, as a pattern (placeholders match any text)."""
    with (TRANSLATIONS / "en/LC_MESSAGES/messages.po").open("rb") as fh:
        catalog = read_po(fh)
    patterns = []
    for message in catalog:
        if not message.id or message.string == message.id:
            continue
        # A plural entry: its singular and its plural msgid are both French.
        for msgid in (message.id,) if isinstance(message.id, str) else message.id:
            parts = re.split(r"%\(\w+\)[sd]", " ".join(msgid.split()))
            # Whole words only: "%(n)s Mo" is a size in French, not the start of "A.8.16 Monitoring".
            body = ".+?".join(re.escape(p) for p in parts)
            patterns.append((msgid, re.compile(rf"(?<!\w){body}(?!\w)")))
    return patterns


FRENCH = _french_patterns()


def french_left_in(page: str) -> list[str]:
    """Msgids shown untranslated: a whole text (or attribute), or a phrase of several words within one."""
    parser = _TextAndAttributes()
    parser.feed(page)
    texts = [html.unescape(t) for t in parser.texts]
    found = []
    for msgid, pattern in FRENCH:
        several_words = len(msgid.split()) > 1
        if any(pattern.fullmatch(t) or (several_words and pattern.search(t)) for t in texts):
            found.append(msgid)
    return found


@pytest.mark.parametrize(("who", "template", "status", "english"), PAGES, ids=[p[1] for p in PAGES])
def test_page_renders_in_english_once_english_is_chosen(
    app: Flask,
    world: World,
    login_as: Any,
    who: Role | None,
    template: str,
    status: int,
    english: tuple[str, ...],
) -> None:
    client = _client(app, login_as, world, who)
    _choose(client, "en")

    response = client.get(_path(world, template))

    page = response.get_data(as_text=True)
    assert response.status_code == status
    assert '<html lang="en">' in page
    assert [phrase for phrase in english if phrase not in html.unescape(page)] == []
    assert french_left_in(page) == []


@pytest.mark.parametrize(
    ("builder", "status", "english"), [p[1:] for p in STATE_PAGES], ids=[p[0] for p in STATE_PAGES]
)
def test_page_reached_from_a_state_renders_in_english_once_english_is_chosen(
    app: Flask,
    world: World,
    login_as: Any,
    session: Any,
    builder: Callable[[_Setup, str], Any],
    status: int,
    english: tuple[str, ...],
) -> None:
    response = builder(_Setup(app, world, login_as, session), "en")

    page = response.get_data(as_text=True)
    assert response.status_code == status
    assert '<html lang="en">' in page
    assert [phrase for phrase in english if phrase not in html.unescape(page)] == []
    assert french_left_in(page) == []


@pytest.fixture
def rendered_templates(app: Flask) -> Iterator[set[str]]:
    names: set[str] = set()

    def record(sender: Flask, template: Any, context: Any, **extra: Any) -> None:
        names.add(template.name)

    with template_rendered.connected_to(record, app):
        yield names


def test_the_pages_walked_in_english_cover_every_page_template(
    app: Flask, world: World, login_as: Any, session: Any, rendered_templates: set[str]
) -> None:
    clients: dict[Role | None, FlaskClient] = {}
    for who, template, status, _english in PAGES:
        if who not in clients:
            clients[who] = _client(app, login_as, world, who)
        assert clients[who].get(_path(world, template)).status_code == status, template
    for name, builder, status, _english in STATE_PAGES:
        assert builder(_Setup(app, world, login_as, session), "fr").status_code == status, name
    for role in WALKERS:
        if role not in clients:  # each account logs in once per test (a TOTP code is accepted once)
            clients[role] = _client(app, login_as, world, role)
    walk_every_page_in_english(app, world, {role: clients[role] for role in WALKERS})
    pages = {
        str(p.relative_to(TEMPLATES))
        for p in TEMPLATES.rglob("*.html")
        if not any(part.startswith("_") for part in p.relative_to(TEMPLATES).parts)
    } - {"base.html"}

    # A template no GET walk reaches (a form shown again after a refused POST, a page reached from
    # a state: half logged in, a link from an e-mail) needs a line in PAGES or STATE_PAGES.
    assert pages - rendered_templates == set(), "no walk renders these: reach them from PAGES or STATE_PAGES"


# Roles whose walks together reach every page (the administrator's pages, the DPO's, the RSSI's…).
WALKERS = (Role.ADMIN, Role.RSSI, Role.DPO, Role.REFERENT, Role.AUDITOR)


def walk_every_page_in_english(app: Flask, world: World, clients: dict[Role, FlaskClient]) -> list[str]:
    """Every GET page of every installed domain (found in the URL map, with each domain's records),
    as each role, in English: whatever answers a page must hold no French left. A new domain's
    pages, and so their templates, are walked without editing this file."""
    from tests.core.test_pages import NON_HTML_PAGES, _page_urls  # noqa: PLC0415 — the same walk

    urls = {e: u for e, u in _page_urls(app, world).items() if e not in NON_HTML_PAGES}
    walked = walk_in_english(clients, urls)
    assert set(walked) >= {"core.index", "registers.activity_list", "reports.index"}  # the walk reached pages
    return walked


def walk_in_english(clients: dict[Role, FlaskClient], urls: dict[str, str]) -> list[str]:
    """GET each of ``urls`` (endpoint → URL) as each client, in English: the endpoints that answered
    a page, each checked for French left."""
    walked = []
    for role, client in clients.items():
        _choose(client, "en")
        for endpoint, url in sorted(urls.items()):
            response = client.get(url)
            if response.status_code == 200 and response.mimetype == "text/html":
                page = response.get_data(as_text=True)
                assert '<html lang="en">' in page, (role, url)
                assert french_left_in(page) == [], (role, url)
                walked.append(endpoint)
    return walked


def test_english_chosen_before_login_survives_login_and_logout(app: Flask, world: World) -> None:
    client = app.test_client()
    _choose(client, "en")
    assert full_login(client, world.a.users[Role.RSSI]).status_code == 302

    home = client.get("/").get_data(as_text=True)
    after_logout = client.post("/logout", follow_redirects=True).get_data(as_text=True)

    assert "Log out" in home
    assert "You have been logged out." in after_logout
    assert french_left_in(after_logout) == []


def test_form_errors_and_flashes_are_in_english(app: Flask, world: World, login_as: Any) -> None:
    anonymous = app.test_client()
    _choose(anonymous, "en")
    failed = anonymous.post("/login", data={"email": "nobody@example.org", "password": "wrong-password"})
    rssi = login_as(world.a.users[Role.RSSI])
    _choose(rssi, "en")
    switched = rssi.post(
        "/active-organisation", data={"organisation_id": world.a.syndicate.id}, follow_redirects=True
    )

    assert (
        "Incorrect email address or password. After several failed attempts, the account is locked for a "
        "few minutes." in html.unescape(failed.get_data(as_text=True))
    )
    assert f"Active organisation: {world.a.syndicate.name}" in switched.get_data(as_text=True)


def test_password_strength_meter_and_policy_errors_are_in_english(
    app: Flask, world: World, login_as: Any
) -> None:
    anonymous = app.test_client()
    _choose(anonymous, "en")
    rssi = login_as(world.a.users[Role.RSSI])
    _choose(rssi, "en")

    meter = anonymous.post("/password/strength", data={"new_password": "qwertyuiop12"}).get_data(as_text=True)
    refused = rssi.post(
        "/account/password",
        data={"current_password": f.PASSWORD, "new_password": "aaaaaaaaaaaa", "confirm": "aaaaaaaaaaaa"},
    )

    assert "Password strength: Low" in meter
    assert french_left_in(meter) == []
    assert refused.status_code == 422
    assert "Password too easy to guess." in html.unescape(refused.get_data(as_text=True))
    assert french_left_in(refused.get_data(as_text=True)) == []


def test_emails_are_written_in_the_language_of_the_person_asking(app: Flask, world: World) -> None:
    client = app.test_client()
    _choose(client, "en")

    client.post("/password/forgot", data={"email": world.a.users[Role.READER].email})

    assert outbox[-1].subject == "Égide: password reset"
    assert outbox[-1].body.startswith(
        f"Hello {world.a.users[Role.READER].full_name},\n\nTo choose a new password"
    )


def test_choosing_french_again_switches_back(world: World, login_as: Any) -> None:
    client = login_as(world.a.users[Role.RSSI])
    _choose(client, "en")
    english = client.get("/").get_data(as_text=True)
    _choose(client, "fr")

    french = client.get("/").get_data(as_text=True)

    assert "Log out" in english
    assert "Se déconnecter" in french
    assert "Log out" not in french


def test_french_is_the_default_for_a_fresh_client(app: Flask, world: World, login_as: Any) -> None:
    login_page = app.test_client().get("/login").get_data(as_text=True)
    home = login_as(world.a.users[Role.RSSI]).get("/").get_data(as_text=True)

    assert '<html lang="fr">' in login_page
    assert "Connexion à Égide" in html.unescape(login_page)
    assert '<html lang="fr">' in home
    assert "Log out" not in home
    # The detector used by the English tests does see French when it is there.
    assert {"Se déconnecter", "Vos rôles :"} <= set(french_left_in(home))


def test_an_unknown_language_is_ignored(app: Flask) -> None:
    client = app.test_client()
    _choose(client, "de")

    page = client.get("/login").get_data(as_text=True)

    assert '<html lang="fr">' in page
