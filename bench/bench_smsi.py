"""Benchmark of the SMSI's incident log at the target scale (run on demand, prints figures; not a test).

    .venv/bin/python bench/bench_smsi.py                      # PostgreSQL database egide_bench_smsi
    BENCH_SMSI_DATABASE_URL=sqlite:////tmp/bench_smsi.sqlite3 .venv/bin/python bench/bench_smsi.py
    BENCH_SKIP_SEED=1 .venv/bin/python bench/bench_smsi.py    # reuse the seeded base

Seeds (an empty database; bulk inserts, COPY on PostgreSQL) one syndicate with 500 members all
subscribing to one application, 100,000 incidents of the syndicate over ten years (a thousand of them
open), two timeline entries each and 3 affected organisations each. Then, logged in (password + TOTP)
as the syndicate's RSSI, it times through the WSGI app (no network) and counts the SQL queries of:
the incident list (first page, open ones, a severity, a search, a later page), an incident's page
and the home page (its incidents card); and the fan-out of one incident with personal data on the
application every member uses: 500 breaches, one per member register (rolled back after).
Targets: each page ≤ 100 ms at the 95th percentile on PostgreSQL; the fan-out to 500 members ≤ 2 s.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyotp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, func, insert, select, text
from sqlalchemy.engine import make_url

from accounts.models import Membership, Organisation, User
from accounts.passwords import hash_password
from bench import bench_app
from bench.bench_registers import bulk
from catalogue.models import Application, Subscription
from core import crypto
from core.db import utcnow
from core.extensions import alembic, db
from core.tenancy import UNSCOPED, bind_session
from registers.models import Breach
from smsi.models import Incident, IncidentEvent, incident_organisations

URL = os.environ.get(
    "BENCH_SMSI_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/egide_bench_smsi"
)
N_MEMBERS, N_INCIDENTS, N_OPEN = 500, 100_000, 1_000
RUNS = int(os.environ.get("BENCH_RUNS", "50"))
PASSWORD = "bench-password-123"  # noqa: S105
TOTP_SECRET = "BENCHBENCHBENCHBENCHBENCHBENCH22"  # noqa: S105
RSSI_EMAIL = "rssi@bench"
CATEGORIES = [
    "malware",
    "phishing",
    "intrusion",
    "data_leak",
    "availability",
    "physical",
    "human_error",
    "supplier",
]


def ensure_database() -> None:
    url = make_url(URL)
    if url.get_backend_name() != "postgresql":
        return
    import psycopg  # noqa: PLC0415

    with psycopg.connect(
        host=url.host, port=url.port or 5432, user=url.username, dbname="postgres", autocommit=True
    ) as c:
        if not c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (url.database,)).fetchone():
            c.execute(f'CREATE DATABASE "{url.database}"')


def _incidents(now: Any) -> Iterator[dict[str, Any]]:
    rng = random.Random(7)
    for n in range(1, N_INCIDENTS + 1):
        detected = now - timedelta(minutes=(N_INCIDENTS - n) * 52 + 30)  # ten years, oldest first
        is_open = n > N_INCIDENTS - N_OPEN
        yield {
            "id": n,
            "organisation_id": 1,
            "reference": f"INC-{detected:%Y}-{n:06d}",
            "title": f"Incident {n} — {rng.choice(['poste', 'serveur', 'messagerie', 'réseau'])}",
            "description": "Incident généré pour le banc d'essai.",
            "detected_at": detected,
            "reported_by": "Supervision",
            "category": rng.choice(CATEGORIES),
            "severity": rng.choice("1112223334"),
            "impact_confidentiality": rng.random() < 0.3,
            "impact_integrity": rng.random() < 0.2,
            "impact_availability": rng.random() < 0.6,
            "affected_sites": None,
            "status": "qualified" if is_open else "closed",
            "is_open": is_open,
            "has_personal_data": False,
            "excluded_organisation_ids": [],
            "root_cause": None if is_open else "Cause identifiée",
            "lessons_learned": None if is_open else "Enseignements",
            "closed_at": None if is_open else detected + timedelta(days=2),
            "version": 1,
            "created_at": detected,
            "updated_at": detected,
        }


def _events(now: Any) -> Iterator[dict[str, Any]]:
    for n in range(1, N_INCIDENTS + 1):
        detected = now - timedelta(minutes=(N_INCIDENTS - n) * 52 + 30)
        for kind, shift in (("detection", 0), ("containment", 3)):
            yield {
                "organisation_id": 1,
                "incident_id": n,
                "kind": kind,
                "at": detected + timedelta(hours=shift),
                "text": "Entrée générée",
                "author_id": 1,
                "created_at": detected,
            }


def seed() -> dict[str, int]:
    alembic.upgrade()
    now = utcnow()
    sizes: dict[str, int] = {}
    base = {"version": 1, "created_at": now, "updated_at": now, "mfa_required_for_all": False}
    with db.engine.begin() as conn:
        orgs = [
            {
                **base,
                "id": 1,
                "name": "Syndicat bench",
                "sort_name": "syndicat bench",
                "kind": "syndicat",
                "relation": "syndicate",
                "syndicate_id": None,
                "city": "Ivry-sur-Seine",
            }
        ]
        orgs += [
            {
                **base,
                "id": i,
                "name": f"Commune {i:04d}",
                "sort_name": f"commune {i:04d}",
                "kind": "ville",
                "relation": "member",
                "syndicate_id": 1,
                "city": f"Ville {i}",
                "dpo_email": f"dpo{i}@bench",
            }
            for i in range(2, N_MEMBERS + 2)
        ]
        orgs[0]["dpo_email"] = None
        sizes["organisations"] = bulk(conn, Organisation.__table__, orgs)
        conn.execute(
            insert(Application),
            [
                {
                    "id": 1,
                    "syndicate_id": 1,
                    "name": "Portail famille",
                    "sort_name": "portail famille",
                    "editor": "Éditeur",
                    "domain": "enfance",
                    "hosting": "datacentre",
                    "criticality": "elevee",
                    "has_personal_data": True,
                    "has_sensitive_data": False,
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                }
            ],
        )
        sizes["subscriptions"] = bulk(
            conn,
            Subscription.__table__,
            [
                {
                    "application_id": 1,
                    "organisation_id": i,
                    "syndicate_id": 1,
                    "started_on": now.date(),
                    "is_inferred": False,
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(2, N_MEMBERS + 2)
            ],
        )
        conn.execute(
            insert(User),
            [
                {
                    "id": 1,
                    "email": RSSI_EMAIL,
                    "full_name": "RSSI bench",
                    "password_hash": hash_password(PASSWORD),
                    "is_enabled": True,
                    "totp_secret_enc": crypto.encrypt(TOTP_SECRET),
                    "totp_enabled_at": now,
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                }
            ],
        )
        conn.execute(
            insert(Membership),
            [{"user_id": 1, "organisation_id": 1, "role": "rssi", "created_at": now, "updated_at": now}],
        )
        sizes["incidents"] = bulk(conn, Incident.__table__, _incidents(now))
        sizes["timeline entries"] = bulk(conn, IncidentEvent.__table__, _events(now))
        sizes["affected organisations"] = bulk(
            conn,
            incident_organisations,
            (
                {"incident_id": n, "organisation_id": 2 + (n + k) % N_MEMBERS, "is_added": False}
                for n in range(1, N_INCIDENTS + 1)
                for k in range(3)
            ),
        )
        if conn.dialect.name == "postgresql":
            for table in (
                "organisations",
                "applications",
                "subscriptions",
                "users",
                "memberships",
                "incidents",
                "incident_events",
            ):
                sql = f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"  # noqa: S608 — fixed names
                conn.execute(text(sql))
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    return sizes


def measure(client: Any, url: str, counter: list[int]) -> tuple[float, float, int]:
    client.get(url)  # warm-up
    timings, queries = [], 0
    for _ in range(RUNS):
        counter[0] = 0
        start = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - start) * 1000)
        queries = counter[0]
        assert response.status_code == 200, (url, response.status_code)
    timings.sort()
    return statistics.median(timings), timings[int(0.95 * (len(timings) - 1))], queries


def log_in(app: Any) -> Any:
    client = app.test_client()
    assert client.post("/login", data={"email": RSSI_EMAIL, "password": PASSWORD}).status_code == 302
    code = pyotp.TOTP(TOTP_SECRET).now()
    assert client.post("/login/second-factor", data={"code": code}).status_code == 302
    assert client.post("/active-organisation", data={"organisation_id": 1, "next": "/"}).status_code == 302
    return client


def bench_pages(app: Any, counter: list[int]) -> None:
    client = log_in(app)
    pages = [
        "/smsi/incidents/",
        "/smsi/incidents/?status=all",
        "/smsi/incidents/?status=all&severity=4",
        "/smsi/incidents/?status=all&q=messagerie",
        "/smsi/incidents/?status=all&page=200",
        f"/smsi/incidents/{N_INCIDENTS - 10}",
        "/",
    ]
    print(f"{'page':<45} {'median':>8} {'p95':>8} {'queries':>8}")
    for url in pages:
        median, p95, queries = measure(client, url, counter)
        flag = "" if p95 <= 100 else "  > 100 ms"
        print(f"{url:<45} {median:7.1f}  {p95:7.1f}  {queries:7d}{flag}")


def bench_fan_out(app: Any) -> None:
    from smsi.services import incidents  # noqa: PLC0415

    with app.test_request_context():
        bind_session(1)
        syndicate = db.session.get(Organisation, 1)
        user = db.session.get(User, 1)
        start = time.perf_counter()
        incident = incidents.create_incident(
            syndicate,
            user,
            {
                "title": "Fuite de données du portail",
                "detected_at": utcnow() - timedelta(hours=1),
                "category": "data_leak",
                "severity": "3",
                "impact_confidentiality": True,
                "status": "new",
                "has_personal_data": True,
                "application_ids": [1],
            },
        )
        db.session.flush()
        elapsed = time.perf_counter() - start
        opened = db.session.scalar(
            select(func.count())
            .select_from(Breach)
            .where(Breach.source_incident_id == incident.id)
            .execution_options(**UNSCOPED)
        )
        db.session.rollback()
    flag = "" if elapsed <= 2 else "  > 2 s"
    print(f"fan-out of one incident to {opened} members: {elapsed:.2f} s{flag}")


def main() -> None:
    ensure_database()
    app = bench_app(URL)
    with app.app_context():
        if not os.environ.get("BENCH_SKIP_SEED"):
            started = time.perf_counter()
            sizes = seed()
            print(
                f"seeded in {time.perf_counter() - started:.1f} s on {db.engine.dialect.name}: "
                + ", ".join(f"{n:,} {what}" for what, n in sizes.items())
            )
        engine = db.engine
    counter = [0]
    event.listen(engine, "before_cursor_execute", lambda *a, **k: counter.__setitem__(0, counter[0] + 1))
    bench_pages(app, counter)
    bench_fan_out(app)


if __name__ == "__main__":
    main()
