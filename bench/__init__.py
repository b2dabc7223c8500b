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


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database of ``url`` if it does not exist (nothing for SQLite)."""
    from sqlalchemy.engine import make_url  # noqa: PLC0415

    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return
    import psycopg  # noqa: PLC0415

    with psycopg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, dbname="postgres", autocommit=True
    ) as c:
        if not c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (parsed.database,)).fetchone():
            c.execute(f'CREATE DATABASE "{parsed.database}"')


def measure(client: Any, url: str, counter: list[int], runs: int) -> tuple[float, float, int]:
    """(median ms, p95 ms, SQL queries of the last run) of ``runs`` GETs of ``url`` after a warm-up;
    ``counter[0]`` is the query count an engine listener keeps."""
    import statistics  # noqa: PLC0415
    import time  # noqa: PLC0415

    client.get(url)  # warm-up (template compilation, caches)
    timings, queries = [], 0
    for _ in range(runs):
        counter[0] = 0
        start = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - start) * 1000)
        queries = counter[0]
        assert response.status_code == 200, (url, response.status_code)
    timings.sort()
    return statistics.median(timings), timings[int(0.95 * (len(timings) - 1))], queries


def log_in(app: Any, email: str, password: str, totp_secret: str, organisation_id: int) -> Any:
    """A test client logged in through the real forms (password, then a TOTP code) with
    ``organisation_id`` active. A code is accepted once: after a run just before, the next one."""
    import time  # noqa: PLC0415

    import pyotp  # noqa: PLC0415

    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": password}).status_code == 302
    if client.post("/login/second-factor", data={"code": pyotp.TOTP(totp_secret).now()}).status_code != 302:
        time.sleep(31 - time.time() % 30)
        assert (
            client.post("/login/second-factor", data={"code": pyotp.TOTP(totp_secret).now()}).status_code
            == 302
        )
    answer = client.post("/active-organisation", data={"organisation_id": organisation_id, "next": "/"})
    assert answer.status_code == 302
    return client
