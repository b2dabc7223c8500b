"""The evidence store (audits.evidence) as the packs' source of evidence files: its current
versions, decrypted on the fly, handed to the builder in the packs' own terms (sources.py). A file
the store finds altered (authentication tag, truncation, hash) fails the pack with the same readable
reason as a hash mismatch: an auditor must never receive a partial or altered file."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

from flask_babel import gettext as _

from audits.evidence import keyring
from audits.evidence.services import evidence_for_pack
from audits.packs.builder import PackError
from audits.packs.sources import EvidenceForPack


def _checked(item: object, read: Callable[[], Iterator[bytes]]) -> Callable[[], Iterator[bytes]]:
    def chunks() -> Iterator[bytes]:
        try:
            yield from read()
        except keyring.TamperedFile as exc:
            raise PackError(
                _(
                    "La preuve « %(title)s » (n° %(id)s, version %(v)s) est altérée dans le coffre : "
                    "le dossier n'est pas produit.",
                    title=getattr(item, "title", ""),
                    id=getattr(item, "evidence_id", ""),
                    v=getattr(item, "version", ""),
                )
            ) from exc

    return chunks


def evidence_store_source(
    org_ids: Sequence[int], objects: Iterable[tuple[str, int]] | None
) -> Iterator[EvidenceForPack]:
    for item in evidence_for_pack(org_ids, linked_to=objects):
        yield EvidenceForPack(
            evidence_id=item.evidence_id,
            version=item.version,
            title=item.title,
            filename=item.filename,
            size=item.size,
            sha256=item.sha256,
            media_type=item.media_type,
            organisation_id=item.organisation_id,
            organisation_name=item.organisation_name,
            owner=item.owner,
            valid_from=item.valid_from,
            valid_until=item.valid_until,
            links=item.links,
            chunks=_checked(item, item.chunks),
        )
