"""Benchmark of the foundation pages at the target scale (run on demand, prints figures).

    .venv/bin/python bench/bench_foundation.py                      # PostgreSQL database egide_bench
    BENCH_DATABASE_URL=sqlite:////tmp/bench.sqlite3 .venv/bin/python bench/bench_foundation.py

Seeds 5,000 organisations (one syndicate with 4,999 members), 2,000 applications and 60,000
subscriptions, then times each page through the WSGI app (no network) and counts its SQL queries.
Target: every page ≤ 100 ms at the 95th percentile, and a query count that does not depend on the data.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path

import pyotp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import MetaData, event, insert, make_url, select, text

from accounts.models import Membership, Organisation, User
from accounts.services.passwords import hash_password
from bench import bench_app
from catalogue.models import Application, Subscription
from core import crypto
from core.extensions import alembic, db

URL = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/egide_bench")
N_ORGS, N_APPS, SUBS_PER_MEMBER, RUNS = 5_000, 2_000, 12, 30
PASSWORD = "bench-password-123"  # noqa: S105
TOTP_SECRET = "BENCHBENCHBENCHBENCHBENCHBENCH22"  # noqa: S105


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


def seed() -> dict[str, int]:
    with db.engine.begin() as conn:
        meta = MetaData()
        meta.reflect(conn)
        meta.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    alembic.upgrade()
    now = date(2020, 1, 1)
    with db.engine.begin() as conn:
        conn.execute(
            insert(Organisation),
            [
                {
                    "id": 1,
                    "name": "Syndicat bench",
                    "sort_name": "syndicat bench",
                    "kind": "syndicat",
                    "relation": "syndicate",
                    "version": 1,
                    "created_at": time_now(),
                    "updated_at": time_now(),
                }
            ],
        )
        conn.execute(
            insert(Organisation),
            [
                {
                    "id": i,
                    "name": f"Commune {i:05d}",
                    "sort_name": f"commune {i:05d}",
                    "kind": "ville",
                    "relation": "member",
                    "syndicate_id": 1,
                    "city": f"Ville {i}",
                    "siren": None,
                    "version": 1,
                    "created_at": time_now(),
                    "updated_at": time_now(),
                }
                for i in range(2, N_ORGS + 1)
            ],
        )
        conn.execute(
            insert(Application),
            [
                {
                    "id": i,
                    "syndicate_id": 1,
                    "name": f"Application {i:04d}",
                    "sort_name": f"application {i:04d}",
                    "editor": f"Éditeur {i % 40}",
                    "domain": ["finances", "rh", "etat_civil", "enfance"][i % 4],
                    "hosting": "datacentre",
                    "criticality": "moyenne",
                    "has_personal_data": True,
                    "has_sensitive_data": False,
                    "version": 1,
                    "created_at": time_now(),
                    "updated_at": time_now(),
                }
                for i in range(1, N_APPS + 1)
            ],
        )
        subs = []
        for member in range(2, N_ORGS + 1):
            for k in range(SUBS_PER_MEMBER):
                app_id = (member * 7 + k * 131) % N_APPS + 1
                subs.append(
                    {
                        "application_id": app_id,
                        "organisation_id": member,
                        "syndicate_id": 1,
                        "started_on": now,
                        "is_inferred": False,
                        "version": 1,
                        "created_at": time_now(),
                        "updated_at": time_now(),
                    }
                )
        unique = {(s["application_id"], s["organisation_id"]): s for s in subs}
        conn.execute(insert(Subscription), list(unique.values()))
        pw = hash_password(PASSWORD)
        users = [("admin@bench", "admin", 1), ("rssi@bench", "rssi", 1), ("referent@bench", "referent", 2)]
        for i, (email, role, org) in enumerate(users, start=1):
            conn.execute(
                insert(User),
                [
                    {
                        "id": i,
                        "email": email,
                        "full_name": email,
                        "password_hash": pw,
                        "is_enabled": True,
                        "totp_secret_enc": crypto.encrypt(TOTP_SECRET),
                        "totp_enabled_at": time_now(),
                        "version": 1,
                        "created_at": time_now(),
                        "updated_at": time_now(),
                    }
                ],
            )
            conn.execute(
                insert(Membership),
                [
                    {
                        "user_id": i,
                        "organisation_id": org,
                        "role": role,
                        "created_at": time_now(),
                        "updated_at": time_now(),
                    }
                ],
            )
        if conn.dialect.name == "postgresql":
            for table in ("organisations", "applications", "subscriptions", "users", "memberships"):
                # fixed table names above, no user input
                sql = f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"  # noqa: S608
                conn.execute(text(sql))
            conn.execute(text("ANALYZE"))
    return {"subscriptions": len(unique)}


def time_now():
    from core.db import utcnow  # noqa: PLC0415

    return utcnow()


def measure(client, url: str, counter: list[int]) -> tuple[float, float, int]:
    timings = []
    for _ in range(RUNS):
        counter[0] = 0
        start = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    timings.sort()
    p95 = timings[int(0.95 * (len(timings) - 1))]
    return statistics.median(timings), p95, counter[0]


def main() -> None:
    ensure_database()
    app = bench_app(URL)
    with app.app_context():
        started = time.perf_counter()
        sizes = seed()
        print(
            f"seeded {N_ORGS} organisations, {N_APPS} applications, {sizes['subscriptions']} subscriptions "
            f"in {time.perf_counter() - started:.1f} s on {db.engine.dialect.name}"
        )
        engine = db.engine
        member_app = db.session.scalar(
            select(Subscription.application_id).where(Subscription.organisation_id == 2)
        )
    counter = [0]
    event.listen(engine, "before_cursor_execute", lambda *a, **k: counter.__setitem__(0, counter[0] + 1))
    pages = {
        "admin@bench": [
            "/organisations/",
            "/organisations/?page=150",
            "/organisations/?q=commune%2004",
            "/admin/users/",
        ],
        "rssi@bench": [
            "/catalogue/",
            "/catalogue/?page=60",
            "/catalogue/?domain=rh&q=application",
            "/catalogue/?member=2",
            "/catalogue/?member_q=commune%2000042",
            "/catalogue/applications/1",
            "/organisations/",
        ],
        "referent@bench": ["/catalogue/", f"/catalogue/applications/{member_app}", "/organisations/"],
    }
    print(f"{'user':<16} {'page':<42} {'median ms':>9} {'p95 ms':>8} {'queries':>7}")
    worst = 0.0
    for email, urls in pages.items():
        client = app.test_client()
        assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
        code = pyotp.TOTP(TOTP_SECRET).now()
        assert client.post("/login/second-factor", data={"code": code}).status_code == 302
        for url in urls:
            median, p95, queries = measure(client, url, counter)
            worst = max(worst, p95)
            print(f"{email:<16} {url:<42} {median:9.1f} {p95:8.1f} {queries:7d}")
    print(f"worst p95: {worst:.1f} ms (target ≤ 100 ms) — {'OK' if worst <= 100 else 'OVER TARGET'}")


if __name__ == "__main__":
    main()
