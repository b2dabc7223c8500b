"""Signatures of what Égide hands to auditors: PAdES signatures of PDF documents (pyHanko) and an
Ed25519 key that signs the manifests of evidence packs.

Both live in ``SIGNING_DIR`` (``EGIDE_SIGNING_DIR``, default ``instance/signing``), files 0600:

* ``signing-key.pem`` + ``signing-certificate.pem``: a self-signed X.509 certificate in the
  syndicate's name (EC P-256), made by ``flask signing init`` (idempotent, run by ``make run``).
  The syndicate may use its own certificate instead: ``EGIDE_SIGNING_P12`` (a PKCS#12 file) and
  ``EGIDE_SIGNING_P12_PASSWORD``. A self-signed certificate proves the document is intact, not who
  signed it: ``pdfsig`` says the signature is valid and the certificate not trusted.
* ``pack-key.pem`` (Ed25519 private key) and ``pack-public-key.pem``: ``SHA256SUMS.sig`` of a pack
  is the raw Ed25519 signature of its ``SHA256SUMS``, checked with ``openssl pkeyutl -verify -rawin``.

Imports core only (the toolkit level of ``reports``).
"""

from __future__ import annotations

import datetime as dt
import io
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from flask import Flask, current_app
from flask.cli import AppGroup

KEY_FILE = "signing-key.pem"
CERT_FILE = "signing-certificate.pem"
PACK_KEY_FILE = "pack-key.pem"
PACK_PUBLIC_KEY_FILE = "pack-public-key.pem"
CERT_YEARS = 10
DEFAULT_NAME = "Égide"


class SigningNotReady(RuntimeError):
    """No signing certificate: ``flask signing init`` was not run (or the PKCS#12 is unreadable)."""


def signing_dir(app: Flask | None = None) -> Path:
    app = app or current_app
    configured = app.config.get("SIGNING_DIR")
    path = Path(configured) if configured else Path(app.instance_path) / "signing"
    return path if path.is_absolute() else Path(app.instance_path) / path


def _write_private(path: Path, data: bytes) -> None:
    """Write a secret file readable by its owner only (created 0600, never world-readable)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, 0o600)


@dataclass(frozen=True)
class InitResult:
    certificate_created: bool
    pack_key_created: bool
    directory: Path


def init_keys(name: str | None = None, app: Flask | None = None) -> InitResult:
    """Create what is missing in the signing directory (nothing is replaced): the self-signed PDF
    signing certificate in ``name`` (the syndicate's) and the pack's Ed25519 key pair."""
    app = app or current_app
    directory = signing_dir(app)
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    cert_created = pack_created = False
    if not (directory / KEY_FILE).exists() or not (directory / CERT_FILE).exists():
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, f"{name or DEFAULT_NAME} — signature des documents"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, name or DEFAULT_NAME),
                x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            ]
        )
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=365 * CERT_YEARS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=True,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(key, hashes.SHA256())
        )
        _write_private(
            directory / KEY_FILE,
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
        )
        _write_private(directory / CERT_FILE, cert.public_bytes(serialization.Encoding.PEM))
        cert_created = True
    if not (directory / PACK_KEY_FILE).exists():
        pack_key = ed25519.Ed25519PrivateKey.generate()
        _write_private(
            directory / PACK_KEY_FILE,
            pack_key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
        )
        _write_private(
            directory / PACK_PUBLIC_KEY_FILE,
            pack_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
        )
        pack_created = True
    _cache.clear()
    return InitResult(cert_created, pack_created, directory)


# --- PDF signatures (PAdES) -----------------------------------------------------------------------

_cache: dict[tuple[str, ...], Any] = {}
_lock = threading.Lock()


def _signer(app: Flask) -> Any:
    from pyhanko.sign import signers  # noqa: PLC0415 — pyHanko is heavy: loaded when a PDF is signed

    p12 = app.config.get("SIGNING_P12")
    directory = signing_dir(app)
    key = (str(p12 or ""), str(directory))
    with _lock:
        if key in _cache:
            return _cache[key]
        if p12:
            password = app.config.get("SIGNING_P12_PASSWORD")
            signer = signers.SimpleSigner.load_pkcs12(
                str(p12), passphrase=password.encode() if password else None
            )
        else:
            if not (directory / KEY_FILE).exists():
                raise SigningNotReady(f"no signing certificate in {directory}: run `flask signing init`")
            signer = signers.SimpleSigner.load(str(directory / KEY_FILE), str(directory / CERT_FILE))
        if signer is None:
            raise SigningNotReady("the signing certificate could not be read (PKCS#12 file or password)")
        _cache[key] = signer
        return signer


def certificate_pem(app: Flask | None = None) -> bytes:
    """The PDF signing certificate (the syndicate's PKCS#12 one when configured), in PEM."""
    app = app or current_app
    p12 = app.config.get("SIGNING_P12")
    if p12:
        password = app.config.get("SIGNING_P12_PASSWORD")
        _key, cert, _extra = pkcs12.load_key_and_certificates(
            Path(p12).read_bytes(), password.encode() if password else None
        )
        if cert is None:
            raise SigningNotReady("the PKCS#12 file holds no certificate")
        return cert.public_bytes(serialization.Encoding.PEM)
    path = signing_dir(app) / CERT_FILE
    if not path.exists():
        raise SigningNotReady(f"no signing certificate in {path.parent}: run `flask signing init`")
    return path.read_bytes()


def sign_pdf(data: bytes, *, reason: str | None = None) -> bytes:
    """``data`` (a PDF) with a PAdES signature (B-B level) added as an incremental update."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter  # noqa: PLC0415
    from pyhanko.sign import fields, signers  # noqa: PLC0415

    signer = _signer(current_app._get_current_object())  # type: ignore[attr-defined]
    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    meta = signers.PdfSignatureMetadata(
        field_name="EgideSignature",
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=reason,
    )
    out = signers.PdfSigner(meta, signer=signer).sign_pdf(writer)
    return out.getvalue()


# --- the pack key (Ed25519) ----------------------------------------------------------------------


def _pack_key(app: Flask) -> ed25519.Ed25519PrivateKey:
    path = signing_dir(app) / PACK_KEY_FILE
    if not path.exists():
        raise SigningNotReady(f"no pack key in {path.parent}: run `flask signing init`")
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise SigningNotReady(f"{path} is not an Ed25519 private key")
    return key


def sign_manifest(data: bytes) -> bytes:
    """The raw Ed25519 signature (64 bytes) of ``data``."""
    return _pack_key(current_app._get_current_object()).sign(data)  # type: ignore[attr-defined]


def pack_public_key_pem() -> bytes:
    key = _pack_key(current_app._get_current_object())  # type: ignore[attr-defined]
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


# --- flask signing … ---------------------------------------------------------------------------------

signing_cli = AppGroup("signing", help="Certificat de signature des PDF et clé des dossiers de preuves.")


def _syndicate_name() -> str | None:
    """The name of the first syndicate (the root organisation), read without importing the accounts
    (reports is below them): the organisations' table, its ``relation`` column."""
    from sqlalchemy import select  # noqa: PLC0415

    from core.db import Base  # noqa: PLC0415
    from core.extensions import db  # noqa: PLC0415
    from core.tenancy import UNSCOPED  # noqa: PLC0415

    orgs = Base.metadata.tables.get("organisations")
    if orgs is None or "relation" not in orgs.c:
        return None
    try:
        # unscoped: the command line, before any organisation; the syndicate names the certificate
        return db.session.scalar(
            select(orgs.c.name)
            .where(orgs.c.relation == "syndicate")
            .order_by(orgs.c.id)
            .limit(1)
            .execution_options(**UNSCOPED)
        )
    except Exception:  # no database yet: the certificate takes the default name
        db.session.rollback()
        return None


@signing_cli.command("init")
@click.option("--name", default=None, help="Nom du titulaire du certificat (par défaut : le syndicat).")
def init_command(name: str | None) -> None:
    """Create the signing certificate and the pack key if they do not exist (idempotent)."""
    result = init_keys(name or _syndicate_name())
    click.echo(
        f"Signature : {result.directory} — certificat "
        f"{'créé' if result.certificate_created else 'déjà présent'}, clé des dossiers "
        f"{'créée' if result.pack_key_created else 'déjà présente'}."
    )
    if current_app.config.get("SIGNING_P12"):
        click.echo("Les PDF sont signés avec le certificat PKCS#12 configuré (EGIDE_SIGNING_P12).")


def init_app(app: Flask) -> None:
    app.cli.add_command(signing_cli)
