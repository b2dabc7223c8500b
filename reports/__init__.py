"""Rapports: the shared document toolkit, at core level — the reportlab blocks (:mod:`.pdf`), the store
of generated documents with their SHA-256 (:mod:`.models`, :mod:`.services`) and the one documents
page (:mod:`.views`). Every domain may use it; it imports none: a domain declares its kinds of
documents with :func:`register_document_kind` (who reads them, the button that builds one), and the
journal reads ``GeneratedReport`` entries with the kinds' permission (:mod:`.documents`)."""

from core.domains import Domain
from reports.documents import DocumentKind, DocumentSection, Generate, register_document_kind
from reports.views import bp

__all__ = ["DOMAIN", "DocumentKind", "DocumentSection", "Generate", "register_document_kind"]

DOMAIN = Domain(name="reports", blueprint=bp, order=90, nav="reports/_nav.html")
