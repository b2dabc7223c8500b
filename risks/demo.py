"""Demo data of the risk register: SIIM94's risks, written for the demo from the syndicate's real
events (seed facts: the 2016 floods, the 2020 electrical-room fire, the early-2023 cyber-attack, the
June-2023 riots) and the usual risks of a shared information system. Ratings, treatments and names
are the demo's own. Idempotent: an organisation that has risks keeps them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from accounts.models import Membership, Organisation, User
from catalogue.models import Application
from core.db import local_today
from core.extensions import db
from core.security import Role
from core.tenancy import UNSCOPED
from risks.models import Risk

SYNDICATE = "SIIM94"
# title, asset (an application of the catalogue, or (kind, name)), threat, vulnerability, C/I/A,
# (V, G) inherent, treatment, (V, G) residual or None, controls, review in days (negative: overdue),
# accepted by (name) or None
RISKS: list[tuple[Any, ...]] = [
    (
        "Rançongiciel chiffrant les serveurs mutualisés",
        ("process", "Hébergement mutualisé"),
        "Groupe cybercriminel",
        "Comptes à privilèges exposés, segmentation incomplète",
        "CIA",
        (3, 4),
        "reduce",
        (2, 3),
        ["A.8.7", "A.8.13", "A.8.22"],
        60,
        None,
    ),
    (
        "Compromission de l'annuaire Active Directory",
        ("process", "Annuaire et authentification"),
        "Attaquant ayant un premier accès",
        "Chemins d'attaque vers les administrateurs du domaine",
        "CIA",
        (3, 4),
        "reduce",
        (2, 3),
        ["A.5.15", "A.8.2", "A.8.5"],
        45,
        None,
    ),
    (
        "Inondation de la salle informatique",
        ("site", "Salle informatique principale"),
        "Crue de la Seine",
        "Salle en zone inondable, équipements au sol",
        "A",
        (2, 4),
        "reduce",
        (1, 3),
        ["A.7.5", "A.8.14"],
        120,
        None,
    ),
    (
        "Incendie du local électrique",
        ("site", "Local électrique"),
        "Départ de feu",
        "Détection incendie limitée au local",
        "A",
        (2, 4),
        "reduce",
        (1, 3),
        ["A.7.5", "A.7.11"],
        90,
        None,
    ),
    (
        "Dégradation des équipements réseau lors de violences urbaines",
        ("site", "Points de présence en mairie"),
        "Émeutes, vandalisme",
        "Baies réseau accessibles depuis l'espace public",
        "A",
        (2, 3),
        "transfer",
        (2, 2),
        ["A.7.1", "A.7.8"],
        150,
        "Directeur général du SIIM94",
    ),
    (
        "Hameçonnage ciblant les agents",
        ("process", "Messagerie des adhérents"),
        "Campagnes d'hameçonnage",
        "Sensibilisation inégale selon les adhérents",
        "C",
        (4, 3),
        "reduce",
        (3, 2),
        ["A.6.3", "A.8.23"],
        30,
        None,
    ),
    (
        "Fuite de dossiers d'aide sociale",
        "BL SOCIAL",
        "Accès illégitime par un compte d'éditeur",
        "Télémaintenance sans double authentification",
        "C",
        (2, 4),
        "reduce",
        (1, 4),
        ["A.5.19", "A.8.5"],
        75,
        None,
    ),
    (
        "Indisponibilité des dossiers de santé des centres municipaux",
        "CHIMED",
        "Panne ou attaque du serveur applicatif",
        "Serveur unique, reprise non testée",
        "A",
        (2, 3),
        "reduce",
        None,
        ["A.8.14", "A.5.30"],
        -20,
        None,
    ),
    (
        "Défaillance d'un éditeur de logiciel en SaaS",
        "DOCTOLIB",
        "Panne prolongée ou faillite de l'éditeur",
        "Réversibilité non contractualisée",
        "A",
        (2, 2),
        "accept",
        (2, 2),
        ["A.5.19", "A.5.20"],
        200,
        "Président du comité syndical",
    ),
    (
        "Perte des sauvegardes en même temps que la production",
        ("process", "Sauvegardes"),
        "Rançongiciel visant les sauvegardes",
        "Pas de copie hors ligne ou immuable",
        "IA",
        (3, 4),
        "reduce",
        (1, 4),
        ["A.8.13"],
        30,
        None,
    ),
    (
        "Accès d'un prestataire conservé après la fin de son contrat",
        ("supplier", "Prestataires d'infogérance"),
        "Ancien prestataire malveillant",
        "Revue des accès non formalisée",
        "CI",
        (2, 3),
        "reduce",
        (1, 3),
        ["A.5.18", "A.5.20"],
        -5,
        None,
    ),
    (
        "Vol d'un ordinateur portable non chiffré",
        ("other", "Postes nomades"),
        "Vol ou perte",
        "Chiffrement des disques non généralisé",
        "C",
        (3, 2),
        "reduce",
        (2, 1),
        ["A.8.1", "A.8.24"],
        100,
        None,
    ),
    (
        "Erreur de paramétrage exposant un partage de fichiers",
        ("process", "Partages de fichiers"),
        "Erreur humaine",
        "Pas de revue des droits de partage",
        "C",
        (3, 3),
        "reduce",
        (2, 2),
        ["A.5.15", "A.8.3"],
        80,
        None,
    ),
    (
        "Déni de service sur le portail famille",
        ("process", "Portails usagers"),
        "Attaque par déni de service",
        "Pas de protection en amont de l'hébergement",
        "A",
        (3, 2),
        "transfer",
        (2, 2),
        ["A.8.20"],
        60,
        None,
    ),
    (
        "Vulnérabilité non corrigée sur un serveur exposé",
        ("process", "Serveurs exposés sur Internet"),
        "Exploitation d'une vulnérabilité publiée",
        "Correctifs appliqués sans délai cible",
        "CIA",
        (3, 3),
        "reduce",
        (2, 2),
        ["A.8.8"],
        40,
        None,
    ),
    (
        "Intrusion non détectée faute de centralisation des journaux",
        ("process", "Supervision de sécurité"),
        "Attaquant discret",
        "Journaux dispersés, pas d'outil de centralisation",
        "CI",
        (3, 3),
        "reduce",
        None,
        ["A.8.15", "A.8.16"],
        -30,
        None,
    ),
    (
        "Usurpation de l'identité du président par courriel",
        ("process", "Messagerie des adhérents"),
        "Fraude au président",
        "Absence de SPF/DMARC strict sur certains domaines",
        "I",
        (2, 3),
        "reduce",
        (1, 2),
        ["A.8.23", "A.6.3"],
        110,
        None,
    ),
    (
        "Perte de connaissance à un départ d'administrateur",
        ("process", "Exploitation"),
        "Départ non préparé",
        "Procédures d'exploitation peu documentées",
        "A",
        (2, 2),
        "accept",
        (2, 2),
        ["A.5.37"],
        180,
        "Directeur général du SIIM94",
    ),
    (
        "Coupure du lien entre sites",
        ("site", "Réseau métropolitain"),
        "Rupture de fibre",
        "Lien principal sans secours sur deux sites",
        "A",
        (3, 2),
        None,
        None,
        [],
        20,
        None,
    ),
    (
        "Données personnelles conservées au-delà de leur durée",
        ("process", "Bases applicatives"),
        "Contrôle de la CNIL",
        "Purges non automatisées",
        "C",
        (3, 2),
        None,
        None,
        [],
        60,
        None,
    ),
    (
        "Attaque via la chaîne d'approvisionnement logicielle",
        ("supplier", "Éditeurs de logiciels"),
        "Mise à jour piégée d'un éditeur",
        "Pas de contrôle des mises à jour avant déploiement",
        "CIA",
        (1, 4),
        "reduce",
        (1, 3),
        ["A.5.21", "A.8.32"],
        150,
        None,
    ),
    (
        "Comptes partagés sur les applications métier",
        ("process", "Applications métier"),
        "Usage frauduleux non imputable",
        "Comptes génériques dans plusieurs mairies",
        "CI",
        (3, 2),
        "reduce",
        (2, 2),
        ["A.5.16", "A.8.5"],
        90,
        None,
    ),
]


# The hygiene self-assessments of the demo (invented): SIIM94 in 2024 and today, Ivry-sur-Seine today
# with a third of its answers still to give. Answers by measure number: the rest is "not applied".
HYGIENE = {
    "SIIM94": [
        (730, {"implemented": range(1, 15), "partial": range(15, 27), "not_applicable": (31,)}),
        (
            20,
            {
                "implemented": range(1, 30),
                "partial": range(30, 38),
                "not_applicable": (31,),
                "reinforced": (2, 8, 37),
            },
        ),
    ],
    "Ivry-sur-Seine": [
        (5, {"implemented": range(1, 9), "partial": range(9, 20), "unanswered": range(29, 43)}),
    ],
}


def load_hygiene(context: dict[str, Any]) -> None:
    from risks.models import HygieneAnswer, HygieneAssessment, HygieneStatus  # noqa: PLC0415
    from risks.services import hygiene  # noqa: PLC0415

    today = local_today()
    for name, assessments in HYGIENE.items():
        org = context["organisations"].get(name)
        if org is None:
            continue
        done = db.session.scalar(
            select(HygieneAssessment.id)
            .where(HygieneAssessment.organisation_id == org.id)
            .limit(1)
            .execution_options(**UNSCOPED)  # unscoped: demo loader (CLI)
        )
        if done is not None:
            continue
        for days_ago, plan in assessments:
            assessment = hygiene.create_assessment(org, None, today - timedelta(days=days_ago))
            rows = db.session.scalars(
                select(HygieneAnswer)
                .where(HygieneAnswer.assessment_id == assessment.id)
                .execution_options(**UNSCOPED)  # unscoped: demo loader (CLI)
            )
            for answer in rows:
                n = answer.measure
                if n in plan.get("unanswered", ()):
                    answer.status = None
                elif n in plan.get("not_applicable", ()):
                    answer.status = HygieneStatus.NOT_APPLICABLE
                elif n in plan.get("implemented", ()):
                    answer.status = HygieneStatus.IMPLEMENTED
                    answer.reinforced = n in plan.get("reinforced", ())
                elif n in plan.get("partial", ()):
                    answer.status = HygieneStatus.PARTIAL
                else:
                    answer.status = HygieneStatus.NOT_IMPLEMENTED
            db.session.flush()


def load_demo(context: dict[str, Any]) -> None:
    load_risks(context)
    load_hygiene(context)


def load_risks(context: dict[str, Any]) -> None:
    from risks.services import risks as svc  # noqa: PLC0415 — written beside this loader

    org: Organisation | None = context["organisations"].get(SYNDICATE)
    if org is None:
        return
    has = db.session.scalar(
        select(Risk.id).where(Risk.organisation_id == org.id).limit(1).execution_options(**UNSCOPED)
    )  # unscoped: demo loader (CLI)
    if has is not None:
        return
    owner = db.session.scalar(
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
    apps = dict(
        db.session.execute(
            select(Application.name, Application.id)
            .where(Application.syndicate_id == org.id)
            .execution_options(**UNSCOPED)  # unscoped: demo loader (CLI)
        ).all()
    )
    today = local_today()
    for title, asset, threat, vuln, cia, (v, g), treatment, residual, controls, review, accepted in RISKS:
        data: dict[str, Any] = {
            "title": title,
            "threat": threat,
            "vulnerability": vuln,
            "impact_confidentiality": "C" in cia,
            "impact_integrity": "I" in cia,
            "impact_availability": "A" in cia,
            "likelihood": v,
            "impact": g,
            "treatment": treatment,
            "control_ids": controls,
            "residual_likelihood": residual[0] if residual else None,
            "residual_impact": residual[1] if residual else None,
            "owner_id": owner.id if owner else None,
            "accepted_by": accepted,
            "accepted_on": today - timedelta(days=40) if accepted else None,
            "next_review_on": today + timedelta(days=review),
        }
        if isinstance(asset, str):
            if asset not in apps:
                continue
            data |= {"asset_kind": "application", "application_id": apps[asset]}
        else:
            data |= {"asset_kind": asset[0], "asset": asset[1]}
        svc.create_risk(org, owner, data)
