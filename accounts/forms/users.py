"""Account forms: an account and the roles it holds. No database writes; choices are set by the view."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, ValidationError

from core.forms import VersionedForm, coerce_optional_int, enum_choices, strip
from core.security import Role


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
