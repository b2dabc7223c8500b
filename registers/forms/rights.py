"""Form of a data subject's rights request (rules checked by registers.services.rights)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from core.forms import (
    BoundedDateField,
    VersionedForm,
    coerce_optional_int,
    enum_choices,
    none_if_empty,
    strip,
)
from registers.models import RequestStatus, RightType


class RightsRequestForm(VersionedForm):
    """``activity_id`` choices are set by the view (the organisation's fiches); the service checks
    that the chosen one belongs to the organisation, hence ``validate_choice=False``."""

    reference = StringField(
        _l("Référence"),
        validators=[Optional(), Length(max=30)],
        filters=[strip, none_if_empty],
        description=_l("Laissée vide : attribuée automatiquement (DRO-année-numéro)."),
    )
    right = SelectField(_l("Droit exercé"), choices=enum_choices(RightType), validators=[DataRequired()])
    requester_name = StringField(
        _l("Demandeur"), validators=[DataRequired(), Length(max=200)], filters=[strip]
    )
    requester_contact = StringField(
        _l("Coordonnées du demandeur"),
        validators=[Optional(), Length(max=300)],
        filters=[strip, none_if_empty],
        description=_l("Adresse postale ou électronique à laquelle répondre."),
    )
    received_on = BoundedDateField(
        _l("Reçue le"),
        validators=[DataRequired()],
        description=_l("Le délai de réponse d'un mois court à partir de cette date (art. 12.3)."),
    )
    identity_checked = BooleanField(_l("Identité du demandeur vérifiée"))
    identity_checked_on = BoundedDateField(_l("Identité vérifiée le"), validators=[Optional()])
    activity_id = SelectField(
        _l("Traitement concerné"), coerce=coerce_optional_int, validate_choice=False, validators=[Optional()]
    )
    assigned_to_id = SelectField(
        _l("Suivie par"),
        coerce=coerce_optional_int,
        validate_choice=False,
        validators=[Optional()],
        description=_l("Le DPO ou le référent qui traite la demande : elle apparaît sur sa page d'accueil."),
    )
    details = TextAreaField(
        _l("Objet de la demande"), validators=[Optional(), Length(max=5000)], filters=[strip, none_if_empty]
    )
    is_extended = BooleanField(
        _l("Délai prolongé de deux mois"),
        description=_l("Possible en raison de la complexité ou du nombre de demandes (art. 12.3)."),
    )
    extension_notified_on = BoundedDateField(
        _l("Demandeur informé de la prolongation le"),
        validators=[Optional()],
        description=_l("Au plus tard dans le premier mois suivant la réception."),
    )
    extension_reason = TextAreaField(
        _l("Motifs de la prolongation"),
        validators=[Optional(), Length(max=5000)],
        filters=[strip, none_if_empty],
    )
    status = SelectField(_l("Statut"), choices=enum_choices(RequestStatus), validators=[DataRequired()])
    answered_on = BoundedDateField(_l("Réponse envoyée le"), validators=[Optional()])
    answer_summary = TextAreaField(
        _l("Réponse apportée"),
        validators=[Optional(), Length(max=5000)],
        filters=[strip, none_if_empty],
        description=_l("Résumé de la réponse, ou motifs du refus et voies de recours indiqués."),
    )
