"""Demo data of the risk register: SIIM94's risks, written for the demo from the syndicate's real
events (seed facts: the 2016 floods, the 2020 electrical-room fire, the early-2023 cyber-attack, the
June-2023 riots) and the usual risks of a shared information system. Ratings, treatments and names
are the demo's own. Idempotent: an organisation that has risks keeps them."""

from __future__ import annotations

from datetime import date, timedelta
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
    load_parcours(context)
    load_ebios(context)


# The EBIOS RM study of the demo (invented, on the syndicate's real applications): SIIM94's shared
# hosting platform. Each workshop's objects by a short key, the later ones naming the earlier ones.
EBIOS_STUDY = {
    "title": "Plateforme d'hébergement mutualisée du datacentre",
    "scope": (
        "Les serveurs virtualisés, le stockage et les sauvegardes du datacentre du SIIM94, qui "
        "hébergent les applications métier des villes adhérentes."
    ),
    "missions": (
        "Rendre disponibles aux agents des villes l'état civil, la paie, les finances et la "
        "facturation aux familles ; conserver leurs données et pouvoir les restaurer."
    ),
    "objectives": "Fonder le plan de sécurité 2027 et la revue des contrats d'infogérance des éditeurs.",
    "participants": (
        "RSSI du SIIM94 (animation), responsable d'exploitation, directeur général, DPO, "
        "représentants des directions métier des villes (état civil, RH, finances)."
    ),
    "baseline_notes": (
        "Référentiels : ISO/IEC 27001 annexe A (déclaration d'applicabilité) et guide d'hygiène de l'ANSSI."
    ),
    "monitoring_plan": (
        "Revue trimestrielle des mesures en comité de sécurité ; indicateurs : part des comptes "
        "d'administration sous MFA, taux de réussite des tests de restauration, délai de correction "
        "des vulnérabilités critiques. Nouvelle étude complète tous les trois ans ou après un "
        "incident majeur."
    ),
}
EBIOS_VALUES = {
    "etat_civil": ("État civil des villes", "information", "Directions de la population"),
    "paie": ("Paie et carrière des agents", "process", "Directions des ressources humaines"),
    "finances": ("Comptabilité et finances", "process", "Directions financières"),
    "familles": ("Facturation aux familles", "process", "Directions de l'enfance"),
}
# key: (name, kind, catalogue application or None, business values)
EBIOS_ASSETS = {
    "maestro": ("MAESTRO (Maestro Opus)", "application", "MAESTRO (Maestro Opus)", ["etat_civil"]),
    "sedit_rh": ("SEDIT RH", "application", "SEDIT RH (SEDIT WEB2) + e-modules", ["paie"]),
    "sedit_gf": ("SEDIT.GF", "application", "SEDIT.GF", ["finances"]),
    "polyfac": ("POLYFAC", "application", "POLYFAC / POLYFACT (v7)", ["familles"]),
    "cluster": (
        "Hyperviseurs et stockage du datacentre",
        "infrastructure",
        None,
        ["etat_civil", "paie", "finances", "familles"],
    ),
    "vpn": (
        "Accès VPN de télémaintenance des éditeurs",
        "service",
        None,
        ["etat_civil", "paie", "finances", "familles"],
    ),
}
# key: (business value, description, impacts, gravity)
EBIOS_EVENTS = {
    "ec_lost": (
        "etat_civil",
        "Registres d'état civil indisponibles plus de deux jours",
        "Actes non délivrés, mariages et décès non enregistrés",
        3,
    ),
    "ec_leak": (
        "etat_civil",
        "Divulgation de données d'état civil",
        "Atteinte aux personnes, sanction de la CNIL, image",
        3,
    ),
    "paie_ko": (
        "paie",
        "Paie des agents impossible à la date prévue",
        "Agents non payés, climat social, responsabilité des élus",
        4,
    ),
    "fin_alt": (
        "finances",
        "Altération des écritures comptables et des mandats",
        "Paiements frauduleux, comptes faux",
        3,
    ),
    "fam_ko": (
        "familles",
        "Facturation aux familles interrompue",
        "Recettes retardées, usagers mécontents",
        2,
    ),
}
# key: (risk origin, target objective, motivation, resources, activity, selected, justification)
EBIOS_PAIRS = {
    "ransom": (
        "Groupe cybercriminel",
        "Chiffrer les serveurs pour obtenir une rançon",
        4,
        3,
        4,
        True,
        "Menace la plus fréquente contre les collectivités.",
    ),
    "fraud": (
        "Fraudeur organisé",
        "Détourner des paiements (faux RIB, mandats)",
        3,
        2,
        3,
        True,
        "Tentatives de faux ordres de virement déjà reçues.",
    ),
    "insider": (
        "Administrateur malveillant ou négligent",
        "Saboter ou exfiltrer des données",
        2,
        3,
        2,
        True,
        "Droits étendus des équipes d'exploitation et des éditeurs.",
    ),
    "activist": (
        "Hacktiviste",
        "Défigurer un service en ligne",
        2,
        2,
        2,
        False,
        "Peu de services exposés hébergés sur la plateforme.",
    ),
    "state": (
        "Service de renseignement étatique",
        "Espionner les élus",
        1,
        4,
        1,
        False,
        "Objet étudié peu attractif pour cette source.",
    ),
}
# key: (name, category, dependency, penetration, maturity, trust)
EBIOS_STAKEHOLDERS = {
    "arpege": ("ARPEGE (éditeur, télémaintenance)", "provider", 3, 3, 2, 2),
    "bl": ("BERGER-LEVRAULT (éditeur SaaS et télémaintenance)", "provider", 4, 3, 3, 2),
    "technocarte": ("TECHNOCARTE (éditeur)", "provider", 2, 2, 2, 2),
    "host": ("Hébergeur du site de secours", "provider", 4, 4, 3, 3),
    "cities": ("Villes adhérentes (postes des agents)", "client", 4, 3, 1, 2),
}
# key: (pair, title, description, feared events, attack paths: (stakeholder or None, description))
EBIOS_STRATEGIC = {
    "s_ransom": (
        "ransom",
        "Rançongiciel sur la plateforme par le poste d'un agent ou un éditeur",
        "Le groupe entre par un poste d'une ville ou par l'accès de télémaintenance d'un éditeur, "
        "prend le contrôle de l'administration et chiffre hyperviseurs et sauvegardes.",
        ["ec_lost", "paie_ko", "fam_ko"],
        [
            ("cities", "Hameçonnage d'un agent, rebond par le réseau des villes"),
            ("bl", "Vol des identifiants VPN d'un technicien de l'éditeur"),
        ],
    ),
    "s_fraud": (
        "fraud",
        "Détournement de paiements par altération des données financières",
        "Le fraudeur obtient un compte applicatif et modifie des RIB de tiers avant les mandats.",
        ["fin_alt"],
        [
            ("cities", "Compte d'un agent des finances usurpé"),
            (None, "Faux courriel d'un fournisseur demandant un changement de RIB"),
        ],
    ),
    "s_insider": (
        "insider",
        "Exfiltration de l'état civil par un compte d'administration",
        "Un administrateur (ou un compte d'éditeur) extrait les bases d'état civil.",
        ["ec_leak"],
        [("arpege", "Compte de télémaintenance permanent de l'éditeur")],
    ),
}
# key: (strategic, title, mode of operation, assets, likelihood, treatment, plan, controls, residual,
# measures: (title, controls, due in days))
EBIOS_OPERATIONAL = {
    "o_phish": (
        "s_ransom",
        "Hameçonnage, élévation de privilèges et chiffrement des hyperviseurs",
        "Courriel piégé, vol de session, reconnaissance de l'Active Directory, compromission d'un "
        "compte d'administration, chiffrement des machines virtuelles et des sauvegardes en ligne.",
        ["cluster", "maestro", "sedit_rh"],
        3,
        "reduce",
        "Cloisonner l'administration, sauvegardes hors ligne, MFA des administrateurs.",
        ["A.8.2", "A.8.13"],
        (2, 3),
        [
            ("Sauvegardes hors ligne testées chaque trimestre", ["A.8.13"], 90),
            ("Postes d'administration dédiés et cloisonnés", ["A.8.2", "A.8.22"], 150),
        ],
    ),
    "o_vpn": (
        "s_ransom",
        "Intrusion par le VPN de télémaintenance d'un éditeur",
        "Identifiants d'un technicien volés chez l'éditeur, connexion VPN sans second facteur, "
        "déploiement du rançongiciel depuis le serveur applicatif.",
        ["vpn", "sedit_rh", "polyfac"],
        3,
        "reduce",
        "Second facteur et ouverture à la demande des accès des éditeurs.",
        ["A.5.19", "A.8.5"],
        (1, 3),
        [("MFA et ouverture à la demande du VPN des éditeurs", ["A.8.5", "A.5.20"], 60)],
    ),
    "o_rib": (
        "s_fraud",
        "Modification frauduleuse de RIB dans SEDIT.GF",
        "Compte d'un agent usurpé, modification des coordonnées bancaires de tiers, mandats émis.",
        ["sedit_gf"],
        2,
        "reduce",
        "Double validation des changements de RIB.",
        ["A.5.3"],
        (1, 2),
        [("Double validation des changements de coordonnées bancaires", ["A.5.3"], 45)],
    ),
    "o_dump": (
        "s_insider",
        "Extraction de la base d'état civil par un compte d'administration",
        "Export des tables MAESTRO depuis le serveur de base de données avec un compte partagé.",
        ["maestro", "cluster"],
        2,
        "accept",
        "Risque résiduel accepté en attendant la journalisation centralisée (2027).",
        ["A.8.15"],
        (2, 3),
        [],
    ),
}


def load_ebios(context: dict[str, Any]) -> None:
    """SIIM94's EBIOS RM study, written through the study's service (which fills the register)."""
    from risks.models import EbiosStudy  # noqa: PLC0415
    from risks.services import ebios  # noqa: PLC0415 — written beside this loader

    org: Organisation | None = context["organisations"].get(SYNDICATE)
    if org is None:
        return
    done = db.session.scalar(
        select(EbiosStudy.id)
        .where(EbiosStudy.organisation_id == org.id)
        .limit(1)
        .execution_options(**UNSCOPED)
    )  # unscoped: demo loader (CLI)
    if done is not None:
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
    k = ebios.KINDS
    study = ebios.create_study(
        org,
        owner,
        EBIOS_STUDY
        | {"started_on": today - timedelta(days=75), "next_review_on": today + timedelta(days=290)},
    )
    values = {
        key: ebios.save_item(
            k["business_value"], study, owner, {"name": n, "nature": nature, "responsible": who}
        )
        for key, (n, nature, who) in EBIOS_VALUES.items()
    }
    assets = {}
    for key, (name, kind, app, bvs) in EBIOS_ASSETS.items():
        data = {"name": name, "kind": kind, "business_value_ids": [values[b].id for b in bvs]}
        if app in apps:
            data["application_id"] = apps[app]
        assets[key] = ebios.save_item(k["asset"], study, owner, data)
    events = {
        key: ebios.save_item(
            k["feared_event"],
            study,
            owner,
            {"business_value_id": values[bv].id, "description": text, "impacts": impacts, "gravity": g},
        )
        for key, (bv, text, impacts, g) in EBIOS_EVENTS.items()
    }
    ebios.prefill_baseline(study, owner)
    pairs = {
        key: ebios.save_item(
            k["srov"],
            study,
            owner,
            {
                "risk_origin": ro,
                "target_objective": to,
                "motivation": m,
                "resources": r,
                "activity": a,
                "is_selected": selected,
                "justification": why,
            },
        )
        for key, (ro, to, m, r, a, selected, why) in EBIOS_PAIRS.items()
    }
    stakeholders = {
        key: ebios.save_item(
            k["stakeholder"],
            study,
            owner,
            {"name": n, "category": c, "dependency": d, "penetration": p, "maturity": mt, "trust": t},
        )
        for key, (n, c, d, p, mt, t) in EBIOS_STAKEHOLDERS.items()
    }
    strategic = {}
    for key, (pair, title, text, fes, paths) in EBIOS_STRATEGIC.items():
        strategic[key] = ebios.save_item(
            k["strategic"],
            study,
            owner,
            {
                "srov_id": pairs[pair].id,
                "title": title,
                "description": text,
                "feared_event_ids": [events[e].id for e in fes],
            },
        )
        for who, path in paths:
            ebios.save_item(
                k["attack_path"],
                study,
                owner,
                {
                    "scenario_id": strategic[key].id,
                    "stakeholder_id": stakeholders[who].id if who else None,
                    "description": path,
                },
            )
    for st, title, text, on, v, treatment, plan, controls, residual, measures in EBIOS_OPERATIONAL.values():
        op = ebios.save_item(
            k["operational"],
            study,
            owner,
            {
                "strategic_scenario_id": strategic[st].id,
                "title": title,
                "description": text,
                "asset_ids": [assets[a].id for a in on],
                "likelihood": v,
            },
        )
        accepted = (
            {"accepted_by": "Directeur général du SIIM94", "accepted_on": today - timedelta(days=10)}
            if treatment == "accept"
            else {}
        )
        ebios.save_item(
            k["treatment"],
            study,
            owner,
            {
                "treatment": treatment,
                "treatment_plan": plan,
                "control_ids": controls,
                "residual_likelihood": residual[0],
                "residual_impact": residual[1],
                "version": op.version,
            }
            | accepted,
            op,
        )
        for measure, measure_controls, days in measures:
            if owner is None:
                break
            ebios.save_item(
                k["measure"],
                study,
                owner,
                {
                    "scenario_id": op.id,
                    "title": measure,
                    "control_ids": measure_controls,
                    "owner_id": owner.id,
                    "due_on": today + timedelta(days=days),
                },
            )


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


# The parcours de cybersécurité of the demo. SIIM94: selected in 2021, 40,000 € received in 2021 for phase
# 1, the second 50,000 € expected in 2023 — deferred because the security plan slipped (seed facts); its
# measures from the seeds (the security-event centralisation tool, the backups on a dedicated network,
# the interconnections with the members, the Windows Server farms, the DAT per ISO 27001). SICIO: a pack
# relais in 2023 (Active Directory hardening, phishing campaign, MFA, a third immutable backup copy).
# Dates, costs, owners, SICIO's amounts and which measures are late are the demo's own.
# Measure: (title, theme, hygiene measures, Annex A controls, cost, spent, status, due (a date, or days
# from today), done on, conditions the phase-2 subsidy).
PARCOURS: dict[str, dict[str, Any]] = {
    "SIIM94": {
        "selected_on": date(2021, 5, 17),
        "provider": "Prestataire terrain référencé par l'ANSSI",
        "csirt": "CSIRT Île-de-France",
        "convention_reference": "France Relance — parcours de cybersécurité 2021",
        "notes": "Second versement reporté à 2023 : le plan de sécurisation a pris du retard.",
        "phases": {
            "diagnostic": (
                date(2021, 9, 1),
                date(2022, 6, 30),
                date(2022, 6, 30),
                0,
                "Diagnostic de maturité sur les 8 thèmes ; plan de sécurisation pluriannuel.",
            ),
            "corrective": (
                date(2022, 9, 1),
                180,
                None,
                30,
                "Mise en œuvre des mesures prioritaires du plan ; preuves de réalisation.",
            ),
        },
        "subsidies": [
            (
                "Subvention phase 1 (pack initial)",
                "diagnostic",
                "40000",
                date(2021, 10, 1),
                "40000",
                date(2021, 11, 15),
                "Sélection au parcours et lancement du diagnostic.",
            ),
            (
                "Subvention phase 2 (pack relais)",
                "corrective",
                "50000",
                date(2023, 12, 15),
                None,
                None,
                "Versement reporté de 2022 à 2023 : le plan de sécurisation a pris du retard. Conditionné "
                "à la mise en œuvre des mesures prioritaires, dont l'outil de centralisation des évènements.",
            ),
        ],
        "measures": [
            (
                "Outil de centralisation des évènements de sécurité (SIEM)",
                "T8",
                [36, 40],
                ["A.8.15", "A.8.16"],
                "60000",
                "18000",
                "in_progress",
                -45,
                None,
                True,
            ),
            (
                "Fermes Windows Server 2019 en haute disponibilité (obsolescence)",
                "T6",
                [34, 35],
                ["A.8.8"],
                "20000",
                "6500",
                "in_progress",
                -20,
                None,
                True,
            ),
            (
                "Sécurisation des interconnexions réseau et des accès Internet avec les adhérents",
                "T5",
                [22, 25],
                ["A.8.20", "A.8.22"],
                "30000",
                "4000",
                "in_progress",
                90,
                None,
                False,
            ),
            (
                "Sauvegardes consolidées sur un réseau dédié à 10 Gbit/s",
                "T3",
                [37],
                ["A.8.13"],
                "25000",
                "24200",
                "done",
                date(2022, 12, 15),
                date(2022, 11, 30),
                False,
            ),
            (
                "Dossier d'architecture et procédures mis à jour selon ISO 27001",
                "T1",
                [4, 38],
                ["A.5.37"],
                "8000",
                "7600",
                "done",
                date(2022, 12, 31),
                date(2022, 12, 16),
                False,
            ),
            (
                "Sensibilisation des agents au risque numérique",
                "T1",
                [2],
                ["A.6.3"],
                "5000",
                "0",
                "planned",
                60,
                None,
                False,
            ),
        ],
    },
    "SICIO": {
        "selected_on": date(2021, 6, 1),
        "provider": "Prestataire terrain référencé par l'ANSSI",
        "csirt": "CSIRT Île-de-France",
        "convention_reference": "France Relance — parcours de cybersécurité 2021",
        "notes": "Pack relais mené en 2023.",
        "phases": {
            "diagnostic": (
                date(2021, 9, 15),
                date(2022, 6, 30),
                date(2022, 6, 30),
                0,
                "Diagnostic de maturité ; plan de sécurisation.",
            ),
            "corrective": (
                date(2023, 1, 9),
                date(2023, 12, 31),
                None,
                30,
                "Pack relais : durcissement de l'Active Directory, hameçonnage, MFA, sauvegardes.",
            ),
        },
        "subsidies": [
            (
                "Subvention pack relais",
                "corrective",
                "35000",
                date(2023, 3, 31),
                "35000",
                date(2023, 4, 20),
                "Signature de la convention du pack relais.",
            ),
        ],
        "measures": [
            (
                "Durcissement de l'Active Directory",
                "T2",
                [5, 8, 9],
                ["A.5.15", "A.8.2"],
                "22000",
                "21500",
                "done",
                date(2023, 6, 30),
                date(2023, 6, 23),
                False,
            ),
            (
                "Campagne d'hameçonnage des agents des communes",
                "T1",
                [2],
                ["A.6.3"],
                "6000",
                "5800",
                "done",
                date(2023, 10, 31),
                date(2023, 10, 20),
                False,
            ),
            (
                "Double authentification (MFA) étendue à Bonneuil-sur-Marne et Valenton",
                "T2",
                [13],
                ["A.8.5"],
                "9000",
                "2000",
                "in_progress",
                -30,
                None,
                False,
            ),
            (
                "Troisième copie de sauvegarde externalisée, déconnectée et immuable",
                "T3",
                [37],
                ["A.8.13"],
                "15000",
                "14800",
                "done",
                date(2023, 12, 15),
                date(2023, 12, 8),
                False,
            ),
        ],
    },
}


def _on(value: Any, today: date) -> date:
    return value if isinstance(value, date) else today + timedelta(days=value)


def load_parcours(context: dict[str, Any]) -> None:
    from risks.models import Parcours  # noqa: PLC0415
    from risks.services import parcours as svc  # noqa: PLC0415 — written beside this loader

    today = local_today()
    for name, plan in PARCOURS.items():
        org: Organisation | None = context["organisations"].get(name)
        if org is None:
            continue
        has = db.session.scalar(
            select(Parcours.id).where(Parcours.organisation_id == org.id).execution_options(**UNSCOPED)
        )  # unscoped: demo loader (CLI)
        if has is not None:
            continue
        owner = _rssi(org)
        if owner is None:
            continue
        parcours = svc.save_parcours(org, None, {k: plan[k] for k in svc.PARCOURS_FIELDS if k in plan})
        phases = {p.kind.value: p for p in svc.phases(parcours)}
        for kind, (starts, ends, delivered, rate, deliverables) in plan["phases"].items():
            phase = phases[kind]
            svc.update_phase(
                phase,
                None,
                {
                    "version": phase.version,
                    "starts_on": starts,
                    "ends_on": _on(ends, today),
                    "delivered_on": delivered,
                    "cofinancing_rate": rate,
                    "deliverables": deliverables,
                },
            )
        subsidies = {}
        for label, kind, expected, expected_on, received, received_on, condition in plan["subsidies"]:
            subsidies[kind] = svc.create_subsidy(
                parcours,
                None,
                {
                    "label": label,
                    "phase_id": phases[kind].id,
                    "amount_expected": expected,
                    "expected_on": expected_on,
                    "amount_received": received,
                    "received_on": received_on,
                    "condition": condition,
                },
            )
        for title, theme, hygiene, controls, cost, spent, status, due, done_on, conditions in plan[
            "measures"
        ]:
            due_on = _on(due, today)
            data = {
                "title": title,
                "theme": theme,
                "phase_id": phases["corrective"].id,
                "hygiene_measures": hygiene,
                "control_ids": controls,
                "planned_cost": cost,
                "amount_spent": spent,
                "owner_id": owner.id,
                "status": status,
                "done_on": done_on,
                "subsidy_id": subsidies["corrective"].id if conditions else None,
                "due_on": max(due_on, today),  # a new action is not already due
            }
            measure = svc.create_measure(parcours, owner, data)
            if due_on < today:  # then its real deadline, through the same writer
                action = svc.action_of(measure)
                svc.update_measure(
                    measure,
                    owner,
                    data | {"due_on": due_on, "version": measure.version, "action_version": action.version},
                )


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
