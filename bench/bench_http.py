"""Égide's list pages measured from outside, over HTTP, against a bare app doing the same queries
(run on demand, prints figures; not a test).

    .venv/bin/python bench/bench_http.py                       # SQLite, then PostgreSQL
    BENCH_DATABASES=sqlite .venv/bin/python bench/bench_http.py
    BENCH_RESEED=1 BENCH_SECONDS=5 .venv/bin/python bench/bench_http.py
    BENCH_PAGES="risk,incident" .venv/bin/python bench/bench_http.py    # only these pages

For each database — a SQLite file (``/tmp/egide-bench-http.sqlite3``) and the PostgreSQL database
``bench_http`` (created if missing, ``BENCH_PG_URL`` to point elsewhere) — it builds the bench data of
bench/bench_registers.py once (5,000 organisations, 250,450 fiches, rights requests, breaches, 200
applications; reused by the next runs unless ``BENCH_RESEED=1``), then starts, on the loopback only:

* Égide under gunicorn, 2 workers (development settings, CSRF on, automatic journal anchoring on,
  anchor and key files under /tmp);
* bench/bare_app.py under gunicorn, 2 workers: Flask + SQLAlchemy Core + Jinja, same queries, same
  rows, nothing else.

It logs in through the real forms (password, then a TOTP code computed with pyotp) as the bench's
DPO of all 5,000 organisations, takes a session cookie with the 500-fiche organisation active (the
register pages) and one with the syndicate active (its catalogue), and loads each page with ``wrk``
(2 threads, 16 connections, ``BENCH_SECONDS`` = 10 s each), then with a single connection (3 s each)
for the unloaded latency. Égide and the bare app take turns (``BENCH_ROUNDS`` = 2 turns each): a
load that drifts on a shared machine weighs on both alike. Printed for each page: requests per
second, p50 and p99 under load, p95 with one connection (latencies: the mean of the turns), answers
other than 2xx (a redirect to the login page counts), and the ratio Égide / bare.

Exit status 1 if any answer was not a 2xx (or a socket error or timeout happened): a 500 under load
is a bug. Targets (printed, not enforced): ratio ≥ 0.5 for every list page, portfolio ≤ 100 ms p95.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pyotp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SQLITE_PATH = os.environ.get(
    "BENCH_SQLITE_PATH", os.path.join(tempfile.gettempdir(), "egide-bench-http.sqlite3")
)
SQLITE_URL = f"sqlite:///{SQLITE_PATH}"
PG_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench_http")
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
SINGLE_SECONDS = int(os.environ.get("BENCH_SINGLE_SECONDS", "3"))
# Égide and the bare app take turns (Égide, bare, Égide, bare …): see the module docstring.
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
EGIDE_PORT = int(os.environ.get("BENCH_EGIDE_PORT", "8761"))
BARE_PORT = int(os.environ.get("BENCH_BARE_PORT", "8762"))
HOST = "127.0.0.1"
USER_AGENT = "egide-bench-http"  # the same for login and load: Flask-Login's "strong" protection
# The bench's settings for both processes (the seed encrypts the TOTP secret with these keys).
BENCH_ENV = {
    "EGIDE_ENV": "development",
    "SECRET_KEY": "bench-http-secret-key-not-for-production",
    "EGIDE_ENCRYPTION_KEYS": "YmVuY2gtaHR0cC1vbmx5LW5vdC1hLXNlY3JldC1rZXk=",
    "EGIDE_AUDIT_ANCHOR_FILE": os.path.join(tempfile.gettempdir(), "egide-bench-http-anchors.jsonl"),
    "EGIDE_AUDIT_SIGNING_KEY_FILE": os.path.join(tempfile.gettempdir(), "egide-bench-http-audit-key.pem"),
    "EGIDE_LOG_LEVEL": "WARNING",
}


@dataclass(frozen=True)
class BenchPage:
    label: str
    path: str
    org: int  # the active organisation of the session that loads it
    portfolio: bool = False
    shows: str = "<table"  # what Égide's page holds when it answers as a logged-in page should


PAGES = (
    BenchPage("register list", "/registers/activities/?per_page=50", 2),
    BenchPage("filtered list", "/registers/activities/?status=validated&dpia=required&per_page=50", 2),
    BenchPage("portfolio by name", "/registers/portfolio/", 2, portfolio=True),
    BenchPage("portfolio by completeness", "/registers/portfolio/?sort=completeness", 2, portfolio=True),
    BenchPage("catalogue list", "/catalogue/?per_page=50", 1),
    BenchPage("incident list", "/smsi/incidents/?per_page=50", 1),
    BenchPage("action list", "/smsi/actions/?per_page=50", 1),
    BenchPage("weekly review", "/smsi/review/", 1, shows="Revue hebdomadaire du SMSI"),  # lists, no table
    BenchPage("risk list", "/risks/?per_page=50", 1),
    BenchPage("audit list", "/audits/?per_page=50", 1),
    BenchPage("finding list", "/audits/findings/?per_page=50", 1),
)


def pages() -> list[BenchPage]:
    """The pages to load: all, or those whose label contains one of BENCH_PAGES (comma-separated)."""
    wanted = [w.strip() for w in os.environ.get("BENCH_PAGES", "").split(",") if w.strip()]
    return [p for p in PAGES if not wanted or any(w in p.label for w in wanted)]


WRK_SCRIPT = r"""
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) bad = 0 end
function response(status, headers, body)
  if status < 200 or status > 299 then bad = bad + 1 end
end
function done(summary, latency, requests)
  local total_bad = 0
  for _, t in ipairs(threads) do total_bad = total_bad + t:get("bad") end
  local e = summary.errors
  io.write(string.format("BENCH %d %d %d %d %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), total_bad,
    e.connect + e.read + e.write + e.timeout, e.status))
end
"""


@dataclass
class Load:
    requests: int
    rps: float
    p50: float  # ms
    p95: float
    p99: float
    not_2xx: int
    socket_errors: int

    @property
    def failed(self) -> bool:
        return self.not_2xx > 0 or self.socket_errors > 0 or self.requests == 0


# --- the data -------------------------------------------------------------------------------------


def ensure_pg_database(url: str) -> None:
    from sqlalchemy import make_url  # noqa: PLC0415

    parsed = make_url(url)
    import psycopg  # noqa: PLC0415

    with psycopg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, dbname="postgres", autocommit=True
    ) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (parsed.database,)).fetchone():
            conn.execute(f'CREATE DATABASE "{parsed.database}"')


def prepare(url: str) -> None:
    """Seed the bench data unless the database already holds it (then only migrate it)."""
    os.environ.update(BENCH_ENV)
    os.environ.pop("DATABASE_URL", None)
    if url.startswith("postgresql"):
        ensure_pg_database(url)
    from sqlalchemy import func, inspect, select  # noqa: PLC0415

    from bench import bench_registers  # noqa: PLC0415
    from core import create_app  # noqa: PLC0415
    from core.extensions import alembic, db  # noqa: PLC0415
    from registers.models import ProcessingActivity  # noqa: PLC0415

    app = create_app({"DATABASE_URL": url, "AUDIT_AUTO_ANCHOR": False})
    with app.test_request_context():  # the seed computes completeness labels (gettext)
        seeded = False
        if not os.environ.get("BENCH_RESEED") and inspect(db.engine).has_table("processing_activities"):
            count = db.session.scalar(select(func.count()).select_from(ProcessingActivity).limit(1))
            seeded = (count or 0) >= 250_000
            db.session.rollback()
        if seeded:
            alembic.upgrade()
            print(f"reusing the bench data in {url}")
        else:
            started = time.perf_counter()
            sizes = bench_registers.seed()
            print(
                f"seeded {url} in {time.perf_counter() - started:.0f} s: "
                + ", ".join(f"{n:,} {what}" for what, n in sizes.items())
            )
        for added in (seed_smsi(), seed_risks(), seed_audits()):
            if added:
                print("added to it: " + ", ".join(f"{n:,} {what}" for what, n in added.items()))
        db.session.close()
        for engine in db.engines.values():
            engine.dispose()


def _settle_postgresql(with_ids: tuple[str, ...], others: tuple[str, ...] = ()) -> None:
    """After a bulk load with explicit ids (PostgreSQL only): move each table's id sequence past
    its rows, so that the pages' own inserts do not collide, then refresh the planner's figures of
    every loaded table."""
    from sqlalchemy import text  # noqa: PLC0415

    from core.extensions import db  # noqa: PLC0415

    if db.engine.dialect.name != "postgresql":
        return
    with db.engine.begin() as conn:
        for table in with_ids:
            sql = f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"  # noqa: S608 — fixed names
            conn.execute(text(sql))
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in (*with_ids, *others):
            conn.execute(text(f"VACUUM ANALYZE {table}"))


N_INCIDENTS, N_ACTIONS = 4_000, 3_000  # the syndicate's (organisation 1): a few years of them


def _action_rows(incident_ids: list[int]) -> Any:
    from core.db import utcnow  # noqa: PLC0415
    from smsi.models import search_text  # noqa: PLC0415

    now = utcnow()
    today = now.date()
    origins = ("audit_finding", "risk", "parcours", "management_review", "other")
    types = ("correction", "corrective", "preventive", "improvement")
    for n in range(1, N_ACTIONS + 1):
        is_open = n % 3 != 0  # two in three open, some of them overdue
        from_incident = n % 2 == 0
        created = now - timedelta(days=(N_ACTIONS - n) // 3)
        reference = f"ACT-{created:%Y}-{n:05d}"
        title = f"Action {n} — {['sauvegardes', 'sensibilisation', 'correctifs', 'accès'][n % 4]}"
        yield {
            "id": n,
            "organisation_id": 1,
            "reference": reference,
            "title": title,
            "search_text": search_text(reference, title),
            "description": "Action générée pour le banc d'essai.",
            "origin": "incident" if from_incident else origins[n % len(origins)],
            "incident_id": incident_ids[n % len(incident_ids)] if from_incident else None,
            "origin_detail": None if from_incident else "Décrite en mots",
            "type": types[n % len(types)],
            "priority": ("low", "normal", "high")[n % 3],
            "owner_id": 1 + n % 2,  # the bench's two DPOs
            "due_on": today + timedelta(days=(n * 7) % 200 - 40),
            "status": ("planned", "in_progress", "done")[n % 3] if is_open else "effective",
            "is_open": is_open,
            "done_on": None if is_open else created.date() + timedelta(days=10),
            "check_method": None if is_open else "Contrôle par sondage",
            "checked_on": None if is_open else created.date() + timedelta(days=20),
            "checked_by_id": None if is_open else 1,
            "check_result": None if is_open else "Efficace",
            "version": 1,
            "created_at": created,
            "updated_at": created,
        }


def seed_smsi() -> dict[str, int]:
    """The syndicate's incidents and corrective actions (their list pages), added to the register
    data once: the latest N_INCIDENTS of bench/bench_smsi.py's generator (a thousand of them open,
    three affected members each), and N_ACTIONS actions, half of them from those incidents."""
    from itertools import islice  # noqa: PLC0415

    from sqlalchemy import func, select  # noqa: PLC0415

    from bench import bench_smsi  # noqa: PLC0415
    from bench.bench_registers import bulk  # noqa: PLC0415
    from core.db import utcnow  # noqa: PLC0415
    from core.extensions import db  # noqa: PLC0415
    from smsi.models import Action, Incident, incident_organisations  # noqa: PLC0415

    if db.session.scalar(select(func.count()).select_from(Incident)):
        db.session.rollback()
        return {}
    db.session.rollback()
    skipped = bench_smsi.N_INCIDENTS - N_INCIDENTS  # its generator yields the oldest first
    incidents = list(islice(bench_smsi._incidents(utcnow()), skipped, None))
    ids = [row["id"] for row in incidents]
    sizes = {}
    with db.engine.begin() as conn:
        sizes["incidents"] = bulk(conn, Incident.__table__, incidents)
        sizes["affected organisations"] = bulk(
            conn,
            incident_organisations,
            (
                {"incident_id": n, "organisation_id": 2 + (n + k) % 500, "is_added": False}
                for n in ids
                for k in range(3)
            ),
        )
        sizes["corrective actions"] = bulk(conn, Action.__table__, _action_rows(ids))
    _settle_postgresql(("incidents", "smsi_actions"), ("incident_organisations",))
    return sizes


N_RISKS = 1_000  # the syndicate's register: larger than any real one, so the list pages through it


def seed_risks() -> dict[str, int]:
    """The syndicate's risk register (its list page), added once: the first N_RISKS of
    bench/bench_risks.py's generator (all organisation 1's), every third one linked to one of the
    seeded corrective actions of origin "risk"."""
    from itertools import islice  # noqa: PLC0415

    from sqlalchemy import func, select  # noqa: PLC0415

    from bench import bench_risks  # noqa: PLC0415
    from bench.bench_registers import bulk  # noqa: PLC0415
    from core.db import utcnow  # noqa: PLC0415
    from core.extensions import db  # noqa: PLC0415
    from risks.models import Risk, risk_actions  # noqa: PLC0415
    from smsi.models import Action  # noqa: PLC0415

    if db.session.scalar(select(func.count()).select_from(Risk)):
        db.session.rollback()
        return {}
    action_ids = list(
        db.session.scalars(select(Action.id).where(Action.organisation_id == 1, Action.origin == "risk"))
    )
    db.session.rollback()
    rows = [dict(row, owner_id=1) for row in islice(bench_risks._risks(utcnow()), N_RISKS)]
    sizes = {}
    with db.engine.begin() as conn:
        sizes["risks"] = bulk(conn, Risk.__table__, rows)
        sizes["risk–action links"] = bulk(
            conn,
            risk_actions,
            (
                {"risk_id": row["id"], "action_id": action_ids[n % len(action_ids)]}
                for n, row in enumerate(rows)
                if n % 3 == 0 and action_ids
            ),
        )
    _settle_postgresql(("risks",), ("risk_actions",))
    return sizes


N_AUDITS, FINDINGS_PER_AUDIT = 300, 10  # the syndicate's audits over years, and their findings


def seed_audits() -> dict[str, int]:
    """The syndicate's audits and their findings (the two list pages), added once: N_AUDITS audits
    of every type and status, FINDINGS_PER_AUDIT findings each on the AFNOR scale, a third closed."""
    from datetime import date  # noqa: PLC0415

    from sqlalchemy import func, select  # noqa: PLC0415

    from audits.models import Audit, Finding  # noqa: PLC0415
    from bench.bench_registers import bulk  # noqa: PLC0415
    from core.db import utcnow  # noqa: PLC0415
    from core.extensions import db  # noqa: PLC0415

    if db.session.scalar(select(func.count()).select_from(Audit)):
        db.session.rollback()
        return {}
    db.session.rollback()
    now = utcnow()
    types = ("internal", "external", "certification", "anssi_diagnostic", "cnil_preparation")
    statuses = ("planned", "in_progress", "report_issued", "closed")
    levels = ("PF", "OBS", "PP", "PS", "NCmin", "NCmaj")
    audits, findings = [], []
    for n in range(1, N_AUDITS + 1):
        start = date(2015, 1, 5) + timedelta(days=n * 14)
        reference = f"AUD-{start:%Y}-{n:03d}"
        audits.append(
            {
                "id": n,
                "organisation_id": 1,
                "reference": reference,
                "title": f"Audit {n} — {['sauvegardes', 'RGPD', 'annexe A', 'hygiène'][n % 4]}",
                "type": types[n % len(types)],
                "frameworks": ["annex_a"],
                "start_on": start,
                "end_on": start + timedelta(days=3),
                "lead_auditor_name": "Auditeur du banc",
                "status": statuses[n % len(statuses)],
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
        )
        for k in range(1, FINDINGS_PER_AUDIT + 1):
            findings.append(
                {
                    "organisation_id": 1,
                    "audit_id": n,
                    "number": k,
                    "reference": f"{reference}-F{k:02d}",
                    "title": f"Constat {k} de l'audit {n}",
                    "level": levels[(n + k) % len(levels)],
                    "requirement_kind": "none",
                    "status": ("open", "action_planned", "closed")[(n + k) % 3],
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                }
            )
    sizes = {}
    with db.engine.begin() as conn:
        sizes["audits"] = bulk(conn, Audit.__table__, audits)
        sizes["findings"] = bulk(conn, Finding.__table__, findings)
    _settle_postgresql(("audits", "audit_findings"))
    return sizes


# --- the servers ----------------------------------------------------------------------------------


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((HOST, port)) != 0


def start_server(target: str, port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    if not _port_free(port):
        raise SystemExit(f"port {HOST}:{port} is taken: set BENCH_EGIDE_PORT / BENCH_BARE_PORT")
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    command = [gunicorn, "--workers", "2", "--bind", f"{HOST}:{port}", "--chdir", str(ROOT), target]
    process = subprocess.Popen(  # noqa: S603 — fixed command, loopback only
        command,
        env={**os.environ, **env},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{target} did not start:\n{log.read_text()[-3000:]}")
        try:
            status, _headers, _body = request(port, "GET", "/healthz")
            if status == 200:
                return process
        except OSError:
            pass
        time.sleep(0.3)
    stop_server(process)
    raise SystemExit(f"{target} did not answer within 60 s:\n{log.read_text()[-3000:]}")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# --- logging in through the forms -----------------------------------------------------------------


def request(
    port: int,
    method: str,
    path: str,
    *,
    cookies: dict[str, str] | None = None,
    form: dict[str, Any] | None = None,
) -> tuple[int, Any, str]:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    headers = {"User-Agent": USER_AGENT}
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    body = None
    if form is not None:
        body = urlencode(form)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        if cookies is not None:
            for header in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    cookies[name] = morsel.value
        return response.status, response.headers, text
    finally:
        conn.close()


CSRF_RE = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')


def _post_form(port: int, page: str, action: str, cookies: dict[str, str], data: dict[str, Any]) -> int:
    status, _headers, text = request(port, "GET", page, cookies=cookies)
    match = CSRF_RE.search(text)
    if status != 200 or match is None:
        raise SystemExit(f"GET {page}: {status}, no CSRF token")
    status, _headers, _text = request(
        port, "POST", action, cookies=cookies, form={**data, "csrf_token": match[1]}
    )
    return status


def log_in(port: int) -> dict[int, str]:
    """Session cookies of the bench DPO, by active organisation (the pages' ``org``)."""
    from bench.bench_registers import DPO_EMAIL, PASSWORD, TOTP_SECRET  # noqa: PLC0415

    cookies: dict[str, str] = {}
    status = _post_form(port, "/login", "/login", cookies, {"email": DPO_EMAIL, "password": PASSWORD})
    if status != 302:
        raise SystemExit(f"login refused ({status})")
    totp = pyotp.TOTP(TOTP_SECRET)
    now = totp.timecode(time.time())  # a code is good once: a rerun within 30 s takes the next step
    for step in (now, now + 1):
        code = totp.generate_otp(step)
        status = _post_form(port, "/login/second-factor", "/login/second-factor", cookies, {"code": code})
        if status == 302:
            break
    else:
        raise SystemExit("second factor refused")
    result = {}
    for org in sorted({page.org for page in PAGES}):
        data = {"organisation_id": org, "next": "/"}
        if _post_form(port, "/account/", "/active-organisation", cookies, data) != 302:
            raise SystemExit(f"could not switch to organisation {org}")
        # The switch leaves a flash message in the cookie; a page shows it and the cookie comes back
        # without it. wrk sends the same cookie each time: one still holding the message would have
        # every loaded page show it again and sign a new cookie, which no real browsing does.
        request(port, "GET", "/", cookies=cookies)
        result[org] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    return result


# --- load -----------------------------------------------------------------------------------------


def wrk(port: int, path: str, cookie: str | None, *, connections: int, seconds: int, script: Path) -> Load:
    command = [
        "wrk",
        f"-t{min(2, connections)}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "--latency",
    ]
    command += ["-s", str(script), "-H", f"User-Agent: {USER_AGENT}"]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    output = subprocess.run(  # noqa: S603 — fixed command, loopback only
        [*command, f"http://{HOST}:{port}{path}"],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=False,
    ).stdout
    line = next((row for row in output.splitlines() if row.startswith("BENCH ")), None)
    if line is None:
        raise SystemExit(f"wrk gave no figures:\n{output}")
    requests, duration, p50, p95, p99, bad, errors, _status = (int(float(x)) for x in line.split()[1:])
    return Load(requests, requests / (duration / 1e6), p50 / 1000, p95 / 1000, p99 / 1000, bad, errors)


def merged(loads: list[Load]) -> Load:
    """Rounds of one load put together: counts added; latencies, the mean of the rounds' (wrk gives
    percentiles, not the values)."""
    seconds = sum(load.requests / load.rps for load in loads if load.rps)
    requests = sum(load.requests for load in loads)

    def mean(name: str) -> float:
        return sum(getattr(load, name) for load in loads) / len(loads)

    return Load(
        requests,
        requests / seconds if seconds else 0.0,
        mean("p50"),
        mean("p95"),
        mean("p99"),
        sum(load.not_2xx for load in loads),
        sum(load.socket_errors for load in loads),
    )


def in_turns(path: str, cookie: str, *, connections: int, seconds: int, script: Path) -> tuple[Load, Load]:
    """(Égide, bare): ``seconds`` each, in ROUNDS turns."""
    turn = max(1, round(seconds / ROUNDS))
    egide: list[Load] = []
    bare: list[Load] = []
    for _ in range(ROUNDS):
        egide.append(wrk(EGIDE_PORT, path, cookie, connections=connections, seconds=turn, script=script))
        bare.append(wrk(BARE_PORT, path, None, connections=connections, seconds=turn, script=script))
    return merged(egide), merged(bare)


def check_pages(cookies: dict[int, str]) -> None:
    for page in PAGES:
        status, _headers, text = request(EGIDE_PORT, "GET", page.path, cookies=_as_dict(cookies[page.org]))
        if status != 200 or page.shows not in text:
            raise SystemExit(f"{page.path}: {status} before the load (logged out?)")
        status, _headers, text = request(BARE_PORT, "GET", page.path)
        if status != 200 or "<table" not in text:
            raise SystemExit(f"bare {page.path}: {status}")


def _as_dict(cookie: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in cookie.split("; "))


def bench_database(name: str, url: str, workdir: Path) -> bool:
    print(f"\n=== {name}: {url}")
    prepare(url)
    script = workdir / "status.lua"
    script.write_text(WRK_SCRIPT)
    egide_log, bare_log = workdir / f"egide-{name}.log", workdir / f"bare-{name}.log"
    egide = start_server("wsgi:app", EGIDE_PORT, {**BENCH_ENV, "DATABASE_URL": url}, egide_log)
    try:
        bare = start_server("bench.bare_app:app", BARE_PORT, {"BARE_DATABASE_URL": url}, bare_log)
    except BaseException:
        stop_server(egide)
        raise
    failed = False
    try:
        cookies = log_in(EGIDE_PORT)
        check_pages(cookies)
        print(
            f"{'page':<27} {'Égide req/s':>11} {'p50':>6} {'p99':>6} {'p95 1c':>7} {'non-2xx':>7}"
            f"  {'bare req/s':>10} {'p50':>6} {'p99':>6} {'p95 1c':>7}  {'ratio':>5}"
        )
        for page in pages():
            cookie = cookies[page.org]
            e, b = in_turns(page.path, cookie, connections=16, seconds=SECONDS, script=script)
            e1, b1 = in_turns(page.path, cookie, connections=1, seconds=SINGLE_SECONDS, script=script)
            bad = e.not_2xx + e.socket_errors + e1.not_2xx + e1.socket_errors
            ratio = e.rps / b.rps if b.rps else 0.0
            notes = []
            if ratio < 0.5:
                notes.append("ratio < 0.5")
            if page.portfolio and e1.p95 > 100:
                notes.append("p95 > 100 ms")
            if bad or b.failed or b1.failed:
                failed = True
                notes.append("FAILED ANSWERS" + ("" if bad else " (bare app)"))
            print(
                f"{page.label:<27} {e.rps:11.1f} {e.p50:6.1f} {e.p99:6.1f} {e1.p95:7.1f} {bad:7d}"
                f"  {b.rps:10.1f} {b.p50:6.1f} {b.p99:6.1f} {b1.p95:7.1f}  {ratio:5.2f}"
                + (f"  ← {', '.join(notes)}" if notes else "")
            )
    finally:
        stop_server(bare)
        stop_server(egide)
    errors = [line for line in egide_log.read_text(errors="replace").splitlines() if "ERROR" in line]
    if errors:
        failed = True
        print(f"Égide logged {len(errors)} error line(s), e.g.:\n  " + "\n  ".join(errors[:5]))
        print(f"(full log: {egide_log})")
    return failed


def main() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed")
    wanted = os.environ.get("BENCH_DATABASES", "sqlite,postgresql").split(",")
    databases = {"sqlite": SQLITE_URL, "postgresql": PG_URL}
    workdir = Path(tempfile.mkdtemp(prefix="egide-bench-http-"))
    failed = False
    for name in wanted:
        failed |= bench_database(name.strip(), databases[name.strip()], workdir)
    print(
        f"\nload: wrk -t2 -c16, {SECONDS} s in {ROUNDS} turns; 'p95 1c': one connection, {SINGLE_SECONDS} s. "
        "Targets: ratio ≥ 0.5 on every list page, portfolio ≤ 100 ms p95."
    )
    if failed:
        print(f"FAILED: some answers were not 2xx (logs in {workdir})")
        sys.exit(1)
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
