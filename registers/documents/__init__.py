"""The registers' documents: the register (Art. 30.1), one fiche, the syndicate's processor register
(Art. 30.2). Each is read from the database into frozen dataclasses (:mod:`.data`), printed by
reportlab (:mod:`.pdf`, on the shared blocks of :mod:`reports.pdf`), then kept with its SHA-256 and
journalled by :func:`reports.services.store_report`.

Importing this package declares the three kinds to ``reports``, which lists them on the shared
documents page under ``REGISTERS_VIEW`` (a reader or an auditor may print the register too).
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from accounts.models import Organisation, User
from core.db import utcnow
from core.security import Permission
from core.tenancy import current_org
from registers.documents import data, pdf
from registers.forms.documents import RegisterDocumentForm
from registers.models import ProcessingActivity
from reports.documents import DocumentKind, DocumentSection, Generate, register_document_kind
from reports.models import GeneratedReport
from reports.services import document_filename, store_report

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


for _kind in (
    DocumentKind(
        "register",
        _l("Registre des activités de traitement"),
        Permission.REGISTERS_VIEW,
        section=REGISTER_DOCUMENTS,
        generate=Generate(
            "registers.document_register", _l("Générer le registre (PDF)"), form=RegisterDocumentForm
        ),
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
    ),
):
    register_document_kind(_kind)


def generate_register(
    org: Organisation, actor: User | None, *, include_drafts: bool = False
) -> GeneratedReport:
    """The organisation's register (Art. 30.1) as a PDF, stored and journalled. Drafts are left out
    unless ``include_drafts`` (then printed, marked); the title of the stored document says which."""
    at = utcnow()
    content = pdf.register_pdf(data.register_data(org, generated_at=at, include_drafts=include_drafts))
    if include_drafts:
        title = _("Registre des activités de traitement — %(org)s (brouillons inclus)", org=org.name)
    else:
        title = _("Registre des activités de traitement — %(org)s (sans les brouillons)", org=org.name)
    return store_report(
        org,
        actor,
        kind="register",
        title=title,
        filename=document_filename("registre", org.short_name or org.name, at=at),
        content=content,
    )


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
    content = pdf.processor_register_pdf(data.processor_register_data(syndicate, generated_at=at))
    return store_report(
        syndicate,
        actor,
        kind="processor_register",
        title=_("Registre du sous-traitant — %(org)s", org=syndicate.name),
        filename=document_filename("registre-sous-traitant", syndicate.short_name or syndicate.name, at=at),
        content=content,
    )
