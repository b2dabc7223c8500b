"""Rapports: the shared document toolkit, at core level — the reportlab blocks (:mod:`.pdf`), the store
of generated documents with their SHA-256 (:mod:`.models`, :mod:`.services`) and the one documents
page (:mod:`.views`). Every domain may use it; it imports none: a domain declares its kinds of
documents with :func:`register_document_kind` (who reads them, the button that builds one), and the
journal reads ``GeneratedReport`` entries with the kinds' permission (:mod:`.documents`)."""

from flask_babel import lazy_gettext as _l

from core.domains import Domain
from core.journal import JournalType
from reports.annual import ACTION_LABELS as ANNUAL_ACTIONS
from reports.annual import JOURNAL_TYPES as ANNUAL_JOURNAL_TYPES
from reports.annual import OBJECT_TYPES as ANNUAL_OBJECT_TYPES
from reports.documents import (
    JOURNAL_TYPE,
    DocumentKind,
    DocumentSection,
    Generate,
    kind_of,
    register_document_kind,
)
from reports.services import report_titles
from reports.signing import init_app as signing_init_app
from reports.views import bp

__all__ = ["DOMAIN", "DocumentKind", "DocumentSection", "Generate", "register_document_kind"]


def _kind_text(code: str) -> str:
    kind = kind_of(code)
    return str(kind.label) if kind is not None else code


DOMAIN = Domain(
    name="reports",
    blueprint=bp,
    order=90,
    nav="reports/_nav.html",
    journal_types={
        JOURNAL_TYPE: JournalType(
            _l("Document généré"),
            fields={
                "kind": _l("Type de document"),
                "filename": _l("Fichier"),
                "sha256": _l("Empreinte SHA-256"),
            },
            values={"kind": _kind_text},
            title=report_titles,
            link=("reports.document_detail", "report_id"),
        ),
        **ANNUAL_JOURNAL_TYPES,
    },
    action_labels=ANNUAL_ACTIONS,
    object_types=ANNUAL_OBJECT_TYPES,
    setup=signing_init_app,  # flask signing init
)
