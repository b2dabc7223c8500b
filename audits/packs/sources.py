"""Where a pack's evidence files come from: the evidence store registers itself here (a consumer
interface, so that the packs do not import the store, and the store does not import the packs)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class EvidenceForPack:
    """One version of one evidence file, as a pack prints it. ``sha256`` and ``size`` are those
    recorded at upload; ``chunks`` yields the file's clear bytes (decrypted on the fly), and the
    builder recomputes the hash while writing them — a mismatch fails the pack."""

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
    links: tuple[str, ...]
    chunks: Callable[[], Iterator[bytes]]


# (organisation ids, the objects asked for as (type, id) pairs or None for all) → their evidence.
EvidenceSource = Callable[[Sequence[int], Iterable[tuple[str, int]] | None], Iterable[EvidenceForPack]]

_sources: list[EvidenceSource] = []


def register_evidence_source(source: EvidenceSource) -> None:
    """Add a source of evidence files (the evidence store, at start-up); registering it again is harmless."""
    if source not in _sources:
        _sources.append(source)


def unregister_evidence_source(source: EvidenceSource) -> None:
    if source in _sources:
        _sources.remove(source)


def evidence_for(
    org_ids: Sequence[int], objects: Iterable[tuple[str, int]] | None = None
) -> Iterator[EvidenceForPack]:
    """Every registered source's evidence of ``org_ids``."""
    for source in list(_sources):
        yield from source(org_ids, objects)
