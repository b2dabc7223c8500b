"""Generated documents: keep every PDF handed out with its SHA-256, and journal it."""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING, Any

from flask_babel import gettext as _
from sqlalchemy import Select, select
from sqlalchemy.orm import defer

from accounts.models import Organisation, User
from core import audit
from core.db import utcnow
from core.extensions import db
from core.tenancy import scoped
from core.text import fold
from reports.models import GeneratedReport
from reports.pdf import paris

if TYPE_CHECKING:
    from registers.models import ProcessingActivity


def store_report(
    org: Organisation,
    actor: User | None,
    *,
    kind: str,
    title: str,
    filename: str,
    content: bytes,
    object_id: int | None = None,
    media_type: str = "application/pdf",
) -> GeneratedReport:
    """Save ``content`` as a generated document of ``org``; its SHA-256 goes to the journal too,
    so a document can be checked against the chain even if this row were altered."""
    digest = hashlib.sha256(content).hexdigest()
    report = GeneratedReport(
        organisation_id=org.id,
        kind=kind,
        title=title[:300],
        filename=filename[:200],
        media_type=media_type,
        sha256=digest,
        size=len(content),
        content=content,
        created_by_id=getattr(actor, "id", None),
        object_id=object_id,
    )
    db.session.add(report)
    db.session.flush()
    audit.record(
        org,
        actor,
        "report.generate",
        report,
        {"kind": (None, kind), "filename": (None, report.filename), "sha256": (None, digest)},
    )
    return report


def reports_query() -> Select[Any]:
    """The active organisation's documents, newest first, without their bytes."""
    return (
        scoped(select(GeneratedReport), GeneratedReport)
        .options(defer(GeneratedReport.content))
        .order_by(GeneratedReport.created_at.desc(), GeneratedReport.id.desc())
    )


def _filename(*parts: str, at: Any) -> str:
    """``registre-ville-d-ivry-20261124-1405.pdf`` (ASCII: safe in every download dialog)."""
    slug = "-".join(re.sub(r"[^a-z0-9]+", "-", fold(part)).strip("-") for part in parts if part)
    return f"{slug[:150]}-{paris(at):%Y%m%d-%H%M}.pdf"


def _builders() -> Any:
    # Imported here: reports.registers loads the registers package, whose views import this module.
    from reports import pdf_registers, registers  # noqa: PLC0415

    return pdf_registers, registers


def generate_register(org: Organisation, actor: User | None) -> GeneratedReport:
    """The organisation's register (Art. 30.1) as a PDF, stored and journalled."""
    pdf_registers, registers = _builders()
    at = utcnow()
    content = pdf_registers.register_pdf(registers.register_data(org, generated_at=at))
    return store_report(
        org,
        actor,
        kind="register",
        title=_("Registre des activités de traitement — %(org)s", org=org.name),
        filename=_filename("registre", org.short_name or org.name, at=at),
        content=content,
    )


def generate_activity(activity: ProcessingActivity, actor: User | None) -> GeneratedReport:
    """One fiche as a PDF, stored in the documents of the fiche's organisation."""
    pdf_registers, registers = _builders()
    at = utcnow()
    content = pdf_registers.activity_pdf(registers.activity_data(activity, generated_at=at))
    return store_report(
        activity.organisation,
        actor,
        kind="activity",
        title=_("Fiche %(ref)s — %(name)s", ref=activity.reference, name=activity.name),
        filename=_filename("fiche", activity.reference, at=at),
        content=content,
        object_id=activity.id,
    )


def generate_processor_register(syndicate: Organisation, actor: User | None) -> GeneratedReport:
    """The syndicate's processor register (Art. 30.2) as a PDF, stored and journalled."""
    pdf_registers, registers = _builders()
    at = utcnow()
    content = pdf_registers.processor_register_pdf(
        registers.processor_register_data(syndicate, generated_at=at)
    )
    return store_report(
        syndicate,
        actor,
        kind="processor_register",
        title=_("Registre du sous-traitant — %(org)s", org=syndicate.name),
        filename=_filename("registre-sous-traitant", syndicate.short_name or syndicate.name, at=at),
        content=content,
    )


def size_label(size: int) -> str:
    """``12 ko``, ``2,4 Mo`` (French units)."""
    if size < 1024:
        return _("%(n)d octets", n=size)
    if size < 1024 * 1024:
        return _("%(n)d ko", n=round(size / 1024))
    return _("%(n)s Mo", n=f"{size / 1024 / 1024:.1f}".replace(".", ","))
