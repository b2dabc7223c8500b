"""The annual security and compliance report ("bilan sécurité et conformité") for the comité
syndical: the figures every installed domain gives for a year (``Domain.yearly_figures``), for one
organisation or a syndicate and all its members, the RSSI's highlights and plan, a PDF built by the
job queue and an HTML preview. Imports core and the reports toolkit only."""

from flask_babel import lazy_gettext as _l

from core.journal import JournalType
from core.security import Permission
from reports.annual import views  # noqa: F401 — the routes, on the Rapports blueprint
from reports.annual.forms import AnnualForm
from reports.annual.services import KIND
from reports.documents import DocumentKind, DocumentSection, Generate, register_document_kind

ANNUAL = DocumentSection(
    _l("Bilan sécurité et conformité"),
    note=_l(
        "Le bilan annuel pour le comité syndical : chiffres clés et graphiques de chaque domaine comparés "
        "à l'année précédente, faits marquants et plan de l'année suivante. Consultez d'abord l'aperçu."
    ),
)
register_document_kind(
    DocumentKind(
        KIND,
        _l("Bilan sécurité et conformité"),
        Permission.REGISTERS_VIEW,  # the documents' one journal rule (reports.documents.JOURNAL_TYPE)
        section=ANNUAL,
        generate=Generate("reports.annual_generate", _l("Générer le bilan (PDF)"), form=AnnualForm),
    )
)

ACTION_LABELS = {
    "annual_report.texts.create": _l("Textes du bilan annuel rédigés"),
    "annual_report.texts.update": _l("Textes du bilan annuel modifiés"),
}
JOURNAL_TYPES = {
    "AnnualReportText": JournalType(
        _l("Textes du bilan annuel"),
        fields={
            "year": _l("Année"),
            "highlights": _l("Faits marquants de l'année"),
            "plan": _l("Plan d'action de l'année suivante"),
        },
        link=("reports.annual_preview", None),
    )
}
OBJECT_TYPES = {"AnnualReportText": Permission.REPORTS_VIEW}
