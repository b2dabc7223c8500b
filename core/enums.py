"""Enums whose members carry a translated label (for select options, badges and exports)."""

from __future__ import annotations

import enum
from typing import Any


class LabelledEnum(enum.StrEnum):
    """A ``StrEnum`` with a ``label``: subclasses set ``__labels__`` (member → lazy string) after the class.

    Stored in the database as the value; shown to people as the label.
    """

    @property
    def label(self) -> Any:
        return type(self).__labels__[self]  # type: ignore[attr-defined]

    @classmethod
    def with_labels(cls, labels: dict[Any, Any]) -> None:
        missing = set(cls) - set(labels)
        if missing:
            raise ValueError(f"{cls.__name__}: no label for {sorted(missing)}")
        cls.__labels__ = labels  # type: ignore[attr-defined]
