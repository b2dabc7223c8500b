"""Benchmark of the audit trail (run on demand, prints figures).

    .venv/bin/python bench/bench_audit.py                  # PostgreSQL database egide_bench
    BENCH_DATABASE_URL=sqlite:////tmp/bench.sqlite3 BENCH_EVENTS=20000 .venv/bin/python bench/bench_audit.py

Appends BENCH_EVENTS entries (default 50,000) to one organisation's chain through audit.record (the
path every service takes), then times verify_chain (what the journal page and `flask audit verify`
run) and the journal page itself.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_foundation import URL, ensure_database
from core import audit, create_app
from core.extensions import alembic, db

N = int(os.environ.get("BENCH_EVENTS", "50000"))


def main() -> None:
    ensure_database()
    key = Path(tempfile.mkdtemp()) / "bench_audit_key.pem"
    app = create_app(
        # An anchor file belongs to one database: the bench database keeps none.
        {
            "DATABASE_URL": URL,
            "AUDIT_SIGNING_KEY_FILE": str(key),
            "AUDIT_ANCHOR_EVERY": 1000,
            "AUDIT_ANCHOR_FILE": None,
        }
    )
    with app.test_request_context():
        from sqlalchemy import MetaData, text  # noqa: PLC0415

        from accounts.models import Organisation, OrgKind, OrgRelation  # noqa: PLC0415

        with db.engine.begin() as conn:
            meta = MetaData()
            meta.reflect(conn)
            meta.drop_all(conn)
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        alembic.upgrade()
        org = Organisation(name="Syndicat bench", kind=OrgKind.SYNDICAT, relation=OrgRelation.SYNDICATE)
        db.session.add(org)
        db.session.commit()
        start = time.perf_counter()
        for i in range(N):
            audit.record(org, None, "bench.update", org, {"city": (f"Ville {i}", f"Ville {i + 1}")})
            if i % 1000 == 999:
                db.session.commit()
        db.session.commit()
        append = time.perf_counter() - start
        print(
            f"{N} entries appended in {append:.1f} s ({N / append:.0f} entries/s) on {db.engine.dialect.name}"
        )
        start = time.perf_counter()
        verdict = audit.verify_chain(org.id)
        elapsed = time.perf_counter() - start
        print(
            f"verify_chain: {verdict.entries} entries, ok={verdict.ok}, {elapsed:.2f} s "
            f"({verdict.entries / elapsed:.0f} entries/s)"
        )
        start = time.perf_counter()
        quick = audit.verify_chain(org.id, from_last_anchor=True)
        print(
            f"verify_chain(from_last_anchor=True), the journal page's check: {quick.entries} entries "
            f"after anchor {quick.verified_from - 1}, {(time.perf_counter() - start) * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
