"""Generated documents: keep every PDF handed out with its SHA-256, and journal it.

The domains build their documents (``registers/documents``) and hand the bytes to :func:`store_report`;
this module knows no domain: an organisation and an actor are whatever has an ``id``."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, select
from sqlalchemy.orm import defer

from core import audit
from core.extensions import db
from core.tenancy import scoped
from core.text import fold
from reports.documents import kind_of, readable_kinds
from reports.models import GeneratedReport
from reports.pdf import paris


def store_report(
    org: Any,
    actor: Any,
    *,
    kind: str,
    title: str,
    filename: str,
    content: bytes,
    object_id: int | None = None,
    media_type: str = "application/pdf",
) -> GeneratedReport:
    """Save ``content`` as a generated document of ``org``; its SHA-256 goes to the journal too,
    so a document can be checked against the chain even if this row were altered. ``kind``: one
    the domain declared (:func:`reports.documents.register_document_kind`), else nobody could read it."""
    if kind_of(kind) is None:
        raise ValueError(f"reports: undeclared document kind {kind!r}")
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


def report_titles(ids: Iterable[int]) -> dict[int, str]:
    """Titles of the active organisation's documents by id, of the kinds the user reads (the journal)."""
    ids = {int(i) for i in ids}
    if not ids:
        return {}
    rows = db.session.execute(
        scoped(select(GeneratedReport.id, GeneratedReport.title), GeneratedReport).where(
            GeneratedReport.id.in_(ids), GeneratedReport.kind.in_(readable_kinds())
        )
    )
    return {row.id: row.title for row in rows}


def reports_query() -> Select[Any]:
    """The active organisation's documents of the kinds the user reads, newest first, without their
    bytes."""
    return (
        scoped(select(GeneratedReport), GeneratedReport)
        .where(GeneratedReport.kind.in_(readable_kinds()))
        .options(defer(GeneratedReport.content))
        .order_by(GeneratedReport.created_at.desc(), GeneratedReport.id.desc())
    )


def document_filename(*parts: str, at: Any) -> str:
    """``registre-ville-d-ivry-20261124-1405.pdf`` (ASCII: safe in every download dialog)."""
    slug = "-".join(re.sub(r"[^a-z0-9]+", "-", fold(part)).strip("-") for part in parts if part)
    return f"{slug[:150]}-{paris(at):%Y%m%d-%H%M}.pdf"


def size_label(size: int) -> str:
    """``12 ko``, ``2,4 Mo`` (French units)."""
    if size < 1024:
        return _("%(n)d octets", n=size)
    if size < 1024 * 1024:
        return _("%(n)d ko", n=round(size / 1024))
    return _("%(n)s Mo", n=f"{size / 1024 / 1024:.1f}".replace(".", ","))
