"""Organisation forms (the organisation, its departure). No database writes; choices are set by the
view from services."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp, ValidationError

from accounts.models import Nis2Entity, OrgKind, OrgRelation
from core.forms import (
    BoundedDateField,
    VersionedForm,
    coerce_optional_int,
    enum_choices,
    none_if_empty,
    strip,
)
from core.validators import normalise_siren, siren_is_valid


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
