"""An evidence pack with 1 GiB of evidence (issue 14), timed (run on demand, prints figures; not a test).

    .venv/bin/python bench/bench_pack.py             # 1 GiB in 64 files of 16 MiB
    BENCH_PACK_MIB=256 .venv/bin/python bench/bench_pack.py

Generated files (random bytes, written by 1 MiB blocks) in a temporary folder are handed to the
pack builder (audits.packs.builder.write_pack, the one the job runs) through a registered evidence
source reading them by chunks, exactly as the evidence store will: each file is hashed while it is
written into the ZIP and compared with its recorded SHA-256, the whole ZIP is hashed in the same
pass, SHA256SUMS is signed with the Ed25519 pack key and one signed PDF goes in reports/. In the same
run, the same files are zipped by a bare ``zipfile`` + ``hashlib`` loop (stored, each file hashed):
the floor any builder can reach on this machine (the builder also hashes the whole ZIP, fsyncs it
and writes the manifest: about half the bare loop's speed). Printed: throughput of both, their ratio, peak
memory of the process (ru_maxrss, Python and its libraries included); exit status 1 under
150 MB/s or over 200 MB.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import resource
import shutil
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MIB = 1024 * 1024
TOTAL_MIB = int(os.environ.get("BENCH_PACK_MIB", "1024"))
FILE_MIB = 16
MIN_MB_PER_S = 150.0
MAX_PEAK_MB = 200.0
CHUNK = MIB


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kibibytes


def _generate(folder: Path) -> list[tuple[Path, str, int]]:
    files = []
    remaining = TOTAL_MIB
    n = 0
    while remaining > 0:
        size_mib = min(FILE_MIB, remaining)
        path = folder / f"preuve {n:04d} — journal d'accès.bin"
        digest = hashlib.sha256()
        with open(path, "wb") as handle:
            for _ in range(size_mib):
                block = os.urandom(MIB)
                digest.update(block)
                handle.write(block)
        files.append((path, digest.hexdigest(), size_mib * MIB))
        remaining -= size_mib
        n += 1
    return files


def _chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while block := handle.read(CHUNK):
            yield block


def main() -> int:
    from flask import Flask  # noqa: PLC0415
    from reportlab.pdfgen import canvas  # noqa: PLC0415

    from audits.packs import builder  # noqa: PLC0415
    from audits.packs.sources import (  # noqa: PLC0415
        EvidenceForPack,
        evidence_for,
        register_evidence_source,
    )
    from reports import signing  # noqa: PLC0415

    work = Path(tempfile.mkdtemp(prefix="egide-bench-pack-"))
    try:
        app = Flask("bench_pack", instance_path=str(work / "instance"))
        app.config["SIGNING_DIR"] = str(work / "signing")
        print(f"Génération de {TOTAL_MIB} Mio de preuves dans {work}…")
        (work / "evidence").mkdir()
        files = _generate(work / "evidence")

        def source(org_ids: object, _objects: object) -> Iterator[EvidenceForPack]:
            for number, (path, digest, size) in enumerate(files, start=1):
                yield EvidenceForPack(
                    evidence_id=number,
                    version=1,
                    title=path.stem,
                    filename=path.name,
                    size=size,
                    sha256=digest,
                    media_type="application/octet-stream",
                    organisation_id=1,
                    organisation_name="Syndicat de banc d'essai",
                    owner="RSSI",
                    valid_from=None,
                    valid_until=dt.date(2027, 12, 31),
                    links=(),
                    chunks=lambda path=path: _chunks(path),
                )

        register_evidence_source(source)
        with app.app_context():
            signing.init_keys("Syndicat de banc d'essai")
            pdf = work / "doc.pdf"
            page = canvas.Canvas(str(pdf))
            page.drawString(72, 720, "Registre")
            page.save()
            report = builder.ReportForPack(
                "register", "Registre", 1, "Syndicat", signing.sign_pdf(pdf.read_bytes())
            )
            header = builder.PackHeader(
                title="Banc d'essai",
                generated_at=dt.datetime.now(dt.UTC),
                generated_by="bench",
                scope=[{"id": 1, "name": "Syndicat"}],
                period_start="2026-01-01",
                period_end="2026-12-31",
                audit_id=None,
                instance="bench",
            )
            before = _peak_mb()
            started = time.perf_counter()
            result = builder.write_pack(
                work / "pack.zip",
                header,
                [report],
                list(evidence_for([1], None)),
                sign=signing.sign_manifest,
                public_key_pem=signing.pack_public_key_pem(),
                certificate_pem=signing.certificate_pem(),
                progress=lambda _done: None,
            )
            pack_seconds = time.perf_counter() - started
            peak = _peak_mb()
        (work / "pack.zip").unlink()

        started = time.perf_counter()
        with zipfile.ZipFile(work / "raw.zip", "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
            for path, _digest, size in files:
                digest = hashlib.sha256()
                info = zipfile.ZipInfo(path.name)
                info.file_size = size
                with zf.open(info, "w") as handle:
                    for block in _chunks(path):
                        digest.update(block)
                        handle.write(block)
        raw_seconds = time.perf_counter() - started
        (work / "raw.zip").unlink()

        megabytes = result.evidence_bytes / 1e6
        pack_rate, raw_rate = megabytes / pack_seconds, megabytes / raw_seconds
        zip_mb = result.size / 1e6
        print(f"Dossier : {result.evidence_count} preuves, {megabytes:,.0f} Mo, {zip_mb:,.0f} Mo de ZIP")
        goal = f"objectif ≥ {MIN_MB_PER_S:.0f}"
        print(f"  builder Égide      : {pack_seconds:6.2f} s  {pack_rate:7.1f} Mo/s  ({goal})")
        print(f"  zipfile + hashlib  : {raw_seconds:6.2f} s  {raw_rate:7.1f} Mo/s")
        print(f"  rapport builder / brut : {pack_rate / raw_rate:.2f}")
        print(f"  mémoire de pointe du processus : {peak:.0f} Mo (avant : {before:.0f} Mo ; ", end="")
        print(f"objectif ≤ {MAX_PEAK_MB:.0f})")
        ok = pack_rate >= MIN_MB_PER_S and peak <= MAX_PEAK_MB
        print("OK" if ok else "HORS OBJECTIF")
        return 0 if ok else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
