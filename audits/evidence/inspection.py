"""What an uploaded file is, judged on its content, never on its name — and why it is refused.

:func:`inspect_content` reads the (decrypted, seekable) upload and returns its media type from an
allow-list, or raises :class:`Refused` with a French reason people can act on. The checks:

* empty files; the EICAR test string (anywhere); executables (ELF, PE/MZ, Mach-O) whatever their
  name; SVG and HTML (not accepted: they carry scripts);
* the type from libmagic (python-magic) must be one of PDF, PNG, JPEG, DOCX, XLSX, ODT, ODS, CSV,
  plain text; a bare ZIP or any other type is refused;
* **polyglots**: a file of one type carrying another's structure (a ZIP end-of-directory record
  in its tail, a PDF header, HTML/script markup in a PDF or an image) is refused;
* **PDF**: refused if any object (object streams included, read with pypdf) or the raw bytes name
  ``/JavaScript``, ``/JS``, ``/OpenAction``, ``/Launch``, ``/AA`` (names decoded from ``#xx``
  escapes), or if pypdf cannot read it;
* **Office / OpenDocument** (ZIP containers): at most ``MAX_ENTRIES`` entries, no absolute or
  ``..`` or backslash names (zip-slip), no symbolic links, no nested archive, no macros
  (``vbaProject.bin``), a total uncompressed size and a compression ratio within bounds — measured
  by decompressing, not trusted from the headers; relationships loading external content
  (``attachedTemplate``, OLE objects, frames, sub-documents, external links or images with
  ``TargetMode="External"``; plain hyperlinks are allowed), spreadsheet formulas that call out
  (WEBSERVICE, HYPERLINK, FILTERXML, CALL, REGISTER.ID, IMPORT…, DDE, ``cmd|``) and Word DDE fields;
* PNG and JPEG must decode (Pillow ``verify``).

Everything is read in bounded pieces: the upload is never held whole in memory.
"""

from __future__ import annotations

import re
import unicodedata
import zipfile
from collections.abc import Iterator
from typing import IO

import magic
from flask_babel import gettext as _

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
CSV = "text/csv"
TXT = "text/plain"
ZIP_TYPES = {DOCX, XLSX, ODT, ODS}
ALLOWED = {PDF, PNG, JPEG, DOCX, XLSX, ODT, ODS, CSV, TXT}
EXTENSIONS = {PDF: "PDF", PNG: "PNG", JPEG: "JPEG", DOCX: "DOCX", XLSX: "XLSX", ODT: "ODT", ODS: "ODS"}

HEAD = 256 * 1024
BLOCK = 1024 * 1024
OVERLAP = 4096
MAX_ENTRIES = 2000
MAX_UNCOMPRESSED = 300 * 1024 * 1024
MAX_RATIO = 100
MAX_NAME = 200

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!"
PDF_FORBIDDEN = {"JavaScript", "JS", "OpenAction", "Launch", "AA"}
PDF_NAME_RE = re.compile(rb"/([A-Za-z0-9#_.+-]+)")
HTML_RE = re.compile(rb"<\s*(script|html|iframe|body|svg)[\s>/]|javascript:", re.IGNORECASE)
NESTED_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06", b"\x1f\x8b", b"7z\xbc\xaf", b"Rar!", b"BZh")
ARCHIVE_SUFFIXES = (
    ".zip",
    ".jar",
    ".gz",
    ".7z",
    ".rar",
    ".bz2",
    ".xz",
    ".tar",
    ".docx",
    ".xlsx",
    ".pptx",
    ".odt",
    ".ods",
    ".docm",
    ".xlsm",
    ".cab",
)
EXTERNAL_REL_RE = re.compile(rb"<Relationship\b[^>]*>", re.IGNORECASE)
LOADING_REL_TYPES = (
    "attachedtemplate",
    "oleobject",
    "frame",
    "subdocument",
    "externallink",
    "externallinkpath",
    "image",
    "package",
    "control",
    "font",
)
FORMULA_CALLOUT_RE = re.compile(
    rb"(WEBSERVICE|HYPERLINK|FILTERXML|\bCALL\s*\(|REGISTER\.ID|IMPORTDATA|IMPORTXML|IMPORTHTML|IMPORTRANGE"
    rb"|IMPORTFEED|\bDDE\b|DDEAUTO|\bcmd\s*\||msexcel\s*\||powershell\s*\|)",
    re.IGNORECASE,
)
XLSX_FORMULA_RE = re.compile(rb"<f(?:\s[^>]*)?>([^<]*)</f>")
ODS_FORMULA_RE = re.compile(rb'table:formula="([^"]*)"')
DOCX_FIELD_RE = re.compile(rb"(DDEAUTO|\bDDE\b|INCLUDETEXT|INCLUDEPICTURE)", re.IGNORECASE)


class Refused(Exception):
    """An upload refused: ``reason`` says why, in words for the person who sent it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- names ---------------------------------------------------------------------------------------


def sanitise_filename(name: str | None) -> str:
    """The file name as people gave it, checked: no path, no NUL, no backslash, no control
    character; accents and spaces kept (NFC), surrounding spaces trimmed, 200 characters at most."""
    if name is None or not name.strip():
        raise Refused(_("Le fichier n'a pas de nom."))
    if "\x00" in name:
        raise Refused(_("Le nom du fichier contient un caractère nul : renommez-le."))
    if "\\" in name or "/" in name:
        raise Refused(
            _("Le nom du fichier contient un chemin (/ ou \\) : donnez seulement le nom du fichier.")
        )
    if any(unicodedata.category(c) == "Cc" for c in name):
        raise Refused(_("Le nom du fichier contient des caractères de contrôle : renommez-le."))
    clean = unicodedata.normalize("NFC", name).strip()
    if clean in {".", ".."} or clean.startswith("."):
        raise Refused(_("Ce nom de fichier n'est pas accepté (il commence par un point)."))
    if len(clean) > MAX_NAME:
        raise Refused(_("Le nom du fichier est trop long (%(n)s caractères au plus).", n=MAX_NAME))
    return clean


# --- reading in pieces ---------------------------------------------------------------------------------


def _blocks(stream: IO[bytes]) -> Iterator[bytes]:
    """The content in blocks, each starting with the end of the previous one (patterns cut by a
    block boundary are still found)."""
    stream.seek(0)
    tail = b""
    while True:
        block = stream.read(BLOCK)
        if not block:
            return
        yield tail + block
        tail = block[-OVERLAP:]


def _scan(stream: IO[bytes], pattern: re.Pattern[bytes]) -> re.Match[bytes] | None:
    for block in _blocks(stream):
        found = pattern.search(block)
        if found:
            return found
    return None


def _contains(stream: IO[bytes], needle: bytes) -> bool:
    return any(needle in block for block in _blocks(stream))


# --- the verdict ------------------------------------------------------------------------------------


def inspect_content(stream: IO[bytes], size: int, filename: str) -> str:
    """The media type of the upload (from the allow-list), or :class:`Refused`."""
    if size == 0:
        raise Refused(_("Le fichier est vide."))
    stream.seek(0)
    head = stream.read(HEAD)
    if _contains(stream, EICAR):
        raise Refused(_("Le fichier contient la signature de test antivirus EICAR : refusé."))
    if head.startswith((b"\x7fELF", b"MZ", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xca\xfe\xba\xbe")):
        raise Refused(_("Le fichier est un programme exécutable (quel que soit son nom) : refusé."))
    detected = magic.from_buffer(head, mime=True)
    if detected in {
        "application/x-executable",
        "application/x-dosexec",
        "application/x-sharedlib",
        "application/x-mach-binary",
        "application/x-pie-executable",
    }:
        raise Refused(_("Le fichier est un programme exécutable (quel que soit son nom) : refusé."))
    if detected == "image/svg+xml" or b"<svg" in head.lower():
        raise Refused(
            _(
                "Les images SVG ne sont pas acceptées (elles peuvent contenir du script) : "
                "déposez-la en PNG ou en PDF."
            )
        )
    if detected in {"text/html", "application/xhtml+xml", "text/xml", "application/xml"}:
        raise Refused(_("Les pages HTML et fichiers XML ne sont pas acceptés : déposez un PDF."))
    if detected in {
        "application/zip",
        "application/x-zip-compressed",
        "application/gzip",
        "application/x-7z-compressed",
        "application/x-rar",
        "application/x-bzip2",
        "application/x-tar",
        "application/x-xz",
    }:
        raise Refused(
            _("Les archives (ZIP, 7z, RAR…) ne sont pas acceptées : déposez les documents un par un.")
        )
    media_type = detected
    if detected == TXT and filename.lower().endswith(".csv"):
        media_type = CSV
    if detected in {"text/csv", "application/csv"}:
        media_type = CSV
    if media_type not in ALLOWED:
        raise Refused(
            _(
                "Type de fichier non accepté (%(type)s). Types acceptés : PDF, PNG, JPEG, DOCX, XLSX, "
                "ODT, ODS, CSV, texte.",
                type=detected,
            )
        )
    if media_type == PDF:
        _check_pdf(stream)
    elif media_type in ZIP_TYPES:
        _check_office(stream, media_type)
    else:
        _check_not_polyglot(stream, media_type)
        if media_type in {PNG, JPEG}:
            _check_image(stream)
        if media_type in {TXT, CSV}:
            _check_text(stream)
    return media_type


ZIP_TAIL = 65_535 + 22  # a ZIP's end-of-directory record lies in its last 64 KiB (comment included)


def _zip_at_end(stream: IO[bytes]) -> bool:
    """Whether a ZIP directory ends the file (what ZIP readers look for: a file of another type
    with one is also a ZIP). Only the tail is searched: the signature may occur by chance in the
    compressed data of an image or a PDF."""
    size = stream.seek(0, 2)
    stream.seek(max(0, size - ZIP_TAIL))
    return b"PK\x05\x06" in stream.read(ZIP_TAIL)


def _check_not_polyglot(stream: IO[bytes], media_type: str) -> None:
    polyglot = _("Le fichier mêle plusieurs formats (fichier « polyglotte ») : refusé.")
    if _zip_at_end(stream):
        raise Refused(polyglot)
    if media_type != PDF and _contains(stream, b"%PDF-"):
        raise Refused(polyglot)
    if _scan(stream, HTML_RE):
        raise Refused(polyglot)


def _check_text(stream: IO[bytes]) -> None:
    if _contains(stream, b"\x00"):
        raise Refused(_("Le fichier texte contient des octets nuls : ce n'est pas un texte."))


def _check_image(stream: IO[bytes]) -> None:
    from PIL import Image  # noqa: PLC0415 — only for images

    stream.seek(0)
    try:
        with Image.open(stream) as image:
            image.verify()
    except Exception as exc:
        raise Refused(_("L'image est illisible ou corrompue.")) from exc


def _pdf_name(raw: bytes) -> str:
    return re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), raw).decode("latin-1")


def _check_pdf(stream: IO[bytes]) -> None:
    active = _(
        "Le PDF contient du contenu actif (JavaScript, action à l'ouverture ou lancement de "
        "programme) : refusé. Imprimez-le en PDF simple avant de le déposer."
    )
    for block in _blocks(stream):
        if any(_pdf_name(m.group(1)) in PDF_FORBIDDEN for m in PDF_NAME_RE.finditer(block)):
            raise Refused(active)
        if HTML_RE.search(block):
            raise Refused(_("Le fichier mêle plusieurs formats (fichier « polyglotte ») : refusé."))
    if _zip_at_end(stream):
        raise Refused(_("Le fichier mêle plusieurs formats (fichier « polyglotte ») : refusé."))
    import pypdf  # noqa: PLC0415 — only for PDFs
    from pypdf.generic import DictionaryObject, IndirectObject  # noqa: PLC0415

    stream.seek(0)
    try:
        reader = pypdf.PdfReader(stream, strict=False)
        if reader.is_encrypted:
            raise Refused(_("Le PDF est chiffré : déposez-le sans mot de passe."))
        root = reader.trailer["/Root"].get_object()
        if any(key in root for key in ("/OpenAction", "/AA")):
            raise Refused(active)
        # every indirect object: those at an offset (by generation) and those in object streams
        refs = {(idnum, gen) for gen, table in reader.xref.items() for idnum in table}
        refs |= {(idnum, 0) for idnum in reader.xref_objStm}
        for idnum, gen in sorted(refs)[:200_000]:
            obj = reader.get_object(IndirectObject(idnum, gen, reader))
            if isinstance(obj, DictionaryObject):
                keys = {str(k).lstrip("/") for k in obj}
                values = {str(obj.get("/S", "")).lstrip("/")}
                if keys & PDF_FORBIDDEN or values & PDF_FORBIDDEN:
                    raise Refused(active)
        if len(reader.pages) == 0:
            raise Refused(_("Le PDF ne contient aucune page."))
    except Refused:
        raise
    except Exception as exc:
        raise Refused(_("Le PDF est illisible ou corrompu.")) from exc


def _check_office(stream: IO[bytes], media_type: str) -> None:
    bomb = _("Le document est une « bombe de décompression » (taille décompressée démesurée) : refusé.")
    stream.seek(0)
    try:
        archive = zipfile.ZipFile(stream)
    except zipfile.BadZipFile as exc:
        raise Refused(_("Le document est corrompu (conteneur ZIP illisible).")) from exc
    with archive:
        entries = archive.infolist()
        if len(entries) > MAX_ENTRIES:
            raise Refused(_("Le document contient trop d'éléments (%(n)s au plus).", n=MAX_ENTRIES))
        total = 0
        compressed = 0
        for entry in entries:
            name = entry.filename
            if (
                name.startswith("/")
                or "\\" in name
                or ".." in name.split("/")
                or re.match(r"^[A-Za-z]:", name)
            ):
                raise Refused(
                    _("Le document contient un chemin qui sort de son dossier (« zip-slip ») : refusé.")
                )
            if (entry.external_attr >> 16) & 0o170000 == 0o120000:
                raise Refused(_("Le document contient un lien symbolique : refusé."))
            if name.lower().endswith(ARCHIVE_SUFFIXES):
                raise Refused(_("Le document contient une archive imbriquée : refusé."))
            if name.lower().endswith("vbaproject.bin"):
                raise Refused(_("Le document contient des macros : refusé. Enregistrez-le sans macros."))
            total += entry.file_size
            compressed += entry.compress_size
            if total > MAX_UNCOMPRESSED:
                raise Refused(bomb)
        actual = 0
        for entry in entries:
            if entry.is_dir():
                continue
            relevant = _relevant_part(entry.filename, media_type)
            scanned = b""
            first = True
            try:
                with archive.open(entry) as part:
                    while True:
                        piece = part.read(BLOCK)
                        if not piece:
                            break
                        if first:
                            first = False
                            if piece.startswith(NESTED_SIGNATURES):
                                raise Refused(_("Le document contient une archive imbriquée : refusé."))
                        actual += len(piece)
                        if actual > MAX_UNCOMPRESSED or (
                            actual > 10 * 1024 * 1024 and actual > MAX_RATIO * max(compressed, 1)
                        ):
                            raise Refused(bomb)
                        if relevant:
                            block = scanned[-OVERLAP:] + piece
                            _check_part(entry.filename, block, media_type)
                            scanned = block
            except Refused:
                raise
            except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
                raise Refused(_("Le document est corrompu (élément illisible).")) from exc


def _relevant_part(name: str, media_type: str) -> bool:
    lower = name.lower()
    if lower.endswith(".rels"):
        return True
    if media_type == XLSX:
        return lower.startswith(("xl/worksheets/", "xl/externallinks/")) or lower == "xl/workbook.xml"
    if media_type == DOCX:
        return lower.startswith("word/") and lower.endswith(".xml")
    return lower in {"content.xml", "styles.xml", "settings.xml"}


def _check_part(name: str, block: bytes, media_type: str) -> None:
    external = _(
        "Le document charge un contenu externe (modèle attaché, objet lié ou lien externe) : "
        "refusé. Enregistrez-le sans liaison externe."
    )
    callout = _(
        "Le document contient une formule ou un champ qui appelle l'extérieur (WEBSERVICE, "
        "HYPERLINK, DDE…) : refusé."
    )
    lower_name = name.lower()
    if lower_name.startswith("xl/externallinks/"):
        raise Refused(external)
    if lower_name.endswith(".rels"):
        for rel in EXTERNAL_REL_RE.finditer(block):
            text = rel.group(0).lower()
            if b'targetmode="external"' in text:
                rel_type = re.search(rb'type="([^"]*)"', text)
                kind = rel_type.group(1).rsplit(b"/", 1)[-1].decode() if rel_type else ""
                if kind in LOADING_REL_TYPES or kind != "hyperlink":
                    raise Refused(external)
        return
    if media_type == XLSX:
        for formula in XLSX_FORMULA_RE.finditer(block):
            if FORMULA_CALLOUT_RE.search(formula.group(1)):
                raise Refused(callout)
        if b"<ddeLink" in block or b"<oleLink" in block:
            raise Refused(external)
    elif media_type == DOCX:
        if DOCX_FIELD_RE.search(block) and (b"instrText" in block or b"w:instr=" in block):
            raise Refused(callout)
        if b"attachedTemplate" in block:
            raise Refused(external)
    elif media_type == ODS:
        for formula in ODS_FORMULA_RE.finditer(block):
            if FORMULA_CALLOUT_RE.search(formula.group(1)):
                raise Refused(callout)
