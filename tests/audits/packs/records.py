"""The evidence packs' records for the route walkers (found by tests/conftest.py as "audits.packs"):
one pack of the tenant's syndicate, ready, its (small, real) ZIP on disk in the tests' PACK_DIR, so
that its page and its download answer as for a pack built by the job."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.config import TestConfig
from tests.audits.packs.factories import EvidencePackFactory

if TYPE_CHECKING:
    from tests.conftest import Tenant


@dataclass
class PackRecords:
    pack: Any


def build(tenant: Tenant) -> PackRecords:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("manifest.json", "{}")
    content = buffer.getvalue()
    relative = f"{tenant.syndicate.id}/pack-records-{tenant.syndicate.id}.zip"
    path = Path(TestConfig.PACK_DIR) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    pack = EvidencePackFactory(
        organisation_id=tenant.syndicate.id,
        scope_org_ids=[tenant.syndicate.id],
        file_path=relative,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        manifest_sha256=hashlib.sha256(b"{}").hexdigest(),
        expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=30),
    )
    return PackRecords(pack=pack)


URL_ARGUMENTS: dict[str, Callable[[PackRecords], Any]] = {"pack_id": lambda r: r.pack.id}
