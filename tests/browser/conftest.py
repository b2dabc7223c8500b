"""End-to-end fixtures: the real server on the demo data, and Debian's headless Chromium.

The server runs in a subprocess on a temporary SQLite file, migrated and loaded with the demo data
through the same commands a newcomer types (``flask db upgrade``, ``flask demo load``). Nothing here
uses the suite's ``app`` fixture: the browser sees exactly what a user of ``make run`` would see.

One server, on its own fresh demo database, per test *module* (about 3 s to set up): what a module
does to the demo accounts (enrolling a second factor, closing sessions, using up TOTP steps) cannot
leak into another module, whatever order pytest picks. Tests inside a module share their server, so
they must not depend on each other: each one works with its own demo account, or only reads.

Logging in goes through the real pages, second factor included: the demo accounts with MFA share
the published demo TOTP key, and :class:`TotpSteps` hands out codes the server's replay protection
will accept. Use ``signed_in(email)`` for a page already logged in: each account logs in once per
module and later tests reuse its browser storage (cookies), so the suite does not wait for TOTP steps.

Every page is watched: a console error, an uncaught page error (CSP violations show up as console
errors) or a request to any host but 127.0.0.1 fails the test.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pyotp
import pytest
from cryptography.fernet import Fernet
from playwright.sync_api import expect

from accounts.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Error, Page, Request

PROJECT_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
SCREENSHOTS = PROJECT_ROOT / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
SERVER_START_TIMEOUT = 30.0
SECOND_FACTOR_PATH = "/login/second-factor"
GREETING = re.compile(r"^Bonjour ")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _flask(env: dict[str, str], *args: str) -> None:
    result = subprocess.run(  # noqa: S603 — fixed command, our own venv
        [str(VENV_BIN / "flask"), *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"`flask {' '.join(args)}` failed:\n{result.stdout}\n{result.stderr}", pytrace=False)


def _wait_for_health(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"The server exited early:\n{log.read_text()}", pytrace=False)
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 — http://127.0.0.1 only
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    pytest.fail(f"The server did not answer {url} within {SERVER_START_TIMEOUT} s:\n{log.read_text()}")


# The environment of the module's server (its database, keys and directories): for a test that
# starts a background-jobs worker beside it (``flask worker``, as ``make run`` does).
SERVER_ENV: dict[str, str] = {}


@pytest.fixture(scope="module")
def live_server_url() -> Iterator[str]:
    """Base URL of a real Égide server on a fresh demo database, one per test module (no trailing /)."""
    with tempfile.TemporaryDirectory(prefix="egide-browser-") as tmp:
        tmp_path = Path(tmp)
        env = {
            **os.environ,
            "FLASK_APP": "wsgi",
            "EGIDE_ENV": "development",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'egide.sqlite3'}",
            # Without them the development config writes instance/secret_key, instance/encryption_keys
            # (the TOTP secrets' key), the audit signing key and anchors in the working tree.
            "SECRET_KEY": secrets.token_urlsafe(32),
            "EGIDE_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "EGIDE_AUDIT_SIGNING_KEY_FILE": str(tmp_path / "audit_signing_key.pem"),
            # The anchors of this throwaway database stay with it: written to instance/, they made
            # `flask audit verify` of the user's own database report a tampered journal.
            "EGIDE_AUDIT_ANCHOR_FILE": str(tmp_path / "audit_anchors.jsonl"),
            # The evidence store's key ring and files, the packs and the signing keys: with the
            # throwaway database, never in instance/.
            "EGIDE_KEY_DIR": str(tmp_path / "keys"),
            "EGIDE_EVIDENCE_DIR": str(tmp_path / "evidence"),
            "EGIDE_PACK_DIR": str(tmp_path / "packs"),
            "EGIDE_SIGNING_DIR": str(tmp_path / "signing"),
            "PYTHONUNBUFFERED": "1",
        }
        SERVER_ENV.clear()
        SERVER_ENV.update(env)
        env.pop("TEST_DATABASE_URL", None)
        _flask(env, "db", "upgrade")
        _flask(env, "keys", "init")  # the evidence store's key ring, as `make run` does
        _flask(env, "signing", "init")  # the packs' certificate and key
        _flask(env, "demo", "load")
        port = _free_port()
        log = tmp_path / "server.log"
        with log.open("wb") as log_file:
            server = subprocess.Popen(  # noqa: S603 — fixed command, our own venv
                [str(VENV_BIN / "flask"), "run", "--host", "127.0.0.1", "--port", str(port), "--no-reload"],
                cwd=PROJECT_ROOT,
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
            base = f"http://127.0.0.1:{port}"
            try:
                _wait_for_health(f"{base}/healthz", server, log)
                yield base
            finally:
                server.terminate()
                try:
                    server.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait()


@pytest.fixture(scope="module")
def base_url(live_server_url: str) -> str:
    """pytest-playwright's fixture: ``page.goto("/login")`` then targets the module's live server."""
    return live_server_url


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": True,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }


@pytest.fixture(scope="module")
def browser_context_args(base_url: str) -> dict[str, Any]:
    """Every context's options. Module-scoped like the server, so it replaces pytest-playwright's
    session-scoped fixture instead of extending it (that one would need a session-wide base_url);
    what it added is only useful with --device or --video, which this suite does not use."""
    return {
        "base_url": base_url,
        "locale": "fr-FR",
        "timezone_id": "Europe/Paris",
        "viewport": {"width": 1366, "height": 900},
    }


@dataclass
class PageWatch:
    """What went wrong in the browser: console errors, page errors, requests leaving 127.0.0.1."""

    problems: list[str] = field(default_factory=list)
    # (substring of the console text, page URL it may come from): expected errors, e.g. a 404 page.
    allowed: list[tuple[str, str]] = field(default_factory=list)

    def allow_console_error(self, text: str, url: str) -> None:
        self.allowed.append((text, url))

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        where = message.location.get("url", "") if message.location else ""
        if any(text in message.text and where.endswith(url) for text, url in self.allowed):
            return
        self.problems.append(
            f"console error on {where or (message.page and message.page.url)}: {message.text}"
        )

    def on_page_error(self, error: Error) -> None:
        self.problems.append(f"page error: {error}")

    def on_request(self, request: Request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob", "about"):
            return
        if parts.hostname != "127.0.0.1":
            self.problems.append(f"request to another host: {request.method} {request.url}")

    def attach(self, context: BrowserContext) -> BrowserContext:
        """Watch every page, present and future, of ``context``."""

        def attach_page(page: Page) -> None:
            page.on("console", self.on_console)
            page.on("pageerror", self.on_page_error)

        context.on("page", attach_page)
        context.on("request", self.on_request)
        for page in context.pages:
            attach_page(page)
        return context

    def check(self) -> None:
        """Fail now if anything went wrong since the test started."""
        if self.problems:
            problems, self.problems = self.problems, []
            pytest.fail("The browser reported problems:\n  " + "\n  ".join(problems), pytrace=False)


@pytest.fixture
def watch() -> Iterator[PageWatch]:
    """The test's watch: attached to every context the test gets from ``web``, ``watched_context`` or
    ``signed_in``; fails the test at the end if anything went wrong."""
    watch = PageWatch()
    yield watch
    watch.check()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Check the watch right after the test body, so that a browser problem fails the test itself."""
    result = yield
    watch = getattr(item, "funcargs", {}).get("watch")
    if isinstance(watch, PageWatch):
        watch.check()
    return result


@pytest.fixture
def web(watch: PageWatch, context: BrowserContext, page: Page) -> Page:
    """pytest-playwright's page, logged out and watched (see :class:`PageWatch`)."""
    watch.attach(context)
    page.set_default_timeout(10_000)
    return page


@pytest.fixture
def watched_context(
    watch: PageWatch, new_context: Callable[..., BrowserContext]
) -> Callable[..., BrowserContext]:
    """Another browser context (another browser, as far as the server knows), watched; closed after the
    test. Keyword arguments go to ``browser.new_context`` (e.g. ``storage_state``)."""

    def _watched_context(**kwargs: Any) -> BrowserContext:
        context = watch.attach(new_context(**kwargs))
        context.set_default_timeout(10_000)
        return context

    return _watched_context


class TotpSteps:
    """TOTP codes the server accepts: it takes the codes of the previous, current and next 30-second
    step, each only if its step is newer than the last one accepted for the account (replay
    protection). So: remember, per account, the last step used in this module's server, and give the
    current step, else the next one, else wait for the next step to begin (at most 30 s, and only for
    a third login of one account within 30 s). Never the previous step: near a step boundary the server
    may already be one step ahead of this clock."""

    def __init__(self) -> None:
        self.last: dict[str, int] = {}

    def code(self, email: str, secret: str = DEMO_TOTP_SECRET) -> str:
        totp = pyotp.TOTP(secret)
        last = self.last.get(email)
        now = int(time.time()) // totp.interval
        if last is not None and last > now:  # both now and now + 1 are used up
            time.sleep(last * totp.interval - time.time() + 0.2)
            now = int(time.time()) // totp.interval
        step = now if last is None or now > last else now + 1
        self.last[email] = step
        return totp.generate_otp(step)

    def invalid_code(self, secret: str = DEMO_TOTP_SECRET) -> str:
        """Six digits that are the code of no step near now: wrong for sure, not just unlucky."""
        totp = pyotp.TOTP(secret)
        now = int(time.time()) // totp.interval
        near = {totp.generate_otp(step) for step in range(now - 3, now + 4)}
        return next(code for code in (f"{n:06d}" for n in range(0, 1_000_000, 111_111)) if code not in near)


@pytest.fixture(scope="module")
def totp() -> TotpSteps:
    """TOTP codes for the module's server (a new server, a new database: nothing used yet)."""
    return TotpSteps()


@dataclass
class LogIn:
    """Logs in through the real pages: the login form, then the second factor if the account has one."""

    totp: TotpSteps

    def __call__(
        self, page: Page, email: str, *, secret: str = DEMO_TOTP_SECRET, password: str = DEMO_PASSWORD
    ) -> None:
        if self.password_step(page, email, password=password):
            self.second_factor(page, email, secret=secret)
        expect(page.get_by_role("heading", level=1, name=GREETING)).to_be_visible()

    def password_step(self, page: Page, email: str, *, password: str = DEMO_PASSWORD) -> bool:
        """Submit the login form; True if the server then asks for the second factor."""
        page.goto("/login")
        page.get_by_label("Adresse électronique").fill(email)
        page.get_by_label("Mot de passe").fill(password)
        with page.expect_navigation():
            page.get_by_role("button", name="Se connecter").click()
        path = urlsplit(page.url).path
        if path == "/login":
            pytest.fail(f"The login form refused {email}", pytrace=False)
        return path == SECOND_FACTOR_PATH

    def second_factor(self, page: Page, email: str, *, secret: str = DEMO_TOTP_SECRET) -> None:
        """Answer the second-factor page with a fresh code."""
        expect(page.get_by_role("heading", level=1)).to_have_text("Double authentification")
        page.get_by_label("Code").fill(self.totp.code(email, secret))
        with page.expect_navigation():
            page.get_by_role("button", name="Valider").click()
        expect(page.get_by_role("heading", level=1, name=GREETING)).to_be_visible()


@pytest.fixture(scope="module")
def log_in(totp: TotpSteps) -> LogIn:
    """``log_in(page, email)``: the login form, then a real TOTP code if the account has MFA."""
    return LogIn(totp)


@pytest.fixture(scope="module")
def _storage_states(
    browser: Browser, browser_context_args: dict[str, Any], log_in: LogIn
) -> Callable[[str], dict[str, Any]]:
    """The browser storage (cookies) of each demo account, logged in once per module on first use."""
    states: dict[str, dict[str, Any]] = {}

    def state(email: str) -> dict[str, Any]:
        if email not in states:
            watch = PageWatch()
            context = watch.attach(browser.new_context(**browser_context_args))
            try:
                page = context.new_page()
                page.set_default_timeout(10_000)
                log_in(page, email)
                watch.check()
                states[email] = context.storage_state()
            finally:
                context.close()
        return states[email]

    return state


@pytest.fixture
def signed_in(
    watched_context: Callable[..., BrowserContext], _storage_states: Callable[[str], dict[str, Any]]
) -> Callable[[str], Page]:
    """``signed_in(email)``: a watched page of a new context already logged in as ``email``, on the
    home page. All tests of a module share that account's server-side session: don't log it out (use
    ``web`` and ``log_in`` for a session of the test's own)."""

    def _signed_in(email: str) -> Page:
        page = watched_context(storage_state=_storage_states(email)).new_page()
        page.goto("/")
        expect(page.get_by_role("heading", level=1, name=GREETING)).to_be_visible()
        return page

    return _signed_in


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
