"""Benchmarks, run on demand (they print figures; none is a test)."""

from __future__ import annotations

from typing import Any

# What every in-process bench changes in the app's settings: forms posted without CSRF tokens, no
# secure cookie on plain HTTP, no anchor file written in the project.
BENCH_SETTINGS = {"WTF_CSRF_ENABLED": False, "SESSION_COOKIE_SECURE": False, "AUDIT_ANCHOR_FILE": None}


def bench_app(url: str) -> Any:
    """Égide on the bench database ``url``."""
    from core import create_app  # noqa: PLC0415 — the scripts put the project on sys.path first

    return create_app({"DATABASE_URL": url, **BENCH_SETTINGS})
