"""Login, second factor, passwords and the own account's settings (digest, API tokens). No database writes."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from accounts.models import ApiTokenScope
from core.forms import BoundedDateField, coerce_optional_int, enum_choices, strip


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


def strong_password(form: FlaskForm, field: PasswordField) -> None:
    """The password policy (accounts.services.password_policy): length, common passwords, guessability."""
    from accounts.services.password_policy import check_password  # noqa: PLC0415 — keeps forms import-light

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
    """Mon compte: the weekly digest of deadlines (accounts.services.digest), sent unless unticked."""

    is_digest_subscribed = BooleanField(_l("Recevoir chaque lundi le récapitulatif des échéances"))


class ApiTokenForm(FlaskForm):
    """Mon compte: a personal access token for the JSON API (accounts.services.api_tokens)."""

    name = StringField(_l("Nom du jeton"), validators=[DataRequired(), Length(max=100)], filters=[strip])
    organisation_id = SelectField(_l("Organisation"), coerce=coerce_optional_int, validate_choice=False)
    scope = SelectField(_l("Portée"), choices=enum_choices(ApiTokenScope), default=ApiTokenScope.READ.value)
    expires_on = BoundedDateField(_l("Expire le"), validators=[DataRequired()])


class ReauthenticateForm(FlaskForm):
    password = PasswordField(
        _l("Mot de passe"), validators=[DataRequired()], render_kw={"autocomplete": "current-password"}
    )
