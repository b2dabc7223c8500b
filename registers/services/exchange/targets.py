"""The mapping step of an import: the fields of a fiche a file's column can feed ("targets"), and the
mapping Égide proposes for a file's headers.

A header is matched after :func:`normalise_header` (case, accents and punctuation ignored) against,
in this order: the organisation's preset (if one is chosen), the headers of Égide's own export, and
the synonyms below — written for Égide from the public register models: the CNIL's register model
(one row per processing activity, its headings as columns), Madis's treatments export (its
"Onglet - Rubrique" headings) and common wordings. Anything else is proposed as "ignored": the DPO
sees every column with the field it goes to (or "ignorée") before anything is read.

A target key is a short string stored in the pending import and in presets: a fiche field
(``purpose``), or a field and an item (``subject:agents``, ``measure:sauvegarde``,
``category:etat_civil:active``, ``recipient:sous_traitant``…).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache

from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core.text import loose
from registers import reference as ref
from registers.services import activities as acts
from registers.services.exchange.cells import short
from registers.services.exchange.columns import CATEGORIES_HEADER, category_columns, columns


@dataclass(frozen=True)
class Target:
    key: str
    kind: str  # how a cell is read: see registers.services.exchange.importing
    field: str  # the fiche field it feeds
    label: str
    group: str  # the heading the mapping page's list puts it under
    item: str = ""  # a reference id (subject, sensitive datum, measure, criterion, category, recipient type)
    part: str = ""  # a data category's column: details, active, intermediate, final
    multiple: bool = False  # several columns may feed it (their values add up)


IGNORED = ""

# kind → several columns allowed
_MULTIPLE_KINDS = frozenset(
    {"text_multi", "list_text", "labels", "applications", "recipient_type", "measure", "categories_text"}
)


def normalise_header(text: str) -> str:
    """ "Finalité(s) principale(s) :" → "finalite s principale s": case, accents, punctuation ignored."""
    return loose(text)


def _t(key: str, kind: str, field: str, label: str, group: str, item: str = "", part: str = "") -> Target:
    return Target(key, kind, field, label, group, item, part, kind in _MULTIPLE_KINDS)


@cache
def _targets_in(locale: str) -> tuple[Target, ...]:
    with force_locale(locale):
        return tuple(_build())


def _targets_fr() -> tuple[Target, ...]:
    return _targets_in("fr")


def targets() -> tuple[Target, ...]:
    """Every target, labelled in the page's language."""
    return _targets_in("en" if str(get_locale()) == "en" else "fr")


def _build() -> Iterable[Target]:
    general = str(_l("Identification"))
    purposes = str(_l("Finalités et base légale"))
    people = str(_l("Personnes concernées"))
    data = str(_l("Données et conservation"))
    sensitive = str(_l("Données sensibles"))
    recipients = str(_l("Destinataires et transferts"))
    security = str(_l("Mesures de sécurité"))
    dpia = str(_l("AIPD et révision"))
    label = acts.FIELD_LABELS
    yes_no = str(_l("oui / non"))
    yield _t("reference", "reference", "reference", str(label["reference"]), general)
    yield _t("name", "text", "name", str(label["name"]), general)
    yield _t("status", "status", "status", str(label["status"]), general)
    yield _t("declared_created_on", "date", "declared_created_on", str(_l("Date de création")), general)
    yield _t(
        "declared_updated_on", "date", "declared_updated_on", str(_l("Date de dernière mise à jour")), general
    )
    yield _t("joint_controllers", "text_multi", "joint_controllers", str(label["joint_controllers"]), general)
    yield _t("representative", "text_multi", "representative", str(label["representative"]), general)
    yield _t("applications", "applications", "application_ids", str(label["application_ids"]), general)
    yield _t("purpose", "text_multi", "purpose", str(label["purpose"]), purposes)
    yield _t("sub_purposes", "list_text", "sub_purposes", str(label["sub_purposes"]), purposes)
    yield _t("legal_basis", "legal_basis", "legal_basis", str(label["legal_basis"]), purposes)
    yield _t("legal_basis_text", "text_multi", "legal_basis_text", str(label["legal_basis_text"]), purposes)
    yield _t("data_subjects", "labels", "data_subjects", str(_l("Personnes concernées (liste)")), people)
    yield _t(
        "data_subjects_other", "text_multi", "data_subjects_other", str(label["data_subjects_other"]), people
    )
    for item in ref.data_subjects():
        yield _t(
            f"subject:{item.id}", "flag", "data_subjects", f"{short(item.label)} ({yes_no})", people, item.id
        )
    yield _t("data_categories", "labels", "data_categories", str(_l("Catégories de données (liste)")), data)
    yield _t(
        "categories_text",
        "categories_text",
        "data_categories",
        str(_l("Catégories de données en texte libre (rangées dans « Autres catégories »)")),
        data,
    )
    yield _t(
        "retention:active",
        "retention",
        "data_categories",
        str(_l("Durée de conservation (toutes les catégories)")),
        data,
        part="active",
    )
    yield _t(
        "retention:intermediate",
        "retention",
        "data_categories",
        str(_l("Archivage intermédiaire (toutes les catégories)")),
        data,
        part="intermediate",
    )
    yield _t(
        "retention:final",
        "retention",
        "data_categories",
        str(_l("Sort final (toutes les catégories)")),
        data,
        part="final",
    )
    parts = {
        "details": str(_l("précisions")),
        "active": str(_l("base active")),
        "intermediate": str(_l("archivage intermédiaire")),
        "final": str(_l("sort final")),
    }
    for item in ref.data_categories():
        for part, part_label in parts.items():
            yield _t(
                f"category:{item.id}:{part}",
                "category",
                "data_categories",
                f"{short(item.label)} — {part_label}",
                data,
                item.id,
                part,
            )
    yield _t("sensitive_data", "labels", "sensitive_data", str(_l("Données sensibles (liste)")), sensitive)
    for item in ref.sensitive_data():
        yield _t(
            f"sensitive:{item.id}",
            "flag",
            "sensitive_data",
            f"{short(item.label)} ({yes_no})",
            sensitive,
            item.id,
        )
    yield _t("art9_exception", "choice", "art9_exception", str(label["art9_exception"]), sensitive)
    yield _t(
        "sensitive_details", "text_multi", "sensitive_details", str(label["sensitive_details"]), sensitive
    )
    yield _t(
        "recipients",
        "recipients",
        "recipients",
        str(_l("Destinataires (« type : nom » par ligne)")),
        recipients,
    )
    for item in ref.recipient_types():
        yield _t(
            f"recipient:{item.id}", "recipient_type", "recipients", short(item.label), recipients, item.id
        )
    yield _t("transfers", "transfers", "transfers", str(label["transfers"]), recipients)
    yield _t(
        "security_measures",
        "measures",
        "security_measures",
        str(_l("Mesures de sécurité (« mesure : précisions » par ligne)")),
        security,
    )
    details = str(_l("oui / non / précisions"))
    for item in ref.security_measures():
        yield _t(
            f"measure:{item.id}",
            "measure",
            "security_measures",
            f"{item.label} ({details})",
            security,
            item.id,
        )
    yield _t("dpia_criteria", "labels", "dpia_criteria", str(label["dpia_criteria"]), dpia)
    for item in ref.dpia_criteria():
        yield _t(
            f"criterion:{item.id}", "flag", "dpia_criteria", f"{short(item.label)} ({yes_no})", dpia, item.id
        )
    yield _t("dpia_cnil_required", "choice", "dpia_cnil_required", str(label["dpia_cnil_required"]), dpia)
    yield _t("dpia_cnil_exempt", "choice", "dpia_cnil_exempt", str(label["dpia_cnil_exempt"]), dpia)
    yield _t("dpia_justification", "text_multi", "dpia_justification", str(label["dpia_justification"]), dpia)
    yield _t("dpia_status", "dpia_status", "dpia_status", str(label["dpia_status"]), dpia)
    yield _t("dpia_done_on", "date", "dpia_done_on", str(label["dpia_done_on"]), dpia)
    yield _t("next_review_on", "date", "next_review_on", str(label["next_review_on"]), dpia)


@cache
def by_key() -> dict[str, Target]:
    return {target.key: target for target in _targets_fr()}


def target(key: str) -> Target | None:
    return by_key().get(key)


def choices() -> dict[str, list[tuple[str, str]]]:
    """The mapping page's options by heading (a select's option groups), "ignored" first."""
    grouped: dict[str, list[tuple[str, str]]] = {
        str(_("Ne pas importer")): [(IGNORED, str(_("— Ignorer cette colonne —")))]
    }
    for item in targets():
        grouped.setdefault(item.group, []).append((item.key, item.label))
    return grouped


# --- the headers Égide recognises -------------------------------------------------------------

# Égide's own export: header → target (its computed "AIPD requise" column is ignored).
_EGIDE_COLUMN_TARGETS = {
    "Référence": "reference",
    "Nom du traitement": "name",
    "Statut": "status",
    "Date de création": "declared_created_on",
    "Dernière mise à jour": "declared_updated_on",
    "Responsables conjoints": "joint_controllers",
    "Représentant": "representative",
    "Finalité principale": "purpose",
    "Sous-finalités": "sub_purposes",
    "Base légale": "legal_basis",
    "Texte de référence": "legal_basis_text",
    "Personnes concernées": "data_subjects",
    "Autres personnes concernées": "data_subjects_other",
    CATEGORIES_HEADER: "data_categories",
    "Données sensibles": "sensitive_data",
    "Exception art. 9.2": "art9_exception",
    "Précisions données sensibles": "sensitive_details",
    "Destinataires": "recipients",
    "Transferts hors UE": "transfers",
    "Mesures de sécurité": "security_measures",
    "Applications": "applications",
    "Critères AIPD": "dpia_criteria",
    "Liste CNIL : AIPD obligatoire": "dpia_cnil_required",
    "Liste CNIL : AIPD non requise": "dpia_cnil_exempt",
    "Motivation de la décision sur l'AIPD": "dpia_justification",
    "AIPD requise": IGNORED,
    "État AIPD": "dpia_status",
    "AIPD réalisée le": "dpia_done_on",
    "Prochaine révision": "next_review_on",
}


@cache
def egide_targets() -> dict[str, str]:
    """Égide's export header → target key, for every column of :func:`columns`."""
    out = dict(_EGIDE_COLUMN_TARGETS)
    for header, (category_id, key) in category_columns().items():
        out[header] = f"category:{category_id}:{key}"
    missing = [c.header for c in columns() if c.header not in out]
    assert not missing, missing  # noqa: S101 — a new export column must say where it imports
    return out


# Synonyms, from the public register models (written for Égide; see the module docstring).
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "reference": ("N° / REF", "N°", "Réf", "Ref", "Référence du traitement", "Numéro", "Identifiant", "Code"),
    "name": (
        "Nom / sigle",
        "Nom",
        "Intitulé",
        "Intitulé du traitement",
        "Traitement",
        "Activité de traitement",
        "Nom de l'activité de traitement",
        "Désignation de l'activité",
        "Activité",
    ),
    "declared_created_on": (
        "Créé le",
        "Date création",
        "Historique - Date de création",
        "Date de création de la fiche",
    ),
    "declared_updated_on": (
        "Mise à jour",
        "Date de mise à jour",
        "Date de dernière mise à jour",
        "Modifié le",
        "Date modification",
        "Date de modification",
        "Historique - Date de modification",
        "Historique - Date de mise à jour",
    ),
    "joint_controllers": (
        "Responsable conjoint",
        "Responsable(s) conjoint(s)",
        "Co-responsables",
        "Co-responsable",
    ),
    "representative": ("Représentant du responsable",),
    "purpose": (
        "Finalité",
        "Finalités",
        "Finalité(s)",
        "Finalité du traitement",
        "Objectif",
        "Objet du traitement",
    ),
    "sub_purposes": (*(f"Sous-finalité {n}" for n in range(1, 11)), "Sous-finalité", "Sous finalités"),
    "legal_basis": (
        "Base juridique",
        "Licéité",
        "Licéité du traitement",
        "Fondement juridique",
        "Base légale du traitement",
    ),
    "legal_basis_text": (
        "Justification de la base légale",
        "Texte réglementaire",
        "Référence du texte",
        "Fondement légal",
        "Textes de référence",
    ),
    "data_subjects": (
        "Catégories de personnes concernées",
        "Catégorie de personnes concernées",
        "Personnes concernées (liste)",
    ),
    "data_subjects_other": (
        "Autres catégories de personnes",
        "Détails - Personnes concernées - Autres - Commentaire",
        "Détails - Personnes concernées - Particuliers - Commentaire",
        "Détails - Personnes concernées - Internautes - Commentaire",
        "Détails - Personnes concernées - Salariés - Commentaire",
        "Détails - Personnes concernées - Élus - Commentaire",
        "Détails - Personnes concernées - Professionnels - Commentaire",
        "Détails - Personnes concernées - Partenaires - Commentaire",
        "Détails - Personnes concernées - Usagers - Commentaire",
    ),
    "subject:agents": ("Salariés", "Agents", "Personnel", "Détails - Personnes concernées - Salariés"),
    "subject:usagers": (
        "Usagers",
        "Administrés",
        "Détails - Personnes concernées - Usagers",
        "Détails - Personnes concernées - Particuliers",
        "Détails - Personnes concernées - Internautes",
    ),
    "subject:elus": ("Élus", "Détails - Personnes concernées - Élus"),
    "subject:professionnels_partenaires": (
        "Détails - Personnes concernées - Professionnels",
        "Détails - Personnes concernées - Partenaires",
    ),
    "data_categories": (
        "Catégories de données personnelles",
        "Catégories de données personnelles concernées",
        "Données traitées",
    ),
    "categories_text": (
        "Catégorie de données",  # Madis: its own list of categories, not the CNIL model's
        "Catégorie des données - Autres catégories",
        "Autres catégories de données",
        "Données collectées",
    ),
    "retention:active": (
        "Durée de conservation",
        "Durées de conservation",
        "Délai de conservation",
        "Délai d'effacement",
        "Délais d'effacement",
        "Conservation",
        "Détails - Délai de conservation - Durée",
        "Durée de conservation en base active",
        "Base active",
    ),
    "retention:intermediate": ("Archivage intermédiaire", "Durée d'archivage intermédiaire"),
    "retention:final": (
        "Sort final",
        "Sort final des données",
        "Détails - Délai de conservation - Sort final",
    ),
    "sensitive_data": ("Données sensibles (liste)", "Catégories de données sensibles"),
    "sensitive:origine_raciale_ethnique": ("Données révélant l'origine raciale ou ethnique",),
    "sensitive:opinions_politiques": ("Données révélant les opinions politiques",),
    "sensitive:convictions_religieuses_philosophiques": (
        "Données révélant les convictions religieuses ou philosophiques",
    ),
    "sensitive:appartenance_syndicale": ("Données révélant l'appartenance syndicale",),
    "sensitive:donnees_biometriques": (
        "Données biométriques",
        "Données biométriques aux fins d'identifier une personne",
    ),
    "sensitive:sante": ("Données de santé", "Données concernant la santé"),
    "sensitive:vie_orientation_sexuelle": ("Données concernant la vie sexuelle ou l'orientation sexuelle",),
    "sensitive:infractions_condamnations": (
        "Données relatives aux condamnations pénales et aux infractions",
        "Données d'infraction",
        "Infractions et condamnations",
    ),
    "sensitive:nir": (
        "NIR",
        "Numéro de sécurité sociale",
        "Numéro d'identification national unique (NIR)",
        "Numéro d'inscription au répertoire",
    ),
    "art9_exception": ("Exception article 9", "Exception art. 9", "Base légale des données sensibles"),
    "sensitive_details": ("Description des données sensibles", "Données sensibles - précisions"),
    "recipient:interne": ("Destinataires internes", "Services internes", "Destinataire interne"),
    "recipient:organisme_externe": ("Organismes externes", "Destinataires externes", "Organisme externe"),
    "recipient:sous_traitant": (
        "Sous-traitants",
        "Sous-traitant",
        "Destination - Sous-traitants associés",
        "Sous-traitants associés",
        "Prestataires",
    ),
    "recipient:tiers_autorise": ("Tiers autorisés", "Tiers autorisé"),
    "transfers": (
        "Transferts de données hors UE",
        "Transferts",
        "Transfert hors UE",
        "Transferts hors Union européenne",
    ),
    "measure:controle_acces": (
        "Contrôle d'accès",
        "Mesures de sécurité et confidentialité - Contrôle d'accès",
        "Mesures de sécurité et confidentialité - Contrôle d'accès - Commentaire",
    ),
    "measure:tracabilite": (
        "Traçabilité",
        "Mesures de sécurité et confidentialité - Traçabilité",
        "Mesures de sécurité et confidentialité - Traçabilité - Commentaire",
    ),
    "measure:protection_logiciels": (
        "Protection des logiciels",
        "Mesures de sécurité et confidentialité - Mise à jour",
        "Mesures de sécurité et confidentialité - Mise à jour - Commentaire",
    ),
    "measure:sauvegarde": (
        "Sauvegarde",
        "Mesures de sécurité et confidentialité - Sauvegarde",
        "Mesures de sécurité et confidentialité - Sauvegarde - Commentaire",
    ),
    "measure:chiffrement": ("Chiffrement",),
    "measure:controle_sous_traitants": ("Contrôle des sous-traitants",),
    "measure:autres": (
        "Autres mesures de sécurité",
        "Mesures de sécurité et confidentialité - Autres",
        "Mesures de sécurité et confidentialité - Autres - Commentaire",
    ),
    "applications": (
        "Logiciels",
        "Logiciel",
        "Logiciels et supports",
        "Détails - Logiciels et supports",
        "Application",
        "Applications utilisées",
        "Application(s) utilisée(s)",
        "Outils",
        "Progiciel",
    ),
    "criterion:surveillance_systematique": ("Traitement spécifique - Surveillance systématique",),
    "criterion:grande_echelle": (
        "Traitement spécifique - Collecte à large échelle",
        "Collecte à large échelle",
    ),
    "criterion:personnes_vulnerables": ("Traitement spécifique - Personnes vulnérables",),
    "criterion:croisement": ("Traitement spécifique - Croisement de données", "Croisement de données"),
    "criterion:evaluation_scoring": ("Traitement spécifique - Évaluation ou notation",),
    "criterion:decision_automatisee": (
        "Traitement spécifique - Décisions automatisées avec effet",
        "Décisions automatisées avec effet",
    ),
    "criterion:exclusion_droit_service": (
        "Traitement spécifique - Exclusion automatique d'un service",
        "Exclusion automatique d'un service",
    ),
    "criterion:usage_innovant": ("Traitement spécifique - Usage innovant",),
    "next_review_on": ("Date de révision", "Date de prochaine révision", "Révision", "Prochaine revue"),
    "dpia_done_on": ("Date de l'AIPD", "AIPD réalisée", "Date AIPD"),
    "dpia_status": ("Statut AIPD", "État de l'AIPD"),
}


def _generated_synonyms() -> Iterable[tuple[str, str]]:
    """The reference lists' own labels (French and English, full and short) as headers of flag
    columns — the CNIL model lists each kind of data, person or measure as its own heading."""
    for prefix, items in (
        ("subject", ref.data_subjects()),
        ("sensitive", ref.sensitive_data()),
        ("measure", ref.security_measures()),
        ("criterion", ref.dpia_criteria()),
        ("recipient", ref.recipient_types()),
    ):
        for item in items:
            for text in (item.label_fr, item.label_en, short(item.label_fr), short(item.label_en)):
                yield text, f"{prefix}:{item.id}"
    for item in ref.data_categories():
        for text in (item.label_fr, short(item.label_fr), item.label_en):
            yield text, f"category:{item.id}:details"
            yield f"{text} - Description", f"category:{item.id}:details"
            for suffix in ("Délai d'effacement", "Durée de conservation", "Conservation"):
                yield f"{text} - {suffix}", f"category:{item.id}:active"


@cache
def known_headers() -> dict[str, str]:
    """Normalised header → target key: Égide's export first, then the synonyms, then the labels."""
    out: dict[str, str] = {}

    def add(header: str, key: str) -> None:
        out.setdefault(normalise_header(header), key)

    for header, key in egide_targets().items():
        add(header, key)
    for key, headers in _SYNONYMS.items():
        assert key in by_key(), key  # noqa: S101 — a synonym names an existing target
        for header in headers:
            add(header, key)
    for header, key in _generated_synonyms():
        add(header, key)
    for locale in ("fr", "en"):
        for item in _targets_in(locale):
            add(item.label, item.key)
    out.pop("", None)
    return out


def propose(headers: list[str], preset: Mapping[str, str] | None = None) -> list[str]:
    """A target key per column ("" = ignored): the preset's choice for that header, else a known
    header, else ignored. A single-valued target is proposed for its first column only."""
    known = known_headers()
    valid = by_key()
    taken: set[str] = set()
    out: list[str] = []
    for header in headers:
        name = normalise_header(header)
        key = (preset or {}).get(name)
        if key is None or (key and key not in valid):
            key = known.get(name, IGNORED)
        if key and not valid[key].multiple:
            if key in taken:
                key = IGNORED
            taken.add(key)
        out.append(key)
    return out


def preset_of(headers: list[str], mapping: list[str]) -> dict[str, str]:
    """What a preset keeps of a mapping: normalised header → target key (ignored columns too)."""
    return {normalise_header(h): key for h, key in zip(headers, mapping, strict=True) if normalise_header(h)}
