"""Benchmark of the SMSI's incident log, corrective actions and weekly review at the target scale
(run on demand, prints figures; not a test).

    .venv/bin/python bench/bench_smsi.py                      # PostgreSQL database egide_bench_smsi
    BENCH_SMSI_DATABASE_URL=sqlite:////tmp/bench_smsi.sqlite3 .venv/bin/python bench/bench_smsi.py
    BENCH_SKIP_SEED=1 .venv/bin/python bench/bench_smsi.py    # reuse the seeded base

Seeds (an empty database; bulk inserts, COPY on PostgreSQL) one syndicate with 500 members all
subscribing to one application, 100,000 incidents of the syndicate over ten years (a thousand of them
open), two timeline entries each and 3 affected organisations each; 300,000 corrective actions
(280,000 of the syndicate, 20,000 of member n° 2) over the same ten years, owned by 21 people, from
an incident of the log (60 % of the syndicate's) or an origin described in words, 6,000 still open
(planned, in progress, done, ineffective) with due dates from 400 days ago to 120 days ahead (about
three quarters overdue), the closed ones with their effectiveness checked a week after completion.
Then, logged in (password + TOTP) as the syndicate's RSSI, it times through the WSGI app (no
network) and counts the SQL queries of: the incident list (first page, open ones, a severity, a
search, a later page), an incident's page and the home page (its incidents card); the action list
(first page, mine, overdue, by origin, all of them at a later page, and the list of another
organisation: member n° 2, where the RSSI also holds the role); the weekly review of a busy past
week (some 190 incidents detected and closed, 500 actions checked) and of the current week; and the
fan-out of one incident with personal data on the application every member uses: 500 breaches, one
per member register (rolled back after, run three times). A list's query count is also taken at 10
and 200 rows a page: it must not grow with the rows shown (no N+1).
Targets: each page ≤ 100 ms at the 95th percentile on PostgreSQL; the fan-out to 500 members ≤ 2 s.
A table of every figure, target met or missed, closes the output.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, func, insert, select, text

from accounts.models import Membership, Organisation, User
from accounts.services.passwords import hash_password
from bench import bench_app, ensure_database
from bench import log_in as shared_log_in
from bench import measure as shared_measure
from bench.bench_registers import bulk
from catalogue.models import Application, Subscription
from core import crypto
from core.db import local_today, utcnow
from core.extensions import alembic, db
from core.tenancy import UNSCOPED, bind_session
from registers.models import Breach
from smsi.models import Action, Incident, IncidentEvent, incident_organisations, search_text

URL = os.environ.get(
    "BENCH_SMSI_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/egide_bench_smsi"
)
N_MEMBERS, N_INCIDENTS, N_OPEN = 500, 100_000, 1_000
N_ACTIONS, N_OPEN_ACTIONS, N_OWNERS = 300_000, 6_000, 21
MEMBER_ACTIONS_EVERY = 15  # one action in 15 belongs to member n° 2 (20,000)
PAGE_TARGET_MS, FAN_OUT_TARGET_S = 100.0, 2.0
FAN_OUT_RUNS = int(os.environ.get("BENCH_FANOUT_RUNS", "3"))
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


def _incidents(now: Any) -> Iterator[dict[str, Any]]:
    rng = random.Random(7)
    for n in range(1, N_INCIDENTS + 1):
        detected = now - timedelta(minutes=(N_INCIDENTS - n) * 52 + 30)  # ten years, oldest first
        is_open = n > N_INCIDENTS - N_OPEN
        reference = f"INC-{detected:%Y}-{n:06d}"
        title = f"Incident {n} — {rng.choice(['poste', 'serveur', 'messagerie', 'réseau'])}"
        yield {
            "id": n,
            "organisation_id": 1,
            "reference": reference,
            "title": title,
            "search_text": search_text(reference, title),
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


ORIGINS_IN_WORDS = {
    "audit_finding": "Constat de l'audit interne",
    "risk": "Risque R-12 : perte du datacentre",
    "parcours": "Mesure 4.2 du parcours",
    "management_review": "Revue hebdomadaire",
    "other": "Retour d'expérience",
}


ACTION_TOPICS = ["sauvegardes", "mots de passe", "pare-feu", "sensibilisation"]


def _actions(now: Any) -> Iterator[dict[str, Any]]:
    """Oldest first over ten years; the last N_OPEN_ACTIONS of the syndicate still open."""
    rng = random.Random(11)
    today = local_today()
    words = sorted(ORIGINS_IN_WORDS)
    numbers = {1: 0, 2: 0}
    syndicate_total = N_ACTIONS - N_ACTIONS // MEMBER_ACTIONS_EVERY
    for n in range(1, N_ACTIONS + 1):
        created = now - timedelta(minutes=(N_ACTIONS - n) * 17 + 10)  # ten years, oldest first
        org = 2 if n % MEMBER_ACTIONS_EVERY == 0 else 1
        numbers[org] += 1
        is_open = org == 1 and numbers[1] > syndicate_total - N_OPEN_ACTIONS
        if org == 1 and rng.random() < 0.6:
            incident = max(
                1, min(N_INCIDENTS, N_INCIDENTS - ((N_ACTIONS - n) * 17) // 52 - rng.randint(0, 50))
            )
            origin, detail = "incident", None
        else:
            incident = None
            origin = rng.choice(words)
            detail = ORIGINS_IN_WORDS[origin]
        if is_open:
            due = today + timedelta(days=rng.randint(-400, 120))
            status = rng.choice(["planned", "planned", "in_progress", "in_progress", "done", "ineffective"])
            done = (min(due, today) - timedelta(days=3)) if status in ("done", "ineffective") else None
            checked = done + timedelta(days=1) if status == "ineffective" else None
        else:
            due = created.date() + timedelta(days=rng.randint(30, 90))
            status, done = "effective", due - timedelta(days=rng.randint(0, 10))
            checked = done + timedelta(days=7)
        reference = f"ACT-{created:%Y}-{numbers[org]:06d}"
        title = f"Action {n} — {rng.choice(ACTION_TOPICS)}"
        yield {
            "id": n,
            "organisation_id": org,
            "reference": reference,
            "title": title,
            "search_text": search_text(reference, title),
            "description": "Action générée pour le banc d'essai.",
            "origin": origin,
            "incident_id": incident,
            "origin_detail": detail,
            "type": rng.choice(["correction", "corrective", "preventive", "improvement"]),
            "priority": rng.choice(["low", "normal", "normal", "high"]),
            "owner_id": 1 + n % N_OWNERS if org == 1 else 1,
            "due_on": due,
            "status": status,
            "is_open": is_open,
            "done_on": done,
            "check_method": "Contrôle sur pièces" if checked else None,
            "checked_on": checked,
            "checked_by_id": 1 if checked else None,
            "check_result": "Conforme" if checked else None,
            "version": 1,
            "created_at": created,
            "updated_at": created,
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
        conn.execute(  # the action owners: people holding an SMSI role in the syndicate
            insert(User),
            [
                {
                    "id": i,
                    "email": f"owner{i}@bench",
                    "full_name": f"Responsable {i:02d}",
                    "password_hash": "!",
                    "is_enabled": True,
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(2, N_OWNERS + 1)
            ],
        )
        conn.execute(
            insert(Membership),
            [
                {"user_id": i, "organisation_id": 1, "role": "rssi", "created_at": now, "updated_at": now}
                for i in range(1, N_OWNERS + 1)
            ]
            + [{"user_id": 1, "organisation_id": 2, "role": "rssi", "created_at": now, "updated_at": now}],
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
        sizes["actions"] = bulk(conn, Action.__table__, _actions(now))
        if conn.dialect.name == "postgresql":
            for table in (
                "organisations",
                "applications",
                "subscriptions",
                "users",
                "memberships",
                "incidents",
                "incident_events",
                "smsi_actions",
            ):
                sql = f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"  # noqa: S608 — fixed names
                conn.execute(text(sql))
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:  # the planner's statistics, as PostgreSQL's autovacuum would keep them
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    return sizes


@dataclass
class Figure:
    page: str
    p50: float
    p95: float
    queries: int | None
    target: float
    unit: str = "ms"

    @property
    def met(self) -> bool:
        return self.p95 <= self.target


def measure(client: Any, url: str, counter: list[int]) -> tuple[float, float, int]:
    return shared_measure(client, url, counter, RUNS)


def count_queries(client: Any, url: str, counter: list[int]) -> int:
    client.get(url)
    counter[0] = 0
    assert client.get(url).status_code == 200, url
    return counter[0]


def log_in(app: Any) -> Any:
    return shared_log_in(app, RSSI_EMAIL, PASSWORD, TOTP_SECRET, 1)


def switch(client: Any, organisation_id: int) -> None:
    answer = client.post("/active-organisation", data={"organisation_id": organisation_id, "next": "/"})
    assert answer.status_code == 302


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def bench_pages(app: Any, counter: list[int]) -> list[Figure]:
    client = log_in(app)
    busy_week = _monday(local_today()) - timedelta(weeks=8)
    member = "  [member n° 2]"  # the list of another organisation (the active one switched)
    pages = [
        "/smsi/incidents/",
        "/smsi/incidents/?status=all",
        "/smsi/incidents/?status=all&severity=4",
        "/smsi/incidents/?status=all&q=messagerie",
        "/smsi/incidents/?status=all&q=INC-2020-0",
        "/smsi/incidents/?status=all&page=200",
        f"/smsi/incidents/{N_INCIDENTS - 10}",
        "/",
        "/smsi/actions/",
        "/smsi/actions/?mine=1",
        "/smsi/actions/?due=overdue",
        "/smsi/actions/?status=all&origin=risk",
        "/smsi/actions/?status=all&origin=incident&mine=1",
        "/smsi/actions/?status=all&q=pare-feu",
        "/smsi/actions/?status=all&page=5000",
        "/smsi/actions/?status=all" + member,
        f"/smsi/review/?week={busy_week.isoformat()}",
        "/smsi/review/",
    ]
    figures = []
    print(f"{'page':<52} {'median':>8} {'p95':>8} {'queries':>8}")
    for label in pages:
        url, _sep, other = label.partition("  [")
        if other:
            switch(client, 2)
        median, p95, queries = measure(client, url, counter)
        if other:
            switch(client, 1)
        flag = "" if p95 <= PAGE_TARGET_MS else f"  > {PAGE_TARGET_MS:.0f} ms"
        print(f"{label:<52} {median:7.1f}  {p95:7.1f}  {queries:7d}{flag}", flush=True)
        figures.append(Figure(label, median, p95, queries, PAGE_TARGET_MS))
    # No N+1: a list's query count does not depend on how many rows it shows.
    for url in ("/smsi/incidents/?status=all", "/smsi/actions/?status=all"):
        few, many = (count_queries(client, f"{url}&per_page={n}", counter) for n in (10, 200))
        verdict = "same" if few == many else "GROWS WITH THE ROWS (N+1)"
        print(f"queries of {url}: {few} at 10 rows a page, {many} at 200 — {verdict}")
    with app.test_request_context():
        rows = _review_rows(busy_week)
    print(f"busy week of {busy_week}: " + ", ".join(f"{n} {what}" for what, n in rows.items()))
    return figures


def _review_rows(week: date) -> dict[str, int]:
    from flask_login import login_user  # noqa: PLC0415

    from accounts.services import auth  # noqa: PLC0415
    from smsi.services import review  # noqa: PLC0415

    user = db.session.get(User, 1)
    auth.start_session(user, mfa_verified=True)
    login_user(user)
    agenda = review.agenda(db.session.get(Organisation, 1), week)
    return {
        "incidents detected": len(agenda.opened),
        "changed": len(agenda.changed),
        "closed": len(agenda.closed),
        "still open": len(agenda.still_open),
        "actions due": len(agenda.actions_due),
        "overdue": len(agenda.actions_overdue),
        "checked": len(agenda.actions_checked),
    }


def fan_out_once(app: Any) -> tuple[float, int]:
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
    return elapsed, opened


def bench_fan_out(app: Any) -> Figure:
    runs = [fan_out_once(app) for _ in range(FAN_OUT_RUNS)]
    timings = sorted(elapsed for elapsed, _opened in runs)
    opened = runs[0][1]
    for elapsed, _opened in runs:
        flag = "" if elapsed <= FAN_OUT_TARGET_S else f"  > {FAN_OUT_TARGET_S:.0f} s"
        print(f"fan-out of one incident to {opened} members: {elapsed:.2f} s{flag}")
    return Figure(
        f"fan-out of one incident to {opened} members",
        statistics.median(timings),
        max(timings),
        None,
        FAN_OUT_TARGET_S,
        "s",
    )


def print_table(figures: list[Figure], dialect: str) -> None:
    print()
    print(f"Summary on {dialect} ({RUNS} runs a page, p95 = the {int(0.95 * (RUNS - 1)) + 1}th fastest):")
    print(f"{'page':<52} {'p50':>9} {'p95':>9} {'queries':>8} {'target':>9}  result")
    for f in figures:
        digits = 1 if f.unit == "ms" else 2
        queries = "—" if f.queries is None else str(f.queries)
        print(
            f"{f.page:<52} {f.p50:>6.{digits}f} {f.unit:<2} {f.p95:>6.{digits}f} {f.unit:<2} {queries:>8} "
            f"≤ {f.target:g} {f.unit:<2}  {'met' if f.met else 'MISSED'}"
        )
    missed = [f.page for f in figures if not f.met]
    print(
        f"{len(figures) - len(missed)} of {len(figures)} targets met"
        + (f"; missed: {missed}" if missed else "")
    )


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
    figures = bench_pages(app, counter)
    figures.append(bench_fan_out(app))
    print_table(figures, engine.dialect.name)


if __name__ == "__main__":
    main()
