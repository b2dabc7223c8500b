"""What the registers hand to the background jobs (core.jobs): the daily purge of expired imports,
the PDF of a large register (:func:`queue_register_pdf`), and their part of the weekly digest
(``registers.DOMAIN.digest``, sent by accounts.services.digest).

The digest's conditions are those of the lists and of the home page's figures
(registers.services.rights, .breaches, .queries, .processors): an item of the digest is on its list.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select

from accounts.models import Membership, Organisation, User, membership_is_current
from core.db import PARIS
from core.domains import DigestItem
from core.extensions import db
from core.jobs import job, paris_crontab
from core.security import Role
from core.tenancy import UNSCOPED
from registers import documents
from registers.models import Breach, NotificationDecision, ProcessingActivity, Processor, RightsRequest
from registers.services import breaches, exchange, queries
from reports import services as reports
from reports.models import DocumentJob

DIGEST_LIMIT = 200  # items of one kind in one digest, nearest deadline first


@job("registers.purge_imports", label=_l("Purge des imports expirés"), schedule=paris_crontab("30", "3"))
def purge_imports() -> int:
    """What ``flask registers purge-imports`` does (exchange.purge_expired), every night at 3:30."""
    return exchange.purge_expired()


@job("registers.register_pdf", label=_l("PDF d'un grand registre"))
def build_register_pdf(job_id: int) -> None:
    """The register PDF asked for on the documents page (:func:`queue_register_pdf`)."""
    reports.run_document_job(job_id, _build_register)


def _build_register(document_job: DocumentJob, progress: reports.Progress) -> reports.BuiltDocument:
    org = db.session.get(Organisation, document_job.organisation_id)
    if org is None:
        raise LookupError(f"organisation {document_job.organisation_id} not found")
    return documents.build_register(
        org, include_drafts=bool(document_job.options.get("include_drafts")), progress=progress
    )


def queue_register_pdf(org: Organisation, actor: User, *, include_drafts: bool) -> DocumentJob:
    """Ask for the register of ``org`` in the background: built by the worker in the language of the
    request, stored and journalled in the name of ``actor``; the caller commits."""
    document_job = reports.request_document(
        org,
        actor,
        kind="register",
        title=documents.register_title(org, include_drafts=include_drafts),
        options={"include_drafts": include_drafts},
        item_count=documents.register_size(org),
        locale=str(get_locale() or "fr"),
    )
    build_register_pdf.enqueue(document_job.id)
    return document_job


def _scope(user: User) -> Select[Any]:
    """The organisations whose register work is the user's: where he is DPO or referent."""
    return (
        select(Membership.organisation_id)
        .join(Organisation, Organisation.id == Membership.organisation_id)
        .where(
            Membership.user_id == user.id,
            Membership.role.in_((Role.DPO, Role.REFERENT)),
            membership_is_current(),
            Organisation.left_on.is_(None),
        )
    )


def _rows(stmt: Select[Any]) -> Any:
    # unscoped: the organisations are named by the statement (the user's own, _scope)
    return db.session.execute(stmt.limit(DIGEST_LIMIT).execution_options(**UNSCOPED))


def digest(user: User, today: date, until: date) -> list[DigestItem]:
    scope = _scope(user)
    org = Organisation
    items: list[DigestItem] = []
    rr = RightsRequest
    for ref, right, due_on, org_id, name in _rows(
        select(rr.reference, rr.right, rr.due_on, rr.organisation_id, org.name)
        .join(org, org.id == rr.organisation_id)
        .where(rr.organisation_id.in_(scope), rr.is_open.is_(True), rr.due_on <= until)
        .order_by(rr.due_on, rr.id)
    ):
        items.append(
            DigestItem(org_id, name, _("Demande d'exercice de droits"), f"{ref} — {right.label}", due_on)
        )
    b = Breach
    for ref, title, discovered_at, org_id, name in _rows(
        select(b.reference, b.title, b.discovered_at, b.organisation_id, org.name)
        .join(org, org.id == b.organisation_id)
        .where(
            b.organisation_id.in_(scope),
            b.is_closed.is_(False),
            b.cnil_decision == NotificationDecision.PENDING,
        )
        .order_by(b.discovered_at, b.id)
    ):
        deadline = breaches.notification_deadline(discovered_at).astimezone(PARIS).date()
        items.append(
            DigestItem(
                org_id,
                name,
                _("Violation : décision de notification à la CNIL"),
                f"{ref} — {title}",
                deadline,
            )
        )
    pa = ProcessingActivity
    for ref, title, review_on, org_id, name in _rows(
        select(pa.reference, pa.name, pa.next_review_on, pa.organisation_id, org.name)
        .join(org, org.id == pa.organisation_id)
        .where(pa.organisation_id.in_(scope), queries.in_register(), pa.next_review_on <= until)
        .order_by(pa.next_review_on, pa.id)
    ):
        items.append(
            DigestItem(org_id, name, _("Revue de fiche de traitement"), f"{ref} — {title}", review_on)
        )
    p = Processor
    for title, review_on, org_id, name in _rows(
        select(p.name, p.next_review_on, p.organisation_id, org.name)
        .join(org, org.id == p.organisation_id)
        .where(p.organisation_id.in_(scope), p.next_review_on <= until)
        .order_by(p.next_review_on, p.id)
    ):
        items.append(DigestItem(org_id, name, _("Revue de sous-traitant"), title, review_on))
    for org_id, name, count in _rows(
        select(pa.organisation_id, org.name, func.count())
        .join(org, org.id == pa.organisation_id)
        .where(pa.organisation_id.in_(scope), queries.in_register(), queries.is_template_decision())
        .group_by(pa.organisation_id, org.name)
        .order_by(org.name)
    ):
        items.append(
            DigestItem(
                org_id,
                name,
                _("Changement de modèle à examiner"),
                ngettext("%(num)s fiche à décider", "%(num)s fiches à décider", count),
            )
        )
    return items


__all__ = ["build_register_pdf", "digest", "purge_imports", "queue_register_pdf"]
