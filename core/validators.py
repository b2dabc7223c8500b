"""Small, pure validation helpers shared by forms and imports."""

from __future__ import annotations

import re

SIREN_RE = re.compile(r"^\d{9}$")


def normalise_siren(value: str | None) -> str:
    """Drop the spaces and dots people type ("219 400 413") — nothing else."""
    return re.sub(r"[\s.\u00a0\u202f]", "", value or "")


def luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        n = int(char)
        if index % 2 == 1:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


def siren_is_valid(value: str) -> bool:
    """A SIREN is 9 digits whose Luhn checksum is 0 (INSEE)."""
    return bool(SIREN_RE.match(value)) and luhn_ok(value)
