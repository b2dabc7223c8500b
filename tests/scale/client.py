"""A small HTTP browser for the tests against real servers (and bench/bench_load.py): cookies kept
across requests and across servers (the point: a session opened on one server goes on on the
other), the forms of a page read and posted back as a browser would, multipart uploads. Standard
library only (http.client, html.parser)."""

from __future__ import annotations

import http.client
import re
import secrets
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode, urlsplit

HOST = "127.0.0.1"
USER_AGENT = "egide-scale"  # the same on every request: Flask-Login's "strong" session protection


@dataclass
class Response:
    status: int
    headers: Any
    body: bytes
    elapsed: float
    path: str = ""  # what was asked for (a form without action posts there)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def location(self) -> str:
        return urlsplit(self.headers.get("Location") or "").path

    def form(self, action: str | None = None) -> Form:
        """The page's form posted to ``action`` (a path; None: the first form with fields)."""
        parser = _FormParser()
        parser.feed(self.text)
        for candidate in parser.forms:
            candidate.action = candidate.action or urlsplit(self.path).path
            if action is None or urlsplit(candidate.action).path == action:
                return candidate
        raise AssertionError(f"no form to {action!r} on this page ({self.status}):\n{self.text[:1500]}")


@dataclass
class Form:
    action: str
    method: str = "get"
    fields: list[tuple[str, str]] = field(default_factory=list)

    def values(self, **overrides: str) -> list[tuple[str, str]]:
        """The fields as a browser posts them, ``overrides`` replacing (or adding) some."""
        kept = [(name, value) for name, value in self.fields if name not in overrides]
        return kept + list(overrides.items())

    def value(self, name: str) -> str | None:
        return next((v for n, v in self.fields if n == name), None)


class _FormParser(HTMLParser):
    """Forms with their successful controls: inputs (checked boxes only), selects (the selected
    option, else the first), textareas. Buttons are left out."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: tuple[str, list[tuple[str, bool]]] | None = None
        self._option: list[Any] | None = None
        self._textarea: list[Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = Form(action=a.get("action", ""), method=a.get("method", "get").lower())
            self.forms.append(self._form)
        if self._form is None:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "reset", "image", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self._form.fields.append((name, a.get("value", "on" if kind in ("checkbox", "radio") else "")))
        elif tag == "select" and name:
            self._select = (name, [])
        elif tag == "option" and self._select is not None:
            self._option = [a.get("value"), "selected" in a, ""]
        elif tag == "textarea" and name:
            self._textarea = [name, ""]

    def handle_data(self, data: str) -> None:
        if self._option is not None:
            self._option[2] += data
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "option" and self._option is not None and self._select is not None:
            value, selected, text = self._option
            self._select[1].append((text.strip() if value is None else value, selected))
            self._option = None
        elif tag == "select" and self._select is not None and self._form is not None:
            name, options = self._select
            chosen = [v for v, selected in options if selected] or [v for v, _s in options[:1]]
            self._form.fields += [(name, v) for v in chosen]
            self._select = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            name, text = self._textarea
            self._form.fields.append((name, text.removeprefix("\n")))
            self._textarea = None
        elif tag == "form":
            self._form = None


class Browser:
    """One person's browser: its cookies, sent to whichever server ``port`` names."""

    def __init__(self, port: int, *, timeout: float = 60) -> None:
        self.port = port
        self.timeout = timeout
        self.cookies: dict[str, str] = {}

    def request(
        self,
        method: str,
        path: str,
        *,
        port: int | None = None,
        data: list[tuple[str, str]] | dict[str, str] | None = None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        sent = {"User-Agent": USER_AGENT, **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body: bytes | None = None
        if files:
            body, sent["Content-Type"] = _multipart(data or [], files)
        elif data is not None:
            body = urlencode(data).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        conn = http.client.HTTPConnection(HOST, port or self.port, timeout=self.timeout)
        started = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            content = response.read()
        finally:
            conn.close()
        elapsed = time.perf_counter() - started
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                if morsel.value == "" or morsel["max-age"] == "0":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return Response(response.status, response.headers, content, elapsed, path)

    def get(self, path: str, **kwargs: Any) -> Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, data: Any = None, **kwargs: Any) -> Response:
        return self.request("POST", path, data=data if data is not None else [], **kwargs)

    def submit(
        self, page: Response, action: str | None = None, *, port: int | None = None, **values: str
    ) -> Response:
        """Post the page's form (to ``action``) with its own values, ``values`` replacing some."""
        form = page.form(action)
        return self.post(form.action or action or "", form.values(**values), port=port)

    def log_in(self, email: str, password: str, *, totp: Any = None, second_port: int | None = None) -> None:
        """Log in through the forms; ``totp`` (a pyotp.TOTP): pass the second factor too, on
        ``second_port`` when given (a session begun on one server, finished on another)."""
        response = self.submit(self.get("/login"), "/login", email=email, password=password)
        if response.status != 302:
            raise AssertionError(f"login of {email} refused: {response.status}")
        if totp is None:
            return
        now = totp.timecode(time.time())
        for step in (now, now + 1):  # a code is good once: a second login within 30 s takes the next
            page = self.get("/login/second-factor", port=second_port)
            response = self.submit(
                page, "/login/second-factor", port=second_port, code=totp.generate_otp(step)
            )
            if response.status == 302:
                return
        raise AssertionError(f"second factor of {email} refused")


CSRF_RE = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')


def csrf_token(page: Response) -> str:
    match = CSRF_RE.search(page.text)
    if match is None:
        raise AssertionError(f"no CSRF token on the page ({page.status})")
    return match[1]


def _multipart(data: Any, files: dict[str, tuple[str, bytes, str]]) -> tuple[bytes, str]:
    boundary = f"----egide{secrets.token_hex(12)}"
    parts: list[bytes] = []
    items = data.items() if isinstance(data, dict) else data
    for name, value in items:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    for name, (filename, content, mimetype) in files.items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {mimetype}\r\n\r\n"
        )
        parts.append(head.encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"
