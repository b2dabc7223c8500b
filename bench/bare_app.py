"""The yardstick of bench/bench_http.py: a bare Flask app that runs the same queries as Égide's list
pages with SQLAlchemy Core and renders the same rows with Jinja — no login, no tenancy, no layout,
no translations. What Égide costs beyond this is the price of what it adds.

    BARE_DATABASE_URL=sqlite:////tmp/egide-bench-http.sqlite3 gunicorn -w 2 bench.bare_app:app

Same URLs and parameters as Égide (only those the bench uses): the register list of organisation
``BARE_ORG`` (default 2, the bench's 500-fiche organisation) with its headline figures, filtered by
status and DPIA; the portfolio of ``BARE_USER`` (default 1, DPO of all 5,000 organisations) sorted
by name or by completeness; the catalogue of ``BARE_SYNDICATE`` (default 1) with subscriber counts.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, request
from sqlalchemy import MetaData, and_, case, create_engine, event, false, func, or_, select, true

URL = os.environ.get("BARE_DATABASE_URL", "sqlite:////tmp/egide-bench-http.sqlite3")
ORG, USER, SYNDICATE = (
    int(os.environ.get(k, d)) for k, d in (("BARE_ORG", 2), ("BARE_USER", 1), ("BARE_SYNDICATE", 1))
)

engine = create_engine(URL, **({} if URL.startswith("sqlite") else {"pool_size": 5, "max_overflow": 10}))
# Égide's SQLite settings (core/__init__.py, _sqlite_pragmas): same database, same cost of a read. The
# journal mode is the file's (Égide puts it in WAL).
SQLITE_PRAGMAS = ("busy_timeout=5000", "synchronous=NORMAL", "cache_size=-32768", "mmap_size=268435456")
if URL.startswith("sqlite"):

    @event.listens_for(engine, "connect")
    def _same_settings_as_egide(dbapi_connection: Any, _record: Any) -> None:
        for pragma in SQLITE_PRAGMAS:
            dbapi_connection.execute(f"PRAGMA {pragma}")


meta = MetaData()
meta.reflect(
    engine,
    only=(
        "processing_activities",
        "organisations",
        "memberships",
        "rights_requests",
        "breaches",
        "applications",
        "subscriptions",
        "incidents",
        "incident_organisations",
        "smsi_actions",
        "users",
        "risks",
        "risk_actions",
        "risk_scales",
        "audits",
        "audit_findings",
        "smsi_weekly_reviews",
    ),
)
pa, orgs, memberships = (meta.tables[n] for n in ("processing_activities", "organisations", "memberships"))
requests_, breaches = meta.tables["rights_requests"], meta.tables["breaches"]
apps, subs = meta.tables["applications"], meta.tables["subscriptions"]
incidents = meta.tables["incidents"]
affected, actions, users = (meta.tables[n] for n in ("incident_organisations", "smsi_actions", "users"))
risks, risk_actions, risk_scales = (meta.tables[n] for n in ("risks", "risk_actions", "risk_scales"))
audits, findings = meta.tables["audits"], meta.tables["audit_findings"]
reviews = meta.tables["smsi_weekly_reviews"]

app = Flask(__name__)

PAGE = """<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>{{ title }}</title></head>
<body><h1>{{ title }}</h1>{% if summary %}<p>{{ summary.total }} · {{ summary.average }} %
· {{ summary.complete }} · {{ summary.to_review }} · {{ summary.dpia }}</p>{% endif %}<p>{{ total }}</p>
<table><thead><tr>{% for h in headers %}<th>{{ h }}</th>{% endfor %}</tr></thead><tbody>
{% for row in rows %}<tr>{% for cell in row %}<td>{{ "—" if cell is none else cell }}</td>{% endfor %}</tr>
{% endfor %}</tbody></table></body></html>"""
TEMPLATE = app.jinja_env.from_string(PAGE)  # compiled once, like Égide's template files


def _today() -> date:
    return datetime.now(UTC).date()


def _page(stmt: Any, count_from: Any, per_page: int = 50) -> tuple[int, list[Any]]:
    page = max(1, int(request.args.get("page", "1") or 1))
    with engine.connect() as conn:
        total = conn.scalar(select(func.count()).select_from(count_from.subquery())) or 0
        rows = conn.execute(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    return total, rows


@app.get("/healthz")
def healthz() -> Any:
    return {"status": "ok"}


@app.get("/registers/activities/")
def activity_list() -> Any:
    where = [pa.c.organisation_id == ORG, pa.c.is_model.is_(false())]
    if request.args.get("status"):
        where.append(pa.c.status == request.args["status"])
    else:
        where.append(pa.c.status != "archived")
    if request.args.get("dpia") == "required":
        where.append(pa.c.is_dpia_required.is_(true()))
    columns = (
        pa.c.id,
        pa.c.reference,
        pa.c.name,
        pa.c.status,
        pa.c.legal_basis,
        pa.c.completeness,
        pa.c.next_review_on,
        pa.c.model_id,
        pa.c.has_model_update,
        pa.c.is_archive_proposed,
        pa.c.has_sensitive_data,
        pa.c.is_dpia_required,
        pa.c.dpia_status,
    )
    stmt = select(*columns).where(*where).order_by(pa.c.sort_name, pa.c.id)
    total, rows = _page(stmt, select(pa.c.id).where(*where), int(request.args.get("per_page", "50")))
    to_review = or_(
        pa.c.status == "in_review",
        pa.c.next_review_on < _today(),
        pa.c.has_model_update.is_(true()),
        pa.c.is_archive_proposed.is_(true()),
    )
    with engine.connect() as conn:
        figures = conn.execute(
            select(
                func.count(pa.c.id),
                func.coalesce(func.avg(pa.c.completeness), 0),
                func.count(pa.c.id).filter(pa.c.completeness == 100),
                func.count(pa.c.id).filter(to_review),
                func.count(pa.c.id).filter(pa.c.is_dpia_required.is_(true()), pa.c.dpia_status != "done"),
            ).where(pa.c.organisation_id == ORG, pa.c.is_model.is_(false()), pa.c.status != "archived")
        ).one()
    summary = {
        "total": figures[0],
        "average": round(float(figures[1])),
        "complete": figures[2],
        "to_review": figures[3],
        "dpia": figures[4],
    }
    shown = [
        (r.reference, r.name, r.status, r.legal_basis, f"{r.completeness} %", r.next_review_on) for r in rows
    ]
    return TEMPLATE.render(
        title="Registre",
        summary=summary,
        total=total,
        headers=("Réf.", "Traitement", "Statut", "Base légale", "Complétude", "Révision"),
        rows=shown,
    )


def _served() -> Any:
    return (
        select(memberships.c.organisation_id)
        .join(orgs, orgs.c.id == memberships.c.organisation_id)
        .where(
            memberships.c.user_id == USER,
            memberships.c.role == "dpo",
            memberships.c.revoked_at.is_(None),
            orgs.c.left_on.is_(None),
        )
    )


def _fiche_stats(ids: Any, figures: tuple[str, ...] = ("fiches", "completeness", "to_review", "dpia")) -> Any:
    """Égide's (registers/services/portfolio.py): the figures asked for only (a sort needs one)."""
    to_review = or_(
        pa.c.status == "in_review",
        pa.c.next_review_on < _today(),
        pa.c.has_model_update.is_(true()),
        pa.c.is_archive_proposed.is_(true()),
    )
    columns = {
        "fiches": func.count(),
        "completeness": func.avg(pa.c.completeness),
        "to_review": func.count().filter(to_review),
        "dpia": func.count().filter(and_(pa.c.is_dpia_required.is_(true()), pa.c.dpia_status != "done")),
    }
    return (
        select(pa.c.organisation_id.label("org_id"), *(columns[name].label(name) for name in figures))
        .where(pa.c.organisation_id.in_(ids), pa.c.is_model.is_(false()), pa.c.status != "archived")
        .group_by(pa.c.organisation_id)
        .subquery()
    )


PORTFOLIO_HEADERS = (
    *("Organisation", "Type", "Fiches", "Complétude", "À revoir", "AIPD"),
    *("Demandes", "Échéance", "Violations", "Plus ancienne"),
)


@app.get("/registers/portfolio/")
def portfolio() -> Any:
    served = _served()
    page = max(1, int(request.args.get("page", "1") or 1))
    ids_stmt = select(orgs.c.id).where(orgs.c.id.in_(served))
    if request.args.get("sort") == "completeness":
        stats = _fiche_stats(served, ("completeness",))
        ids_stmt = ids_stmt.outerjoin(stats, stats.c.org_id == orgs.c.id).order_by(
            func.coalesce(stats.c.completeness, 0), orgs.c.sort_name, orgs.c.id
        )
    else:
        ids_stmt = ids_stmt.order_by(orgs.c.sort_name, orgs.c.id)
    with engine.connect() as conn:
        total = conn.scalar(select(func.count()).select_from(served.subquery())) or 0
        ids = list(conn.scalars(ids_stmt.limit(50).offset((page - 1) * 50)))
        fs = _fiche_stats(ids)
        rs = (
            select(
                requests_.c.organisation_id.label("org_id"),
                func.count().label("requests"),
                func.min(requests_.c.due_on).label("next_due_on"),
            )
            .where(requests_.c.organisation_id.in_(ids), requests_.c.is_open.is_(true()))
            .group_by(requests_.c.organisation_id)
            .subquery()
        )
        bs = (
            select(
                breaches.c.organisation_id.label("org_id"),
                func.count().label("breaches"),
                func.min(breaches.c.discovered_at)
                .filter(breaches.c.cnil_decision == "pending")
                .label("pending_at"),
            )
            .where(breaches.c.organisation_id.in_(ids), breaches.c.is_closed.is_(false()))
            .group_by(breaches.c.organisation_id)
            .subquery()
        )
        stmt = (
            select(
                orgs.c.id,
                orgs.c.name,
                orgs.c.kind,
                func.coalesce(fs.c.fiches, 0),
                func.coalesce(fs.c.completeness, 0),
                func.coalesce(fs.c.to_review, 0),
                func.coalesce(fs.c.dpia, 0),
                func.coalesce(rs.c.requests, 0),
                rs.c.next_due_on,
                func.coalesce(bs.c.breaches, 0),
                bs.c.pending_at,
            )
            .outerjoin(fs, fs.c.org_id == orgs.c.id)
            .outerjoin(rs, rs.c.org_id == orgs.c.id)
            .outerjoin(bs, bs.c.org_id == orgs.c.id)
            .where(orgs.c.id.in_(ids))
        )
        position = {org_id: i for i, org_id in enumerate(ids)}
        rows = sorted(conn.execute(stmt).all(), key=lambda r: position[r[0]])
    shown = [
        (r[1], r[2], r[3], f"{round(float(r[4] or 0))} %", r[5], r[6], r[7], r[8], r[9], r[10]) for r in rows
    ]
    return TEMPLATE.render(
        title="Portefeuille",
        summary=None,
        total=total,
        headers=PORTFOLIO_HEADERS,
        rows=shown,
    )


@app.get("/catalogue/")
def catalogue() -> Any:
    where = [
        or_(
            apps.c.syndicate_id == SYNDICATE,
            apps.c.id.in_(select(subs.c.application_id).where(subs.c.organisation_id == SYNDICATE)),
        ),
        apps.c.retired_on.is_(None),
    ]
    stmt = (
        select(apps.c.id, apps.c.name, apps.c.editor, apps.c.domain, apps.c.hosting, apps.c.criticality)
        .add_columns(apps.c.has_sensitive_data, apps.c.retired_on)
        .where(*where)
        .order_by(apps.c.sort_name, apps.c.id)
    )
    total, rows = _page(stmt, select(apps.c.id).where(*where), int(request.args.get("per_page", "50")))
    active = or_(subs.c.ended_on.is_(None), subs.c.ended_on >= _today())
    with engine.connect() as conn:
        counts = dict(
            conn.execute(
                select(subs.c.application_id, func.count())
                .where(
                    subs.c.application_id.in_([r.id for r in rows]),
                    active,
                    or_(subs.c.organisation_id == SYNDICATE, subs.c.syndicate_id == SYNDICATE),
                )
                .group_by(subs.c.application_id)
            ).all()
        )
    shown = [(r.name, r.editor, r.domain, r.hosting, r.criticality, counts.get(r.id, 0)) for r in rows]
    return TEMPLATE.render(
        title="Catalogue",
        summary=None,
        total=total,
        headers=("Application", "Éditeur", "Domaine", "Hébergement", "Criticité", "Abonnés"),
        rows=shown,
    )


@app.get("/smsi/incidents/")
def incident_list() -> Any:
    where = [incidents.c.organisation_id == SYNDICATE, incidents.c.is_open.is_(true())]
    stmt = select(incidents).where(*where).order_by(incidents.c.detected_at.desc(), incidents.c.id.desc())
    total, rows = _page(stmt, select(incidents.c.id).where(*where), int(request.args.get("per_page", "25")))
    ids = [r.id for r in rows]
    with engine.connect() as conn:
        counts = dict(
            conn.execute(
                select(affected.c.incident_id, func.count())
                .where(affected.c.incident_id.in_(ids))
                .group_by(affected.c.incident_id)
            ).all()
        )
    shown = [
        (r.reference, r.title, r.detected_at, r.severity, r.category, counts.get(r.id, 0), r.status)
        for r in rows
    ]
    return TEMPLATE.render(
        title="Incidents",
        summary=None,
        total=total,
        headers=("Référence", "Titre", "Détecté le", "Gravité", "Catégorie", "Organisations", "Statut"),
        rows=shown,
    )


@app.get("/smsi/actions/")
def action_list() -> Any:
    where = [actions.c.organisation_id == SYNDICATE, actions.c.is_open.is_(true())]
    owner, incident = users.alias("owner"), incidents.alias("incident")
    stmt = (
        select(actions, owner, incident)
        .outerjoin(owner, owner.c.id == actions.c.owner_id)
        .outerjoin(incident, incident.c.id == actions.c.incident_id)
        .where(*where)
        .order_by(actions.c.due_on, actions.c.id)
    )
    total, rows = _page(stmt, select(actions.c.id).where(*where), int(request.args.get("per_page", "25")))
    with engine.connect() as conn:
        holding = select(memberships.c.user_id).where(
            memberships.c.organisation_id == SYNDICATE,
            memberships.c.role.in_(("rssi", "dpo", "referent", "reader", "auditor")),
            memberships.c.revoked_at.is_(None),
        )
        conn.execute(
            select(users.c.id, users.c.full_name)
            .where(users.c.is_enabled.is_(true()), users.c.id.in_(holding))
            .order_by(users.c.full_name, users.c.id)
        ).all()
        open_owners = select(actions.c.owner_id).where(
            actions.c.organisation_id == SYNDICATE, actions.c.is_open.is_(true())
        )
        conn.execute(
            select(users.c.id, users.c.full_name)
            .where(users.c.id.in_(open_owners))
            .order_by(users.c.full_name, users.c.id)
        ).all()
    today = _today()
    shown = []
    for row in rows:
        r = row._mapping
        late = "en retard" if r[actions.c.due_on] < today else ""
        shown.append(
            (
                r[actions.c.reference],
                f"{r[actions.c.title]} ({r[actions.c.type]})",
                f"{r[actions.c.origin]} {r[incident.c.reference] or ''}",
                r[owner.c.full_name],
                f"{r[actions.c.due_on]} {late}",
                r[actions.c.status],
            )
        )
    return TEMPLATE.render(
        title="Actions",
        summary=None,
        total=total,
        headers=("Référence", "Intitulé", "Origine", "Responsable", "Échéance", "Statut"),
        rows=shown,
    )


@app.get("/risks/")
def risk_list() -> Any:
    r = risks
    rated = and_(r.c.residual_likelihood.is_not(None), r.c.residual_impact.is_not(None))
    likelihood = case((rated, r.c.residual_likelihood), else_=r.c.likelihood)
    impact = case((rated, r.c.residual_impact), else_=r.c.impact)
    where = [r.c.organisation_id == SYNDICATE]
    owner = users.alias("owner")
    stmt = (
        select(r, owner.c.full_name, apps.c.name)
        .outerjoin(owner, owner.c.id == r.c.owner_id)
        .outerjoin(apps, apps.c.id == r.c.application_id)
        .where(*where)
        .order_by((likelihood * impact).desc(), impact.desc(), r.c.reference)
    )
    total, rows = _page(stmt, select(r.c.id).where(*where), int(request.args.get("per_page", "25")))
    ids = [row.id for row in rows]
    with engine.connect() as conn:
        conn.execute(select(risk_scales).where(risk_scales.c.organisation_id == SYNDICATE)).all()
        counts = dict(
            conn.execute(
                select(risk_actions.c.risk_id, func.count())
                .where(risk_actions.c.risk_id.in_(ids))
                .group_by(risk_actions.c.risk_id)
            ).all()
        )
        for v, g in ((r.c.likelihood, r.c.impact), (r.c.residual_likelihood, r.c.residual_impact)):
            conn.execute(select(v, g, func.count()).where(*where).group_by(v, g)).all()
    today = _today()
    shown = [
        (
            row.reference,
            f"{row.title} ({counts.get(row.id, 0)} actions)",
            row.name or row.asset,
            row.likelihood * row.impact,
            (row.residual_likelihood or 0) * (row.residual_impact or 0),
            row.treatment,
            f"{row.next_review_on} {'dépassée' if row.next_review_on and row.next_review_on < today else ''}",
        )
        for row in rows
    ]
    return TEMPLATE.render(
        title="Risques",
        summary=None,
        total=total,
        headers=("Référence", "Risque", "Bien support", "Brut", "Résiduel", "Traitement", "Revue"),
        rows=shown,
    )


@app.get("/audits/")
def audit_list() -> Any:
    a = audits
    where = [a.c.organisation_id == SYNDICATE]
    stmt = select(a).where(*where).order_by(a.c.start_on.desc(), a.c.id.desc())
    total, rows = _page(stmt, select(a.c.id).where(*where), int(request.args.get("per_page", "25")))
    with engine.connect() as conn:  # the year filter's choices
        conn.execute(select(a.c.start_on).where(*where)).all()
    shown = [(r.reference, r.title, r.type, f"{r.start_on} – {r.end_on}", r.status) for r in rows]
    return TEMPLATE.render(
        title="Audits",
        summary=None,
        total=total,
        headers=("Référence", "Intitulé", "Type", "Dates", "Statut"),
        rows=shown,
    )


@app.get("/audits/findings/")
def finding_list() -> Any:
    f = findings
    where = [f.c.organisation_id == SYNDICATE, f.c.status != "closed"]
    stmt = select(f).where(*where).order_by(f.c.audit_id.desc(), f.c.number)
    total, rows = _page(stmt, select(f.c.id).where(*where), int(request.args.get("per_page", "25")))
    shown = [(r.reference, r.level, r.title, r.status) for r in rows]
    return TEMPLATE.render(
        title="Constats",
        summary=None,
        total=total,
        headers=("Référence", "Niveau", "Intitulé", "Statut"),
        rows=shown,
    )


PARIS = ZoneInfo("Europe/Paris")


@app.get("/smsi/review/")
def review() -> Any:
    """The weekly review's agenda of this week, as smsi.services.review.agenda reads it: four lists of
    incidents, four of actions (the owner's name joined), two counting queries, the open incidents
    with personal data and the breaches they opened, the week's minutes."""
    today = datetime.now(PARIS).date()
    week_start = today - timedelta(days=today.weekday())
    last_day = week_start + timedelta(days=6)
    start = datetime.combine(week_start, time(), tzinfo=PARIS).astimezone(UTC)
    end = datetime.combine(week_start + timedelta(days=7), time(), tzinfo=PARIS).astimezone(UTC)
    i, a, limit = incidents, actions, 50
    columns = (
        i.c.id,
        i.c.reference,
        i.c.title,
        i.c.severity,
        i.c.status,
        i.c.detected_at,
        i.c.has_personal_data,
    )
    in_week = select(*columns).where(i.c.organisation_id == SYNDICATE)
    detected = and_(i.c.detected_at >= start, i.c.detected_at < end)
    closed_in = and_(i.c.closed_at >= start, i.c.closed_at < end)
    changed_in = and_(
        i.c.updated_at >= start, i.c.updated_at < end, ~detected, or_(i.c.closed_at.is_(None), ~closed_in)
    )
    open_at_end = and_(i.c.detected_at < end, or_(i.c.closed_at.is_(None), i.c.closed_at >= end))
    acts = (
        select(a.c.id, a.c.reference, a.c.title, a.c.due_on, a.c.checked_on, a.c.status, users.c.full_name)
        .outerjoin(users, users.c.id == a.c.owner_id)
        .where(a.c.organisation_id == SYNDICATE)
    )
    due_in = and_(a.c.is_open.is_(true()), a.c.due_on >= week_start, a.c.due_on <= last_day)
    overdue_at = and_(a.c.is_open.is_(true()), a.c.due_on < week_start)
    checked_in = and_(
        a.c.status.in_(("effective", "ineffective")), a.c.checked_on >= week_start, a.c.checked_on <= last_day
    )
    the_review = (
        select(reviews.c.id)
        .where(reviews.c.organisation_id == SYNDICATE, reviews.c.week_start == week_start)
        .scalar_subquery()
    )
    with engine.connect() as conn:
        lists = [
            conn.execute(in_week.where(detected).order_by(i.c.detected_at).limit(limit)).all(),
            conn.execute(in_week.where(closed_in).order_by(i.c.closed_at).limit(limit)).all(),
            conn.execute(in_week.where(changed_in).order_by(i.c.updated_at.desc()).limit(limit)).all(),
            conn.execute(
                in_week.where(open_at_end).order_by(i.c.severity.desc(), i.c.detected_at).limit(limit)
            ).all(),
        ]
        action_lists = [
            conn.execute(acts.where(where).order_by(*order).limit(limit)).all()
            for where, order in (
                (due_in, (a.c.due_on, a.c.id)),
                (a.c.review_id == the_review, (a.c.due_on, a.c.id)),
                (overdue_at, (a.c.due_on, a.c.id)),
                (checked_in, (a.c.checked_on, a.c.id)),
            )
        ]
        conn.execute(
            select(
                func.count().filter(detected),
                func.count().filter(closed_in),
                func.count().filter(changed_in),
                func.count().filter(open_at_end),
            ).where(
                i.c.organisation_id == SYNDICATE,
                or_(
                    detected,
                    i.c.is_open.is_(true()),
                    i.c.closed_at >= start,
                    and_(i.c.updated_at >= start, i.c.updated_at < end),
                ),
            )
        ).one()
        conn.execute(
            select(
                func.count().filter(due_in), func.count().filter(overdue_at), func.count().filter(checked_in)
            ).where(
                a.c.organisation_id == SYNDICATE,
                or_(a.c.is_open.is_(true()), and_(a.c.checked_on >= week_start, a.c.checked_on <= last_day)),
            )
        ).one()
        with_data = conn.scalars(
            select(i.c.id).where(
                i.c.organisation_id == SYNDICATE, open_at_end, i.c.has_personal_data.is_(true())
            )
        ).all()
        pending = (
            conn.execute(
                select(breaches, orgs.c.name)
                .join(orgs, orgs.c.id == breaches.c.organisation_id)
                .where(breaches.c.source_incident_id.in_(with_data))
                .order_by(orgs.c.sort_name, breaches.c.id)
            ).all()
            if with_data
            else []
        )
        conn.execute(
            select(reviews).where(reviews.c.organisation_id == SYNDICATE, reviews.c.week_start == week_start)
        ).first()
    rows = [(r.reference, r.title, r.severity, r.status, r.detected_at) for rows in lists for r in rows]
    rows += [(r.reference, r.title, r.full_name, r.due_on, r.status) for rows in action_lists for r in rows]
    rows += [(r.reference, r.name, r.cnil_decision, "", "") for r in pending if not r.is_closed]
    return TEMPLATE.render(
        title="Revue hebdomadaire",
        summary=None,
        total=len(rows),
        headers=("Référence", "Intitulé", "Gravité / responsable", "Statut / échéance", "Date"),
        rows=rows,
    )
