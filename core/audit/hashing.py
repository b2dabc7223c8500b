"""The canonical form of the journal: canonical JSON, and what an entry's hash covers.

``hash = SHA-256(prev_hash || canonical JSON of {chain, seq, at, actor_id, organisation_id, action,
object_type, object_id, payload_sha256})`` (see :mod:`core.audit`). Pure functions: no database, no
application.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any


def canonical(value: Any) -> bytes:
    """Canonical JSON: sorted keys, no spaces, UTF-8 without ASCII escaping."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def iso_utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


# What an entry's hash covers (besides the previous hash), in this order of names.
HASHED_FIELDS = (
    "chain",
    "seq",
    "at",
    "actor_id",
    "organisation_id",
    "action",
    "object_type",
    "object_id",
    "payload_sha256",
)


def chain_content(source: Any) -> dict[str, Any]:
    """The hashed content of an entry, read from an AuditEvent or a result row alike."""
    content = {name: getattr(source, name) for name in HASHED_FIELDS}
    content["at"] = iso_utc(content["at"])
    return content


def entry_hash(prev_hash: str, content: Mapping[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + canonical(content)).hexdigest()


def payload_hash(data: Any) -> str:
    return hashlib.sha256(canonical(data)).hexdigest()


def jsonable(value: Any) -> Any:
    """A JSON value for anything a service may put in ``changes`` (dates → ISO, enums → value …)."""
    kind = type(value)  # the common cases first, by exact type (a bulk import calls this a lot)
    if value is None or kind is str or kind is int or kind is bool:
        return value
    if kind is dict:
        return {str(k): jsonable(v) for k, v in value.items()}
    if kind is list:
        return [jsonable(v) for v in value]
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [jsonable(v) for v in value]
        return sorted(items, key=lambda v: canonical(v)) if isinstance(value, set | frozenset) else items
    if isinstance(value, bytes):
        return value.hex()
    return str(value)
