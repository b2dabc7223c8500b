"""Readable journal labels for the accounts' actions (installed by the Domain record)."""

from typing import Any

from flask_babel import lazy_gettext as _l

ACTION_LABELS: dict[str, Any] = {
    "login.failure": _l("Échec de connexion"),
    "login.success": _l("Connexion"),
    "membership.grant": _l("Rôle attribué"),
    "membership.revoke": _l("Rôle retiré"),
    "mfa.enrol": _l("Double authentification activée"),
    "mfa.enrol.failure": _l("Échec d'activation de la double authentification"),
    "mfa.failure": _l("Échec de double authentification"),
    "mfa.recovery_codes.regenerate": _l("Codes de secours régénérés"),
    "mfa.reset": _l("Double authentification réinitialisée"),
    "mfa.success": _l("Double authentification réussie"),
    "organisation.create": _l("Organisation créée"),
    "organisation.leave": _l("Départ d'une organisation"),
    "organisation.merge": _l("Fusion d'une organisation"),
    "organisation.rejoin": _l("Départ annulé"),
    "organisation.update": _l("Organisation modifiée"),
    "password.change": _l("Mot de passe changé"),
    "password.change.failure": _l("Échec de changement de mot de passe"),
    "password.invitation": _l("Mot de passe choisi (invitation)"),
    "password.reset": _l("Mot de passe réinitialisé"),
    "password.reset.request": _l("Réinitialisation demandée"),
    "password.reset.request.unknown": _l("Réinitialisation demandée pour une adresse inconnue"),
    "user.create": _l("Compte créé"),
    "user.invite": _l("Invitation envoyée"),
    "user.unlock": _l("Compte débloqué"),
    "user.update": _l("Compte modifié"),
}

# session.revoke.<reason>: logout, idle, expired, password change…
PREFIX_LABELS: dict[str, Any] = {"session.revoke.": _l("Session fermée")}
