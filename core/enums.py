"""Enums whose members carry a translated label (for select options, badges and exports)."""

from __future__ import annotations

import enum
from typing import Any, Self


class LabelledEnum(enum.StrEnum):
    """A ``StrEnum`` whose members are declared with their label: ``DRAFT = "draft", _l("Brouillon")``.

    Stored in the database as the value (``.value``, and the member itself as a ``str``); shown to
    people as the label (``.label``, usually a lazy string). A member without a label is an error
    when the class is created.
    """

    _label: Any

    def __new__(cls, value: str, label: Any) -> Self:
        if not isinstance(value, str):
            raise TypeError(f"{cls.__name__}: {value!r} is not a string")
        member = str.__new__(cls, value)
        member._value_ = value
        member._label = label
        return member

    @property
    def label(self) -> Any:
        return self._label
