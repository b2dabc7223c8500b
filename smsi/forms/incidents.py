"""The incident form, the timeline entry form (rules checked by smsi.services.incidents)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from core.db import utcnow
from core.forms import (
    LocalDateTimeField,
    MultiCheckboxField,
    VersionedForm,
    coerce_id,
    enum_choices,
    strip,
    to_choices,
)
from smsi.models import (
    Incident,
    IncidentCategory,
    IncidentStatus,
    NotificationKind,
    NotificationRecipient,
    Severity,
    TimelineKind,
)
from smsi.services import incidents as svc


def _text(label: Any, **kwargs: Any) -> TextAreaField:
    return TextAreaField(label, validators=[Optional(), Length(max=svc.MAX_TEXT)], filters=[strip], **kwargs)


class IncidentForm(VersionedForm):
    title = StringField(_l("Titre"), validators=[DataRequired(), Length(max=200)], filters=[strip])
    detected_at = LocalDateTimeField(
        _l("Détecté le"),
        validators=[DataRequired()],
        description=_l(
            "Heure de Paris. Le délai de 72 heures des violations ouvertes court depuis ce moment."
        ),
    )
    reported_by = StringField(_l("Signalé par"), validators=[Optional(), Length(max=200)], filters=[strip])
    category = SelectField(_l("Catégorie"), validators=[DataRequired()])
    severity = RadioField(_l("Gravité"), validators=[DataRequired()])
    description = _text(_l("Description"))
    impact_confidentiality = BooleanField(_l("Confidentialité"))
    impact_integrity = BooleanField(_l("Intégrité"))
    impact_availability = BooleanField(_l("Disponibilité"))
    application_ids = MultiCheckboxField(_l("Applications touchées"), coerce=coerce_id)
    affected_sites = _text(_l("Sites touchés"), description=_l("Bâtiments, salles, agences : un par ligne."))
    added_organisation_ids = MultiCheckboxField(
        _l("Autres organisations touchées"),
        coerce=coerce_id,
        description=_l("Celles qui ne sont pas abonnées aux applications touchées (un site, un réseau…)."),
    )
    excluded_organisation_ids = MultiCheckboxField(
        _l("Organisations non touchées"),
        coerce=coerce_id,
        description=_l(
            "Abonnées à une application touchée mais épargnées (une autre instance, un autre site)."
        ),
    )
    has_personal_data = BooleanField(
        _l("Des données personnelles sont en cause"),
        description=_l(
            "Une violation est alors ouverte dans le registre de chaque organisation touchée, son délai de "
            "72 heures courant depuis la détection, et son DPO est prévenu."
        ),
    )
    nis2_significant = BooleanField(
        _l("Incident important au sens de NIS2"),
        description=_l(
            "Pour une entité essentielle ou importante : alerte précoce sous 24 h, notification sous 72 h, "
            "rapport final sous un mois (CERT-FR / ANSSI)."
        ),
    )
    status = SelectField(
        _l("Statut"),
        validators=[DataRequired()],
        description=_l(
            "Dans l'ordre nouveau → qualifié → contenu → résolu → clos, des étapes pouvant être sautées ; "
            "un incident résolu ou clos se rouvre en le repassant à « Qualifié » ou « Contenu »."
        ),
    )
    root_cause = _text(_l("Cause première"), description=_l("Obligatoire pour clore l'incident."))
    lessons_learned = _text(_l("Enseignements tirés"), description=_l("Obligatoire pour clore l'incident."))

    # The service checks these too; the form says them beside the other errors of the same post
    # (an empty optional field stops its own validators: the closing rule is checked here).
    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        if self.status.data == IncidentStatus.CLOSED.value:
            for field, message in (
                (self.root_cause, _l("Pour clore l'incident, indiquez sa cause première.")),
                (self.lessons_learned, _l("Pour clore l'incident, indiquez les enseignements tirés.")),
            ):
                if not field.data:
                    field.errors = [*field.errors, message]
                    ok = False
        return ok

    def validate_detected_at(self, field: Any) -> None:
        if field.data and field.data > utcnow():
            raise ValidationError(_l("La détection ne peut pas être dans le futur."))

    def setup(
        self, *, applications: list[tuple[int, str]], organisations: list[tuple[int, str]]
    ) -> IncidentForm:
        self.category.choices = to_choices(
            ((c.value, c.label) for c in IncidentCategory), blank=_l("— choisir —")
        )
        self.severity.choices = [(s.value, s.label) for s in Severity]
        self.status.choices = enum_choices(IncidentStatus)
        self.application_ids.choices = to_choices(applications)
        self.added_organisation_ids.choices = to_choices(organisations)
        self.excluded_organisation_ids.choices = to_choices(organisations)
        return self

    def stored_application_ids(self, obj: Incident) -> list[int]:
        return [a.id for a in obj.applications]

    def stored_added_organisation_ids(self, obj: Incident) -> list[int]:
        return svc.added_ids(obj)


def initial_data(incident: Incident | None) -> dict[str, Any]:
    if incident is None:
        return {"status": IncidentStatus.NEW.value}
    data: dict[str, Any] = {name: getattr(incident, name) for name in svc.FIELDS}
    for name in ("category", "severity", "status"):
        data[name] = data[name].value
    data["application_ids"] = [a.id for a in incident.applications]
    data["added_organisation_ids"] = svc.added_ids(incident)
    data["version"] = incident.version
    return data


class TimelineForm(FlaskForm):
    kind = SelectField(_l("Étape"), validators=[DataRequired()])
    at = LocalDateTimeField(_l("Date et heure"), validators=[DataRequired()])
    text = TextAreaField(
        _l("Ce qui s'est passé"), validators=[DataRequired(), Length(max=svc.MAX_TEXT)], filters=[strip]
    )

    def setup(self) -> TimelineForm:
        self.kind.choices = enum_choices(TimelineKind)
        return self


class NotificationForm(FlaskForm):
    recipient = SelectField(_l("Destinataire"), validators=[DataRequired()])
    kind = SelectField(_l("Nature"), validators=[DataRequired()])
    notified_at = LocalDateTimeField(_l("Le"), validators=[DataRequired()])
    reference = StringField(_l("Référence"), validators=[Optional(), Length(max=100)], filters=[strip])
    note = TextAreaField(_l("Remarque"), validators=[Optional(), Length(max=svc.MAX_TEXT)], filters=[strip])

    def setup(self) -> NotificationForm:
        self.recipient.choices = to_choices(
            ((r.value, r.label) for r in NotificationRecipient), blank=_l("— choisir —")
        )
        self.kind.choices = enum_choices(NotificationKind)
        return self
