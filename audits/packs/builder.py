"""Writing a pack: a ZIP streamed to disk with bounded memory, every file hashed while it is written.

Layout of the ZIP (all entries stored, not compressed: PDFs and most evidence files are compressed
already, and a pack of a gigabyte must build at disk speed)::

    reports/<kind>-<org id>.pdf            signed PDF documents (PAdES, reports.signing.sign_pdf)
    evidence/<org id>/<id>-v<version>-<name>  the evidence files, byte for byte
    manifest.json                          who, when, scope, period, every file and where it comes from
    SHA256SUMS                             every file above and below (``sha256sum -c SHA256SUMS``)
    SHA256SUMS.sig                         raw Ed25519 signature of SHA256SUMS
    pack-public-key.pem, signing-certificate.pem, VERIFIER.txt

This module knows nothing of the database: :mod:`audits.packs.services` gives it what to write.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from flask_babel import gettext as _

from audits.packs.sources import EvidenceForPack

MANIFEST = "manifest.json"
SUMS = "SHA256SUMS"
SUMS_SIG = "SHA256SUMS.sig"
PUBLIC_KEY = "pack-public-key.pem"
CERTIFICATE = "signing-certificate.pem"
VERIFIER = "VERIFIER.txt"
FORMAT = "egide-evidence-pack/1"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # entries carry no time of their own: the manifest says when


class PackError(Exception):
    """The pack cannot be built as asked (an evidence file altered since its upload…): ``message``
    is what the pack page shows."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ReportForPack:
    kind: str
    label: str
    organisation_id: int
    organisation_name: str
    content: bytes  # signed already


@dataclass(frozen=True)
class PackHeader:
    title: str
    generated_at: datetime
    generated_by: str
    scope: list[dict[str, Any]]  # [{"id": …, "name": …}]
    period_start: str
    period_end: str
    audit_id: int | None
    instance: str


@dataclass
class PackResult:
    size: int = 0
    sha256: str = ""
    manifest_sha256: str = ""
    file_count: int = 0
    report_count: int = 0
    evidence_count: int = 0
    evidence_bytes: int = 0
    sums: list[tuple[str, str]] = field(default_factory=list)


class _HashingWriter:
    """The ZIP's file object: hashes every byte on its way to disk. Not seekable, so that zipfile
    streams (data descriptors after each entry) and the ZIP is hashed in the same single pass."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.hash = hashlib.sha256()
        self.position = 0

    def write(self, data: Any) -> int:
        self.hash.update(data)
        written = self.raw.write(data)
        self.position += len(data)
        return written

    def tell(self) -> int:
        return self.position

    def seek(self, *_args: Any) -> int:
        raise OSError("not seekable")

    def seekable(self) -> bool:
        return False

    def flush(self) -> None:
        self.raw.flush()


_UNSAFE = re.compile(r"[^\w .,()+@-]", re.UNICODE)


def safe_name(name: str, *, limit: int = 120) -> str:
    """A file name safe in a ZIP and in SHA256SUMS: no path, no control character, no backslash."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", name).strip(" .") or "fichier"
    if len(name) > limit:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: limit - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 else name[:limit]
    return name


def _entry(path: str, size: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(path, date_time=ZIP_TIME)
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    info.file_size = size  # decides ZIP64 before the data is written
    return info


def verifier_text(header: PackHeader) -> str:
    return f"""Dossier de preuves Égide — vérification / Égide evidence pack — verification
{"=" * 76}

{header.title}
Généré le / generated at: {header.generated_at.isoformat()}  —  par / by: {header.generated_by}

FRANÇAIS
--------
Ce dossier se vérifie sans faire confiance à Égide ni au serveur qui l'a produit, avec des outils
standard, depuis le dossier décompressé :

1. Intégrité de chaque fichier (empreintes SHA-256) — chaque ligne doit finir par « OK » :

   sha256sum -c SHA256SUMS

2. Authenticité de la liste des empreintes (signature Ed25519 de SHA256SUMS par la clé du dossier) —
   la commande doit afficher « Signature Verified Successfully » :

   openssl pkeyutl -verify -pubin -inkey pack-public-key.pem -rawin -in SHA256SUMS -sigfile SHA256SUMS.sig

   Comparez la clé publique pack-public-key.pem avec celle que l'organisation vous a communiquée par un
   autre canal : c'est elle qui garantit l'origine du dossier.

3. Signature des documents PDF (PAdES) — « Signature is Valid » pour chaque document :

   pdfsig reports/*.pdf

   Le certificat de signature (signing-certificate.pem) est celui de l'organisation. S'il est
   auto-signé, pdfsig indique « Certificate issuer is unknown » : c'est attendu, la signature prouve
   que le document est intact depuis sa génération, pas l'identité du signataire au sens d'une
   autorité de certification.

manifest.json décrit chaque fichier : chemin, empreinte, taille, objet d'origine, propriétaire,
validité et organisation.

ENGLISH
-------
This pack is verified without trusting Égide or the server that produced it, with standard tools,
from the unzipped folder:

1. Integrity of every file (SHA-256 hashes) — every line must end with "OK":

   sha256sum -c SHA256SUMS

2. Authenticity of the hash list (Ed25519 signature of SHA256SUMS by the pack key) — the command must
   print "Signature Verified Successfully":

   openssl pkeyutl -verify -pubin -inkey pack-public-key.pem -rawin -in SHA256SUMS -sigfile SHA256SUMS.sig

   Compare pack-public-key.pem with the public key the organisation gave you through another channel:
   it is what proves where the pack comes from.

3. Signatures of the PDF documents (PAdES) — "Signature is Valid" for each document:

   pdfsig reports/*.pdf

   The signing certificate (signing-certificate.pem) is the organisation's. When it is self-signed,
   pdfsig says "Certificate issuer is unknown": this is expected; the signature proves the document is
   intact since it was generated, not the signer's identity as a certification authority would.

manifest.json describes every file: path, hash, size, source object, owner, validity and organisation.
"""


def write_pack(
    path: Path,
    header: PackHeader,
    reports: Iterable[ReportForPack],
    evidence: Iterable[EvidenceForPack],
    *,
    sign: Callable[[bytes], bytes],
    public_key_pem: bytes,
    certificate_pem: bytes,
    progress: Callable[[int], None] | None = None,
    chunk_size: int = 1024 * 1024,
) -> PackResult:
    """Write the pack to ``path`` (a temporary name: the caller renames it once it is complete and
    deletes it on failure). ``progress`` receives the bytes written so far. Raises
    :class:`PackError` when an evidence file's bytes do not match its recorded hash or size."""
    result = PackResult()
    files: list[dict[str, Any]] = []
    written = 0

    with open(path, "wb") as raw:
        out = _HashingWriter(raw)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:  # type: ignore[arg-type]

            def add_bytes(name: str, data: bytes) -> str:
                digest = hashlib.sha256(data).hexdigest()
                with zf.open(_entry(name, len(data)), "w", force_zip64=False) as handle:
                    handle.write(data)
                result.sums.append((digest, name))
                return digest

            for report in reports:
                name = f"reports/{report.kind}-{report.organisation_id}.pdf"
                digest = add_bytes(name, report.content)
                files.append(
                    {
                        "path": name,
                        "sha256": digest,
                        "size": len(report.content),
                        "media_type": "application/pdf",
                        "source": {"type": "document", "kind": report.kind, "title": report.label},
                        "owner": header.generated_by,
                        "validity": {"from": None, "until": None},
                        "organisation": {"id": report.organisation_id, "name": report.organisation_name},
                        "signed": "PAdES",
                    }
                )
                result.report_count += 1
                written += len(report.content)
                if progress is not None:
                    progress(written)

            for item in evidence:
                name = f"evidence/{item.organisation_id}/{item.evidence_id}-v{item.version}-"
                name += safe_name(item.filename)
                hasher = hashlib.sha256()
                size = 0
                with zf.open(
                    _entry(name, item.size), "w", force_zip64=item.size > zipfile.ZIP64_LIMIT
                ) as handle:
                    for chunk in item.chunks():
                        hasher.update(chunk)
                        handle.write(chunk)
                        size += len(chunk)
                        written += len(chunk)
                        if progress is not None:
                            progress(written)
                digest = hasher.hexdigest()
                if digest != item.sha256.lower() or size != item.size:
                    raise PackError(
                        _(
                            "La preuve « %(title)s » (n° %(id)s, version %(v)s) ne correspond plus à "
                            "l'empreinte enregistrée lors de son dépôt (attendue %(expected)s, lue %(read)s, "
                            "%(size)s octets sur %(total)s) : le dossier n'a pas été produit.",
                            title=item.title,
                            id=item.evidence_id,
                            v=item.version,
                            expected=item.sha256,
                            read=digest,
                            size=size,
                            total=item.size,
                        )
                    )
                result.sums.append((digest, name))
                files.append(
                    {
                        "path": name,
                        "sha256": digest,
                        "size": size,
                        "media_type": item.media_type,
                        "source": {
                            "type": "evidence",
                            "evidence_id": item.evidence_id,
                            "version": item.version,
                            "title": item.title,
                            "filename": item.filename,
                            "links": list(item.links),
                        },
                        "owner": item.owner,
                        "validity": {
                            "from": item.valid_from.isoformat() if item.valid_from else None,
                            "until": item.valid_until.isoformat() if item.valid_until else None,
                        },
                        "organisation": {"id": item.organisation_id, "name": item.organisation_name},
                    }
                )
                result.evidence_count += 1
                result.evidence_bytes += size

            add_bytes(VERIFIER, verifier_text(header).encode("utf-8"))
            add_bytes(PUBLIC_KEY, public_key_pem)
            add_bytes(CERTIFICATE, certificate_pem)
            manifest = {
                "format": FORMAT,
                "title": header.title,
                "generated_at": header.generated_at.isoformat(),
                "generated_by": header.generated_by,
                "instance": header.instance,
                "scope": header.scope,
                "period": {"start": header.period_start, "end": header.period_end},
                "audit_id": header.audit_id,
                "files": files,
            }
            manifest_bytes = json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8")
            result.manifest_sha256 = add_bytes(MANIFEST, manifest_bytes)
            sums = "".join(f"{digest}  {name}\n" for digest, name in result.sums).encode("utf-8")
            with zf.open(_entry(SUMS, len(sums)), "w") as handle:
                handle.write(sums)
            signature = sign(sums)
            with zf.open(_entry(SUMS_SIG, len(signature)), "w") as handle:
                handle.write(signature)
        raw.flush()
        os.fsync(raw.fileno())
    result.size = out.position
    result.sha256 = out.hash.hexdigest()
    result.file_count = len(result.sums) + 2
    return result
