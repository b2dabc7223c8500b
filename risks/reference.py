"""The risk scales Égide starts from (``risks/data/ebios_rm.json``, after ANSSI's EBIOS Risk Manager
guide): four likelihood levels V1–V4, four gravity levels G1–G4, four risk levels (low, moderate,
high, critical) and the usual matrix (level from the sum of the ranks). An organisation may set its
own scale (:mod:`risks.services.scale`). Read once per process."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from flask_babel import get_locale

DATA = Path(__file__).parent / "data" / "ebios_rm.json"


def _in_english() -> bool:
    locale = get_locale()
    return locale is not None and locale.language == "en"


@dataclass(frozen=True)
class Level:
    id: str  # "low", "moderate", "high", "critical"
    rank: int
    label_fr: str
    label_en: str
    colour: str

    @property
    def label(self) -> str:
        return self.label_en if _in_english() else self.label_fr


COLOURS = {"low": "#2f855a", "moderate": "#d69e2e", "high": "#dd6b20", "critical": "#c53030"}
BADGES = {"low": "success", "moderate": "warning", "high": "orange", "critical": "danger"}


@cache
def _data() -> dict[str, Any]:
    return json.loads(DATA.read_text(encoding="utf-8"))


@cache
def levels() -> tuple[Level, ...]:
    return tuple(
        Level(lv["id"], int(lv["rank"]), lv["label_fr"], lv["label_en"], COLOURS[lv["id"]])
        for lv in sorted(_data()["risk_levels"], key=lambda lv: lv["rank"])
    )


def level(level_id: str) -> Level:
    return next(lv for lv in levels() if lv.id == level_id)


def default_labels(scale: str) -> list[str]:
    """``"likelihood"`` or ``"gravity"``: the guide's level names, "V1 — peu vraisemblable" …"""
    data = _data()["scales"][scale]
    key = "label_en" if _in_english() else "label_fr"
    return [f"{lv['id']} — {lv[key]}" for lv in sorted(data["levels"], key=lambda lv: lv["rank"])]


def default_matrix() -> list[list[str]]:
    """Level ids by [gravity rank - 1][likelihood rank - 1]."""
    rows = sorted(_data()["default_risk_matrix"]["rows"], key=lambda r: r["gravity"])
    return [list(r["levels_by_likelihood"]) for r in rows]


# --- ANSSI's hygiene guide (risks/data/anssi_hygiene_42.json): 42 measures in 10 chapters ----------

HYGIENE = Path(__file__).parent / "data" / "anssi_hygiene_42.json"


@dataclass(frozen=True)
class HygieneChapter:
    id: str  # "I" … "X"
    title: str  # ANSSI's French title (the guide exists in French only)
    measures: tuple[int, ...]


@dataclass(frozen=True)
class HygieneMeasure:
    number: int  # 1 … 42
    chapter: str
    title: str
    standard: bool  # part of the standard level
    reinforced: bool  # has a strengthened ("renforcé") level


@cache
def _hygiene() -> dict[str, Any]:
    return json.loads(HYGIENE.read_text(encoding="utf-8"))


@cache
def hygiene_chapters() -> tuple[HygieneChapter, ...]:
    return tuple(
        HygieneChapter(c["id"], c["title_fr"], tuple(int(n) for n in c["measures"]))
        for c in _hygiene()["chapters"]
    )


@cache
def hygiene_measures() -> tuple[HygieneMeasure, ...]:
    return tuple(
        HygieneMeasure(
            int(m["number"]),
            m["chapter"],
            m["title_fr"],
            "standard" in m["levels"],
            any(level != "standard" for level in m["levels"]),
        )
        for m in sorted(_hygiene()["measures"], key=lambda m: int(m["number"]))
    )


# --- ANSSI's parcours de cybersécurité (risks/data/anssi_parcours.json): 2 phases, 8 themes --------

PARCOURS = Path(__file__).parent / "data" / "anssi_parcours.json"


@dataclass(frozen=True)
class ParcoursTheme:
    id: str  # "T1" … "T8"
    number: int
    title_fr: str
    short_fr: str
    title_en: str
    hygiene: tuple[int, ...]  # the hygiene guide's measures under it (the project's own mapping)

    @property
    def title(self) -> str:
        return self.title_en if _in_english() else self.title_fr

    @property
    def short(self) -> str:
        return self.title_en if _in_english() else self.short_fr


@cache
def _parcours() -> dict[str, Any]:
    return json.loads(PARCOURS.read_text(encoding="utf-8"))


@cache
def parcours_themes() -> tuple[ParcoursTheme, ...]:
    mapping = _parcours()["theme_to_hygiene"]["mapping"]
    return tuple(
        ParcoursTheme(
            t["id"],
            int(t["number"]),
            t["title_fr"],
            t["short_fr"],
            t["title_en"],
            tuple(int(n) for n in mapping.get(t["id"], ())),
        )
        for t in sorted(_parcours()["themes"], key=lambda t: int(t["number"]))
    )


def parcours_theme(theme_id: str) -> ParcoursTheme | None:
    return next((t for t in parcours_themes() if t.id == theme_id), None)


def parcours_cofinancing_rate(phase_order: int) -> int:
    """The beneficiary's share (per cent) the programme asks for a phase: 30 % of phase 2, none of
    phase 1 (funded by the first subsidy)."""
    for phase in _parcours()["phases"]:
        if int(phase["order"]) == phase_order:
            return int(phase["funding"].get("beneficiary_share_pct", 0))
    return 0
