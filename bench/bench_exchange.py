"""Benchmark of the register's export and import at 10,000 fiches (run on demand, prints figures;
not a timed test).

    rm -f /tmp/bench_exchange.sqlite3
    BENCH_DATABASE_URL=sqlite:////tmp/bench_exchange.sqlite3 .venv/bin/python bench/bench_exchange.py

(an empty database: the bench creates its schema and its organisations.)

1. Creates an empty database, a syndicate, a member subscribing to 20 applications, and imports
   10,000 fiches into the member's register through the service path of the pages: the file read
   (CSV), its cells sealed as the pending import keeps them, a preview (every row planned) and a
   confirmation (planned again, then written). Target: preview + confirmation ≤ 15 s.
2. Exports those 10,000 fiches to XLSX and to CSV through the streamed export (the chunks of the
   download: the fiches read, their cells built, the file written by core.exports' own XLSX writer),
   and, in the same run, writes the very same cells with raw openpyxl in write-only mode (cells read
   beforehand: its writing alone is timed). Targets: XLSX ≤ 2 s, CSV ≤ 1 s, RSS growth ≤ 150 MB,
   XLSX within 1.5× of raw openpyxl (the ratio is printed).
   It also counts the SQL statements of an export (no N+1: a handful per 500 fiches).
"""

from __future__ import annotations

import csv
import gc
import io
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event

from accounts.models import Organisation, OrgKind, OrgRelation
from bench import bench_app
from bench.bench_foundation import URL, ensure_database
from catalogue.models import AppDomain, Application, Criticality, Hosting, Subscription
from core.db import utcnow
from core.extensions import alembic, db
from core.tenancy import bind_session
from registers.services import exchange
from registers.services.exchange import pending
from registers.services.exchange.columns import headers

N = int(os.environ.get("BENCH_FICHES", "10000"))


def rss_mb() -> float:
    """Current resident set size (Linux /proc), in MB."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 1e6


def seed() -> Organisation:
    alembic.upgrade()
    now = utcnow()
    syndicate = Organisation(name="Syndicat bench", kind=OrgKind.SYNDICAT, relation=OrgRelation.SYNDICATE)
    db.session.add(syndicate)
    db.session.flush()
    member = Organisation(
        name="Commune bench", kind=OrgKind.VILLE, relation=OrgRelation.MEMBER, syndicate_id=syndicate.id
    )
    db.session.add(member)
    db.session.flush()
    for n in range(20):
        app_ = Application(
            syndicate_id=syndicate.id,
            name=f"Logiciel {n:02d}",
            domain=next(iter(AppDomain)),
            hosting=next(iter(Hosting)),
            criticality=next(iter(Criticality)),
        )
        db.session.add(app_)
        db.session.flush()
        db.session.add(
            Subscription(
                application_id=app_.id,
                organisation_id=member.id,
                syndicate_id=syndicate.id,
                started_on=now.date(),
            )
        )
    db.session.commit()
    return member


CATEGORY_HEADERS = [h for h in headers() if " — " in h]


def register_csv() -> bytes:
    """10,000 fiches in Égide's layout, every kind of column filled in (a realistic register)."""
    header = list(headers())
    rows = [header]
    for n in range(1, N + 1):
        row = dict.fromkeys(header, "")
        row.update(
            {
                "Référence": f"B-{n:05d}",
                "Nom du traitement": f"Traitement {n} de la commune",
                "Statut": "Validée" if n % 3 else "Brouillon",
                "Date de création": "12/03/2019",
                "Dernière mise à jour": "05/01/2024",
                "Finalité principale": "Gérer le service public concerné et en suivre l'activité. " * 3,
                "Sous-finalités": "Facturation\nStatistiques",
                "Base légale": "Mission d'intérêt public",
                "Texte de référence": "Code général des collectivités territoriales",
                "Personnes concernées": "Usagers / administrés\nAgents (titulaires, contractuels)",
                "Catégories de données": (
                    "État civil, identité, données d'identification, images\nDonnées de connexion"
                ),
                "État civil, identité, données d'identification, images — Précisions": "nom, prénom, adresse",
                "État civil, identité, données d'identification, images — Base active": "5 ans",
                "Données de connexion — Base active": "1 an",
                "Destinataires": "Destinataires internes : Service instructeur\nSous-traitants : Éditeur",
                "Mesures de sécurité": (
                    "Contrôle d'accès des utilisateurs : comptes nominatifs\nSauvegarde des données"
                ),
                "Applications": f"Logiciel {n % 20:02d}",
                "État AIPD": "Non réalisée",
                "Prochaine révision": "31/12/2027",
            }
        )
        rows.append([row[h] for h in header])
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def timed(label: str, fn: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - start
    print(f"  {label:<48} {elapsed:6.2f} s")
    return result, elapsed


def bench_import(member: Organisation) -> None:
    body = register_csv()
    print(f"Import of {N} fiches (CSV, {len(body) / 1e6:.1f} MB):")
    total = 0.0

    def upload() -> Any:
        table = exchange.read_table(body, "registre.csv")
        return table, pending._seal(table)

    (table, sealed), elapsed = timed("upload: read the file, seal its cells", upload)
    total += elapsed
    mapping = exchange.propose(table.header)

    def preview() -> Any:
        return exchange.plan_import(
            member, table, mapping, filename="registre.csv", sha256="0" * 64, may_validate=True
        )

    plan, elapsed = timed("preview: every row planned", preview)
    total += elapsed
    assert plan.errors == [], plan.errors[:3]
    assert plan.created == N, plan.created

    def confirm() -> Any:
        again = exchange.plan_import(
            member,
            pending.table_of(_Pending(sealed)),
            mapping,
            filename="registre.csv",
            sha256="0" * 64,
            may_validate=True,
        )
        result = exchange.apply_import(member, None, again)
        db.session.commit()
        return result

    result, elapsed = timed("confirmation: unsealed, planned again, written", confirm)
    total += elapsed
    print(f"  {'preview + confirmation (target ≤ 15 s)':<48} {total:6.2f} s   created={result.created}")


class _Pending:
    """What table_of reads from a pending import."""

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.is_pending = True


def bench_export(member: Organisation) -> None:
    print(f"Export of {N} fiches (streamed):")
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    gc.collect()
    base = rss_mb()
    peak = base
    figures = {}
    for fmt in ("csv", "xlsx"):
        event.listen(db.engine, "before_cursor_execute", count)
        start = time.perf_counter()
        export = exchange.export_register(member, None, fmt)
        size = 0
        for chunk in export.chunks():
            size += len(chunk)
            peak = max(peak, rss_mb())
        elapsed = time.perf_counter() - start
        event.remove(db.engine, "before_cursor_execute", count)
        db.session.rollback()  # the journal entry of the export (a bench)
        figures[fmt] = elapsed
        target = 1.0 if fmt == "csv" else 2.0
        print(
            f"  {fmt.upper():<5} {elapsed:6.2f} s (target ≤ {target:.0f} s)  {size / 1e6:5.1f} MB  "
            f"{len(statements)} SQL statements"
        )
        statements.clear()
    print(f"  RSS growth during the exports: {peak - base:6.1f} MB (target ≤ 150 MB)")

    # Raw openpyxl, write-only, the same cells (read beforehand: the writing alone is timed).
    from openpyxl import Workbook  # noqa: PLC0415

    from registers.services.exchange.export import _rows, organisation_rows, register_ids  # noqa: PLC0415

    ids = register_ids(member)
    cells = list(_rows(member, ids))
    start = time.perf_counter()
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Organisation")
    for row in organisation_rows(member):
        sheet.append(list(row))
    sheet = book.create_sheet("Registre")
    sheet.append(list(headers()))
    for row in cells:
        sheet.append([value or None for value in row])
    out = io.BytesIO()
    book.save(out)
    raw = time.perf_counter() - start
    print(f"  raw openpyxl write-only, same cells: {raw:6.2f} s ({len(out.getvalue()) / 1e6:.1f} MB)")
    print(f"  ratio Égide XLSX / raw openpyxl: {figures['xlsx'] / raw:5.2f} (target ≤ 1.5)")


def main() -> None:
    ensure_database()
    app = bench_app(URL)
    with app.test_request_context():
        member = seed()
        bind_session(member.id)
        member = db.session.get(Organisation, member.id)
        bench_import(member)
        bench_export(member)


if __name__ == "__main__":
    main()
