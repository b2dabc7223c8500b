"""The registers' documents: the register (Art. 30.1), one fiche, the syndicate's processor register
(Art. 30.2). Each is read from the database into frozen dataclasses (:mod:`.data`), printed by
reportlab (:mod:`.pdf`, on the shared blocks of :mod:`reports.pdf`), then kept with its SHA-256 and
journalled by :func:`reports.services.store_report`.

Importing this package declares the three kinds to ``reports``, which lists them on the shared
documents page under ``REGISTERS_VIEW`` (a reader or an auditor may print the register too).
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from accounts.models import Organisation, User
from core.db import utcnow
from core.extensions import db
from core.security import Permission
from core.tenancy import UNSCOPED, current_org
from registers.documents import data, pdf
from registers.forms.documents import RegisterDocumentForm
from registers.models import ActivityStatus, ProcessingActivity
from reports.documents import DocumentKind, DocumentSection, Generate, register_document_kind
from reports.models import GeneratedReport
from reports.services import BuiltDocument, Progress, document_filename, store_report

REGISTER_DOCUMENTS = DocumentSection(
    _l("Documents du registre"),
    note=_l(
        "Le registre ne reprend pas les fiches archivées, ni les brouillons sauf si vous le demandez "
        "(ils sont alors marqués). Chaque document généré est inscrit au journal de l'organisation avec "
        "son empreinte : un auditeur peut vérifier qu'un fichier reçu est bien celui-ci."
    ),
)


def _is_syndicate() -> bool:
    return bool(current_org.is_syndicate)  # only a syndicate acts as processor for its members


def _register_for_pack(org: Organisation, _period: object) -> bytes:
    return build_register(org).content


def _processor_register_for_pack(org: Organisation, _period: object) -> bytes | None:
    return processor_register_content(org, at=utcnow()) if org.is_syndicate else None


for _kind in (
    DocumentKind(
        "register",
        _l("Registre des activités de traitement"),
        Permission.REGISTERS_VIEW,
        section=REGISTER_DOCUMENTS,
        generate=Generate(
            "registers.document_register", _l("Générer le registre (PDF)"), form=RegisterDocumentForm
        ),
        build=_register_for_pack,
    ),
    DocumentKind("activity", _l("PDF de la fiche"), Permission.REGISTERS_VIEW, section=REGISTER_DOCUMENTS),
    DocumentKind(
        "processor_register",
        _l("Registre de sous-traitant"),
        Permission.REGISTERS_VIEW,
        section=REGISTER_DOCUMENTS,
        generate=Generate(
            "registers.document_processor_register",
            _l("Générer le registre du sous-traitant (PDF)"),
            available=_is_syndicate,
            primary=False,
        ),
        build=_processor_register_for_pack,
    ),
):
    register_document_kind(_kind)


def build_register(
    org: Organisation, *, include_drafts: bool = False, progress: Progress | None = None
) -> BuiltDocument:
    """The organisation's register (Art. 30.1) as a PDF, not stored yet. Drafts are left out unless
    ``include_drafts`` (then printed, marked); the title says which. ``progress``: a background
    job's (reading the fiches is the first tenth, laying them out the rest)."""
    at = utcnow()
    doc = data.register_data(org, generated_at=at, include_drafts=include_drafts)
    if progress is not None:
        progress(0.1)
    content = pdf.register_pdf(
        doc, progress=None if progress is None else (lambda done: progress(0.1 + 0.9 * done))
    )
    return BuiltDocument(
        title=register_title(org, include_drafts=include_drafts),
        filename=document_filename("registre", org.short_name or org.name, at=at),
        content=content,
    )


def register_title(org: Organisation, *, include_drafts: bool) -> str:
    if include_drafts:
        return _("Registre des activités de traitement — %(org)s (brouillons inclus)", org=org.name)
    return _("Registre des activités de traitement — %(org)s (sans les brouillons)", org=org.name)


def generate_register(
    org: Organisation, actor: User | None, *, include_drafts: bool = False
) -> GeneratedReport:
    """The organisation's register (Art. 30.1) as a PDF, built now, stored and journalled."""
    built = build_register(org, include_drafts=include_drafts)
    return store_report(
        org, actor, kind="register", title=built.title, filename=built.filename, content=built.content
    )


def register_size(org: Organisation) -> int:
    """The fiches a register of ``org`` may print (its own, not archived, drafts counted): what
    decides whether it is built now or by a background job (``REGISTER_PDF_JOB_THRESHOLD``)."""
    pa = ProcessingActivity
    return int(
        db.session.scalar(
            select(func.count(pa.id))
            .where(pa.organisation_id == org.id, pa.is_model.is_(False), pa.status != ActivityStatus.ARCHIVED)
            # unscoped: filtered on the organisation explicitly
            .execution_options(**UNSCOPED)
        )
        or 0
    )


def register_is_large(org: Organisation) -> bool:
    """Whether the register of ``org`` is built by a background job rather than during the request.

    ``REGISTER_PDF_JOB_THRESHOLD`` fiches and more (100 by default; 0: always a job). Below it the
    PDF takes well under a second (bench/bench_registers.py: 500 fiches in about 3 s on one core)
    and is handed out at once, with no worker needed; above it a request could hold a server worker
    for several seconds (10 s and more for the largest registers on a loaded machine)."""
    threshold = int(current_app.config.get("REGISTER_PDF_JOB_THRESHOLD", 100))
    return threshold <= 0 or register_size(org) >= threshold


def generate_activity(activity: ProcessingActivity, actor: User | None) -> GeneratedReport:
    """One fiche as a PDF, stored in the documents of the fiche's organisation."""
    at = utcnow()
    content = pdf.activity_pdf(data.activity_data(activity, generated_at=at))
    return store_report(
        activity.organisation,
        actor,
        kind="activity",
        title=_("Fiche %(ref)s — %(name)s", ref=activity.reference, name=activity.name),
        filename=document_filename("fiche", activity.reference, at=at),
        content=content,
        object_id=activity.id,
    )


def generate_processor_register(syndicate: Organisation, actor: User | None) -> GeneratedReport:
    """The syndicate's processor register (Art. 30.2) as a PDF, stored and journalled."""
    at = utcnow()
    content = processor_register_content(syndicate, at=at)
    return store_report(
        syndicate,
        actor,
        kind="processor_register",
        title=_("Registre du sous-traitant — %(org)s", org=syndicate.name),
        filename=document_filename("registre-sous-traitant", syndicate.short_name or syndicate.name, at=at),
        content=content,
    )


def processor_register_content(syndicate: Organisation, *, at: Any) -> bytes:
    """The processor register's PDF bytes (Art. 30.2), not stored."""
    return pdf.processor_register_pdf(data.processor_register_data(syndicate, generated_at=at))
