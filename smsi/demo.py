"""Demo data of the SMSI: the syndicates' real events (seed facts: the 2016 floods, the 2020 fire in
the electrical room, the early-2023 cyber-attack, the June-2023 riots) as closed incidents, and one
incident under way whose personal data opened breaches in the affected members' registers; and,
so that the dashboard's twelve months show response times, the year's everyday incidents (invented
for the demo, dated relative to today: phishing, an editor's outage, a lost laptop...).

Dates the sources give only as a year or a month are set to a plausible day; lessons and causes
are written for the demo (the sources give none). Idempotent: an organisation that has incidents
keeps them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from accounts.models import Membership, Organisation, User
from catalogue.models import Application
from core.db import local_today, utcnow
from core.extensions import db
from core.security import Role
from core.tenancy import UNSCOPED
from smsi.models import Incident

PAST = [
    {
        "syndicate": "SIIM94",
        "title": "Inondation : production informatique interrompue",
        "detected_at": datetime(2016, 6, 2, 7, 30),
        "category": "physical",
        "severity": "3",
        "impact_availability": True,
        "affected_sites": "Centre de données du syndicat",
        "description": "Crue : production arrêtée plusieurs jours ; plan de continuité déclenché.",
        "root_cause": "Salle informatique exposée au risque d'inondation.",
        "lessons_learned": "Plan de continuité révisé ; sauvegardes externalisées sur un second site.",
        "all_members": True,
        "closed_after_days": 12,
    },
    {
        "syndicate": "SIIM94",
        "title": "Incendie dans le local électrique",
        "detected_at": datetime(2020, 9, 15, 14, 0),
        "category": "physical",
        "severity": "2",
        "impact_availability": True,
        "affected_sites": "Local électrique du centre de données",
        "description": "Départ de feu dans le local électrique ; la continuité de service est assurée.",
        "root_cause": "Défaillance d'un tableau électrique.",
        "lessons_learned": "Contrôle annuel des installations électriques et détection incendie renforcée.",
        "closed_after_days": 20,
    },
    {
        "syndicate": "SIIM94",
        "title": "Cyberattaque majeure du système d'information mutualisé",
        "detected_at": datetime(2023, 1, 16, 6, 45),
        "category": "malware",
        "severity": "4",
        "impact_integrity": True,
        "impact_availability": True,
        "description": "Conditions de travail dégradées pour tous les adhérents (source publique, "
        "sans autre précision).",
        "root_cause": "Non précisée par les sources publiques (donnée de démonstration).",
        "lessons_learned": "Renforcement de la supervision et des sauvegardes hors ligne (démonstration).",
        "all_members": True,
        "closed_after_days": 45,
    },
    {
        "syndicate": "SICIO",
        "title": "Émeutes : équipements réseau de deux mairies incendiés",
        "detected_at": datetime(2023, 6, 30, 2, 0),
        "category": "physical",
        "severity": "3",
        "impact_availability": True,
        "affected_sites": "Mairies de Valenton et de Villeneuve-le-Roi",
        "members": ["Valenton", "Villeneuve-le-Roi"],
        "root_cause": "Dégradations volontaires lors des émeutes de juin 2023.",
        "lessons_learned": "Équipements réseau remplacés ; baies protégées.",
        "closed_after_days": 10,
    },
]
# The year's everyday incidents (invented for the demo): how many days ago each was detected, the
# hours to contain and to resolve it (None: not yet), and whether it is closed.
EVERYDAY = [
    ("Campagne d'hameçonnage visant les agents", "phishing", "2", 330, 3, 20, True),
    ("Indisponibilité de la messagerie hébergée", "supplier", "2", 290, 2, 9, True),
    ("Ordinateur portable d'un agent perdu", "physical", "1", 250, 1, 30, True),
    ("Rançongiciel bloqué sur un poste de médiathèque", "malware", "3", 200, 1, 40, True),
    ("Panne du lien fibre entre deux sites", "availability", "2", 150, 5, 14, True),
    ("Erreur de paramétrage d'un partage de fichiers", "human_error", "2", 95, 2, 26, True),
    ("Compte d'un éditeur utilisé hors des plages prévues", "intrusion", "3", 60, 4, 72, True),
    ("Courriels usurpant l'identité du président du syndicat", "phishing", "1", 25, 2, 6, True),
    ("Lenteurs du portail famille sous attaque par déni de service", "availability", "2", 9, 6, None, False),
]
UNDER_WAY = {
    "syndicate": "SIIM94",
    "title": "Accès non autorisé à une base applicative",
    "category": "intrusion",
    "severity": "3",
    "impact_confidentiality": True,
    "has_personal_data": True,
    "application": "CHIMED",
    "hours_ago": 20,
    "description": "Connexions inhabituelles au serveur de l'application depuis un compte de maintenance.",
}


def _rssi(org: Organisation) -> User | None:
    return db.session.scalar(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.organisation_id == org.id,
            Membership.role == Role.RSSI,
            Membership.revoked_at.is_(None),
        )
        .order_by(User.id)
        .limit(1)
        .execution_options(**UNSCOPED)  # unscoped: demo loader (CLI)
    )


def _members(org: Organisation, names: list[str] | None, everyone: bool) -> list[int]:
    stmt = select(Organisation.id).where(Organisation.syndicate_id == org.id, Organisation.left_on.is_(None))
    if not everyone:
        stmt = stmt.where(Organisation.name.in_(names or []))
    return list(db.session.scalars(stmt.execution_options(**UNSCOPED)))  # unscoped: demo loader (CLI)


def load_smsi(context: dict[str, Any]) -> None:
    from smsi.services import incidents  # noqa: PLC0415 — written beside this loader

    orgs = context["organisations"]
    # unscoped: demo loader (CLI)
    held = set(db.session.scalars(select(Incident.organisation_id).execution_options(**UNSCOPED)))
    keys = ("title", "category", "severity", "description", "affected_sites", "root_cause", "lessons_learned")
    for spec in PAST:
        org = orgs.get(spec["syndicate"])
        if org is None or org.id in held:
            continue
        actor = _rssi(org)
        data = {k: spec.get(k) for k in keys}
        data |= {
            k: spec.get(k, False)
            for k in ("impact_confidentiality", "impact_integrity", "impact_availability")
        }
        data["detected_at"] = spec["detected_at"]
        data["added_organisation_ids"] = _members(org, spec.get("members"), spec.get("all_members", False))
        data["status"] = "new"
        incident = incidents.create_incident(org, actor, data)
        closing = spec["detected_at"] + timedelta(days=spec["closed_after_days"])
        incidents.add_event(
            incident,
            actor,
            "containment",
            spec["detected_at"] + timedelta(hours=6),
            "Mesures de confinement prises.",
        )
        incidents.add_event(incident, actor, "recovery", closing - timedelta(days=1), "Services rétablis.")
        incidents.update_incident(
            incident, actor, {**data, "status": "closed", "closed_at": closing, "version": incident.version}
        )
    org = orgs.get(UNDER_WAY["syndicate"])
    if org is None or org.id in held:
        return
    _load_everyday(org)
    app_id = db.session.scalar(
        select(Application.id)
        .where(Application.syndicate_id == org.id, Application.name == UNDER_WAY["application"])
        .execution_options(**UNSCOPED)  # unscoped: demo loader (CLI)
    )
    data = {k: UNDER_WAY.get(k) for k in keys}
    data |= {
        k: UNDER_WAY.get(k, False)
        for k in ("impact_confidentiality", "impact_integrity", "impact_availability")
    }
    data |= {
        "detected_at": (utcnow() - timedelta(hours=UNDER_WAY["hours_ago"])).replace(second=0, microsecond=0),
        "reported_by": "Supervision du syndicat",
        "status": "qualified",
        "has_personal_data": True,
        "application_ids": [app_id] if app_id else [],
    }
    under_way = incidents.create_incident(org, _rssi(org), data)
    _load_actions(org, under_way)


def _load_everyday(org: Organisation) -> None:
    from smsi.services import incidents  # noqa: PLC0415 — written beside this loader

    actor = _rssi(org)
    now = utcnow().replace(second=0, microsecond=0)
    for title, category, severity, days_ago, contain_h, resolve_h, closed in EVERYDAY:
        detected = now - timedelta(days=days_ago, hours=3)
        data: dict[str, Any] = {
            "title": title,
            "category": category,
            "severity": severity,
            "detected_at": detected,
            "impact_availability": category in ("supplier", "availability"),
            "status": "new",
        }
        incident = incidents.create_incident(org, actor, data)
        incidents.add_event(incident, actor, "containment", detected + timedelta(hours=contain_h), "Confiné.")
        if resolve_h is None:
            incidents.update_incident(
                incident, actor, {**data, "status": "contained", "version": incident.version}
            )
            continue
        resolved = detected + timedelta(hours=resolve_h)
        incidents.add_event(incident, actor, "recovery", resolved, "Service rétabli.")
        if closed:
            incidents.update_incident(
                incident,
                actor,
                {
                    **data,
                    "status": "closed",
                    "closed_at": resolved + timedelta(days=2),
                    "root_cause": "Analysée en revue hebdomadaire.",
                    "lessons_learned": "Consignées en revue hebdomadaire.",
                    "version": incident.version,
                },
            )


def _load_actions(org: Organisation, under_way: Incident) -> None:
    """Corrective actions of SIIM94: one proven effective after the 2023 attack, one found
    ineffective and reopened, one from the management review, one from the incident under way."""
    from smsi.services import actions  # noqa: PLC0415 — written beside this loader

    rssi = _rssi(org)
    if rssi is None:
        return
    attack = db.session.scalar(
        select(Incident)
        .where(Incident.organisation_id == org.id, Incident.category == "malware")
        .execution_options(**UNSCOPED)  # unscoped: demo loader (CLI)
    )
    now = local_today()  # a French calendar day, as the action service reads it
    base = {"owner_id": rssi.id, "priority": "high", "type": "corrective"}
    specs = [
        {
            "title": "Sauvegardes hors ligne des serveurs mutualisés",
            "origin": "incident" if attack else "other",
            "incident_id": attack.id if attack else None,
            "origin_detail": "Cyberattaque de janvier 2023",
            "due_on": now + timedelta(days=1),
            "status": "effective",
            "done_on": now - timedelta(days=900),
            "check_method": "Test de restauration complet depuis la copie hors ligne",
            "checked_on": now - timedelta(days=850),
            "checked_by_id": rssi.id,
            "check_result": "Restauration réussie en 6 heures",
        },
        {
            "title": "Double authentification des comptes de maintenance des éditeurs",
            "origin": "incident",
            "incident_id": under_way.id,
            "due_on": now + timedelta(days=14),
            "status": "in_progress",
        },
        {
            "title": "Sensibilisation des agents à l'hameçonnage",
            "origin": "management_review",
            "origin_detail": "Revue de direction annuelle",
            "type": "preventive",
            "priority": "normal",
            "due_on": now + timedelta(days=5),
            "status": "planned",
        },
    ]
    for spec in specs:
        actions.create_action(org, rssi, {**base, **spec})
