"""ISO/IEC 27001:2022 Annex A as Égide reads it (``smsi/data/iso27001_2022_annex_a.json``): the four
themes and the 93 controls, with their identifiers and short titles (English, and this project's own
French titles; no text of the standard). Read once per process."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from flask_babel import get_locale

DATA = Path(__file__).parent / "data" / "iso27001_2022_annex_a.json"


@dataclass(frozen=True)
class Theme:
    id: str  # "5" … "8"
    name_fr: str
    name_en: str

    @property
    def name(self) -> str:
        return self.name_en if _in_english() else self.name_fr


@dataclass(frozen=True)
class Control:
    id: str  # "A.5.1"
    theme: str  # "5"
    title_fr: str
    title_en: str
    position: int  # order in Annex A (0 … 92)

    @property
    def title(self) -> str:
        return self.title_en if _in_english() else self.title_fr

    @property
    def label(self) -> str:
        return f"{self.id} {self.title}"


def _in_english() -> bool:
    locale = get_locale()
    return locale is not None and locale.language == "en"


@cache
def _data() -> dict:  # type: ignore[type-arg]
    return json.loads(DATA.read_text(encoding="utf-8"))


@cache
def themes() -> tuple[Theme, ...]:
    return tuple(Theme(t["id"], t["name_fr"], t["name_en"]) for t in _data()["themes"])


@cache
def controls() -> tuple[Control, ...]:
    """The 93 controls in Annex A order."""
    return tuple(
        Control(c["id"], c["theme"], c["title_fr"], c["title_en"], i)
        for i, c in enumerate(_data()["controls"])
    )


@cache
def by_id() -> dict[str, Control]:
    return {c.id: c for c in controls()}


def control(control_id: str) -> Control | None:
    return by_id().get(control_id)


def theme_of(theme_id: str) -> Theme | None:
    return next((t for t in themes() if t.id == theme_id), None)
