"""How the journal reads the accounts' entries (installed by the Domain record): the actions, and the
organisations, accounts and roles with their fields as on the forms."""

from typing import Any

from flask_babel import lazy_gettext as _l

from accounts.forms.auth import ApiTokenForm
from accounts.forms.organisations import DepartureForm, OrganisationForm
from accounts.forms.users import UserForm
from accounts.models import ApiTokenScope, OrgKind, OrgRelation
from accounts.services import api_tokens, organisations, users
from core.forms import enum_text, form_labels
from core.journal import JournalType
from core.security import Permission, Role

ACTION_LABELS: dict[str, Any] = {
    "api_token.create": _l("Jeton d'accès à l'API créé"),
    "api_token.revoke": _l("Jeton d'accès à l'API révoqué"),
    "api_token.use": _l("Appel de l'API avec un jeton"),
    "login.failure": _l("Échec de connexion"),
    "login.success": _l("Connexion"),
    "membership.grant": _l("Rôle attribué"),
    "membership.revoke": _l("Rôle retiré"),
    "account.digest": _l("Récapitulatif hebdomadaire activé ou désactivé"),
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


# What the sign-in entries record, in words.
SIGN_IN_REASONS: dict[str, Any] = {
    "unknown account": _l("adresse inconnue"),
    "bad password": _l("mot de passe incorrect"),
    "locked": _l("compte bloqué"),
    "disabled": _l("compte désactivé"),
}
SECOND_FACTOR_METHODS: dict[str, Any] = {
    "totp": _l("application d'authentification"),
    "recovery code": _l("code de secours"),
}


def _words(table: dict[str, Any]) -> Any:
    return lambda value: str(table.get(value, value))


_organisation_names = organisations.organisation_names
JOURNAL_TYPES: dict[str, JournalType] = {
    "Organisation": JournalType(
        _l("Organisation"),
        fields=form_labels(OrganisationForm) | form_labels(DepartureForm, "left_on", "merged_into_id"),
        values={"kind": enum_text(OrgKind), "relation": enum_text(OrgRelation)},
        names=dict.fromkeys(("syndicate_id", "parent_id", "merged_into_id"), _organisation_names),
        title=_organisation_names,
        link=("accounts.organisation_detail", "org_id"),
    ),
    "User": JournalType(
        _l("Compte"),
        fields=form_labels(UserForm)
        | {
            "reason": _l("Motif"),
            "failures": _l("Échecs consécutifs"),
            "method": _l("Moyen"),
            "totp_enabled": _l("Double authentification activée"),
            "locked_until": _l("Bloqué jusqu'au"),
            "session_id": _l("Session (n°)"),
            "is_digest_subscribed": _l("Récapitulatif hebdomadaire"),
        },
        values={"reason": _words(SIGN_IN_REASONS), "method": _words(SECOND_FACTOR_METHODS)},
        title=users.user_names,
        link=("accounts.user_detail", "user_id"),
        link_permission=Permission.USERS_MANAGE,
    ),
    "Membership": JournalType(
        _l("Rôle"),
        fields={"role": _l("Rôle"), "user_id": _l("Compte")},
        values={"role": enum_text(Role)},
        names={"user_id": users.user_names},
        title=users.membership_titles,
    ),
}
JOURNAL_TYPES["ApiToken"] = JournalType(
    _l("Jeton d'accès à l'API"),
    fields=form_labels(ApiTokenForm, "name", "scope", "expires_on")
    | {"prefix": _l("Début du jeton"), "revoked_at": _l("Révoqué le")},
    values={"scope": enum_text(ApiTokenScope)},
    title=api_tokens.token_titles,
)
# Entries journalled before current_user was unwrapped (core.audit.record) carry the proxy's class name.
JOURNAL_TYPES["LocalProxy"] = JOURNAL_TYPES["User"]
