"""How the journal reads the registers' entries (installed by the Domain record): the actions, and the
fiches, rights requests, breaches, the public register and the register itself, with their fields and
values as on the forms."""

from collections.abc import Sequence
from typing import Any

from flask_babel import lazy_gettext as _l

from accounts.services.organisations import organisation_names
from accounts.services.users import user_names
from catalogue.services.applications import application_names
from core.forms import enum_text, form_labels
from core.journal import JournalType
from core.security import Permission
from registers import display
from registers import reference as ref
from registers.forms.breaches import BreachForm
from registers.forms.publication import PublicationForm
from registers.forms.rights import RightsRequestForm
from registers.models import (
    ClauseAnswer,
    ImportStatus,
    NotificationDecision,
    RequestStatus,
    RightType,
    RiskLevel,
    SubjectsDecision,
)
from registers.services import activities as acts
from registers.services import processors as procs
from registers.services import publication as pub
from registers.services.breaches import breach_titles, breach_types
from registers.services.rights import request_titles

ACTION_LABELS: dict[str, Any] = {
    "activity.create": _l("Fiche de traitement créée"),
    "activity.update": _l("Fiche de traitement modifiée"),
    "activity.status": _l("Statut de fiche changé"),
    "activity.restore": _l("Version de fiche restaurée"),
    "activity.inherit": _l("Fiche héritée d'un modèle créée"),
    "activity.reopen": _l("Fiche héritée rouverte"),
    "activity.model_published": _l("Modèle de fiche publié aux adhérents"),
    "activity.model_accept": _l("Mise à jour du modèle traitée"),
    "activity.revert_field": _l("Champ rendu au modèle"),
    "activity.archive_proposed": _l("Archivage de fiche proposé"),
    "activity.pia_export": _l("Fiche exportée vers le logiciel PIA de la CNIL"),
    "processor.create": _l("Sous-traitant enregistré"),
    "processor.update": _l("Sous-traitant modifié"),
    "processor.delete": _l("Sous-traitant supprimé"),
    "processor_register.signoff": _l("Registre de sous-traitant validé par le DPO"),
    "rights_request.create": _l("Demande d'exercice d'un droit enregistrée"),
    "rights_request.update": _l("Demande d'exercice d'un droit modifiée"),
    "breach.create": _l("Violation de données consignée"),
    "breach.update": _l("Violation de données modifiée"),
    "breach.create_from_incident": _l("Violation consignée depuis un incident SMSI"),
    "breach.withdraw_from_incident": _l("Violation retirée : l'incident ne touche plus l'organisation"),
    "breach.reopen_from_incident": _l("Violation rouverte : l'incident touche de nouveau l'organisation"),
    "breach.flag_from_incident": _l("Violation signalée au DPO : l'incident ne touche plus l'organisation"),
    "report.generate": _l("Document généré"),
    "register.export": _l("Registre exporté"),
    "register.import": _l("Registre importé"),
    "register.import_upload": _l("Fichier de registre déposé pour import"),
    "register.import_map": _l("Correspondance des colonnes d'un import choisie"),
    "register.import_done": _l("Import de registre confirmé (fichier supprimé)"),
    "register.import_cancel": _l("Import de registre abandonné (fichier supprimé)"),
    "register.import_expire": _l("Import de registre expiré (fichier supprimé)"),
    "register.import_preset_create": _l("Modèle de correspondance d'import enregistré"),
    "register.import_preset_update": _l("Modèle de correspondance d'import modifié"),
    "register.import_preset_delete": _l("Modèle de correspondance d'import supprimé"),
    "register_publication.create": _l("Registre public paramétré"),
    "register_publication.update": _l("Réglages du registre public modifiés"),
}


# --- the objects: fields and values as on the forms -------------------------------------------


def _describe_fiche(pairs: Sequence[tuple[str, Any]]) -> list[str | None]:
    """A page's values of fiche fields, as the fiche and its history show them; the recipients'
    organisations looked up once for the page."""
    linked = [
        row.get("organisation_id")
        for name, value in pairs
        if name == "recipients" and isinstance(value, list)
        for row in value
        if isinstance(row, dict) and isinstance(row.get("organisation_id"), int)
    ]
    names = organisation_names(linked)
    texts: list[str | None] = []
    for name, value in pairs:
        try:
            texts.append(display.value_text(name, value, names) if name in acts.ALL_FIELDS else None)
        except (KeyError, TypeError, ValueError, AttributeError):  # an older shape: shown as stored
            texts.append(None)
    return texts


def _labels(items: Any) -> Any:
    """Stored codes of a reference list → their labels, one a line."""

    def text(value: Any) -> str:
        codes = value if isinstance(value, list) else [value]
        return "\n".join(ref.label_of(items(), str(code)) for code in codes)

    return text


def _clauses(value: Any) -> str:
    """A processor's Art. 28.3 answers, one clause a line."""
    if not isinstance(value, dict):
        return str(value)
    answers = {a.value: a.label for a in ClauseAnswer}
    return "\n".join(
        f"{ref.label_of(ref.processor_clauses(), k)} : {answers.get(v, v)}" for k, v in value.items()
    )


def _published_fields(value: Any) -> str:
    labels = {**pub.PUBLIC_FIELDS, pub.NOINDEX: PublicationForm.noindex.args[0]}
    return "\n".join(str(labels.get(code, code)) for code in (value if isinstance(value, list) else [value]))


JOURNAL_TYPES: dict[str, JournalType] = {
    "ProcessingActivity": JournalType(
        _l("Fiche de traitement"),
        fields={
            **acts.FIELD_LABELS,
            "content_version": _l("Version du modèle"),
            "format": _l("Format"),
        },
        names={"application_ids": application_names},
        describe=_describe_fiche,
        title=acts.activity_titles,
        link=("registers.activity_detail", "activity_id"),
    ),
    "Processor": JournalType(
        _l("Sous-traitant"),
        fields=dict(procs.FIELD_LABELS),
        values={
            "clauses": _clauses,
            "certifications": _labels(ref.processor_certifications),
        },
        names={"application_ids": application_names, "linked_organisation_id": organisation_names},
        title=procs.processor_titles,
        link=("registers.processor_detail", "processor_id"),
    ),
    "ProcessorRegisterSignoff": JournalType(
        _l("Validation du registre de sous-traitant"),
        fields={
            "signed_by_name": _l("Validé par"),
            "signed_at": _l("Le"),
            "controllers": _l("Responsables de traitement servis"),
            "to_complete": _l("Points à compléter"),
            "note": _l("Observation"),
        },
        link=("registers.processor_register", None),
    ),
    "RightsRequest": JournalType(
        _l("Demande d'exercice d'un droit"),
        fields=form_labels(RightsRequestForm) | {"due_on": _l("Échéance"), "is_open": _l("En cours")},
        values={"right": enum_text(RightType), "status": enum_text(RequestStatus)},
        names={"activity_id": acts.activity_titles, "assigned_to_id": user_names},
        title=request_titles,
        link=("registers.request_detail", "rights_request_id"),
    ),
    "Breach": JournalType(
        _l("Violation de données"),
        fields=form_labels(BreachForm) | {"source_incident_id": _l("Incident SMSI (n°)")},
        values={
            "natures": _labels(breach_types),
            "data_categories": _labels(ref.data_categories),
            "data_subjects": _labels(ref.data_subjects),
            "risk_level": enum_text(RiskLevel),
            "cnil_decision": enum_text(NotificationDecision),
            "subjects_decision": enum_text(SubjectsDecision),
        },
        title=breach_titles,
        link=("registers.breach_detail", "breach_id"),
    ),
    "RegisterPublication": JournalType(
        _l("Registre public"),
        fields=form_labels(PublicationForm),
        values={"fields": _published_fields},
        link=("registers.publication_settings", None),
        link_permission=Permission.REGISTERS_VALIDATE,
    ),
    "RegisterImport": JournalType(
        _l("Import de registre"),
        fields={
            "status": _l("Statut"),
            "filename": _l("Fichier"),
            "format": _l("Format"),
            "rows": _l("Lignes du fichier"),
            "sha256": _l("Empreinte SHA-256"),
            "mapping": _l("Correspondance des colonnes"),
        },
        values={"status": enum_text(ImportStatus)},
    ),
    "ImportPreset": JournalType(
        _l("Correspondance de colonnes enregistrée"),
        fields={"name": _l("Nom"), "mapping": _l("Correspondance des colonnes")},
    ),
    "Register": JournalType(
        _l("Registre des activités de traitement"),
        fields={
            "format": _l("Format"),
            "rows": _l("Fiches exportées"),
            "filename": _l("Fichier"),
            "sha256": _l("Empreinte SHA-256"),
            "created": _l("Fiches créées"),
            "updated": _l("Fiches modifiées"),
            "unchanged": _l("Fiches inchangées"),
        },
        link=("registers.activity_list", None),
    ),
}
