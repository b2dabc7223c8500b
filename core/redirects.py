"""Where a redirect may send the browser (ASVS 5.1.5): one rule, for every target that comes from
the request (``next`` parameters and fields), and a last check of every ``Location`` header.

A target is accepted only as a path of this site: it starts with one "/", and neither it nor any
percent-decoding of it (decoded repeatedly, and Unicode-normalised) starts with "//", holds a
backslash, a control, format or whitespace character. Browsers drop tabs and newlines from URLs and
read "\\" as "/", so "/\\t/evil", "/\\\\evil" or "%2F%2Fevil" would otherwise leave the site.
"""

from __future__ import annotations

import unicodedata
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import request, url_for
from werkzeug.urls import iri_to_uri

MAX_LENGTH = 2048
_DECODE_ROUNDS = 5
# Unicode categories never allowed in a target: controls, format (zero-width, bidi), surrogates,
# private use, unassigned, and separators (spaces, line and paragraph separators).
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"})


def _clean_form(text: str) -> bool:
    """One form of a target: a local path, nothing a browser could read as another host."""
    if not text.startswith("/") or text.startswith("//"):
        return False
    if "\\" in text:
        return False
    if any(unicodedata.category(ch) in _REFUSED_CATEGORIES for ch in text):
        return False
    folded = unicodedata.normalize("NFKC", text)  # "／" (fullwidth), "＼" and the like
    return not folded.startswith("//") and "\\" not in folded


def is_local_path(value: Any) -> bool:
    """True when ``value`` is a path of this site, as raw text and once fully percent-decoded."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_LENGTH:
        return False
    text = value
    for _round in range(_DECODE_ROUNDS):
        if not _clean_form(text):
            return False
        decoded = unquote(text, errors="replace")
        if decoded == text:
            return True
        text = decoded
    return False  # still encoded after several rounds: nobody writes such a link


def safe_target(value: Any, default: str | None = None) -> str:
    """``value`` when it is a local path (see :func:`is_local_path`), else ``default`` (home)."""
    if is_local_path(value):
        return value
    return default if default is not None else url_for("core.index")


def _location_is_safe(location: str) -> bool:
    if any(unicodedata.category(ch) in _REFUSED_CATEGORIES for ch in location) or "\\" in location:
        return False
    # What werkzeug will actually send (iri_to_uri drops tabs and newlines, as browsers do).
    sent = iri_to_uri(location)
    parts = urlsplit(sent)
    if parts.scheme or parts.netloc:
        return parts.scheme in ("http", "https") and parts.netloc == request.host
    return sent.startswith("/") and not sent.startswith("//")


def guard_location(response: Any) -> Any:
    """App-wide ``after_request``: a ``Location`` that would leave the site, or that browsers would
    read differently from the server, is replaced by the home page."""
    location = response.headers.get("Location")
    if location is not None and not _location_is_safe(location):
        response.headers["Location"] = url_for("core.index")
    return response
