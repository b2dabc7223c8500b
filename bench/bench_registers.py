"""Benchmark of the RGPD registers at the target scale (run on demand, prints figures; not a test).

    .venv/bin/python bench/bench_registers.py                      # PostgreSQL database egide_bench
    BENCH_DATABASE_URL=sqlite:////tmp/bench.sqlite3 .venv/bin/python bench/bench_registers.py
    BENCH_RUNS=20 BENCH_SKIP_SEED=1 .venv/bin/python bench/bench_registers.py   # reuse the seeded base

Seeds 5,000 organisations (one syndicate with 4,999 members), 200 applications, 250,450 fiches (50 per
organisation, 500 in "Commune 00002", 20 models in the syndicate, each member's first five fiches
inherited from them), their application links, 2 rights requests per organisation and a breach for
every other one — bulk inserts (COPY on PostgreSQL). The fiches' content comes from the demo pool
(core/data/demo_registers.json) with completeness, DPIA verdict and sensitive data computed by the
service functions, and a realistic spread of statuses, overdue reviews and model updates.

Then, logged in (password + TOTP) as a DPO who holds the DPO role in all 5,000 organisations (and, to
tell the register's own cost from the header's, as a DPO of the 500-fiche organisation only), it
times each page through the WSGI app (no network) and counts its SQL queries:
(a) the home page (its cards count over every organisation the DPO serves) and the register list of
the 500-fiche organisation (first page, a filtered page, a search, a later page); (b) the DPO
portfolio (default sort, by completeness, by deadline, by breach clock, a search, filtered on the
organisations holding an item of a home-page figure), its service function alone and the home
page's figures alone; (c) the register PDF of the
500-fiche organisation: registers.documents.data.register_data + registers.documents.pdf.register_pdf.
Targets: every page ≤ 100 ms at the 95th percentile; the PDF ≤ 3 s.
"""

from __future__ import annotations

import copy
import io
import json
import os
import statistics
import sys
import time
from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyotp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Connection, MetaData, Table, event, func, insert, select, text

from accounts.models import Membership, Organisation, User
from accounts.services.passwords import hash_password
from bench import bench_app
from bench.bench_foundation import URL, ensure_database, time_now
from catalogue.models import Application, Subscription
from core import crypto
from core.data import load_json
from core.extensions import alembic, db
from core.text import fold
from registers.models import Breach, ProcessingActivity, RightsRequest, activity_applications
from registers.services import activities as acts

N_ORGS, N_APPS, PER_ORG, BIG_ORG, BIG_SIZE, N_MODELS = 5_000, 200, 50, 2, 500, 20
RUNS = int(os.environ.get("BENCH_RUNS", "50"))
PDF_RUNS = int(os.environ.get("BENCH_PDF_RUNS", "3"))
PASSWORD = "bench-password-123"  # noqa: S105
TOTP_SECRET = "BENCHBENCHBENCHBENCHBENCHBENCH22"  # noqa: S105
DPO_EMAIL = "dpo@bench"  # DPO of all 5,000 organisations
LOCAL_DPO_EMAIL = "dpo.commune@bench"  # DPO of the 500-fiche organisation only
STATUSES = ["validated"] * 70 + ["in_review"] * 12 + ["draft"] * 10 + ["archived"] * 8


# --- fiche contents -------------------------------------------------------------------------------


def _expand(item: dict[str, Any], presets: dict[str, Any]) -> dict[str, Any]:
    content = {k: copy.deepcopy(v) for k, v in item.items() if k in acts.CONTENT_FIELDS}
    measures = content.get("security_measures")
    if isinstance(measures, str):
        content["security_measures"] = copy.deepcopy(presets[measures.removeprefix("preset:")])
    text_ = json.dumps(content, ensure_ascii=False).replace("{syndicate}", "Syndicat bench")
    content = json.loads(text_.replace("{org}", "la commune"))
    for row in content.get("recipients", ()):
        row["organisation_id"] = 1 if row.pop("organisation", None) == "syndicate" else None
    return acts.normalise(content)


def _variant(content: dict[str, Any], *, complete: bool) -> dict[str, Any]:
    """Column values of a fiche (JSON lists as they are stored), with its derived columns."""
    content = copy.deepcopy(content)
    if not complete:
        content["security_measures"] = []
        if content.get("data_categories"):
            content["data_categories"][0]["active"] = None
    row = {name: content.get(name) for name in acts.CONTENT_FIELDS}
    for name in acts.LIST_FIELDS:
        row[name] = row[name] or []
    row["has_sensitive_data"] = bool(row["sensitive_data"])
    row["is_dpia_required"] = acts.dpia_verdict(content).required
    row["completeness"] = acts.completeness(content).score
    return row


def contents() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(pool variants: complete and incomplete alternately, model contents) from the demo data."""
    data = load_json("demo_registers.json")
    variants = []
    for item in data["pool"]:
        content = _expand(item, data["presets"])
        variants.append(_variant(content, complete=True))
        variants.append(_variant(content, complete=False))
    models = [_variant(_expand(m, data["presets"]), complete=True) for m in data["models"]]
    return variants, models


# --- bulk writes ----------------------------------------------------------------------------------


def _copy_value(value: Any) -> Any:
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return value


def bulk(conn: Connection, table: Table, rows: Iterable[dict[str, Any]], chunk: int = 20_000) -> int:
    """COPY on PostgreSQL, executemany elsewhere; every row has the same keys."""
    count = 0
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        nonlocal count
        if not batch:
            return
        if conn.dialect.name == "postgresql":
            columns = list(batch[0])
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            quoted = ", ".join(f'"{c}"' for c in columns)
            with cursor.copy(f"COPY {table.name} ({quoted}) FROM STDIN") as copy_:  # fixed names
                for row in batch:
                    copy_.write_row([_copy_value(row[c]) for c in columns])
        else:
            conn.execute(insert(table), batch)
        count += len(batch)
        batch.clear()

    for row in rows:
        batch.append(row)
        if len(batch) >= chunk:
            flush()
    flush()
    return count


def _org_rows() -> Iterator[dict[str, Any]]:
    now = time_now()
    base = {"version": 1, "created_at": now, "updated_at": now, "mfa_required_for_all": False}
    yield {
        **base,
        "id": 1,
        "name": "Syndicat bench",
        "sort_name": "syndicat bench",
        "kind": "syndicat",
        "relation": "syndicate",
        "syndicate_id": None,
        "city": "Ivry-sur-Seine",
    }
    for i in range(2, N_ORGS + 1):
        yield {
            **base,
            "id": i,
            "name": f"Commune {i:05d}",
            "sort_name": f"commune {i:05d}",
            "kind": "ville",
            "relation": "member",
            "syndicate_id": 1,
            "city": f"Ville {i}",
        }


def _fiche_rows(
    variants: list[dict[str, Any]], models: list[dict[str, Any]], today: date
) -> Iterator[dict[str, Any]]:
    now = time_now()
    next_id = 1
    model_ids = []
    snapshots = []
    for k in range(N_MODELS):
        content = models[k % len(models)]
        snapshot = {name: content[name] for name in acts.CONTENT_FIELDS}
        name = content["name"] if k < len(models) else f"{content['name']} (v{k // len(models) + 1})"
        model_ids.append(next_id)
        snapshots.append(snapshot)
        yield _fiche(next_id, 1, f"MOD-{k + 1:03d}", name, content, "validated", today, now, is_model=True)
        next_id += 1
    for org in range(1, N_ORGS + 1):
        size = BIG_SIZE if org == BIG_ORG else PER_ORG - (N_MODELS if org == 1 else 0)
        for i in range(size):
            seq = org * 31 + i
            inherited = org != 1 and i < 5
            if inherited:
                k = (org + i) % N_MODELS
                content, name = models[k % len(models)], None
            else:
                content = variants[(seq * 2 + (1 if seq % 12 == 0 else 0)) % len(variants)]
                name = None
            status = STATUSES[(seq * 7) % len(STATUSES)]
            if content["completeness"] < 100 and status == "validated":
                status = "draft"
            if name is None:
                name = (
                    content["name"] if i < len(variants) // 2 else f"{content['name']} — site {i // 25 + 1}"
                )
            row = _fiche(next_id, org, f"TRT-{i + 1:03d}", name, content, status, today, now)
            if inherited:
                row["model_id"] = model_ids[k]
                row["synced_model_version"] = 1
                row["model_snapshot"] = snapshots[k]
                row["has_model_update"] = seq % 10 == 0
            yield row
            next_id += 1


def _fiche(
    id_: int,
    org: int,
    reference: str,
    name: str,
    content: dict[str, Any],
    status: str,
    today: date,
    now: Any,
    *,
    is_model: bool = False,
) -> dict[str, Any]:
    review = None
    if status in ("validated", "in_review"):
        review = today + timedelta(days=(id_ * 37) % 420 - 30)  # about 7 % overdue
    dpia_done = content["is_dpia_required"] and id_ % 3 == 0
    return {
        **content,
        "name": name,
        "sort_name": fold(name),
        "id": id_,
        "organisation_id": org,
        "reference": reference,
        "status": status,
        "next_review_on": review,
        "joint_controllers": None,
        "representative": None,
        "dpia_status": "done" if dpia_done else "not_started",
        "dpia_done_on": date(2025, 3, 1) if dpia_done else None,
        "is_model": is_model,
        "content_version": 1,
        "model_id": None,
        "synced_model_version": None,
        "model_snapshot": None,
        "has_model_update": False,
        "is_archive_proposed": False,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }


def _request_rows(today: date) -> Iterator[dict[str, Any]]:
    now = time_now()
    for org in range(1, N_ORGS + 1):
        for n in range(2):
            received = today - timedelta(days=(org * 13 + n * 40) % 60)
            is_open = n == 0
            due = received + timedelta(days=30)
            yield {
                "organisation_id": org,
                "reference": f"DRO-{received.year}-{n + 1:03d}",
                "right": ["acces", "rectification", "effacement", "opposition"][(org + n) % 4],
                "requester_name": f"Demandeur {org}-{n}",
                "requester_contact": f"demandeur{org}.{n}@example.org",
                "received_on": received,
                "identity_checked": True,
                "identity_checked_on": received,
                "activity_id": None,
                "details": "Demande d'accès à l'ensemble des données le concernant.",
                "is_extended": False,
                "extension_notified_on": None,
                "extension_reason": None,
                "status": "in_progress" if is_open else "answered",
                "answered_on": None if is_open else min(today, received + timedelta(days=20)),
                "answer_summary": None if is_open else "Copie des données envoyée.",
                "due_on": due,
                "is_open": is_open,
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }


def _breach_rows() -> Iterator[dict[str, Any]]:
    now = time_now()
    for org in range(1, N_ORGS + 1, 2):
        is_open = org % 50 == 1
        discovered = now - (timedelta(hours=org % 70) if is_open else timedelta(days=30 + org % 300))
        yield {
            "organisation_id": org,
            "reference": f"VIO-{discovered.year}-001",
            "title": "Courriel contenant des données personnelles envoyé au mauvais destinataire",
            "discovered_at": discovered,
            "occurred_at": None,
            "natures": ["confidentialite"],
            "description": "Envoi d'un tableau d'inscriptions à un mauvais destinataire.",
            "data_categories": ["etat_civil"],
            "data_subjects": ["usagers"],
            "people_count": 40,
            "records_count": 40,
            "consequences": None,
            "measures": "Demande de suppression au destinataire.",
            "risk_level": "risk",
            "cnil_decision": "pending" if is_open else "notified",
            "cnil_notified_at": None if is_open else discovered + timedelta(hours=30),
            "cnil_reference": None,
            "late_reason": None,
            "decision_reason": None,
            "subjects_decision": "pending" if is_open else "not_required",
            "subjects_informed_on": None,
            "subjects_reason": None,
            "is_closed": not is_open,
            "closed_on": None if is_open else (discovered + timedelta(days=20)).date(),
            "source_incident_id": None,
            "version": 1,
            "created_at": now,
            "updated_at": now,
        }


def seed() -> dict[str, int]:
    with db.engine.begin() as conn:
        meta = MetaData()
        meta.reflect(conn)
        meta.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    alembic.upgrade()
    variants, models = contents()
    today = date.today()
    sizes: dict[str, int] = {}
    now = time_now()
    with db.engine.begin() as conn:
        sizes["organisations"] = bulk(conn, Organisation.__table__, _org_rows())
        sizes["applications"] = bulk(
            conn,
            Application.__table__,
            (
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
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(1, N_APPS + 1)
            ),
        )
        sizes["subscriptions"] = bulk(
            conn,
            Subscription.__table__,
            (
                {
                    "application_id": (org * 7 + k * 17) % N_APPS + 1,
                    "organisation_id": org,
                    "syndicate_id": 1,
                    "started_on": date(2020, 1, 1),
                    "is_inferred": False,
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                }
                for org in range(2, N_ORGS + 1)
                for k in range(10)
            ),
        )
        sizes["fiches"] = bulk(conn, ProcessingActivity.__table__, _fiche_rows(variants, models, today))
        sizes["application links"] = bulk(
            conn,
            activity_applications,
            (
                {"activity_id": a_id, "application_id": (org * 7 + (a_id % 10) * 17) % N_APPS + 1}
                for a_id, org in list(
                    conn.execute(select(ProcessingActivity.id, ProcessingActivity.organisation_id))
                )
            ),
        )
        sizes["rights requests"] = bulk(conn, RightsRequest.__table__, _request_rows(today))
        sizes["breaches"] = bulk(conn, Breach.__table__, _breach_rows())
        conn.execute(
            insert(User),
            [
                {
                    "id": i,
                    "email": email,
                    "full_name": email,
                    "password_hash": hash_password(PASSWORD),
                    "is_enabled": True,
                    "totp_secret_enc": crypto.encrypt(TOTP_SECRET),
                    "totp_enabled_at": now,
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                }
                for i, email in enumerate((DPO_EMAIL, LOCAL_DPO_EMAIL), start=1)
            ],
        )
        sizes["DPO memberships"] = bulk(
            conn,
            Membership.__table__,
            [
                {"user_id": 1, "organisation_id": org, "role": "dpo", "created_at": now, "updated_at": now}
                for org in range(1, N_ORGS + 1)
            ]
            + [
                {
                    "user_id": 2,
                    "organisation_id": BIG_ORG,
                    "role": "dpo",
                    "created_at": now,
                    "updated_at": now,
                }
            ],
        )
        if conn.dialect.name == "postgresql":
            for table in (
                "organisations",
                "applications",
                "subscriptions",
                "processing_activities",
                "rights_requests",
                "breaches",
                "users",
                "memberships",
            ):
                # fixed table names above, no user input
                sql = f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"  # noqa: S608
                conn.execute(text(sql))
    if db.engine.dialect.name == "postgresql":
        # What autovacuum does after a bulk load: statistics, and the visibility map that lets the
        # portfolio's per-organisation figures be read from the covering index alone.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    return sizes


# --- measures -------------------------------------------------------------------------------------


def measure(client: Any, url: str, counter: list[int]) -> tuple[float, float, int, int]:
    client.get(url)  # warm-up (template compilation, caches)
    timings, queries = [], 0
    for _ in range(RUNS):
        counter[0] = 0
        start = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - start) * 1000)
        queries = counter[0]
        assert response.status_code == 200, (url, response.status_code)
    timings.sort()
    p95 = timings[int(0.95 * (len(timings) - 1))]
    return statistics.median(timings), p95, queries, len(response.data)


def log_in(app: Any, email: str) -> Any:
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302, response.status_code
    response = client.post("/login/second-factor", data={"code": pyotp.TOTP(TOTP_SECRET).now()})
    assert response.status_code == 302, response.status_code
    response = client.post("/active-organisation", data={"organisation_id": BIG_ORG, "next": "/"})
    assert response.status_code == 302, response.status_code
    return client


REGISTER_PAGES = [
    "/registers/activities/",
    "/registers/activities/?status=validated&dpia=required",
    "/registers/activities/?q=paie",
    "/registers/activities/?review=overdue&sort=completeness",
    "/registers/activities/?page=8",
]
PORTFOLIO_PAGES = [
    "/registers/portfolio/",
    "/registers/portfolio/?sort=completeness",
    "/registers/portfolio/?sort=deadline",
    "/registers/portfolio/?sort=breaches&page=20",
    "/registers/portfolio/?q=commune%2004",
    # what the home page's figures open: the organisations holding such items
    "/registers/portfolio/?only=dpia",
    "/registers/portfolio/?only=overdue",
    "/registers/portfolio/?only=pending",
    "/registers/portfolio/?only=validation",
    "/registers/portfolio/?only=overdue&sort=deadline",
]
# The home page: the DPO's cards count over every organisation served (registers.services.home).
HOME_PAGES = ["/"]


def bench_pages(app: Any, counter: list[int]) -> float:
    print(f"\n{'user':<18} {'page':<56} {'median ms':>9} {'p95 ms':>8} {'queries':>7} {'KiB':>5}")
    worst = 0.0
    for email, urls in (
        (LOCAL_DPO_EMAIL, HOME_PAGES + REGISTER_PAGES),
        (DPO_EMAIL, HOME_PAGES + REGISTER_PAGES + PORTFOLIO_PAGES),
    ):
        client = log_in(app, email)
        for url in urls:
            try:
                median, p95, queries, size = measure(client, url, counter)
            except AssertionError as exc:
                print(f"{email:<18} {url:<56} FAILED: {exc}")
                continue
            worst = max(worst, p95)
            print(f"{email:<18} {url:<56} {median:9.1f} {p95:8.1f} {queries:7d} {size / 1024:5.0f}")
    print(f"worst p95: {worst:.1f} ms (target ≤ 100 ms) — {'OK' if worst <= 100 else 'OVER TARGET'}")
    return worst


def bench_portfolio_service(app: Any) -> None:
    """The portfolio's SQL alone (registers.services.portfolio), without the page around it."""
    from registers.services import portfolio  # noqa: PLC0415

    with app.test_request_context():
        user = db.session.scalar(select(User).where(User.email == DPO_EMAIL))
        print()
        for sort in ("name", "completeness", "deadline", "breaches"):
            timings = []
            for _ in range(RUNS):
                start = time.perf_counter()
                result = portfolio.portfolio(user, sort=sort)
                timings.append((time.perf_counter() - start) * 1000)
            timings.sort()
            p95 = timings[int(0.95 * (len(timings) - 1))]
            print(
                f"portfolio service, sort={sort:<13} {len(result.rows)} rows of {result.total}: "
                f"median {statistics.median(timings):.1f} ms, p95 {p95:.1f} ms"
            )


def bench_home_service(app: Any) -> None:
    """The home page's figures alone (registers.services.home) for the DPO of 5,000 organisations."""
    from registers.services import home  # noqa: PLC0415

    with app.test_request_context():
        user = db.session.scalar(select(User).where(User.email == DPO_EMAIL))
        print()
        for name, run in (
            ("dpo_figures", lambda: home.dpo_figures(user)),
            ("breach_figures", lambda: home.breach_figures(user, None)),
        ):
            timings = []
            for _ in range(RUNS):
                start = time.perf_counter()
                run()
                timings.append((time.perf_counter() - start) * 1000)
            timings.sort()
            p95 = timings[int(0.95 * (len(timings) - 1))]
            print(f"home service, {name:<15}: median {statistics.median(timings):.1f} ms, p95 {p95:.1f} ms")


def bench_pdf(app: Any, counter: list[int]) -> float:
    from registers.documents.data import register_data  # noqa: PLC0415
    from registers.documents.pdf import register_pdf  # noqa: PLC0415

    timings = []
    with app.test_request_context():
        org = db.session.get(Organisation, BIG_ORG)
        fiches = db.session.scalar(
            select(func.count())
            .select_from(ProcessingActivity)
            .where(ProcessingActivity.organisation_id == BIG_ORG)
        )
        for _ in range(PDF_RUNS):
            counter[0] = 0
            start = time.perf_counter()
            doc = register_data(org)
            middle = time.perf_counter()
            pdf = register_pdf(doc)
            end = time.perf_counter()
            timings.append((end - start, middle - start, end - middle, counter[0]))
    from pypdf import PdfReader  # noqa: PLC0415

    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    best = min(timings)
    print(
        f"\nregister PDF of {org.name} ({fiches} fiches, {len(doc.activities)} printed, "
        f"{pages} pages, {len(pdf) / 1024:.0f} KiB), best of {PDF_RUNS}: {best[0]:.2f} s "
        f"(register_data {best[1]:.2f} s, {best[3]} queries; register_pdf {best[2]:.2f} s); "
        f"all runs: {', '.join(f'{t[0]:.2f}' for t in timings)} s "
        f"(target ≤ 3 s) — {'OK' if max(t[0] for t in timings) <= 3 else 'OVER TARGET'}"
    )
    return best[0]


def main() -> None:
    ensure_database()
    app = bench_app(URL)
    with app.test_request_context():  # the seed computes completeness labels (gettext)
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
    bench_portfolio_service(app)
    bench_home_service(app)
    bench_pdf(app, counter)


if __name__ == "__main__":
    main()
