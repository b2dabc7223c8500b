"""The evidence store's key ring and file encryption (AES-256-GCM, envelope encryption).

**Key ring, outside the database.** Key-encryption keys (KEK) are 32 random bytes, one file each in
``KEY_DIR`` (``EGIDE_KEY_DIR``; default ``instance/keys``, created with mode 0700, key files 0600):
``<id>.key`` holds the key in base64; ``active`` names the key that wraps new data keys. A database
dump alone therefore decrypts nothing. ``flask keys init|status|rotate|retire`` manage the ring
(:mod:`audits.evidence.cli`).

**One data key per file version.** Each stored file gets a fresh random 256-bit data key (DEK),
wrapped with AES key wrap (RFC 3394) by the active KEK; the database keeps the wrapped key and the
KEK id. Rotation re-wraps data keys and never touches the files.

**Chunked AEAD format** (``EGEV1``): a header ``b"EGEV1" + chunk size (4 bytes, big-endian)``, then
chunks, each ``nonce (12 random bytes) || AES-GCM(ciphertext || tag)`` of ``CHUNK`` plaintext bytes,
the last one shorter (possibly empty). The associated data of chunk *i* is ``"egide-evidence-v1" ||
storage id || i (8 bytes) || final flag (1 byte)``: a chunk moved to another file, reordered,
dropped, or a file cut at a chunk boundary (no chunk flagged final at the end) fails authentication.
Chunks have a fixed size, so the reader can seek (zip inspection) decrypting one chunk at a time.
"""

from __future__ import annotations

import base64
import io
import os
import re
import secrets
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap
from flask import current_app

MAGIC = b"EGEV1"
HEADER = len(MAGIC) + 4
CHUNK = 64 * 1024
NONCE = 12
TAG = 16
SEALED_CHUNK = NONCE + CHUNK + TAG
AAD_PREFIX = b"egide-evidence-v1"
KEY_ID_RE = re.compile(r"^[0-9]{8}-[0-9a-f]{8}$")


class KeyRingError(Exception):
    """The key ring is missing, or a key it needs is absent."""


class TamperedFile(Exception):
    """A stored file failed authentication: altered, truncated, reordered or under another key."""


# --- the key ring ------------------------------------------------------------------------------------


def key_dir() -> Path:
    configured = current_app.config.get("KEY_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "keys"


def evidence_dir() -> Path:
    configured = current_app.config.get("EVIDENCE_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "evidence"


@dataclass(frozen=True)
class KeyInfo:
    key_id: str
    active: bool
    created: datetime


def _key_path(directory: Path, key_id: str) -> Path:
    if not KEY_ID_RE.match(key_id):
        raise KeyRingError(f"identifiant de clé invalide : {key_id!r}")
    return directory / f"{key_id}.key"


def _write_private(path: Path, data: str) -> None:
    tmp = path.with_name(path.name + f".{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(data)
    os.replace(tmp, path)


def _ensure_dir(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(directory, 0o700)


def list_keys(directory: Path | None = None) -> list[KeyInfo]:
    directory = directory or key_dir()
    if not directory.is_dir():
        return []
    active = active_key_id(directory, required=False)
    keys = []
    for path in sorted(directory.glob("*.key")):
        key_id = path.stem
        if KEY_ID_RE.match(key_id):
            created = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            keys.append(KeyInfo(key_id, key_id == active, created))
    return keys


def active_key_id(directory: Path | None = None, *, required: bool = True) -> str | None:
    directory = directory or key_dir()
    path = directory / "active"
    if not path.exists():
        if required:
            raise KeyRingError("trousseau de clés absent : lancez « flask keys init »")
        return None
    return path.read_text().strip()


def load_key(key_id: str, directory: Path | None = None) -> bytes:
    path = _key_path(directory or key_dir(), key_id)
    if not path.exists():
        raise KeyRingError(f"clé {key_id} absente du trousseau")
    key = base64.b64decode(path.read_text().strip())
    if len(key) != 32:
        raise KeyRingError(f"clé {key_id} illisible")
    return key


def new_key(directory: Path | None = None) -> str:
    """Create a key, make it the active one; returns its id."""
    directory = directory or key_dir()
    _ensure_dir(directory)
    key_id = f"{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(4)}"
    _write_private(_key_path(directory, key_id), base64.b64encode(secrets.token_bytes(32)).decode() + "\n")
    _write_private(directory / "active", key_id + "\n")
    return key_id


def init_ring(directory: Path | None = None) -> tuple[str, bool]:
    """The active key id, creating the ring on first call (idempotent): (id, created)."""
    directory = directory or key_dir()
    _ensure_dir(directory)
    current = active_key_id(directory, required=False)
    if current is not None:
        load_key(current, directory)
        return current, False
    return new_key(directory), True


def retire_key_file(key_id: str, directory: Path | None = None) -> Path:
    """Take a key out of the ring: moved to ``retired/`` (mode 0700), for the operator to destroy
    once no backup needs it. The caller checks that no data key uses it."""
    directory = directory or key_dir()
    if key_id == active_key_id(directory, required=False):
        raise KeyRingError("la clé active ne peut pas être retirée : faites d'abord « flask keys rotate »")
    path = _key_path(directory, key_id)
    if not path.exists():
        raise KeyRingError(f"clé {key_id} absente du trousseau")
    retired = directory / "retired"
    _ensure_dir(retired)
    target = retired / path.name
    os.replace(path, target)
    return target


def wrap(data_key: bytes, key_id: str | None = None) -> tuple[str, str]:
    """(KEK id, wrapped data key in base64) under ``key_id`` (default: the active key)."""
    key_id = key_id or active_key_id()
    if key_id is None:
        raise KeyRingError("trousseau de clés absent : lancez « flask keys init »")
    return key_id, base64.b64encode(aes_key_wrap(load_key(key_id), data_key)).decode()


def unwrap(key_id: str, wrapped: str) -> bytes:
    try:
        return aes_key_unwrap(load_key(key_id), base64.b64decode(wrapped))
    except (InvalidUnwrap, ValueError) as exc:
        raise TamperedFile("clé de fichier illisible") from exc


# --- chunked encryption --------------------------------------------------------------------------


def _aad(storage_id: str, index: int, final: bool) -> bytes:
    return AAD_PREFIX + storage_id.encode() + struct.pack(">QB", index, 1 if final else 0)


class EncryptingWriter:
    """Encrypts what is written to it, chunk by chunk, into ``out`` (a binary file): at most one
    chunk of plaintext is held in memory. ``close_final()`` seals the last chunk."""

    def __init__(self, out: IO[bytes], data_key: bytes, storage_id: str) -> None:
        self._out = out
        self._aead = AESGCM(data_key)
        self._storage_id = storage_id
        self._buffer = bytearray()
        self._index = 0
        self.finished = False
        out.write(MAGIC + struct.pack(">I", CHUNK))

    def _seal(self, plain: bytes, final: bool) -> None:
        nonce = secrets.token_bytes(NONCE)
        self._out.write(nonce + self._aead.encrypt(nonce, plain, _aad(self._storage_id, self._index, final)))
        self._index += 1

    def write(self, data: bytes) -> int:
        if self.finished:
            raise ValueError("writer closed")
        self._buffer += data
        while len(self._buffer) > CHUNK:  # keep a full chunk back: it may be the final one
            self._seal(bytes(self._buffer[:CHUNK]), final=False)
            del self._buffer[:CHUNK]
        return len(data)

    def close_final(self) -> None:
        if not self.finished:
            self._seal(bytes(self._buffer), final=True)
            self._buffer.clear()
            self.finished = True
            self._out.flush()


def _chunk_count(cipher_size: int) -> int:
    body = cipher_size - HEADER
    if body < NONCE + TAG:
        raise TamperedFile("fichier chiffré tronqué")
    return (body + SEALED_CHUNK - 1) // SEALED_CHUNK


class DecryptingReader(io.RawIOBase):
    """A seekable, read-only view of the plaintext of a stored file, decrypting one chunk at a time
    (authenticated on the way: :class:`TamperedFile` on any alteration)."""

    def __init__(self, path: Path, data_key: bytes, storage_id: str) -> None:
        super().__init__()
        self._fh = open(path, "rb")  # noqa: SIM115 — closed with the reader
        self._aead = AESGCM(data_key)
        self._storage_id = storage_id
        header = self._fh.read(HEADER)
        if len(header) != HEADER or header[: len(MAGIC)] != MAGIC:
            self._fh.close()
            raise TamperedFile("en-tête de fichier chiffré invalide")
        if struct.unpack(">I", header[len(MAGIC) :])[0] != CHUNK:
            self._fh.close()
            raise TamperedFile("taille de bloc inattendue")
        cipher_size = os.fstat(self._fh.fileno()).st_size
        self._chunks = _chunk_count(cipher_size)
        last_sealed = cipher_size - HEADER - (self._chunks - 1) * SEALED_CHUNK
        self.size = (self._chunks - 1) * CHUNK + last_sealed - NONCE - TAG
        self._pos = 0
        self._cached: tuple[int, bytes] | None = None

    def _chunk(self, index: int) -> bytes:
        if self._cached is not None and self._cached[0] == index:
            return self._cached[1]
        final = index == self._chunks - 1
        self._fh.seek(HEADER + index * SEALED_CHUNK)
        sealed = self._fh.read(SEALED_CHUNK)
        try:
            plain = self._aead.decrypt(sealed[:NONCE], sealed[NONCE:], _aad(self._storage_id, index, final))
        except InvalidTag as exc:
            raise TamperedFile("authentification du fichier en échec (altéré ou tronqué)") from exc
        self._cached = (index, plain)
        return plain

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        if self._pos >= self.size:
            return 0
        index, offset = divmod(self._pos, CHUNK)
        plain = self._chunk(index)
        piece = plain[offset : offset + len(buffer)]
        buffer[: len(piece)] = piece
        self._pos += len(piece)
        return len(piece)

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = self.size - self._pos
        out = bytearray()
        while len(out) < size:
            piece = bytearray(min(size - len(out), CHUNK))
            n = self.readinto(piece)
            if not n:
                break
            out += piece[:n]
        return bytes(out)

    def close(self) -> None:
        self._fh.close()
        super().close()


def decrypt_chunks(path: Path, data_key: bytes, storage_id: str) -> Iterator[bytes]:
    """The plaintext, chunk by chunk (authenticated: TamperedFile before any unauthenticated byte
    of a chunk is handed out; a truncated file fails at its last chunk)."""
    reader = DecryptingReader(path, data_key, storage_id)
    try:
        for index in range(reader._chunks):
            plain = reader._chunk(index)
            reader._cached = None
            if plain:
                yield plain
    finally:
        reader.close()
