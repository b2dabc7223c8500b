"""Kinds of generated documents: each domain declares the documents it hands out, ``reports`` keeps
them (:mod:`reports.services`) and lists them (:mod:`reports.views`) without importing any domain.

A domain calls :func:`register_document_kind` when it is imported (``registers/documents``)::

    REGISTER = DocumentSection(_l("Documents du registre"), note=_l("…"))
    register_document_kind(
        DocumentKind("register", _l("Registre des activités de traitement"), Permission.REGISTERS_VIEW,
                     section=REGISTER, generate=Generate("registers.document_register", _l("Générer…")))
    )

The kind's permission reads its documents everywhere: the list, the page, the download (the
organisation's other documents stay out of sight). A kind nobody declared is read by nobody.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from core.journal import register_object_types
from core.security import Permission, can


@dataclass(frozen=True)
class DocumentSection:
    """A heading of the documents page, above the generate buttons of a domain's kinds."""

    title: Any
    note: Any = None  # a sentence under the buttons (what the documents contain)


@dataclass(frozen=True)
class Generate:
    """A button that builds a document: a POST endpoint of the domain, answering with a redirect to
    the document's page."""

    endpoint: str
    label: Any
    available: Callable[[], bool] | None = None  # e.g. only a syndicate has a processor register
    primary: bool = True
    # The choices the person generating makes (e.g. whether drafts are printed): a FlaskForm class
    # whose fields are shown beside the button and posted with it (its CSRF token too).
    form: Callable[[], Any] | None = None


Period = tuple[date, date]


@dataclass(frozen=True)
class DocumentKind:
    code: str  # GeneratedReport.kind
    label: Any  # what the document is
    permission: Permission  # reads the documents of this kind (list, page, download)
    section: DocumentSection | None = None
    generate: Generate | None = None  # None: generated elsewhere (a fiche's page)
    # Builds the document of one organisation for an evidence pack (audits.packs): pure — no request,
    # nothing written, queries filtered on the organisation given —, the PDF bytes, or None when the
    # kind does not apply to that organisation (no parcours, not a syndicate). ``period`` (first and
    # last day) for the documents of a period; those that show the state of today ignore it.
    build: Callable[[Any, Period | None], bytes | None] | None = None


KINDS: dict[str, DocumentKind] = {}

# The journal has one rule per object type, not per kind: GeneratedReport entries are read with the
# permission of the kinds. A kind with another permission needs a rule by kind in the journal first
# (register_object_types raises, rather than showing a document's journal entry to the wrong role).
JOURNAL_TYPE = "GeneratedReport"


def register_document_kind(kind: DocumentKind) -> None:
    """Declare a kind of generated document; declaring the same kind again is harmless."""
    known = KINDS.setdefault(kind.code, kind)
    if known != kind:
        raise ValueError(f"reports: the document kind {kind.code!r} is already declared otherwise")
    register_object_types({JOURNAL_TYPE: kind.permission})


def kind_of(code: str) -> DocumentKind | None:
    return KINDS.get(code)


def buildable_kinds() -> list[DocumentKind]:
    """The kinds that build a document of any organisation without a request (evidence packs)."""
    return [kind for kind in KINDS.values() if kind.build is not None]


def readable(code: str) -> bool:
    """Whether the current user may read documents of the kind ``code`` in the active organisation."""
    kind = KINDS.get(code)
    return kind is not None and can(kind.permission)


def readable_kinds() -> list[str]:
    return [code for code in KINDS if readable(code)]


@dataclass(frozen=True)
class ShownSection:
    section: DocumentSection
    actions: list[Generate]


def sections() -> list[ShownSection]:
    """The sections of the documents page for the current user: those of the kinds they read, in
    the order the kinds were declared, each with the generate buttons that apply."""
    shown: dict[DocumentSection, list[Generate]] = {}
    for kind in KINDS.values():
        if kind.section is None or not can(kind.permission):
            continue
        actions = shown.setdefault(kind.section, [])
        if kind.generate is not None and (kind.generate.available is None or kind.generate.available()):
            actions.append(kind.generate)
    return [ShownSection(section, actions) for section, actions in shown.items()]
