"""What a list page shows the same on many rows, worked out once: the labels of an enum's members in
the reader's language, translated once per process and language — not once a request as ``|label``
does (a lazy label costs some 80 µs to translate; a list page shows a dozen different ones)."""

from __future__ import annotations

from typing import Any

from core.enums import LabelledEnum
from core.templating import locale_code

_LABELS: dict[tuple[str, type[LabelledEnum]], dict[Any, str]] = {}


def labels_of(enum: type[LabelledEnum]) -> dict[Any, str]:
    """``{member: label}`` of ``enum`` in the request's language (``labels[row.status]``)."""
    key = (locale_code(), enum)
    labels = _LABELS.get(key)
    if labels is None:
        labels = _LABELS[key] = {member: str(member.label) for member in enum}
    return labels
