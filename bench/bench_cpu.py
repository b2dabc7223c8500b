"""Égide's list pages against bench/bare_app.py in one process: the CPU time of each request
(``time.process_time``), the two apps taking turns request by request (run on demand, prints figures;
not a test). Much less noisy than wrk on a shared machine, and the place to look for where the time
goes (``BENCH_PROFILE=<label>``: a cProfile of that page's Égide requests).

    BENCH_URL=sqlite:////tmp/egide-bench-http.sqlite3 .venv/bin/python bench/bench_cpu.py
    BENCH_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_http .venv/bin/python bench/bench_cpu.py
    BENCH_PROFILE="register list" .venv/bin/python bench/bench_cpu.py

The database is bench/bench_http.py's, seeded by it first (same pages, same sessions). Printed for
each page: the median CPU milliseconds of a request in Égide and in the bare app, the median
wall-clock milliseconds (with PostgreSQL this includes the server's work), and the ratio bare/Égide
of the CPU times — what bench_http's ratio of requests per second tends to when the CPU is the limit.
"""

from __future__ import annotations

import cProfile
import gc
import os
import pstats
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import pyotp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import bench_http

URL = os.environ.get("BENCH_URL", bench_http.SQLITE_URL)  # or BENCH_SQLITE_PATH, as bench_http
RUNS = int(os.environ.get("BENCH_RUNS", "100"))
PROFILE = os.environ.get("BENCH_PROFILE", "")
ONLY = [label.strip() for label in os.environ.get("BENCH_PAGES", "").split(",") if label.strip()]


def _post(client: Any, path: str, data: dict[str, Any]) -> int:
    """A form posted as a browser does: its CSRF token read from the page first."""
    page = client.get("/account/" if path == "/active-organisation" else path)
    match = bench_http.CSRF_RE.search(page.get_data(as_text=True))
    assert match, (path, page.status_code)
    return client.post(path, data={**data, "csrf_token": match[1]}).status_code


def egide_client() -> Any:
    """Égide's app logged in as bench_http's DPO (a test client). The bench's account is put back
    first as the seed left it — no failures counted, no code used yet — so that reruns within the
    same 30 s (a code is good once) log in at once."""
    from bench.bench_registers import DPO_EMAIL, PASSWORD, TOTP_SECRET  # noqa: PLC0415
    from core import create_app  # noqa: PLC0415

    os.environ.update(bench_http.BENCH_ENV)
    app = create_app({"DATABASE_URL": URL, "AUDIT_AUTO_ANCHOR": False})
    from sqlalchemy import update  # noqa: PLC0415

    from accounts.models import User  # noqa: PLC0415
    from core.extensions import db  # noqa: PLC0415

    with app.app_context(), db.engine.begin() as conn:
        conn.execute(
            update(User)
            .where(User.email == DPO_EMAIL)
            .values(failed_login_count=0, locked_until=None, totp_last_timecode=None)
        )
    gc.collect()
    gc.freeze()  # as wsgi.py does once the application is built (what gunicorn serves)
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = bench_http.USER_AGENT
    status = _post(client, "/login", {"email": DPO_EMAIL, "password": PASSWORD})
    assert status == 302, status
    totp = pyotp.TOTP(TOTP_SECRET)
    if _post(client, "/login/second-factor", {"code": totp.now()}) != 302:
        raise SystemExit("second factor refused")
    return client


def switch(client: Any, org: int) -> None:
    status = _post(client, "/active-organisation", {"organisation_id": org, "next": "/"})
    assert status == 302, status


def main() -> None:
    os.environ["BARE_DATABASE_URL"] = URL
    client = egide_client()
    from bench import bare_app  # noqa: PLC0415 — reads BARE_DATABASE_URL when imported

    bare = bare_app.app.test_client()
    print(f"{URL}: {RUNS} requests a page and an app, in turns (medians, ms)")
    print(f"{'page':<27} {'Égide cpu':>9} {'bare cpu':>9} {'Égide wall':>10} {'bare wall':>9} {'ratio':>6}")
    for page in bench_http.PAGES:
        if ONLY and page.label not in ONLY:
            continue
        switch(client, page.org)
        for _ in range(5):  # warm-up: caches, pools, compiled statements
            assert client.get(page.path).status_code == 200, page.path
            assert bare.get(page.path).status_code == 200, page.path
        profiler = cProfile.Profile() if page.label == PROFILE else None
        cpu: dict[str, list[float]] = {"e": [], "b": []}
        wall: dict[str, list[float]] = {"e": [], "b": []}
        for _ in range(RUNS):
            for key, target in (("e", client), ("b", bare)):
                if profiler and key == "e":
                    profiler.enable()
                w, c = time.perf_counter(), time.process_time()
                response = target.get(page.path)
                cpu[key].append((time.process_time() - c) * 1000)
                wall[key].append((time.perf_counter() - w) * 1000)
                if profiler and key == "e":
                    profiler.disable()
                assert response.status_code == 200, (key, page.path, response.status_code)
        e, b = statistics.median(cpu["e"]), statistics.median(cpu["b"])
        print(
            f"{page.label:<27} {e:9.2f} {b:9.2f} {statistics.median(wall['e']):10.2f}"
            f" {statistics.median(wall['b']):9.2f} {b / e if e else 0:6.2f}"
        )
        if profiler:
            stats = pstats.Stats(profiler)
            stats.sort_stats(os.environ.get("BENCH_SORT", "cumulative"))
            stats.print_stats(os.environ.get("BENCH_FILTER", ""), int(os.environ.get("BENCH_LINES", "60")))


if __name__ == "__main__":
    main()
