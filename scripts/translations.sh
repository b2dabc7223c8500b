#!/usr/bin/env bash
# Refresh the translation catalogues: extract the French msgids from the sources into
# translations/messages.pot, merge them into the fr and en catalogues, then compile the .mo files.
# Afterwards, translate the new (empty) English entries and run scripts/check_translations.py.
set -euo pipefail
cd "$(dirname "$0")/.."

PYBABEL=${PYBABEL:-.venv/bin/pybabel}
POT=translations/messages.pot
LOCALES=(fr en)

# (a) Extract. Same options as scripts/check_translations.py: keep them in step.
# --ignore-dirs: Babel skips directories named "_*" by default, which would miss templates/_macros.
"$PYBABEL" -q extract -F babel.cfg -k _l -k lazy_gettext --ignore-dirs=".* __pycache__" \
  --no-location --sort-output --no-wrap --project=Égide \
  -o "$POT" .

# (b) Update both catalogues (create one that is missing). No fuzzy matching: a guessed
# translation of a new string would be shown to users; an empty one falls back to French
# and is reported by the check script.
for locale in "${LOCALES[@]}"; do
  po="translations/$locale/LC_MESSAGES/messages.po"
  if [[ -f "$po" ]]; then
    "$PYBABEL" -q update -i "$POT" -d translations -l "$locale" \
      --no-fuzzy-matching --ignore-obsolete --no-wrap
  else
    "$PYBABEL" -q init -i "$POT" -d translations -l "$locale" --no-wrap
  fi
done

# (b') French plural entries take their own forms, so that French follows its plural rule ("0 champ").
"${PYTHON:-.venv/bin/python}" scripts/french_plurals.py

# (c) Compile (.mo files are git-ignored; `make translations` compiles them too).
"$PYBABEL" compile -d translations --statistics
