"""The public register settings form (the DPO chooses what is published)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from core.forms import MultiCheckboxField, VersionedForm, strip, to_choices
from registers.models import RegisterPublication
from registers.services import publication as pub


class PublicationForm(VersionedForm):
    is_published = BooleanField(
        _l("Publier le registre"),
        description=_l("La page est alors accessible à tous, sans connexion, à l'adresse ci-dessous."),
    )
    slug = StringField(
        _l("Adresse de la page publique"),
        validators=[DataRequired(), Length(max=pub.SLUG_MAX)],
        filters=[strip, lambda v: v.lower() if isinstance(v, str) else v],
        description=_l("Lettres minuscules sans accent, chiffres et tirets (ex. : ville-de-vitry)."),
    )
    introduction = TextAreaField(
        _l("Texte d'introduction"),
        validators=[Optional(), Length(max=5000)],
        filters=[strip],
        description=_l("Affiché en tête de la page publique (contexte, modalités d'exercice des droits…)."),
    )
    fields = MultiCheckboxField(
        _l("Informations publiées pour chaque fiche validée"),
        choices=to_choices(pub.PUBLIC_FIELDS.items()),
    )
    noindex = BooleanField(
        _l("Demander aux moteurs de recherche de ne pas indexer la page"),
    )

    def __init__(self, *args: Any, obj: RegisterPublication | None = None, **kwargs: Any) -> None:
        super().__init__(*args, obj=obj, **kwargs)
        if obj is not None and not self.is_submitted():
            self.fields.data = pub.shown_fields(obj)
            self.noindex.data = pub.is_noindex(obj)

    # Stored values shown on the conflict page (core.concurrency.conflict_rows).
    @staticmethod
    def stored_fields(obj: RegisterPublication) -> list[str]:
        return pub.shown_fields(obj)

    @staticmethod
    def stored_noindex(obj: RegisterPublication) -> bool:
        return pub.is_noindex(obj)
