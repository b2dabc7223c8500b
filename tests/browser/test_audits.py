"""Issue 14 in headless Chromium, on the demo data: the RSSI builds the evidence pack of the internal
audit from its page (the job runs in a worker beside the server, as with `make run`); the auditor
invited to that audit logs in with the second factor, sees their audit and the days left on their
access, opens a finding, downloads the pack, and the pack verifies with the real `sha256sum -c` and
`openssl`. Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PROJECT_ROOT, SERVER_ENV

if TYPE_CHECKING:
    from collections.abc import Callable

    from playwright.sync_api import BrowserContext, Page

    from tests.browser.conftest import LogIn, PageWatch

pytestmark = pytest.mark.browser

RSSI = "rssi@siim94.example.org"
AUDITOR = "auditeur@audit.example.org"
AUDIT = "Audit interne du SMSI"
DESKTOP = {"width": 1366, "height": 900}


@pytest.fixture(scope="module")
def worker(live_server_url: str) -> Iterator[None]:
    """The background jobs' worker of the module's server (packs are built by the job queue)."""
    log = Path(SERVER_ENV["DATABASE_URL"].removeprefix("sqlite:///")).parent / "worker.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 — our own venv's flask
            [str(Path(sys.executable).parent / "flask"), "worker"],
            cwd=PROJECT_ROOT,
            env=dict(SERVER_ENV),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            yield
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, check=False)  # noqa: S603


@pytest.mark.usefixtures("worker")
def test_the_auditor_logs_in_opens_a_finding_and_downloads_the_audits_pack(
    signed_in: Callable[[str], Page],
    watched_context: Callable[..., BrowserContext],
    log_in: LogIn,
    watch: PageWatch,
    screenshot_dir: Path,
    tmp_path: Path,
) -> None:
    # The RSSI builds the audit's pack from the audit's page.
    rssi = signed_in(RSSI)
    rssi.set_viewport_size(DESKTOP)
    rssi.goto("/audits/")
    rssi.get_by_role("row", name=re.compile(AUDIT)).get_by_role("link").first.click()
    expect(rssi.get_by_role("heading", level=1)).to_contain_text(AUDIT)
    rssi.screenshot(path=screenshot_dir / "90-audit-rssi-1366.png", full_page=True)
    rssi.get_by_role("button", name="Constituer le dossier de preuves de l'audit").click()
    expect(rssi.get_by_role("heading", level=1)).to_contain_text("Dossier de preuves de l'audit")
    expect(rssi.get_by_text("Prêt", exact=True).first).to_be_visible(timeout=120_000)  # htmx polling
    rssi.screenshot(path=screenshot_dir / "91-dossier-de-preuves-1366.png", full_page=True)
    watch.check()

    # The invited auditor, in a browser of their own: password, then the second factor.
    context = watched_context()
    page = context.new_page()
    log_in(page, AUDITOR)
    widget = page.locator('[data-widget="audits.auditor"]')
    expect(widget).to_contain_text(AUDIT)
    expect(widget).to_contain_text(re.compile(r"accès encore \d+ jours?"))
    page.screenshot(path=screenshot_dir / "92-auditeur-accueil-1366.png", full_page=True)
    widget.get_by_role("link", name=re.compile(AUDIT)).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(AUDIT)
    expect(page.get_by_role("button", name="Constituer le dossier de preuves de l'audit")).to_have_count(0)
    finding = "Restaurations de sauvegarde non testées"
    page.get_by_role("row", name=re.compile(finding)).get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(finding)
    page.screenshot(path=screenshot_dir / "93-auditeur-constat-1366.png", full_page=True)
    page.go_back()
    page.get_by_role("link", name=re.compile("Dossier de preuves de l'audit")).first.click()
    with page.expect_download() as pack_file:  # a POST (journalled), not a link
        page.get_by_role("button", name=re.compile("Télécharger")).click()
    archive = tmp_path / "dossier.zip"
    pack_file.value.save_as(archive)
    watch.check()

    # What the auditor took away verifies without Égide.
    folder = tmp_path / "dossier"
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(folder)
        names = zf.namelist()
    assert any(n.startswith("reports/audit_findings-AUD-") for n in names)
    assert any(n.startswith("evidence/") for n in names)  # the demo's evidence files
    checked = _run("sha256sum", "-c", "SHA256SUMS", cwd=folder)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    verify = ("openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "pack-public-key.pem", "-rawin")
    verified = _run(*verify, "-in", "SHA256SUMS", "-sigfile", "SHA256SUMS.sig", cwd=folder)
    assert "Signature Verified Successfully" in verified.stdout, verified.stdout + verified.stderr
