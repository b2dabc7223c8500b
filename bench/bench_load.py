"""Égide under load (issue 13; run on demand, prints figures; not a test): simulated users for a
while against gunicorn + PostgreSQL, a realistic mix of what the register's people do.

    .venv/bin/python bench/bench_load.py                        # 50 users, 60 s, 3 workers
    BENCH_USERS=10 BENCH_SECONDS=15 .venv/bin/python bench/bench_load.py
    BENCH_WORKERS=4 BENCH_THREADS=4 BENCH_THINK=0.5 .venv/bin/python bench/bench_load.py

The database ``BENCH_PG_URL`` (default ``postgresql://postgres@127.0.0.1:5432/egide_bench_load``) is
dropped, created, migrated and loaded with the demo (SIIM94 and its members; Ivry-sur-Seine's
register: 26 fiches) by tests/scale/servers.py, the helpers of the multiserver tests; Redis
(``EGIDE_MULTISERVER_REDIS_URL``, database 7) holds the rate limits and the queue. One gunicorn
(``BENCH_WORKERS`` workers, default 3, ``BENCH_THREADS`` threads each, default 4) serves it on the
loopback, development settings, CSRF on.

``BENCH_USERS`` users (default 50), each its own session of the demo's referent of Ivry (logged in
through the forms), loop for ``BENCH_SECONDS`` (default 60) with a think time of 0 to
2 × ``BENCH_THINK`` seconds (default 0.2) between actions, picking by weight:

    home 25 · register list 25 · fiche page 25 · edit 12 (the form, then its POST) ·
    CSV export 5 · register PDF 3 (26 fiches: built during the request, under the job threshold)
    · fiche PDF 5

Printed per kind: count, errors, p50/p95/p99 (ms); edits landed and conflict pages (a conflict is
an answer, not an error: two users saved the same fiche); the server's peak memory — the largest
sum of the resident set of the gunicorn master and its workers, sampled every 0.2 s (/proc). Exit
status 1 on any error (an answer other than the one expected, a socket error or a timeout).
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.scale import servers  # noqa: E402 — after the project is on sys.path
from tests.scale.client import Browser  # noqa: E402

USERS = int(os.environ.get("BENCH_USERS", "50"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "60"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "3"))
THREADS = int(os.environ.get("BENCH_THREADS", "4"))
THINK = float(os.environ.get("BENCH_THINK", "0.2"))
PG_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/egide_bench_load")

MIX = {"home": 25, "list": 25, "fiche": 25, "edit": 12, "export_csv": 5, "register_pdf": 3, "fiche_pdf": 5}


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


class Memory(threading.Thread):
    """Samples the server's resident memory (master + workers) until stopped."""

    def __init__(self, master: int) -> None:
        super().__init__(daemon=True)
        self.master = master
        self.peak_total = 0
        self.peak_worker = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            workers = [rss_kib(p) for p in children(self.master)]
            self.peak_total = max(self.peak_total, rss_kib(self.master) + sum(workers))
            self.peak_worker = max(self.peak_worker, *workers, 0)
            self.stopped.wait(0.2)


class Results:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.timings: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, list[str]] = defaultdict(list)
        self.landed = 0
        self.conflicts = 0

    def record(self, kind: str, response: Any, expected: tuple[int, ...]) -> bool:
        with self.lock:
            self.timings[kind].append(response.elapsed * 1000)
            if response.status not in expected:
                self.errors[kind].append(f"{response.status} {response.path}")
                return False
        return True


def user(number: int, browser: Browser, fiches: list[int], deadline: float, results: Results) -> None:
    rng = random.Random(number)
    kinds, weights = list(MIX), list(MIX.values())
    export_form = browser.get("/registers/import").form("/registers/export.csv")
    documents = browser.get("/reports/").form("/registers/documents/register")
    while time.monotonic() < deadline:
        kind = rng.choices(kinds, weights)[0]
        fiche = rng.choice(fiches)
        try:
            if kind == "home":
                results.record(kind, browser.get("/"), (200,))
            elif kind == "list":
                results.record(kind, browser.get("/registers/activities/"), (200,))
            elif kind == "fiche":
                results.record(kind, browser.get(f"/registers/activities/{fiche}"), (200,))
            elif kind == "edit":
                page = browser.get(f"/registers/activities/{fiche}/edit")
                if results.record("edit_form", page, (200,)):
                    form = page.form(f"/registers/activities/{fiche}/edit")
                    answer = browser.post(form.action, form.values(name=f"Fiche {fiche} — banc {number}"))
                    if results.record(kind, answer, (302, 409)):
                        with results.lock:
                            results.landed += answer.status == 302
                            results.conflicts += answer.status == 409
            elif kind == "export_csv":
                answer = browser.post("/registers/export.csv", export_form.values())
                if results.record(kind, answer, (200,)) and not answer.body.startswith(b"\xef\xbb\xbf"):
                    results.errors[kind].append("not a CSV")
            elif kind == "register_pdf":
                results.record(
                    kind, browser.post("/registers/documents/register", documents.values()), (302,)
                )
            elif kind == "fiche_pdf":
                page = browser.get(f"/registers/activities/{fiche}")
                form = page.form(f"/registers/activities/{fiche}/pdf")
                results.record(kind, browser.post(form.action, form.values()), (302,))
        except (OSError, AssertionError) as error:
            with results.lock:
                results.errors[kind].append(f"{type(error).__name__}: {error}"[:200])
        time.sleep(rng.uniform(0, 2 * THINK))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def main() -> int:
    print(
        f"bench_load: {USERS} users, {SECONDS:.0f} s, "
        f"gunicorn {WORKERS} workers × {THREADS} threads, PostgreSQL"
    )
    store = servers.redis.Redis.from_url(servers.REDIS_URL)
    store.flushdb()
    folder = Path(tempfile.mkdtemp(prefix="egide-bench-load-"))
    started = time.monotonic()
    servers.fresh_database(PG_URL)
    env = servers.base_env(
        PG_URL,
        servers.REDIS_URL,
        folder,
        EGIDE_LOG_LEVEL="WARNING",
        EGIDE_LOGIN_RATE_LIMIT="10000 per minute",
    )
    servers.flask(env, "db", "upgrade")
    servers.flask(env, "demo", "load")
    print(f"database ready in {time.monotonic() - started:.0f} s")
    server = servers.start_gunicorn("bench-load", env, folder, workers=WORKERS, threads=THREADS)
    try:
        cluster_sql = servers.Cluster(PG_URL, store, server, server, server, folder)
        fiches = [
            row[0]
            for row in cluster_sql.sql(
                "SELECT pa.id FROM processing_activities pa JOIN memberships m ON m.organisation_id = "
                "pa.organisation_id JOIN users u ON u.id = m.user_id WHERE u.email = %s "
                "AND pa.is_model IS FALSE AND pa.status <> 'archived' ORDER BY pa.id",
                servers.REFERENT,
            )
        ]
        browsers = []
        for _ in range(USERS):
            browser = Browser(server.port)
            browser.log_in(servers.REFERENT, servers.DEMO_PASSWORD)
            browsers.append(browser)
        print(f"{USERS} users logged in, {len(fiches)} fiches in Ivry's register")
        memory = Memory(server.popen.pid)
        memory.start()
        results = Results()
        deadline = time.monotonic() + SECONDS
        with ThreadPoolExecutor(max_workers=USERS) as pool:
            for future in [
                pool.submit(user, n, browsers[n], fiches, deadline, results) for n in range(USERS)
            ]:
                future.result()
        memory.stopped.set()
        memory.join()
    finally:
        server.stop()
        store.flushdb()
    total = sum(len(v) for v in results.timings.values())
    print(f"\n{total} requests in {SECONDS:.0f} s ({total / SECONDS:.1f}/s)")
    print(f"{'kind':<14}{'count':>7}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    for kind in ("home", "list", "fiche", "edit_form", "edit", "export_csv", "register_pdf", "fiche_pdf"):
        values = results.timings.get(kind, [])
        print(
            f"{kind:<14}{len(values):>7}{len(results.errors.get(kind, [])):>8}"
            f"{percentile(values, 0.50):>9.0f}{percentile(values, 0.95):>9.0f}"
            f"{percentile(values, 0.99):>9.0f}"
        )
    print(f"edits: {results.landed} landed, {results.conflicts} conflict pages (409, expected)")
    print(
        f"server peak memory: {memory.peak_total / 1024:.0f} MiB (master + {WORKERS} workers), "
        f"largest worker {memory.peak_worker / 1024:.0f} MiB"
    )
    errors = [e for v in results.errors.values() for e in v]
    if errors:
        print(f"\n{len(errors)} error(s), first ones:", *errors[:10], sep="\n  ")
        return 1
    print("0 errors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
