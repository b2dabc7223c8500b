"""The annual report of a 5,000-organisation syndicate (issue 14), timed (run on demand, prints
figures; not a test).

    .venv/bin/python bench/bench_annual.py          # SQLite
    .venv/bin/python bench/bench_annual.py --pg     # PostgreSQL (database bench_annual, BENCH_PG_URL)
    BENCH_RESEED=1 .venv/bin/python bench/bench_annual.py

The data are bench/bench_http.py's (5,000 organisations — one syndicate, 4,999 members — 250,450
fiches, rights requests, breaches, the syndicate's incidents, actions and risks): on SQLite its file
is copied to ``/tmp/egide-bench-annual.sqlite3`` when it exists (the bench's own copy: this bench
writes to it), else seeded the same way (bench_http.prepare). Two years of activity are then added in
bulk, once: for each organisation and each of the last two years, four incidents, two corrective
actions (one closed), two rights requests (answered) and a breach (notified).

Then, in the syndicate (organisation 1), the consolidated report of last year over all its members:
the figures of each domain (their providers' aggregate queries), then the PDF. Printed: the time of
each domain's figures, of the PDF, and the total; exit status 1 over 10 s.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LIMIT_SECONDS = 10.0
N_ORGS = 5_000
ANNUAL_SQLITE = os.path.join(tempfile.gettempdir(), "egide-bench-annual.sqlite3")
os.environ.setdefault("BENCH_SQLITE_PATH", ANNUAL_SQLITE)
PG_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench_annual")
PDF_OUT = os.path.join(tempfile.gettempdir(), "egide-bench-annual.pdf")
HTTP_SQLITE = os.path.join(tempfile.gettempdir(), "egide-bench-http.sqlite3")

from bench import bench_http  # noqa: E402 — after BENCH_SQLITE_PATH: its database is this bench's copy


def _years() -> tuple[int, int]:
    last = date.today().year - 1
    return last - 1, last


def _incidents(years: tuple[int, ...]) -> Iterator[dict[str, Any]]:
    from smsi.models import search_text  # noqa: PLC0415

    for year in years:
        for org in range(1, N_ORGS + 1):
            for k in range(4):
                detected = datetime(year, 1 + (org + k * 3) % 12, 1 + (org * 7 + k) % 28, 9, tzinfo=UTC)
                reference = f"ANN-{year}-{k + 1:03d}"
                yield {
                    "organisation_id": org,
                    "reference": reference,
                    "title": f"Incident {k + 1}",
                    "search_text": search_text(reference, f"Incident {k + 1}"),
                    "description": None,
                    "detected_at": detected,
                    "reported_by": "Supervision",
                    "category": ("malware", "phishing", "availability", "human_error")[(org + k) % 4],
                    "severity": "1234"[(org + k) % 4],
                    "impact_confidentiality": False,
                    "impact_integrity": False,
                    "impact_availability": True,
                    "affected_sites": None,
                    "status": "closed",
                    "is_open": False,
                    "has_personal_data": False,
                    "excluded_organisation_ids": [],
                    "root_cause": None,
                    "lessons_learned": None,
                    "closed_at": detected + timedelta(days=2),
                    "version": 1,
                    "created_at": detected,
                    "updated_at": detected,
                }


def _actions(years: tuple[int, ...]) -> Iterator[dict[str, Any]]:
    from smsi.models import search_text  # noqa: PLC0415

    for year in years:
        for org in range(1, N_ORGS + 1):
            for k in range(2):
                created = datetime(year, 1 + (org + k * 5) % 12, 10, 9, tzinfo=UTC)
                closed = k == 0
                reference = f"ANN-{year}-{k + 1:03d}"
                yield {
                    "organisation_id": org,
                    "reference": reference,
                    "title": "Action du bilan",
                    "search_text": search_text(reference, "Action du bilan"),
                    "description": None,
                    "origin": "other",
                    "incident_id": None,
                    "origin_detail": "Banc d'essai",
                    "type": "corrective",
                    "priority": "normal",
                    "owner_id": None,
                    "due_on": created.date() + timedelta(days=60),
                    "status": "effective" if closed else "in_progress",
                    "is_open": not closed,
                    "done_on": created.date() + timedelta(days=20) if closed else None,
                    "check_method": None,
                    "checked_on": created.date() + timedelta(days=30) if closed else None,
                    "checked_by_id": None,
                    "check_result": None,
                    "version": 1,
                    "created_at": created,
                    "updated_at": created,
                }


def _requests(years: tuple[int, ...]) -> Iterator[dict[str, Any]]:
    now = datetime.now(UTC)
    for year in years:
        for org in range(1, N_ORGS + 1):
            for k in range(2):
                received = date(year, 1 + (org + k * 6) % 12, 1 + org % 28)
                yield {
                    "organisation_id": org,
                    "reference": f"ANN-{year}-{k + 1:03d}",
                    "right": ("acces", "effacement")[k],
                    "requester_name": "Demandeur",
                    "requester_contact": None,
                    "received_on": received,
                    "identity_checked": True,
                    "identity_checked_on": received,
                    "activity_id": None,
                    "details": None,
                    "is_extended": False,
                    "extension_notified_on": None,
                    "extension_reason": None,
                    "status": "answered",
                    "answered_on": received + timedelta(days=5 + (org + k) % 40),
                    "answer_summary": None,
                    "due_on": received + timedelta(days=30),
                    "is_open": False,
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                }


def _breaches(years: tuple[int, ...]) -> Iterator[dict[str, Any]]:
    now = datetime.now(UTC)
    for year in years:
        for org in range(1, N_ORGS + 1):
            found = datetime(year, 1 + org % 12, 1 + org % 28, 10, tzinfo=UTC)
            yield {
                "organisation_id": org,
                "reference": f"ANN-{year}-001",
                "title": "Courriel au mauvais destinataire",
                "discovered_at": found,
                "occurred_at": None,
                "natures": ["confidentialite"],
                "description": None,
                "data_categories": [],
                "data_subjects": [],
                "people_count": None,
                "records_count": None,
                "consequences": None,
                "measures": None,
                "risk_level": "risk",
                "cnil_decision": "notified",
                "cnil_notified_at": found + timedelta(hours=24 + org % 72),
                "cnil_reference": None,
                "late_reason": None,
                "decision_reason": None,
                "subjects_decision": "not_required",
                "subjects_informed_on": None,
                "subjects_reason": None,
                "is_closed": True,
                "closed_on": (found + timedelta(days=20)).date(),
                "source_incident_id": None,
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }


def seed_year() -> dict[str, int]:
    """Two years of activity in every organisation, added once (their references start "ANN-")."""
    from sqlalchemy import func, select, text  # noqa: PLC0415

    from bench.bench_registers import bulk  # noqa: PLC0415
    from core.extensions import db  # noqa: PLC0415
    from registers.models import Breach, RightsRequest  # noqa: PLC0415
    from smsi.models import Action, Incident  # noqa: PLC0415

    if db.session.scalar(select(func.count()).select_from(Incident).where(Incident.reference.like("ANN-%"))):
        db.session.rollback()
        return {}
    db.session.rollback()
    years = _years()
    sizes = {}
    with db.engine.begin() as conn:
        sizes["incidents"] = bulk(conn, Incident.__table__, _incidents(years))
        sizes["corrective actions"] = bulk(conn, Action.__table__, _actions(years))
        sizes["rights requests"] = bulk(conn, RightsRequest.__table__, _requests(years))
        sizes["breaches"] = bulk(conn, Breach.__table__, _breaches(years))
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in ("incidents", "smsi_actions", "rights_requests", "breaches"):
                conn.execute(text(f"VACUUM ANALYZE {table}"))
    else:
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    return sizes


def main() -> None:
    pg = "--pg" in sys.argv[1:]
    url = PG_URL if pg else f"sqlite:///{ANNUAL_SQLITE}"
    if not pg and not os.path.exists(ANNUAL_SQLITE) and os.path.exists(HTTP_SQLITE):
        shutil.copyfile(HTTP_SQLITE, ANNUAL_SQLITE)
        print(f"copied {HTTP_SQLITE} to {ANNUAL_SQLITE}")
    bench_http.prepare(url)  # seeds, or migrates what is there

    from core import create_app  # noqa: PLC0415
    from core.db import utcnow  # noqa: PLC0415
    from core.extensions import db  # noqa: PLC0415
    from reports.annual import document, services  # noqa: PLC0415
    from reports.annual.figures import SCOPE_MEMBERS, collect  # noqa: PLC0415

    app = create_app({"DATABASE_URL": url, "AUDIT_AUTO_ANCHOR": False})
    with app.test_request_context():
        added = seed_year()
        if added:
            print("added: " + ", ".join(f"{n:,} {what}" for what, n in added.items()))
        year = _years()[1]
        for attempt in ("cold", "warm"):
            db.session.rollback()
            started = time.perf_counter()
            figures = collect(1, year, SCOPE_MEMBERS)
            figures_at = time.perf_counter()
            doc = document.AnnualDoc(
                organisation=services.organisation_name(1),
                figures=figures,
                texts=document.Texts("Faits marquants", "Plan"),
                generated_at=utcnow(),
                members=services.member_count(1, SCOPE_MEMBERS),
            )
            content = document.annual_pdf(doc)
            done_at = time.perf_counter()
            total = done_at - started
            print(
                f"\n{db.engine.dialect.name}, {attempt}: annual report {year}, {doc.members:,} organisations"
            )
            for domain, seconds in figures.timings.items():
                print(f"  figures {domain:<10} {seconds * 1000:8.0f} ms")
            print(f"  figures, all        {(figures_at - started) * 1000:8.0f} ms")
            print(f"  PDF ({len(content) // 1024} kB)       {(done_at - figures_at) * 1000:8.0f} ms")
            print(f"  total               {total * 1000:8.0f} ms (limit {LIMIT_SECONDS:.0f} s)")
            incidents = next(s for s in figures.sections if s.key == "smsi.incidents").figures[0]
            print(f"  incidents {year}: {incidents.text()} (previous year {incidents.previous_text})")
        Path(PDF_OUT).write_bytes(content)
        print(f"  the PDF: {PDF_OUT}")
        db.session.close()
    sys.exit(1 if total > LIMIT_SECONDS else 0)


if __name__ == "__main__":
    main()
