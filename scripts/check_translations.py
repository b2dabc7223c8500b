"""Check the translation catalogues; exit 1 and list the msgids at fault.

Fails when:
- ``translations/messages.pot`` is out of date with the sources (a fresh extraction, with the
  options of ``scripts/translations.sh``, gives another set of msgids);
- a catalogue (fr or en) does not hold exactly the msgids of the template (run the script);
- an English entry is untranslated or fuzzy, or its placeholders differ from the msgid's;
- a French plural entry does not carry its own forms (scripts/french_plurals.py, which the script
  runs: without them French would write "0 champs").

Run from anywhere: ``.venv/bin/python scripts/check_translations.py``.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
POT = TRANSLATIONS / "messages.pot"
LOCALES = ("fr", "en")
TRANSLATED_LOCALE = "en"
# Keep in step with scripts/translations.sh. --ignore-dirs: Babel skips "_*" directories by
# default, which would miss templates/_macros.
EXTRACT_ARGS = (
    *("-F", str(ROOT / "babel.cfg"), "-k", "_l", "-k", "lazy_gettext"),
    *("--ignore-dirs=.* __pycache__", "--no-location", "--sort-output"),
)

MsgId = str | tuple[str, ...]


def load(path: Path) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh)


def msgids(catalog: Catalog) -> set[MsgId]:
    return {message.id for message in catalog if message.id}


def extract_from_sources() -> Catalog:
    with tempfile.TemporaryDirectory() as tmp:
        output = Path(tmp) / "messages.pot"
        cli = CommandLineInterface()
        status = cli.run(["pybabel", "-q", "extract", *EXTRACT_ARGS, "-o", str(output), str(ROOT)])
        if status:
            raise SystemExit(f"pybabel extract failed ({status})")
        return load(output)


def untranslated_or_fuzzy(catalog: Catalog) -> list[str]:
    problems = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy:
            problems.append(f"fuzzy: {show(message.id)}")
        elif not all(strings):
            problems.append(f"untranslated: {show(message.id)}")
        for error in message.check(catalog):
            problems.append(f"placeholders ({error}): {show(message.id)}")
    return problems


def show(msgid: MsgId) -> str:
    return repr(msgid if isinstance(msgid, str) else msgid[0])


def differences(label: str, expected: set[MsgId], actual: set[MsgId]) -> list[str]:
    return [f"{label}, missing: {show(m)}" for m in sorted(expected - actual, key=show)] + [
        f"{label}, no longer in the sources: {show(m)}" for m in sorted(actual - expected, key=show)
    ]


def problems() -> list[str]:
    found: list[str] = []
    if not POT.exists():
        return [f"{POT.relative_to(ROOT)} is missing"]
    template = msgids(load(POT))
    found += differences("messages.pot out of date", msgids(extract_from_sources()), template)
    for locale in LOCALES:
        po = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"
        if not po.exists():
            found.append(f"{po.relative_to(ROOT)} is missing")
            continue
        catalog = load(po)
        found += differences(f"{locale} catalogue out of date", template, msgids(catalog))
        if locale == TRANSLATED_LOCALE:
            found += [f"{locale} {problem}" for problem in untranslated_or_fuzzy(catalog)]
        else:
            found += [
                f"{locale} plural without its forms: {show(m.id)}"
                for m in catalog
                if m.id and m.pluralizable and tuple(m.string) != tuple(m.id)
            ]
    return found


def report(lines: Iterable[str]) -> int:
    lines = list(lines)
    if not lines:
        print("Translations OK.")
        return 0
    print(f"{len(lines)} translation problem(s):", file=sys.stderr)
    for line in lines:
        print(f"  {line}", file=sys.stderr)
    print("Run scripts/translations.sh, translate the English entries, and check again.", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(report(problems()))
