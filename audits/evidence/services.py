"""The evidence store's rules and writes: uploads (streamed, encrypted, inspected, then kept or
thrown away whole), new versions, edits, links, downloads (verified, then streamed decrypted), the
list and its filters, the panels, the home figures, and :func:`evidence_for_pack` for the packs.

**Uploads never touch the disk in clear.** The evidence routes register an :class:`UploadSink`
with :mod:`core.uploads`: while werkzeug parses the request, each file part is written to the sink,
which hashes it (SHA-256), counts it (over ``EVIDENCE_MAX_BYTES`` it stops storing and only
counts), and encrypts it chunk by chunk into ``EVIDENCE_DIR/.incoming/<random id>`` under a fresh
data key — at most one 64 KiB chunk of plaintext in memory. The view then inspects the content
through a decrypting, seekable reader (:mod:`audits.evidence.inspection`); a refused file is
deleted, an accepted one is renamed into place and its row written in the same request, and
whatever the request did not keep is deleted when it ends (teardown), so a refusal, an error or
an abandoned form leaves neither a row nor a file.
"""

from __future__ import annotations

import hashlib
import io
import os
import secrets
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import IO, Any

from flask import current_app, g, has_request_context
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import Select, and_, exists, func, or_, select

from accounts.models import Organisation, User
from accounts.services.users import people_holding
from core import audit
from core.concurrency import check_version, flush_or_conflict
from core.db import today
from core.extensions import db
from core.forms import FieldError, raise_field_errors, text_value
from core.journal.labels import JOURNAL_TYPES
from core.pagination import Page, paginate
from core.security import Permission, roles_granting
from core.tenancy import UNSCOPED, scoped
from core.text import fold

from . import inspection, keyring
from .models import LINK_TYPES, Evidence, EvidenceLink, EvidenceVersion

AUDITED_FIELDS = ("title", "description", "owner_id", "valid_from", "valid_until")
VERSION_FIELDS = ("number", "filename", "size", "sha256", "media_type")
EXPIRING_DAYS = 30
INCOMING = ".incoming"


def max_bytes() -> int:
    return int(current_app.config.get("EVIDENCE_MAX_BYTES", 50 * 1024 * 1024))


def _megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):.0f}"


# --- the upload sink (core.uploads) -------------------------------------------------------------------


class UploadSink:
    """A file part of an upload request, encrypted as it arrives (see the module's docstring)."""

    def __init__(self, limit: int) -> None:
        self.storage_id = secrets.token_hex(16)
        self.limit = limit
        self.size = 0
        self.too_large = False
        self.kept = False
        self._sha = hashlib.sha256()
        self._data_key = secrets.token_bytes(32)
        incoming = keyring.evidence_dir() / INCOMING
        incoming.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = incoming / self.storage_id
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._file: IO[bytes] | None = os.fdopen(fd, "wb")
        self._writer = keyring.EncryptingWriter(self._file, self._data_key, self.storage_id)

    # the file-object interface werkzeug's form parser uses
    def write(self, data: bytes) -> int:
        self.size += len(data)
        if self.size > self.limit:
            self.too_large = True  # from here on: counted, not stored
            return len(data)
        self._sha.update(data)
        self._writer.write(data)
        return len(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        self.finish()
        return 0

    def tell(self) -> int:
        return self.size

    def read(self, size: int = -1) -> bytes:  # never hand the plaintext back through werkzeug
        return b""

    def flush(self) -> None:
        return None

    def close(self) -> None:
        self.finish()

    @property
    def closed(self) -> bool:
        return self._file is None

    def finish(self) -> None:
        if self._file is not None:
            self._writer.close_final()
            self._file.close()
            self._file = None

    @property
    def sha256(self) -> str:
        return self._sha.hexdigest()

    def reader(self) -> keyring.DecryptingReader:
        self.finish()
        return keyring.DecryptingReader(self.path, self._data_key, self.storage_id)

    def keep(self) -> tuple[str, str]:
        """Move the file into the store; returns (KEK id, wrapped data key)."""
        self.finish()
        kek_id, wrapped = keyring.wrap(self._data_key)
        os.replace(self.path, keyring.evidence_dir() / self.storage_id)
        self.kept = True
        self.path = keyring.evidence_dir() / self.storage_id
        return kek_id, wrapped

    def discard(self) -> None:
        self.finish()
        self.path.unlink(missing_ok=True)


class DiscardingSink(io.RawIOBase):
    """Where the file of an anonymous request goes: nowhere (the request is refused anyway, after
    Flask-WTF's CSRF check has read the form)."""

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return len(data)


def sink_factory(
    total: int | None, content_type: str | None, filename: str | None, length: int | None
) -> IO[bytes]:
    if not current_user.is_authenticated:
        return DiscardingSink()  # type: ignore[return-value]
    sink = UploadSink(max_bytes())
    if has_request_context():
        g.setdefault("evidence_uploads", []).append(sink)
    return sink


def discard_unclaimed(_exc: BaseException | None = None) -> None:
    """Teardown: delete what the request received and did not keep."""
    for sink in g.pop("evidence_uploads", []):
        if not sink.kept:
            sink.discard()


def forget_kept(sink: UploadSink) -> None:
    """The transaction that recorded a kept file failed: remove the file again."""
    sink.path.unlink(missing_ok=True)
    sink.kept = False


@dataclass(frozen=True)
class Checked:
    sink: UploadSink
    filename: str
    media_type: str


def check_upload(upload: Any, field: str = "file") -> Checked:
    """The upload accepted, or FieldError with the reason (the file is then deleted)."""
    sink = getattr(upload, "stream", None)
    if not isinstance(sink, UploadSink) or (sink.size == 0 and not getattr(upload, "filename", "")):
        raise FieldError(field, _("Choisissez le fichier à déposer."))
    try:
        if sink.too_large:
            raise inspection.Refused(
                _("Le fichier dépasse la taille maximale (%(n)s Mo).", n=_megabytes(sink.limit))
            )
        filename = inspection.sanitise_filename(upload.filename)
        reader = sink.reader()
        try:
            media_type = inspection.inspect_content(reader, sink.size, filename)
        finally:
            reader.close()
    except inspection.Refused as refused:
        sink.discard()
        raise FieldError(field, refused.reason) from None
    return Checked(sink, filename, media_type)


# --- writes -------------------------------------------------------------------------------------------


def owner_choices(org_id: int, *, include: int | None = None) -> list[tuple[int, str]]:
    return people_holding(org_id, roles_granting(Permission.EVIDENCE_VIEW), include=include)


def _clean(org_id: int, evidence: Evidence | None, data: Mapping[str, Any]) -> dict[str, Any]:
    errors: list[FieldError] = []
    out = {
        "title": text_value(data.get("title"), 200),
        "description": text_value(data.get("description"), 10_000),
        "owner_id": data.get("owner_id") or None,
        "valid_from": data.get("valid_from"),
        "valid_until": data.get("valid_until"),
    }
    if not out["title"]:
        errors.append(FieldError("title", _("Donnez un intitulé à la preuve.")))
    if out["owner_id"] is not None:
        include = evidence.owner_id if evidence else None
        if int(out["owner_id"]) not in dict(owner_choices(org_id, include=include)):
            errors.append(
                FieldError("owner_id", _("Cette personne n'a pas accès aux preuves de l'organisation."))
            )
    if out["valid_from"] and out["valid_until"] and out["valid_until"] < out["valid_from"]:
        errors.append(FieldError("valid_until", _("La fin de validité précède son début.")))
    raise_field_errors(errors)
    return out


def link_label(object_type: str, object_id: int) -> str | None:
    """The object's name if it exists in the active organisation (through the journal's registry of
    the owning domain's lookups: no domain imported), else None."""
    journal_type = LINK_TYPES.get(object_type)
    declared = JOURNAL_TYPES.get(journal_type or "")
    if declared is None or declared.title is None:
        return None
    return declared.title([object_id]).get(object_id)


def link_url(object_type: str, object_id: int) -> str | None:
    from flask import url_for  # noqa: PLC0415

    declared = JOURNAL_TYPES.get(LINK_TYPES.get(object_type, ""))
    if declared is None or declared.link is None:
        return None
    endpoint, argument = declared.link
    return url_for(endpoint, **({argument: object_id} if argument else {}))


def type_label(object_type: str) -> str:
    declared = JOURNAL_TYPES.get(LINK_TYPES.get(object_type, ""))
    return str(declared.label) if declared is not None else object_type


def checked_link(object_type: Any, object_id: Any) -> tuple[str, int, str] | None:
    """(type, id, label) of a link asked for in a form, or FieldError."""
    if not object_type and not object_id:
        return None
    try:
        oid = int(object_id)
    except (TypeError, ValueError):
        oid = 0
    label = link_label(str(object_type), oid) if object_type in LINK_TYPES and oid > 0 else None
    if label is None:
        raise FieldError("title", _("L'objet auquel lier la preuve est introuvable dans cette organisation."))
    return str(object_type), oid, label


def _add_version(
    org: Organisation, actor: User | None, evidence: Evidence, checked: Checked
) -> EvidenceVersion:
    kek_id, wrapped = checked.sink.keep()
    evidence.current_version = (evidence.current_version or 0) + 1
    version = EvidenceVersion(
        organisation_id=org.id,
        evidence=evidence,
        number=evidence.current_version,
        storage_id=checked.sink.storage_id,
        filename=checked.filename,
        size=checked.sink.size,
        sha256=checked.sink.sha256,
        media_type=checked.media_type,
        kek_id=kek_id,
        wrapped_key=wrapped,
        uploaded_by_id=getattr(actor, "id", None),
    )
    db.session.add(version)
    flush_or_conflict(evidence)
    audit.record(
        org.id,
        actor,
        "evidence.version_upload",
        version,
        {name: (None, getattr(version, name)) for name in VERSION_FIELDS},
    )
    return version


def create_evidence(
    org: Organisation,
    actor: User | None,
    data: Mapping[str, Any],
    upload: Any,
    link: tuple[Any, Any] | None = None,
) -> Evidence:
    clean = _clean(org.id, None, data)
    linked = checked_link(*link) if link else None
    checked = check_upload(upload)
    evidence = Evidence(organisation_id=org.id, current_version=0)
    with audit.audited(org.id, actor, "evidence.create", evidence, AUDITED_FIELDS):
        for name, value in clean.items():
            setattr(evidence, name, value)
        evidence.search_text = fold(evidence.title)
        db.session.add(evidence)
    if linked:
        _link(org, actor, evidence, *linked)
    _add_version(org, actor, evidence, checked)
    return evidence


def update_evidence(evidence: Evidence, actor: User | None, data: Mapping[str, Any]) -> Evidence:
    check_version(evidence, data.get("version"))
    clean = _clean(evidence.organisation_id, evidence, data)
    with audit.audited(evidence.organisation_id, actor, "evidence.update", evidence, AUDITED_FIELDS):
        for name, value in clean.items():
            setattr(evidence, name, value)
        evidence.search_text = fold(evidence.title)
    return evidence


def add_version(
    evidence: Evidence, actor: User | None, data: Mapping[str, Any], upload: Any
) -> EvidenceVersion:
    check_version(evidence, data.get("version"))
    checked = check_upload(upload)
    org = db.session.get(Organisation, evidence.organisation_id)
    if org is None:  # the evidence was loaded through its organisation: cannot happen
        raise LookupError(evidence.organisation_id)
    return _add_version(org, actor, evidence, checked)


def _link(
    org: Organisation, actor: User | None, evidence: Evidence, object_type: str, object_id: int, label: str
) -> EvidenceLink:
    link = EvidenceLink(
        organisation_id=org.id,
        evidence=evidence,
        object_type=object_type,
        object_id=object_id,
        object_label=label[:300],
    )
    db.session.add(link)
    db.session.flush()
    audit.record(
        org.id, actor, "evidence.link", evidence, {"link": (None, f"{type_label(object_type)} {label}")}
    )
    return link


def add_link(evidence: Evidence, actor: User | None, object_type: Any, object_id: Any) -> EvidenceLink | None:
    linked = checked_link(object_type, object_id)
    if linked is None:
        raise FieldError("object_id", _("Choisissez l'objet à lier."))
    if any(lk.object_type == linked[0] and lk.object_id == linked[1] for lk in evidence.links):
        return None
    org = db.session.get(Organisation, evidence.organisation_id)
    if org is None:  # the evidence was loaded through its organisation: cannot happen
        raise LookupError(evidence.organisation_id)
    return _link(org, actor, evidence, *linked)


def remove_link(evidence: Evidence, actor: User | None, link_id: int) -> None:
    link = next((lk for lk in evidence.links if lk.id == link_id), None)
    if link is None:
        raise FieldError("link", _("Ce lien n'existe plus."))
    text = f"{type_label(link.object_type)} {link.object_label}"
    evidence.links.remove(link)
    db.session.flush()
    audit.record(evidence.organisation_id, actor, "evidence.unlink", evidence, {"link": (text, None)})


# --- downloads ---------------------------------------------------------------------------------------


def _stored_path(version: EvidenceVersion) -> Path:
    return keyring.evidence_dir() / version.storage_id


def verify_version(version: EvidenceVersion) -> None:
    """Decrypt the whole file once (bounded memory) and compare its hash with the one recorded at
    upload: keyring.TamperedFile if anything differs, before a byte is sent."""
    path = _stored_path(version)
    if not path.exists():
        raise keyring.TamperedFile("fichier absent du stockage")
    data_key = keyring.unwrap(version.kek_id, version.wrapped_key)
    sha = hashlib.sha256()
    size = 0
    for chunk in keyring.decrypt_chunks(path, data_key, version.storage_id):
        sha.update(chunk)
        size += len(chunk)
    if size != version.size or sha.hexdigest() != version.sha256:
        raise keyring.TamperedFile("empreinte SHA-256 différente de celle du dépôt")


def version_chunks(version: EvidenceVersion) -> Iterator[bytes]:
    """The decrypted content, chunk by chunk (never written to disk)."""
    data_key = keyring.unwrap(version.kek_id, version.wrapped_key)
    return keyring.decrypt_chunks(_stored_path(version), data_key, version.storage_id)


def record_download(version: EvidenceVersion, actor: User | None) -> None:
    audit.record(
        version.organisation_id,
        actor,
        "evidence.download",
        version,
        detail={"sha256": version.sha256, "number": version.number},
    )


# --- lists, panels, figures -----------------------------------------------------------------------


@dataclass
class EvidenceFilters:
    q: str = ""
    linked: str = ""  # a LINK_TYPES key, or "none"
    state: str = ""  # "expired", "expiring", "valid"

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> EvidenceFilters:
        linked = str(args.get("linked", ""))
        state = str(args.get("state", ""))
        return cls(
            q=str(args.get("q", ""))[:200].strip(),
            linked=linked if linked in LINK_TYPES or linked == "none" else "",
            state=state if state in {"expired", "expiring", "valid"} else "",
        )


def state_of(evidence: Evidence, day: date | None = None) -> str:
    day = day or today()
    if evidence.valid_until is None:
        return "valid"
    if evidence.valid_until < day:
        return "expired"
    if evidence.valid_until <= day + timedelta(days=EXPIRING_DAYS):
        return "expiring"
    return "valid"


def _state_clause(state: str, day: date) -> Any:
    soon = day + timedelta(days=EXPIRING_DAYS)
    if state == "expired":
        return Evidence.valid_until < day
    if state == "expiring":
        return and_(Evidence.valid_until >= day, Evidence.valid_until <= soon)
    return or_(Evidence.valid_until.is_(None), Evidence.valid_until > soon)


def list_statement(filters: EvidenceFilters) -> Select[Any]:
    stmt = scoped(select(Evidence))
    if filters.q:
        stmt = stmt.where(Evidence.search_text.contains(fold(filters.q), autoescape=True))
    if filters.linked == "none":
        stmt = stmt.where(~exists().where(EvidenceLink.evidence_id == Evidence.id))
    elif filters.linked:
        stmt = stmt.where(
            exists().where(
                EvidenceLink.evidence_id == Evidence.id, EvidenceLink.object_type == filters.linked
            )
        )
    if filters.state:
        stmt = stmt.where(_state_clause(filters.state, today()))
    return stmt.order_by(Evidence.updated_at.desc(), Evidence.id.desc())


def evidence_page(filters: EvidenceFilters) -> Page:
    return paginate(list_statement(filters))


def linked_to(object_type: str, object_id: int) -> list[Evidence]:
    stmt = scoped(select(Evidence)).where(
        exists().where(
            EvidenceLink.evidence_id == Evidence.id,
            EvidenceLink.object_type == object_type,
            EvidenceLink.object_id == object_id,
        )
    )
    return list(db.session.scalars(stmt.order_by(Evidence.title)).unique())


@dataclass(frozen=True)
class HomeFigures:
    expired: int
    expiring: int
    total: int


def home_figures(org_id: int) -> HomeFigures:
    day = today()
    soon = day + timedelta(days=EXPIRING_DAYS)
    row = db.session.execute(
        scoped(
            select(
                func.count(Evidence.id),
                func.count(Evidence.id).filter(Evidence.valid_until < day),
                func.count(Evidence.id).filter(
                    and_(Evidence.valid_until >= day, Evidence.valid_until <= soon)
                ),
            ),
            Evidence,
        ).where(Evidence.organisation_id == org_id)
    ).one()
    return HomeFigures(expired=row[1] or 0, expiring=row[2] or 0, total=row[0] or 0)


# --- for the evidence packs -------------------------------------------------------------------------


@dataclass(frozen=True)
class EvidenceForPack:
    evidence_id: int
    version: int
    title: str
    filename: str
    size: int
    sha256: str
    media_type: str
    organisation_id: int
    organisation_name: str
    owner: str
    valid_from: date | None
    valid_until: date | None
    links: tuple[str, ...]  # "Action ACT-2026-004 — …"
    _storage_id: str = field(repr=False, default="")
    _kek_id: str = field(repr=False, default="")
    _wrapped_key: str = field(repr=False, default="")

    def chunks(self) -> Iterator[bytes]:
        """The decrypted content, 64 KiB at a time (bounded memory); keyring.TamperedFile if the
        stored file was altered or truncated (the pack must then fail, not ship a partial file)."""
        data_key = keyring.unwrap(self._kek_id, self._wrapped_key)
        path = keyring.evidence_dir() / self._storage_id
        sha = hashlib.sha256()
        for chunk in keyring.decrypt_chunks(path, data_key, self._storage_id):
            sha.update(chunk)
            yield chunk
        if sha.hexdigest() != self.sha256:
            raise keyring.TamperedFile("empreinte SHA-256 différente de celle du dépôt")


def evidence_for_pack(
    org_ids: Sequence[int], *, linked_to: Iterable[tuple[str, int]] | None = None
) -> Iterator[EvidenceForPack]:
    """The current version of every evidence of ``org_ids`` (only those linked to one of the
    ``(object_type, object_id)`` pairs, when given), ordered by organisation and title.

    **Unscoped read**: a pack is built by a background job, outside any request, for an audit's
    scope that may span several organisations; the caller (the packs' service) has decided which
    organisations the pack covers and checked the requester's rights on each. The organisations are
    therefore named explicitly here and the ORM tenant filter is switched off (``UNSCOPED``)."""
    org_ids = [int(i) for i in org_ids]
    if not org_ids:
        return
    pairs = list(linked_to) if linked_to is not None else None
    # unscoped: organisations named by the packs' service, which checked each (see above)
    stmt = (
        select(Evidence, EvidenceVersion, Organisation.name)
        .join(
            EvidenceVersion,
            and_(
                EvidenceVersion.evidence_id == Evidence.id, EvidenceVersion.number == Evidence.current_version
            ),
        )
        .join(Organisation, Organisation.id == Evidence.organisation_id)
        .where(Evidence.organisation_id.in_(org_ids))
        .order_by(Organisation.name, Evidence.title, Evidence.id)
        .execution_options(**UNSCOPED)
    )
    if pairs is not None:
        if not pairs:
            return
        stmt = stmt.where(
            exists().where(
                EvidenceLink.evidence_id == Evidence.id,
                or_(
                    *(and_(EvidenceLink.object_type == t, EvidenceLink.object_id == int(i)) for t, i in pairs)
                ),
            )
        )
    rows = db.session.execute(stmt).all()
    ids = [row[0].id for row in rows]
    links: dict[int, list[str]] = {}
    if ids:
        # unscoped: the links of the evidence just read, by id
        link_rows = db.session.execute(
            select(EvidenceLink.evidence_id, EvidenceLink.object_type, EvidenceLink.object_label)
            .where(EvidenceLink.evidence_id.in_(ids))
            .order_by(EvidenceLink.id)
            .execution_options(**UNSCOPED)
        )
        for eid, otype, label in link_rows:
            links.setdefault(eid, []).append(f"{otype} {label}")
    for evidence, version, org_name in rows:
        yield EvidenceForPack(
            evidence_id=evidence.id,
            version=version.number,
            title=evidence.title,
            filename=version.filename,
            size=version.size,
            sha256=version.sha256,
            media_type=version.media_type,
            organisation_id=evidence.organisation_id,
            organisation_name=org_name,
            owner=evidence.owner.full_name if evidence.owner else "",
            valid_from=evidence.valid_from,
            valid_until=evidence.valid_until,
            links=tuple(links.get(evidence.id, ())),
            _storage_id=version.storage_id,
            _kek_id=version.kek_id,
            _wrapped_key=version.wrapped_key,
        )


# --- key rotation ---------------------------------------------------------------------------------


def rewrap_all(new_kek: str, *, batch: int = 500) -> int:
    """Re-wrap every data key not under ``new_kek`` (files untouched), ``batch`` rows per commit,
    each batch journalled on the platform chain. Returns how many were re-wrapped."""
    done = 0
    while True:
        # unscoped: key rotation, a platform command over every organisation's files
        rows = list(
            db.session.scalars(
                select(EvidenceVersion)
                .where(EvidenceVersion.kek_id != new_kek)
                .order_by(EvidenceVersion.id)
                .limit(batch)
                .execution_options(**UNSCOPED)
            )
        )
        if not rows:
            return done
        moved: dict[str, int] = {}
        for version in rows:
            data_key = keyring.unwrap(version.kek_id, version.wrapped_key)
            moved[version.kek_id] = moved.get(version.kek_id, 0) + 1
            version.kek_id, version.wrapped_key = keyring.wrap(data_key, new_kek)
        db.session.flush()
        audit.record(
            None,
            None,
            "evidence.keys_rewrap",
            audit.Ref("EvidenceKeyRing", None),
            detail={"to": new_kek, "from": moved, "count": len(rows)},
            request_context=False,
        )
        db.session.commit()
        done += len(rows)


def key_usage() -> dict[str, int]:
    # unscoped: key usage, a platform figure over every organisation
    rows = db.session.execute(
        select(EvidenceVersion.kek_id, func.count())
        .group_by(EvidenceVersion.kek_id)
        .execution_options(**UNSCOPED)
    )
    return {row.kek_id: int(row[1]) for row in rows}


# --- files that do not come from a request (the demo, scripts) -------------------------------------


@dataclass
class BytesUpload:
    """An upload made from bytes already in memory (small files: the demo's), through the same
    sink, inspection and encryption as a request's."""

    filename: str
    stream: UploadSink


def upload_from_bytes(filename: str, content: bytes) -> BytesUpload:
    sink = UploadSink(max_bytes())
    for start in range(0, len(content), keyring.CHUNK):
        sink.write(content[start : start + keyring.CHUNK])
    sink.finish()
    return BytesUpload(filename, sink)
