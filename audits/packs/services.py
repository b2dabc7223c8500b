"""Evidence packs: asked for on the packs page (or by an audit, :func:`request_pack`), built by the
job queue (:func:`build_pack`), downloaded while they last, purged when they expire — each step
journalled."""

from __future__ import annotations

import itertools
import logging
import os
import secrets
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from flask import abort, current_app, g
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, select, update

from accounts.models import Organisation
from audits import access
from audits.documents.findings import KIND as FINDINGS_KIND
from audits.documents.findings import findings_pdf
from audits.models import Audit
from audits.packs import builder, sources
from audits.packs.models import EvidencePack, PackStatus
from core import SQLITE_WRITER, audit
from core.db import utcnow
from core.extensions import db
from core.field_errors import FieldError
from core.forms import raise_field_errors
from core.jobs import job, paris_crontab
from core.roles import Role
from core.tenancy import UNSCOPED, current_org, current_org_roles, get_scoped_or_404, scoped
from reports import documents, signing

logger = logging.getLogger("egide.packs")

MAX_PERIOD_DAYS = 366 * 10
PROGRESS_EVERY_BYTES = 8 * 1024 * 1024
REPORT_WEIGHT = 512 * 1024  # a document counts as this many bytes in the progress bar
# Who chooses members of the syndicate for a pack: its RSSI.
SCOPE_ROLES = frozenset({Role.RSSI})


def pack_dir() -> Path:
    configured = current_app.config.get("PACK_DIR")
    path = Path(configured) if configured else Path(current_app.instance_path) / "packs"
    return path if path.is_absolute() else Path(current_app.instance_path) / path


def file_of(pack: EvidencePack) -> Path | None:
    """The pack's ZIP on disk, when it is ready and still there."""
    if pack.status != PackStatus.READY or not pack.file_path:
        return None
    path = pack_dir() / pack.file_path
    return path if path.is_file() else None


# --- the pages' reads -------------------------------------------------------------------------------

CONTENTS_SHOWN = 200


def contents(pack: EvidencePack) -> list[tuple[str, int]]:
    """The files of a ready pack (path, size), from its ZIP's central directory (no file read),
    the first :data:`CONTENTS_SHOWN`; empty when there is no file."""
    path = file_of(pack)
    if path is None:
        return []
    try:
        with zipfile.ZipFile(path) as zf:
            return [(info.filename, info.file_size) for info in zf.infolist()[:CONTENTS_SHOWN]]
    except (OSError, zipfile.BadZipFile):
        logger.warning("evidence pack %s: its file cannot be read", pack.id)
        return []


def packs_query() -> Select[Any]:
    """The active organisation's packs, newest first; for an auditor invited to an audit, the packs
    of that audit only (audits.access: one rule for what an auditor sees)."""
    stmt = scoped(select(EvidencePack), EvidencePack)
    visible = access.visible_audit_ids()
    if visible is not None:
        stmt = stmt.where(EvidencePack.audit_id.in_(visible))
    return stmt.order_by(EvidencePack.requested_at.desc(), EvidencePack.id.desc())


def get_pack_or_404(pack_id: int) -> EvidencePack:
    """A pack of the active organisation — of the auditor's own audit, for an invited auditor."""
    pack = get_scoped_or_404(EvidencePack, pack_id)
    visible = access.visible_audit_ids()
    if visible is not None and pack.audit_id not in visible:
        abort(404)
    return pack


AUDIT_PACKS_SHOWN = 10


def packs_of_audit(audit_id: int) -> list[EvidencePack]:
    """The latest packs made for an audit (its page's panel)."""
    return list(
        db.session.scalars(packs_query().where(EvidencePack.audit_id == audit_id).limit(AUDIT_PACKS_SHOWN))
    )


def request_audit_pack(audit_obj: Audit, actor: Any) -> EvidencePack:
    """The pack of an audit: the documents and evidence of its organisations over its dates, and its
    findings (the findings PDF is added by the job), named after it; downloadable by its auditors."""
    org_ids = [audit_obj.organisation_id, *(o.id for o in audit_obj.organisations)]
    return request_pack(
        org_ids,
        audit_obj.start_on,
        audit_obj.end_on,
        actor=actor,
        audit_id=audit_obj.id,
        title=_(
            "Dossier de preuves de l'audit %(ref)s — %(title)s",
            ref=audit_obj.reference,
            title=audit_obj.title,
        ),
    )


def may_choose_members(org: Any = None, roles: frozenset[Role] | None = None) -> bool:
    org = org if org is not None else current_org
    roles = roles if roles is not None else current_org_roles()
    return bool(org is not None and org.is_syndicate and roles & SCOPE_ROLES)


def scope_choices(org: Any) -> list[tuple[int, str]]:
    """The organisations a pack of ``org`` may cover: itself, and its members for a syndicate."""
    rows = db.session.execute(
        select(Organisation.id, Organisation.name)
        .where((Organisation.id == org.id) | (Organisation.syndicate_id == org.id))
        .order_by((Organisation.id != org.id), Organisation.name)
        .execution_options(**UNSCOPED)  # unscoped: the syndicate and its members, filtered explicitly
    )
    return [(int(r.id), str(r.name)) for r in rows]


def scope_names(pack: EvidencePack) -> list[str]:
    ids = [int(i) for i in pack.scope_org_ids or []]
    if not ids:
        return []
    rows = db.session.execute(
        select(Organisation.id, Organisation.name)
        .where(Organisation.id.in_(ids))
        .execution_options(**UNSCOPED)  # unscoped: the pack's own scope, checked when it was asked
    )
    names = {int(r.id): str(r.name) for r in rows}
    return [names.get(i, f"#{i}") for i in ids]


# --- asking for a pack ---------------------------------------------------------------------------------


def request_pack(
    org_ids: Sequence[int],
    period_start: date,
    period_end: date,
    *,
    actor: Any,
    audit_id: int | None = None,
    title: str | None = None,
    linked_to: str | None = None,
    organisation: Any = None,
) -> EvidencePack:
    """Ask for a pack of ``org_ids`` (the active organisation, or members of the syndicate chosen by
    its RSSI) over a period; it is built by the job queue once the caller commits. Raises
    :class:`~core.field_errors.FieldError` (French messages) for a scope or period not allowed."""
    org = organisation if organisation is not None else current_org._get_current_object()
    errors: list[FieldError] = []
    ids = list(dict.fromkeys(int(i) for i in org_ids))
    allowed = {i for i, _name in scope_choices(org)} if may_choose_members(org) else {org.id}
    if not ids:
        errors.append(FieldError("organisations", _("Choisissez au moins une organisation.")))
    elif not set(ids) <= allowed:
        errors.append(
            FieldError(
                "organisations", _("Vous ne pouvez demander un dossier que pour les organisations proposées.")
            )
        )
    if period_start is None or period_end is None:
        errors.append(FieldError("period_end", _("Indiquez le début et la fin de la période.")))
    elif period_end < period_start:
        errors.append(FieldError("period_end", _("La fin de la période précède son début.")))
    elif (period_end - period_start).days > MAX_PERIOD_DAYS:
        errors.append(FieldError("period_end", _("La période ne peut dépasser dix ans.")))
    raise_field_errors(errors)
    names = dict(scope_choices(org))
    label = title or _(
        "Dossier de preuves — %(orgs)s — du %(start)s au %(end)s",
        orgs=", ".join(names.get(i, str(i)) for i in ids[:3]) + ("…" if len(ids) > 3 else ""),
        start=period_start.strftime("%d/%m/%Y"),
        end=period_end.strftime("%d/%m/%Y"),
    )
    pack = EvidencePack(
        organisation_id=org.id,
        title=label[:300],
        scope_org_ids=ids,
        period_start=period_start,
        period_end=period_end,
        audit_id=audit_id,
        linked_to=(linked_to or None) and linked_to[:200],
        locale=str(get_locale() or "fr"),
        status=PackStatus.QUEUED.value,
        progress=0,
        requested_by_id=getattr(actor, "id", None),
    )
    db.session.add(pack)
    db.session.flush()
    audit.record(
        org.id,
        actor,
        "pack.request",
        pack,
        {"status": (None, pack.status), "title": (None, pack.title)},
        detail={
            "scope": ids,
            "period": [period_start.isoformat(), period_end.isoformat()],
            "audit_id": audit_id,
        },
    )
    build_pack.enqueue(pack.id)
    return pack


# --- building it (the job) ------------------------------------------------------------------------------


@contextmanager
def _own_transaction() -> Iterator[Any]:
    writer = g.get(SQLITE_WRITER, False)
    setattr(g, SQLITE_WRITER, True)
    session = db.sessionmaker()
    try:
        yield session
        session.commit()
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()
        setattr(g, SQLITE_WRITER, writer)


def _set(pack_id: int, **values: Any) -> None:
    with _own_transaction() as session:
        session.execute(
            update(EvidencePack)
            .where(EvidencePack.id == pack_id)
            .values(**values)
            .execution_options(**UNSCOPED)  # unscoped: a job, outside any request; named by its id
        )


def _pack(pack_id: int) -> EvidencePack | None:
    # unscoped: a job runs outside any request; the row is named by its id
    return db.session.scalar(
        select(EvidencePack).where(EvidencePack.id == pack_id).execution_options(**UNSCOPED)
    )


def _loaded(pack_id: int) -> EvidencePack:
    pack = _pack(pack_id)
    if pack is None:  # read a moment ago; packs are never deleted
        raise LookupError(f"evidence pack {pack_id} vanished")
    return pack


def _organisations(ids: Sequence[int]) -> list[Organisation]:
    found = {
        o.id: o
        for o in db.session.scalars(
            select(Organisation).where(Organisation.id.in_(list(ids))).execution_options(**UNSCOPED)
        )  # unscoped: the pack's scope, checked when it was asked
    }
    return [found[i] for i in ids if i in found]


def _audit_reports(audit_id: int | None) -> Iterator[builder.ReportForPack]:
    """A pack made for an audit: the audit's findings, signed (its kind has no per-organisation
    ``build``: the findings belong to the audit)."""
    if audit_id is None:
        return
    audit_obj = db.session.get(Audit, audit_id)
    if audit_obj is None:
        return
    owner = db.session.get(Organisation, audit_obj.organisation_id)
    content = findings_pdf(audit_obj, generated_at=utcnow())
    yield builder.ReportForPack(
        kind=f"{FINDINGS_KIND}-{audit_obj.reference}",
        label=_("Constats de l'audit %(ref)s", ref=audit_obj.reference),
        organisation_id=audit_obj.organisation_id,
        organisation_name=owner.name if owner else "",
        content=signing.sign_pdf(content, reason=_("Constats d'audit")),
    )


def _reports(orgs: list[Organisation], period: tuple[date, date]) -> Iterator[builder.ReportForPack]:
    """The documents of every kind that builds one, for each organisation, signed (one in memory at
    a time)."""
    for kind in documents.buildable_kinds():
        for org in orgs:
            content = kind.build(org, period) if kind.build is not None else None
            if content is None:
                continue
            yield builder.ReportForPack(
                kind=kind.code,
                label=str(kind.label),
                organisation_id=org.id,
                organisation_name=org.name,
                content=signing.sign_pdf(content, reason=str(kind.label)),
            )


class _ProgressWriter:
    def __init__(self, pack_id: int, total: int) -> None:
        self.pack_id, self.total, self.next_at, self.percent = pack_id, max(total, 1), 0, 0

    def __call__(self, done: int) -> None:
        if done < self.next_at:
            return
        self.next_at = done + max(PROGRESS_EVERY_BYTES, self.total // 50)
        percent = max(1, min(99, int(done * 100 / self.total)))
        if percent > self.percent:
            self.percent = percent
            _set(self.pack_id, progress=percent)


@job("audits.pack_build", label=_l("Dossier de preuves"))
def build_pack(pack_id: int) -> None:
    """Build the pack's ZIP (see :mod:`audits.packs.builder`), in the language it was asked in."""
    pack = _pack(pack_id)
    if pack is None:
        logger.warning("evidence pack %s: no such pack", pack_id)
        return
    if pack.status in (PackStatus.READY, PackStatus.EXPIRED):
        return  # built already (a relaunch of a job whose retry succeeded)
    writer = g.get(SQLITE_WRITER, False)
    org_id, actor = pack.organisation_id, pack.requested_by
    actor_name = (getattr(actor, "full_name", None) or getattr(actor, "email", None) or "—") if actor else "—"
    db.session.rollback()
    _set(pack_id, status=PackStatus.BUILDING.value, started_at=utcnow(), progress=0, error=None)
    directory = pack_dir() / str(org_id)
    directory.mkdir(parents=True, exist_ok=True)
    final_name = f"{org_id}/pack-{pack_id}-{secrets.token_hex(8)}.zip"
    partial = pack_dir() / (final_name + ".part")
    try:
        setattr(g, SQLITE_WRITER, False)  # building only reads
        pack = _loaded(pack_id)
        orgs = _organisations(pack.scope_org_ids)
        period = (pack.period_start, pack.period_end)
        with force_locale(pack.locale):
            evidence = list(sources.evidence_for([o.id for o in orgs], None))  # metadata; bytes stream later
            total = sum(e.size for e in evidence) + REPORT_WEIGHT * len(orgs) * len(
                documents.buildable_kinds()
            )
            generated_at = utcnow()
            header = builder.PackHeader(
                title=pack.title,
                generated_at=generated_at,
                generated_by=str(actor_name),
                scope=[{"id": o.id, "name": o.name} for o in orgs],
                period_start=period[0].isoformat(),
                period_end=period[1].isoformat(),
                audit_id=pack.audit_id,
                instance=current_app.config.get("SERVER_NAME") or "égide",
            )
            result = builder.write_pack(
                partial,
                header,
                itertools.chain(_reports(orgs, period), _audit_reports(pack.audit_id)),
                evidence,
                sign=signing.sign_manifest,
                public_key_pem=signing.pack_public_key_pem(),
                certificate_pem=signing.certificate_pem(),
                progress=_ProgressWriter(pack_id, total),
            )
        os.replace(partial, pack_dir() / final_name)
        db.session.rollback()  # end the reading before writing (SQLite: BEGIN IMMEDIATE below)
        setattr(g, SQLITE_WRITER, True)
        pack = _loaded(pack_id)
        expires = utcnow() + timedelta(days=int(current_app.config.get("PACK_EXPIRY_DAYS", 30)))
        pack.status = PackStatus.READY.value
        pack.progress = 100
        pack.finished_at = utcnow()
        pack.expires_at = expires
        pack.file_path = final_name
        pack.size = result.size
        pack.sha256 = result.sha256
        pack.manifest_sha256 = result.manifest_sha256
        pack.file_count = result.file_count
        pack.report_count = result.report_count
        pack.evidence_count = result.evidence_count
        pack.evidence_bytes = result.evidence_bytes
        audit.record(
            org_id,
            pack.requested_by,
            "pack.generate",
            pack,
            {"status": (PackStatus.BUILDING.value, PackStatus.READY.value), "sha256": (None, result.sha256)},
            detail={
                "size": result.size,
                "files": result.file_count,
                "manifest_sha256": result.manifest_sha256,
            },
            request_context=False,
        )
        db.session.flush()
    except (builder.PackError, signing.SigningNotReady) as error:
        # Not retried: the evidence file itself is wrong (another attempt would read the same bytes),
        # or the signing keys are not installed (the administrator runs `flask signing init`).
        partial.unlink(missing_ok=True)
        db.session.rollback()
        setattr(g, SQLITE_WRITER, True)
        if isinstance(error, builder.PackError):
            message = error.message
        else:
            message = _(
                "Le certificat de signature n'est pas installé sur le serveur : l'administrateur doit "
                "lancer « flask signing init » (ou configurer EGIDE_SIGNING_P12), puis vous pourrez "
                "redemander le dossier."
            )
        _fail(pack_id, message)
        logger.warning("evidence pack %s failed: %s", pack_id, error)
    except Exception as error:
        partial.unlink(missing_ok=True)
        db.session.rollback()
        _set(
            pack_id,
            status=PackStatus.FAILED.value,
            finished_at=utcnow(),
            error=f"{type(error).__name__}: {error}"[:2000],
        )
        raise
    finally:
        setattr(g, SQLITE_WRITER, writer)


def _fail(pack_id: int, message: str) -> None:
    pack = _pack(pack_id)
    if pack is None:
        return
    previous = pack.status
    pack.status = PackStatus.FAILED.value
    pack.finished_at = utcnow()
    pack.error = message[:2000]
    audit.record(
        pack.organisation_id,
        pack.requested_by,
        "pack.fail",
        pack,
        {"status": (previous, PackStatus.FAILED.value)},
        detail={"error": message[:500]},
        request_context=False,
    )
    db.session.flush()


# --- downloading, purging ------------------------------------------------------------------------------


def record_download(pack: EvidencePack, actor: Any) -> None:
    audit.record(
        pack.organisation_id,
        actor,
        "pack.download",
        pack,
        None,
        detail={"sha256": pack.sha256, "size": pack.size},
    )


def purge_expired(now: Any = None) -> int:
    """Delete the files of the packs past their expiry; their rows stay, marked expired (journalled)."""
    now = now or utcnow()
    stmt = (
        select(EvidencePack)
        .where(EvidencePack.status == PackStatus.READY.value, EvidencePack.expires_at < now)
        .execution_options(**UNSCOPED)  # unscoped: the nightly purge goes through every organisation
    )
    count = 0
    for pack in list(db.session.scalars(stmt)):
        if pack.file_path:
            (pack_dir() / pack.file_path).unlink(missing_ok=True)
        pack.status = PackStatus.EXPIRED.value
        pack.file_path = None
        audit.record(
            pack.organisation_id,
            None,
            "pack.expire",
            pack,
            {"status": (PackStatus.READY.value, PackStatus.EXPIRED.value)},
            request_context=False,
        )
        count += 1
    db.session.flush()
    return count


@job(
    "audits.pack_purge", label=_l("Purge des dossiers de preuves expirés"), schedule=paris_crontab("45", "3")
)
def purge_job() -> int:
    """What ``flask packs purge`` does, every night at 3:45."""
    return purge_expired()
