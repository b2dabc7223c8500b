"""The page frame — header and menu — drawn once per worker for each set of inputs, not on every page.

Every page of a logged-in user shows the same header (name, active organisation, organisation
switch, language, logout) and a menu that depends on the section, the permissions and a few facts.
Drawn with Jinja on each request, they cost as much as the 50 rows of a list page
(bench/bench_http.py). So they are rendered once for each **key** — every input they show — and
kept in a small per-worker cache; what differs on every request (the CSRF token, the current URL)
goes into *slots* filled after the cache, escaped as ``{{ value }}`` would be.

The key holds the inputs themselves (names, permissions, facts), never a version number: a renamed
organisation or a revoked role is a new key at the next request, so nothing shown is ever stale. To
keep it that way, the frame templates (``_header.html``, ``_nav.html`` and every domain's menu
partial) read only what the key holds — ``can()``, ``org``, ``endpoint``, ``facts`` and the slots.
``request``, ``current_user``, ``current_org``, ``g``, ``session`` and ``csrf_token`` raise an error
inside them (:class:`_OutsideTheKey`), so a partial reading something else fails every test that
draws a page instead of showing one user's menu to another.

A domain adds facts through its ``Domain.layout_facts`` (core/domains.py): a function returning a
mapping of hashable values, computed on every request, e.g. whether the user serves as DPO anywhere.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any
from urllib.parse import urlencode

from flask import current_app, g, render_template, request, session
from flask_babel import get_locale
from flask_login import current_user
from markupsafe import Markup, escape

from core.domains import installed
from core.lru import LRU
from core.security import current_permissions
from core.templating import fixed_url
from core.tenancy import current_org

# Slot markers: a per-process random part, so that no text a user types can be taken for one.
_MARKER = secrets.token_hex(8)
CACHE_SIZE = 2048  # frames per worker: (language × section × permission set × organisation) in use


def _slot(name: str) -> str:
    return f"\x1e{_MARKER}:{name}\x1e"


class _OutsideTheKey:
    """Stands for a request global inside a cached frame template: any use of it is an error."""

    def __init__(self, name: str) -> None:
        self._name = name

    def _refuse(self, *_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError(
            f"{self._name} is read inside a cached frame template (header or menu): read what the key "
            "holds instead — can(), org, endpoint, facts, the slots (see core/layout.py)"
        )

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        self._refuse()

    __call__ = __str__ = __html__ = __bool__ = __iter__ = __getitem__ = _refuse


_OUTSIDE = {
    name: _OutsideTheKey(name)
    for name in ("request", "current_user", "current_org", "g", "session", "csrf_token", "serves_as_dpo")
}


@dataclass(frozen=True)
class FrameOrg:
    """What the header shows of the active organisation."""

    id: int
    name: str


@dataclass(frozen=True)
class MenuOrg:
    """What a menu partial may read of the active organisation: its kind, not its name or id (the
    menu of every member organisation is the same page of the cache)."""

    kind: str
    is_syndicate: bool


class FrameCache:
    """The rendered frames of this worker, the least recently used forgotten beyond ``size``."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._items: LRU[str] = LRU(size)
        self.hits = self.misses = 0

    def get_or_render(self, key: Hashable, render: Callable[[], str]) -> str:
        html = self._items.get(key)
        if html is not None:
            self.hits += 1
            return html
        html = render()
        self.misses += 1
        self._items.put(key, html)
        return html

    def clear(self) -> None:
        self._items.clear()


def cache() -> FrameCache:
    return current_app.extensions["egide_frame_cache"]


def fragment(
    template: str, key: tuple[Hashable, ...], context: Mapping[str, Any], slots: Mapping[str, str]
) -> Markup:
    """``template`` rendered with ``context`` — once per ``key`` — with ``slots`` filled in, escaped."""

    def render() -> str:
        return render_template(template, **_OUTSIDE, **context, **{name: _slot(name) for name in slots})

    html = cache().get_or_render((template, key), render)
    for name, value in slots.items():
        html = html.replace(_slot(name), str(escape(value)))
    return Markup(html)  # noqa: S704 — rendered by Jinja with autoescape; slots escaped above


@dataclass(frozen=True)
class Frame:
    header: Markup
    menu: Markup | None  # None: no menu (anonymous, or second factor not given yet)


def _facts() -> Mapping[str, Hashable]:
    facts: dict[str, Hashable] = {}
    for domain in installed():
        if domain.layout_facts is not None:
            facts.update(domain.layout_facts())
    return MappingProxyType(facts)


def frame() -> Frame:
    """The header and menu of the current page (a Jinja global: ``{{ frame().header }}``)."""
    if "_egide_frame" in g:
        return g._egide_frame
    locale = str(get_locale())
    authenticated = bool(current_user.is_authenticated)
    facts = _facts() if authenticated else MappingProxyType({})
    facts_key = tuple(sorted(facts.items()))
    org = current_org._get_current_object() if authenticated else None
    is_get = request.method == "GET"
    here = request.full_path if is_get else ""
    slots = {
        "csrf": csrf_token(),
        "here": here,
        "chooser_url": _chooser_url(here) if authenticated else "",
    }
    shown_org = FrameOrg(org.id, org.name) if org is not None else None
    header = fragment(
        "_header.html",
        (locale, authenticated, shown_org, facts_key, is_get),
        {"org": shown_org, "facts": facts, "authenticated": authenticated, "is_get": is_get},
        slots,
    )
    menu = None
    # A domain may keep the frame minimal: no menu, name or organisation (accounts does until the
    # second factor is given).
    if authenticated and not facts.get("frame_minimal", False):
        menu_org = (
            MenuOrg(getattr(org.kind, "value", str(org.kind)), bool(org.is_syndicate))
            if org is not None
            else None
        )
        permissions = tuple(sorted(current_permissions()))
        endpoint = request.endpoint or ""
        menu = fragment(
            "_nav.html",
            (locale, endpoint, permissions, menu_org, facts_key),
            {"org": menu_org, "facts": facts, "endpoint": endpoint},
            {},
        )
    g._egide_frame = Frame(header, menu)
    return g._egide_frame


# How long a signed CSRF token is handed out again to the same session (seconds). Every page's header
# carries one (language and logout forms): Flask-WTF signed a new one on each page, an HMAC with its
# serializer built anew (90 µs a page). A token reused this long stays valid for WTF_CSRF_TIME_LIMIT
# minus this at most (8 hours less a minute): the check of a form is unchanged.
CSRF_TOKEN_REUSE_SECONDS = 60
_CSRF_TOKENS: LRU[tuple[str, float]] = LRU(CACHE_SIZE)  # (session secret) → (token, signed at)


URL_QUERY_SAFE = "!$'()*,/:;?@"  # werkzeug.urls._urlencode's


def _chooser_url(here: str) -> str:
    """``url_for("accounts.organisation_chooser", next=here)``, its route built once per worker and
    the ``next`` encoded as werkzeug encodes a URL's query (a route built on each page: 40 µs)."""
    url = fixed_url("accounts.organisation_chooser")
    return f"{url}?{urlencode({'next': here}, safe=URL_QUERY_SAFE)}" if here else url


def _csrf_key() -> tuple[str, str] | None:
    secret = session.get("csrf_token")  # the session's CSRF secret, drawn by Flask-WTF
    return (str(current_app.secret_key or ""), secret) if isinstance(secret, str) else None


def reuse_csrf_token() -> None:
    """``before_request``: the token this worker signed for the session's secret less than
    CSRF_TOKEN_REUSE_SECONDS ago, put where Flask-WTF keeps the request's token (``g.csrf_token``),
    so that the header and every form of the page (``form.csrf_token``, ``hidden_tag()``) carry it
    without a new signature. Nothing kept: Flask-WTF signs one when the page first asks."""
    key = _csrf_key()
    if key is None:
        return
    kept = _CSRF_TOKENS.get(key)
    if kept is not None and time.monotonic() - kept[1] < CSRF_TOKEN_REUSE_SECONDS:
        g.csrf_token = kept[0]
        g._egide_csrf_reused = True


def csrf_token() -> str:
    """The page's signed CSRF token (the Jinja global ``csrf_token()``, and the header's slot):
    Flask-WTF's, kept for the next pages of the session when it was signed in this request."""
    from flask_wtf.csrf import generate_csrf  # noqa: PLC0415 — the token of this session

    token = generate_csrf()
    if not g.get("_egide_csrf_reused"):
        key = _csrf_key()
        if key is not None:
            _CSRF_TOKENS.put(key, (token, time.monotonic()))
            g._egide_csrf_reused = True  # kept: not again in this request
    return token


def init_app(app: Any) -> None:
    app.extensions["egide_frame_cache"] = FrameCache()
    app.jinja_env.globals["frame"] = frame
    app.jinja_env.globals["csrf_token"] = csrf_token  # in place of Flask-WTF's generate_csrf
    app.before_request(reuse_csrf_token)
