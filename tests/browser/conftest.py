"""End-to-end fixtures: the real server on the demo data, and Debian's headless Chromium.

The server runs in a subprocess on a temporary SQLite file, migrated and loaded with the demo data
through the same commands a newcomer types (``flask db upgrade``, ``flask demo load``). Nothing here
uses the suite's ``app`` fixture: the browser sees exactly what a user of ``make run`` would see.

Every page is watched: a console error, an uncaught page error (CSP violations show up as console
errors) or a request to any host but 127.0.0.1 fails the test.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, ConsoleMessage, Error, Page, Request

PROJECT_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
SCREENSHOTS = PROJECT_ROOT / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
SERVER_START_TIMEOUT = 30.0


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


@pytest.fixture(scope="session")
def live_server_url() -> Iterator[str]:
    """Base URL of a real Égide server on a fresh demo database (no trailing slash)."""
    with tempfile.TemporaryDirectory(prefix="egide-browser-") as tmp:
        tmp_path = Path(tmp)
        env = {
            **os.environ,
            "FLASK_APP": "wsgi",
            "EGIDE_ENV": "development",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'egide.sqlite3'}",
            # Without it the development config writes instance/secret_key in the working tree.
            "SECRET_KEY": secrets.token_urlsafe(32),
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("TEST_DATABASE_URL", None)
        _flask(env, "db", "upgrade")
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


@pytest.fixture(scope="session")
def base_url(live_server_url: str) -> str:
    """pytest-base-url's fixture: ``page.goto("/login")`` then targets the live server."""
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


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_context_args,
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

    def check(self) -> None:
        """Fail now if anything went wrong since the test started."""
        if self.problems:
            problems, self.problems = self.problems, []
            pytest.fail("The browser reported problems:\n  " + "\n  ".join(problems), pytrace=False)


@pytest.fixture
def watch(context: BrowserContext) -> Iterator[PageWatch]:
    """Watch every page of the test's browser context; fails the test at the end if anything went wrong."""
    watch = PageWatch()

    def attach(page: Page) -> None:
        page.on("console", watch.on_console)
        page.on("pageerror", watch.on_page_error)

    context.on("page", attach)
    context.on("request", watch.on_request)
    for page in context.pages:
        attach(page)
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
def web(watch: PageWatch, page: Page) -> Page:
    """pytest-playwright's page, watched (see :class:`PageWatch`)."""
    page.set_default_timeout(10_000)
    return page


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
