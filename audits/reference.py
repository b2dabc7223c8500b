"""The AFNOR finding levels (audits/data/afnor_finding_levels.json): rank and nonconformity flag."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data" / "afnor_finding_levels.json"


@cache
def level_facts() -> dict[str, dict[str, Any]]:
    with DATA.open(encoding="utf-8") as handle:
        return {level["code"]: level for level in json.load(handle)["finding_levels"]}
