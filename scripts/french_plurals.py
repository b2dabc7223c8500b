"""Give the French catalogue's plural entries their own forms (msgstr[0] = msgid, msgstr[1] =
msgid_plural): French is the source language, but an entry without msgstr falls back to gettext's
default rule (singular only for 1), which writes "0 champs"; with its forms filled the catalogue's
own rule applies (``Plural-Forms: plural=(n > 1)``: "0 champ", "1 champ", "3 champs").

Run by scripts/translations.sh after each update; scripts/check_translations.py checks it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

PO = Path(__file__).resolve().parent.parent / "translations" / "fr" / "LC_MESSAGES" / "messages.po"


def fill(path: Path = PO) -> int:
    with path.open("rb") as fh:
        catalog = read_po(fh, locale="fr")
    filled = 0
    for message in catalog:
        if message.pluralizable and tuple(message.string) != tuple(message.id):
            message.string = tuple(message.id)
            filled += 1
    if filled:
        with path.open("wb") as fh:
            write_po(fh, catalog, width=0)
    return filled


if __name__ == "__main__":
    count = fill()
    print(f"French plural entries filled: {count}", file=sys.stderr)
