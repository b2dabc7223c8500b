"""Benchmark of the risk register at the target scale (run on demand, prints figures; not a test).

    .venv/bin/python bench/bench_risks.py                       # PostgreSQL database egide_bench_risks
    BENCH_RISKS_DATABASE_URL=sqlite:////tmp/bench_risks.sqlite3 .venv/bin/python bench/bench_risks.py
    BENCH_SKIP_SEED=1 .venv/bin/python bench/bench_risks.py     # reuse the seeded base

Seeds (an empty database; bulk inserts) 5,000 organisations — one syndicate and 4,999 members — and
50,000 risks: 5,009 in the syndicate's register (the one measured), 9 in each member's; a third of
them with a residual rating, some overdue for review, some accepted. Then, logged in (password +
TOTP) as the syndicate's RSSI, it times through the WSGI app (no network) and counts the SQL queries
of: the register page (its two heat maps and the first page of the list), filtered by level, by a
heat-map cell, by "above the threshold", by review, a search, a later page, a risk's page, and the
home page (the RSSI's risk card). Same run, same client: a bare authenticated page (the empty
layout) as the baseline. Target: each page ≤ 100 ms at the 95th percentile on PostgreSQL.
"""

from __future__ import annotations

import os
import random
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, insert, text

from accounts.models import Membership, Organisation, User
from accounts.services.passwords import hash_password
from bench import bench_app, ensure_database
from bench import log_in as shared_log_in
from bench import measure as shared_measure
from bench.bench_registers import bulk
from core import crypto
from core.db import utcnow
from core.extensions import alembic, db
from risks.models import Risk

URL = os.environ.get(
    "BENCH_RISKS_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/egide_bench_risks"
)
N_ORGS, N_SYNDICATE_RISKS, N_MEMBER_RISKS = 5_000, 5_009, 9  # 50,000 risks
RUNS = int(os.environ.get("BENCH_RUNS", "50"))
PASSWORD = "bench-password-123"  # noqa: S105
TOTP_SECRET = "BENCHBENCHBENCHBENCHBENCHBENCH22"  # noqa: S105
RSSI_EMAIL = "rssi@bench"
WORDS = ["serveur", "messagerie", "annuaire", "sauvegarde", "réseau", "poste", "portail", "éditeur"]


def _risks(now: Any) -> Iterator[dict[str, Any]]:
    rng = random.Random(11)
    today = now.date()
    n = 0
    for org_id in range(1, N_ORGS + 1):
        count = N_SYNDICATE_RISKS if org_id == 1 else N_MEMBER_RISKS
        for k in range(1, count + 1):
            n += 1
            rated = rng.random() < 0.35
            treatment = rng.choice([None, "reduce", "reduce", "reduce", "accept", "transfer"])
            accepted = treatment == "accept"
            yield {
                "id": n,
                "organisation_id": org_id,
                "reference": f"RSK-{k:03d}",
                "title": f"Risque {k} — {rng.choice(WORDS)} {rng.choice(WORDS)}",
                "asset_kind": "process",
                "application_id": None,
                "asset": f"Processus {rng.randint(1, 40)}",
                "threat": "Menace générée pour le banc d'essai",
                "vulnerability": "Vulnérabilité générée",
                "scenario": None,
                "impact_confidentiality": rng.random() < 0.5,
                "impact_integrity": rng.random() < 0.3,
                "impact_availability": rng.random() < 0.6,
                "likelihood": rng.randint(1, 4),
                "impact": rng.randint(1, 4),
                "existing_measures": None,
                "treatment": treatment,
                "treatment_plan": None,
                "control_ids": [],
                "residual_likelihood": rng.randint(1, 2) if rated else None,
                "residual_impact": rng.randint(1, 3) if rated else None,
                "owner_id": 1 if org_id == 1 else None,
                "accepted_by": "Directeur général" if accepted else None,
                "accepted_on": today - timedelta(days=30) if accepted else None,
                "next_review_on": today + timedelta(days=rng.randint(-60, 300)),
                "version": 1,
                "created_at": now,
                "updated_at": now,
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
            }
            for i in range(2, N_ORGS + 1)
        ]
        sizes["organisations"] = bulk(conn, Organisation.__table__, orgs)
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
        sizes["risks"] = bulk(conn, Risk.__table__, _risks(now))
        if conn.dialect.name == "postgresql":
            for table in ("organisations", "users", "memberships", "risks"):
                sql = f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"  # noqa: S608 — fixed names
                conn.execute(text(sql))
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    return sizes


def measure(client: Any, url: str, counter: list[int]) -> tuple[float, float, int]:
    return shared_measure(client, url, counter, RUNS)


def log_in(app: Any) -> Any:
    return shared_log_in(app, RSSI_EMAIL, PASSWORD, TOTP_SECRET, 1)


PAGES = [
    "/risks/",
    "/risks/?level=critical",
    "/risks/?stage=inherent&v=3&g=4",
    "/risks/?stage=residual&v=1&g=2",
    "/risks/?over=1",
    "/risks/?review=overdue",
    "/risks/?treatment=none",
    "/risks/?q=messagerie",
    "/risks/?page=80",
    "/risks/2500",
    "/risks/scale",
    "/",
]
BASELINE = "/account/"  # an authenticated page with the layout and little else


def bench_pages(app: Any, counter: list[int]) -> None:
    client = log_in(app)
    base_median, base_p95, base_queries = measure(client, BASELINE, counter)
    print(f"{'page':<40} {'median':>8} {'p95':>8} {'queries':>8} {'× baseline':>11}")
    print(f"{BASELINE + ' (baseline)':<40} {base_median:7.1f}  {base_p95:7.1f}  {base_queries:7d}")
    for url in PAGES:
        median, p95, queries = measure(client, url, counter)
        flag = "" if p95 <= 100 else "  > 100 ms"
        print(f"{url:<40} {median:7.1f}  {p95:7.1f}  {queries:7d}  {median / base_median:9.1f}{flag}")


def main() -> None:
    ensure_database(URL)
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


if __name__ == "__main__":
    main()
