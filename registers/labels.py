"""Readable journal labels for the registers' actions (added to core.journal.ACTION_LABELS)."""

from typing import Any

from flask_babel import lazy_gettext as _l

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
    "rights_request.create": _l("Demande d'exercice d'un droit enregistrée"),
    "rights_request.update": _l("Demande d'exercice d'un droit modifiée"),
    "breach.create": _l("Violation de données consignée"),
    "breach.update": _l("Violation de données modifiée"),
    "breach.create_from_incident": _l("Violation consignée depuis un incident SMSI"),
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
