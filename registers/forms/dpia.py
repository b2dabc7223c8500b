"""The DPIA (AIPD) screening form of a fiche: the nine WP248 criteria, the CNIL lists, the DPIA's state."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectField, TextAreaField
from wtforms.validators import Length, Optional

from core.forms import BoundedDateField, VersionedForm, enum_choices, strip, to_choices
from registers import reference as ref
from registers.models import DpiaStatus, ProcessingActivity
from registers.services import activities as acts

# Help text of the nine WP248 criteria (our own wording, with examples from a local authority).
CRITERIA_HELP: dict[str, Any] = {
    "evaluation_scoring": _l(
        "Évaluer des personnes ou leur attribuer une note, prédire leur comportement (ex. : calcul "
        "d'un quotient familial avec profil de risque, détection de fraude)."
    ),
    "decision_automatisee": _l(
        "Une décision produisant des effets juridiques est prise sans intervention humaine (ex. : "
        "attribution automatique d'une place en crèche)."
    ),
    "surveillance_systematique": _l(
        "Observation, surveillance ou contrôle des personnes, y compris dans un lieu public (ex. : "
        "vidéoprotection, géolocalisation des véhicules, journaux d'activité nominatifs)."
    ),
    "donnees_sensibles": _l(
        "Données de l'art. 9 ou 10, ou à caractère hautement personnel (santé, action sociale, "
        "situation financière, NIR, infractions)."
    ),
    "grande_echelle": _l(
        "Nombre de personnes concernées, volume de données, durée ou étendue géographique importants "
        "(ex. : tous les usagers d'une commune)."
    ),
    "croisement": _l("Combinaison de jeux de données issus de traitements ou de responsables différents."),
    "personnes_vulnerables": _l(
        "Enfants, personnes âgées ou handicapées, demandeurs d'aide sociale, agents vis-à-vis de leur "
        "employeur : déséquilibre dans la relation."
    ),
    "usage_innovant": _l(
        "Nouvelle technologie ou usage nouveau d'une technologie (biométrie, objets connectés, "
        "intelligence artificielle)."
    ),
    "exclusion_droit_service": _l(
        "Le traitement peut priver une personne d'un droit, d'une prestation ou d'un contrat (ex. : "
        "instruction d'une aide sociale ou d'un logement)."
    ),
}

CRITERION_PREFIX = "criterion_"

# Created before the class body's fields, so that the criteria come first (wtforms keeps the order
# in which fields are created): the conflict page lists them in the order of the page.
_CRITERIA_FIELDS = {
    f"{CRITERION_PREFIX}{criterion}": BooleanField(criterion, description=help_text)
    for criterion, help_text in CRITERIA_HELP.items()
}


class DpiaForm(VersionedForm):
    # The CNIL's lists exist in French only: marked so (screen readers, and the English-page checks).
    dpia_cnil_required = SelectField(
        acts.FIELD_LABELS["dpia_cnil_required"], validators=[Optional()], render_kw={"lang": "fr"}
    )
    dpia_cnil_exempt = SelectField(
        acts.FIELD_LABELS["dpia_cnil_exempt"], validators=[Optional()], render_kw={"lang": "fr"}
    )
    dpia_status = SelectField(acts.FIELD_LABELS["dpia_status"], choices=enum_choices(DpiaStatus))
    dpia_done_on = BoundedDateField(acts.FIELD_LABELS["dpia_done_on"], validators=[Optional()])
    dpia_justification = TextAreaField(
        acts.FIELD_LABELS["dpia_justification"],
        validators=[Optional(), Length(max=5000)],
        filters=[strip],
        description=_l(
            "Obligatoire lorsqu'un seul critère est rempli, ou lorsque la décision s'écarte de la règle "
            "ou des listes de la CNIL."
        ),
    )

    def __init__(self, *args: Any, obj: ProcessingActivity | None = None, **kwargs: Any) -> None:
        super().__init__(*args, obj=obj, **kwargs)
        for item in ref.dpia_criteria():
            self[CRITERION_PREFIX + item.id].label.text = item.label
        self.dpia_cnil_required.choices = to_choices(
            ref.choices(ref.dpia_required_types()), blank=_("— aucun —")
        )
        self.dpia_cnil_exempt.choices = to_choices(ref.choices(ref.dpia_exempt_types()), blank=_("— aucun —"))
        if obj is not None and not self.is_submitted():
            for criterion in CRITERIA_HELP:
                self[CRITERION_PREFIX + criterion].data = criterion in (obj.dpia_criteria or ())

    def criteria_fields(self) -> list[Any]:
        return [self[CRITERION_PREFIX + criterion] for criterion in CRITERIA_HELP]

    def other_fields(self) -> list[Any]:
        return [self.dpia_cnil_required, self.dpia_cnil_exempt, self.dpia_status, self.dpia_done_on]


def _stored_criterion(criterion: str) -> Any:
    """What the conflict page shows as the stored value of a criterion (core.concurrency.conflict_rows)."""
    return staticmethod(lambda obj: criterion in (obj.dpia_criteria or ()))


for _name, _field in _CRITERIA_FIELDS.items():
    setattr(DpiaForm, _name, _field)
    setattr(DpiaForm, f"stored_{_name}", _stored_criterion(_name.removeprefix(CRITERION_PREFIX)))


def screening_data(data: dict[str, Any]) -> dict[str, Any]:
    """The form's data as the service expects it: the ticked criteria as one list."""
    out = {k: v for k, v in data.items() if not k.startswith(CRITERION_PREFIX)}
    out["dpia_criteria"] = [c for c in CRITERIA_HELP if data.get(CRITERION_PREFIX + c)]
    return out
