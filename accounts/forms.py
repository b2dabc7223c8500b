"""Account and organisation forms. No database writes; choices are set by the view from services."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, Regexp, ValidationError

from accounts.models import ApiTokenScope, Nis2Entity, OrgKind, OrgRelation
from core.forms import (
    BoundedDateField,
    VersionedForm,
    coerce_optional_int,
    enum_choices,
    none_if_empty,
    strip,
)
from core.security import Role
from core.validators import normalise_siren, siren_is_valid


class LoginForm(FlaskForm):
    email = StringField(
        _l("Adresse électronique"),
        validators=[DataRequired(), Length(max=254)],
        filters=[strip],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        _l("Mot de passe"),
        validators=[DataRequired(), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )


def validate_siren(form: FlaskForm, field: StringField) -> None:
    if field.data and not siren_is_valid(field.data):
        raise ValidationError(
            _l("SIREN invalide : 9 chiffres dont le dernier est une clé de contrôle (algorithme de Luhn).")
        )


class OrganisationForm(VersionedForm):
    name = StringField(_l("Nom"), validators=[DataRequired(), Length(max=200)], filters=[strip])
    short_name = StringField(
        _l("Sigle"), validators=[Optional(), Length(max=60)], filters=[strip, none_if_empty]
    )
    kind = SelectField(_l("Type"), choices=enum_choices(OrgKind), validators=[DataRequired()])
    relation = SelectField(
        _l("Relation avec le syndicat"),
        choices=enum_choices(OrgRelation),
        validators=[DataRequired()],
    )
    syndicate_id = SelectField(
        # No Optional(): it would stop the chain before validate_syndicate_id, which decides.
        _l("Syndicat"),
        coerce=coerce_optional_int,
        validate_choice=True,
    )
    parent_id = SelectField(
        _l("Organisation parente"),
        coerce=coerce_optional_int,
        validators=[Optional()],
        description=_l("Par exemple la ville dont dépend un CCAS."),
    )
    siren = StringField(
        _l("SIREN"),
        validators=[Optional(), validate_siren],
        filters=[normalise_siren, none_if_empty],
        description=_l("9 chiffres, espaces acceptés."),
    )
    address = StringField(
        _l("Adresse"), validators=[Optional(), Length(max=200)], filters=[strip, none_if_empty]
    )
    postal_code = StringField(
        _l("Code postal"),
        validators=[Optional(), Regexp(r"^\d{5}$", message=_l("Code postal : 5 chiffres."))],
        filters=[strip, none_if_empty],
    )
    city = StringField(
        _l("Commune"), validators=[Optional(), Length(max=100)], filters=[strip, none_if_empty]
    )
    head_title = StringField(
        _l("Fonction de l'exécutif"),
        validators=[Optional(), Length(max=100)],
        filters=[strip, none_if_empty],
        description=_l("Maire, président·e, directeur·rice…"),
    )
    head_name = StringField(
        _l("Nom de l'exécutif"), validators=[Optional(), Length(max=150)], filters=[strip, none_if_empty]
    )
    dpo_name = StringField(
        _l("DPO : nom"), validators=[Optional(), Length(max=150)], filters=[strip, none_if_empty]
    )
    dpo_email = EmailField(
        _l("DPO : adresse électronique"),
        validators=[Optional(), Email(check_deliverability=False), Length(max=254)],
        filters=[strip, none_if_empty],
    )
    dpo_phone = StringField(
        _l("DPO : téléphone"), validators=[Optional(), Length(max=30)], filters=[strip, none_if_empty]
    )
    cnil_dpo_number = StringField(
        _l("N° de désignation du DPO auprès de la CNIL"),
        validators=[Optional(), Length(max=30)],
        filters=[strip, none_if_empty],
    )
    joined_on = BoundedDateField(_l("Adhésion le"), validators=[Optional()])
    dpo_service_since = BoundedDateField(
        _l("Servi par le DPO mutualisé depuis le"),
        validators=[Optional()],
        description=_l("Laisser vide si l'organisation n'a pas recours au DPO mutualisé."),
    )
    mfa_required_for_all = BooleanField(
        _l("Double authentification obligatoire pour tous ses utilisateurs"),
        description=_l("Elle l'est toujours pour les administrateurs, RSSI, DPO et auditeurs."),
    )
    nis2_entity = SelectField(
        _l("Directive NIS2"),
        choices=enum_choices(Nis2Entity),
        default=Nis2Entity.NONE.value,
        validators=[DataRequired()],
        description=_l(
            "Entité essentielle ou importante : le journal des incidents suit les échéances de "
            "notification de ses incidents importants (24 h, 72 h, un mois)."
        ),
    )
    notes = TextAreaField(
        _l("Notes"), validators=[Optional(), Length(max=5000)], filters=[strip, none_if_empty]
    )

    def without(self, names: Iterable[str]) -> OrganisationForm:
        """Remove fields the person may not change: neither shown nor read from what is posted."""
        for name in names:
            if name in self:
                del self[name]
        return self

    def validate_syndicate_id(self, field: SelectField) -> None:
        if self.relation.data == OrgRelation.SYNDICATE and field.data:
            raise ValidationError(_l("Un syndicat n'est rattaché à aucun autre syndicat."))
        if self.relation.data != OrgRelation.SYNDICATE and not field.data:
            raise ValidationError(_l("Choisissez le syndicat auquel l'organisation est rattachée."))


class DepartureForm(VersionedForm):
    left_on = BoundedDateField(_l("Départ le"), validators=[DataRequired()])
    merged_into_id = SelectField(
        _l("Fusionnée dans"),
        coerce=coerce_optional_int,
        validators=[Optional()],
        description=_l("En cas de fusion : l'organisation qui lui succède. Sinon, laisser vide."),
    )


class UserForm(VersionedForm):
    full_name = StringField(_l("Nom complet"), validators=[DataRequired(), Length(max=150)], filters=[strip])
    email = EmailField(
        _l("Adresse électronique"),
        validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)],
        filters=[strip],
    )
    is_enabled = BooleanField(_l("Compte actif"), default=True)


class UserCreateForm(UserForm):
    """New accounts are invited: the person chooses the password through a single-use link."""


def strong_password(form: FlaskForm, field: PasswordField) -> None:
    """The password policy (accounts.password_policy): length, common passwords, guessability."""
    from accounts.password_policy import check_password  # noqa: PLC0415 — keeps forms import-light

    inputs = [v for v in (getattr(form, "_user_inputs", None) or ()) if v]
    errors = check_password(field.data or "", user_inputs=inputs)
    if errors:
        raise ValidationError(" ".join(str(e) for e in errors))


def _new_password_field(label: Any) -> PasswordField:
    return PasswordField(
        label,
        validators=[DataRequired(), strong_password],
        description=_l(
            "Au moins 12 caractères, sans règle de composition : une phrase de passe de plusieurs mots "
            "est idéale. Les mots de passe trop courants sont refusés."
        ),
        render_kw={"autocomplete": "new-password", "data-strength-meter": "1"},
    )


def _confirm_field() -> PasswordField:
    return PasswordField(
        _l("Confirmation"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("Les deux saisies diffèrent."))],
        render_kw={"autocomplete": "new-password"},
    )


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(
        _l("Mot de passe actuel"), validators=[DataRequired()], render_kw={"autocomplete": "current-password"}
    )
    new_password = _new_password_field(_l("Nouveau mot de passe"))
    confirm = _confirm_field()


class PasswordSetForm(FlaskForm):
    new_password = _new_password_field(_l("Mot de passe"))
    confirm = _confirm_field()


class PasswordForgotForm(FlaskForm):
    email = StringField(
        _l("Adresse électronique"),
        validators=[DataRequired(), Length(max=254)],
        filters=[strip],
        render_kw={"autocomplete": "username"},
    )


class SecondFactorForm(FlaskForm):
    code = StringField(
        _l("Code"),
        validators=[DataRequired(), Length(max=40)],
        filters=[strip],
        description=_l(
            "Le code à 6 chiffres de votre application d'authentification, ou un code de secours."
        ),
        render_kw={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True},
    )


class DigestForm(FlaskForm):
    """Mon compte: the weekly digest of deadlines (accounts.digest), sent unless unticked."""

    is_digest_subscribed = BooleanField(_l("Recevoir chaque lundi le récapitulatif des échéances"))


class ApiTokenForm(FlaskForm):
    """Mon compte: a personal access token for the JSON API (accounts.api_tokens)."""

    name = StringField(_l("Nom du jeton"), validators=[DataRequired(), Length(max=100)], filters=[strip])
    organisation_id = SelectField(_l("Organisation"), coerce=coerce_optional_int, validate_choice=False)
    scope = SelectField(_l("Portée"), choices=enum_choices(ApiTokenScope), default=ApiTokenScope.READ.value)
    expires_on = BoundedDateField(_l("Expire le"), validators=[DataRequired()])


class ReauthenticateForm(FlaskForm):
    password = PasswordField(
        _l("Mot de passe"), validators=[DataRequired()], render_kw={"autocomplete": "current-password"}
    )


# The role form offers the least privileged role first and selects it: the reader writes nothing and
# reads no journal. The platform administrator comes last and needs a confirmation.
ROLES_LEAST_PRIVILEGED_FIRST = (Role.READER, Role.AUDITOR, Role.REFERENT, Role.DPO, Role.RSSI, Role.ADMIN)


class MembershipForm(FlaskForm):
    """Give a role in an organisation. The organisation is chosen (no first one picked for the
    administrator), the role defaults to the least privileged one, and granting the platform
    administrator role takes an explicit confirmation, checked here on the server."""

    organisation_id = SelectField(
        _l("Organisation"),
        coerce=coerce_optional_int,
        validators=[DataRequired(_l("Choisissez l'organisation."))],
    )
    role = SelectField(
        _l("Rôle"),
        choices=enum_choices(ROLES_LEAST_PRIVILEGED_FIRST),
        default=ROLES_LEAST_PRIVILEGED_FIRST[0].value,
        validators=[DataRequired()],
    )
    confirm_admin = BooleanField(
        _l("Je confirme donner le rôle « Administrateur de la plateforme »"),
        description=_l(
            "Obligatoire pour ce rôle seulement : il gère toutes les organisations, tous les comptes et "
            "le catalogue de la plateforme."
        ),
    )

    def validate_confirm_admin(self, field: BooleanField) -> None:
        if self.role.data == Role.ADMIN.value and not field.data:
            raise ValidationError(
                _l(
                    "Cochez la confirmation pour donner le rôle « Administrateur de la plateforme » : "
                    "il gère toutes les organisations et tous les comptes."
                )
            )
