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
        return _member(cls, value, label)

    @property
    def label(self) -> Any:
        return self._label


class ColouredEnum(LabelledEnum):
    """A :class:`LabelledEnum` whose members also carry their badge's Bootstrap colour:
    ``DONE = "done", _l("Terminée"), "success"`` — a status declared once, shown everywhere alike."""

    _colour: str

    def __new__(cls, value: str, label: Any, colour: str = "secondary") -> Self:
        member = _member(cls, value, label)
        member._colour = colour
        return member

    @property
    def colour(self) -> str:
        return self._colour


def _member(cls: Any, value: str, label: Any) -> Any:
    # Enum puts its own lookup ``__new__`` on a class once created: a subclass reaches this one here.
    if not isinstance(value, str):
        raise TypeError(f"{cls.__name__}: {value!r} is not a string")
    member = str.__new__(cls, value)
    member._value_ = value
    member._label = label
    return member
