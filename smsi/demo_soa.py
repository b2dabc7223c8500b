"""Demonstration data of the Statement of Applicability (``flask demo load``, the SMSI's step): the
SIIM94's statement, partly implemented — most controls applicable, a few excluded with their
justification, the physical controls of the hosted data centre partly implemented — approved once
(version 1), then worked on (two controls moved since, so the comparison shows something).

Idempotent: a syndicate whose statement has an entry is left alone. Written through the service,
by the syndicate's RSSI, so the journal tells it like any other change (demo texts are French)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from accounts.models import Membership, Organisation, User
from core.extensions import db
from core.security import Role
from core.tenancy import UNSCOPED
from smsi import reference as ref
from smsi.models import SoaEntry
from smsi.services import soa

SYNDICATE = "SIIM94"

IMPLEMENTED = {
    "A.5.1": "Politique de sécurité du SIIM94 adoptée par le comité syndical, revue chaque année.",
    "A.5.2": "Fiche de fonction du RSSI ; référents sécurité désignés dans chaque service.",
    "A.5.4": "Engagement de la direction dans la politique ; revue de direction semestrielle.",
    "A.5.5": "Contacts ANSSI (CSIRT régional), CNIL et gendarmerie tenus à jour par le RSSI.",
    "A.5.15": "Politique de contrôle d'accès : moindre privilège, revue annuelle des comptes.",
    "A.5.16": "Annuaire unique (AD) ; création et départ via le formulaire RH → DSI.",
    "A.5.17": "Mots de passe de 12 caractères au moins, MFA pour l'accès distant et l'administration.",
    "A.5.24": "Procédure de gestion des incidents publiée ; astreinte de la DSI.",
    "A.5.34": "Registre RGPD tenu dans Égide, DPO mutualisé pour les adhérents.",
    "A.6.7": "Télétravail par VPN avec MFA, postes chiffrés, charte signée.",
    "A.8.5": "MFA sur les consoles d'administration et la messagerie.",
    "A.8.7": "Antivirus EDR sur tous les postes et serveurs, console centralisée.",
    "A.8.13": "Sauvegardes quotidiennes chiffrées, copie hors ligne hebdomadaire, "
    "test de restauration trimestriel.",
    "A.8.15": "Journaux centralisés (SIEM) conservés un an.",
}
PARTIAL = {
    "A.5.9": "Inventaire des applications tenu dans le catalogue ; inventaire matériel à compléter.",
    "A.5.12": "Classification définie ; marquage des documents pas encore généralisé.",
    "A.5.19": "Clauses de sécurité dans les nouveaux marchés ; anciens contrats à reprendre.",
    "A.5.20": "Plan d'assurance sécurité demandé aux hébergeurs, pas encore aux éditeurs SaaS.",
    "A.5.23": "Exigences pour les services en nuage rédigées, revue des contrats SaaS en cours.",
    "A.5.29": "Plan de continuité rédigé pour la messagerie et la paie ; le reste à faire.",
    "A.5.30": "Site de secours identifié ; exercice de bascule prévu au printemps.",
    "A.6.3": "Sensibilisation annuelle des agents du syndicat ; adhérents à partir de 2027.",
    "A.7.1": "Centre de données hébergé chez un prestataire certifié ; "
    "salle technique d'Ivry en cours de mise à niveau.",
    "A.7.2": "Badges nominatifs au centre de données ; la salle d'Ivry n'a qu'une serrure à clé.",
    "A.7.4": "Vidéosurveillance chez l'hébergeur ; pas encore de détection d'intrusion à Ivry.",
    "A.7.5": "Détection incendie et climatisation redondée chez l'hébergeur ; à Ivry, climatisation simple.",
    "A.7.11": "Onduleurs dimensionnés ; groupe électrogène chez l'hébergeur seulement.",
    "A.8.8": "Scans de vulnérabilités mensuels sur les serveurs exposés ; postes à couvrir.",
    "A.8.9": "Configurations de référence des serveurs ; postes de travail à documenter.",
    "A.8.20": "Pare-feu en cluster ; revue des règles à formaliser.",
    "A.8.22": "Réseaux des adhérents séparés par VLAN ; DMZ à revoir.",
    "A.8.32": "Comité de changement hebdomadaire pour la production ; pas encore pour le réseau.",
}
EXCLUDED = {
    "A.8.25": "Le SIIM94 ne développe pas de logiciel : les applications sont des progiciels d'éditeurs, "
    "dont la sécurité du développement relève des contrats (A.5.20).",
    "A.8.28": "Aucun développement interne : pas de code produit par le syndicat.",
    "A.8.4": "Le syndicat n'a pas de code source en propre ; les éditeurs le conservent.",
    "A.7.6": "Aucune zone sécurisée où des agents travaillent : "
    "le centre de données est exploité par l'hébergeur.",
}
LEGAL = {"A.5.31", "A.5.32", "A.5.33", "A.5.34", "A.5.5", "A.6.4"}
CONTRACTUAL = {"A.5.19", "A.5.20", "A.5.21", "A.5.22", "A.5.23", "A.6.6", "A.8.30"}
# After version 1: what changed since (the comparison with the current state shows them).
LATER = {
    "A.7.2": (
        "implemented",
        "Badges nominatifs au centre de données et, depuis novembre, à la salle d'Ivry.",
    ),
    "A.8.8": ("implemented", "Scans de vulnérabilités mensuels sur les serveurs et les postes."),
}


def _rssi(org: Organisation) -> User | None:
    stmt = (
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.organisation_id == org.id,
            Membership.role == Role.RSSI,
            Membership.revoked_at.is_(None),
        )
        .order_by(User.email)
        .execution_options(**UNSCOPED)  # unscoped: demo loader (CLI), filtered on the syndicate
    )
    return db.session.scalars(stmt).first()


def _data(control: ref.Control, owner_id: int | None) -> dict[str, Any]:
    cid = control.id
    if cid in EXCLUDED:
        return {"applicable": "no", "exclusion_justification": EXCLUDED[cid], "version": ""}
    reasons = ["risk"]
    if cid in LEGAL:
        reasons.insert(0, "legal")
    if cid in CONTRACTUAL:
        reasons.insert(0, "contractual")
    if control.theme in ("5", "6"):
        reasons.append("best_practice")
    if cid in IMPLEMENTED:
        status, text = "implemented", IMPLEMENTED[cid]
    elif cid in PARTIAL:
        status, text = "partial", PARTIAL[cid]
    else:
        status, text = "not_started", None
    return {
        "applicable": "yes",
        "reasons": reasons,
        "status": status,
        "owner_id": owner_id if status != "not_started" else None,
        "implementation": text,
        "version": "",
    }


def load_soa(context: dict[str, Any]) -> None:
    org = context["organisations"].get(SYNDICATE)
    if org is None:
        return
    # unscoped: the demo loader runs outside any request
    done = db.session.scalar(
        select(SoaEntry.id).where(SoaEntry.organisation_id == org.id).limit(1).execution_options(**UNSCOPED)
    )
    if done is not None:
        return
    rssi = _rssi(org)
    if rssi is None:
        return
    # Themes 5 to 7 and the first half of theme 8 assessed; the rest not yet.
    assessed = [c for c in ref.controls() if c.theme != "8" or c.position < 80 or c.id in EXCLUDED]
    for control in assessed:
        soa.save_entry(org, rssi, control, _data(control, rssi.id))
    soa.approve(org, rssi, "Première version, présentée à la revue de direction du syndicat.")
    for cid, (status, text) in LATER.items():
        entry = soa.entry_of(org.id, cid)
        control = ref.control(cid)
        if entry is None or control is None:
            continue
        data = {**_data(control, rssi.id), "status": status, "implementation": text, "version": entry.version}
        soa.save_entry(org, rssi, control, data)
    db.session.flush()
