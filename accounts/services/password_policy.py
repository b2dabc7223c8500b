"""Password policy (OWASP ASVS 4.0.3 V2.1) and the strength meter.

- 12 characters at least (runs of spaces count as one), 128 at most; no composition rules (V2.1.1,
  V2.1.2, V2.1.9). Any printable Unicode character is allowed and nothing is truncated.
- Rejected when found in ``core/data/common_passwords.txt``, the list of common and breached passwords
  shipped with Égide and checked offline (V2.1.7): case-insensitive, and again once digits and
  punctuation are stripped from both ends ("Soleil2024!" is "soleil").
- Rejected when most of it is the user's name or e-mail address.
- Rejected when zxcvbn scores it under 3 (V2.1.8: the strength meter uses the same estimate).

Passwords are never logged, stored or echoed here: only the messages are returned.
"""

from __future__ import annotations

import re
import string
import threading
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from core.data import DATA_DIR

MIN_LENGTH = 12
MAX_LENGTH = 128
MIN_SCORE = 3
COMMON_PASSWORDS_FILE = DATA_DIR / "common_passwords.txt"

# Share of the password (letters and digits) that the user's name or address may make up.
MAX_USER_INPUT_SHARE = 0.5
# Shorter name parts ("de", "le") are ignored.
MIN_USER_TOKEN_LENGTH = 3

_EDGE_CHARS = string.digits + string.punctuation + string.whitespace + "€£§°²«»’…"
_SPACES = re.compile(r"\s+")
_NON_ALNUM = re.compile(r"[^0-9a-z]+")

# zxcvbn's feedback is in English (stdlib gettext, no catalogue): each sentence of
# zxcvbn/feedback.py in French. An unknown sentence (another zxcvbn version) is left out.
_ZXCVBN_FRENCH = {
    "Straight rows of keys are easy to guess.": _l(
        "Les rangées de touches du clavier se devinent facilement."
    ),
    "Short keyboard patterns are easy to guess.": _l("Les motifs de clavier courts se devinent facilement."),
    'Repeats like "aaa" are easy to guess.': _l("Les répétitions comme « aaa » se devinent facilement."),
    'Repeats like "abcabcabc" are only slightly harder to guess than "abc".': _l(
        "Les répétitions comme « abcabcabc » ne sont guère plus difficiles à deviner que « abc »."
    ),
    'Sequences like "abc" or "6543" are easy to guess.': _l(
        "Les suites comme « abc » ou « 6543 » se devinent facilement."
    ),
    "Recent years are easy to guess.": _l("Les années récentes se devinent facilement."),
    "Dates are often easy to guess.": _l("Les dates se devinent souvent facilement."),
    "This is a top-10 common password.": _l("C'est l'un des 10 mots de passe les plus courants."),
    "This is a top-100 common password.": _l("C'est l'un des 100 mots de passe les plus courants."),
    "This is a very common password.": _l("C'est un mot de passe très courant."),
    "This is similar to a commonly used password.": _l("Il ressemble à un mot de passe courant."),
    "A word by itself is easy to guess.": _l("Un mot seul se devine facilement."),
    "Names and surnames by themselves are easy to guess.": _l(
        "Un prénom ou un nom seul se devine facilement."
    ),
    "Common names and surnames are easy to guess.": _l(
        "Les prénoms et noms courants se devinent facilement."
    ),
    "Use a few words, avoid common phrases.": _l(
        "Utilisez plusieurs mots, en évitant les expressions courantes."
    ),
    "No need for symbols, digits, or uppercase letters.": _l(
        "Inutile d'ajouter des symboles, des chiffres ou des majuscules."
    ),
    "Add another word or two. Uncommon words are better.": _l(
        "Ajoutez un ou deux mots, de préférence peu courants."
    ),
    "Use a longer keyboard pattern with more turns.": _l(
        "Utilisez un motif de clavier plus long, qui change plus souvent de direction."
    ),
    "Avoid repeated words and characters.": _l("Évitez les mots et les caractères répétés."),
    "Avoid sequences.": _l("Évitez les suites."),
    "Avoid recent years.": _l("Évitez les années récentes."),
    "Avoid years that are associated with you.": _l("Évitez les années qui vous sont associées."),
    "Avoid dates and years that are associated with you.": _l(
        "Évitez les dates et les années qui vous sont associées."
    ),
    "Capitalization doesn't help very much.": _l("Les majuscules n'aident pas beaucoup."),
    "All-uppercase is almost as easy to guess as all-lowercase.": _l(
        "Tout en majuscules se devine presque aussi facilement que tout en minuscules."
    ),
    "Reversed words aren't much harder to guess.": _l(
        "Les mots à l'envers ne sont guère plus difficiles à deviner."
    ),
    "Predictable substitutions like '@' instead of 'a' don't help very much.": _l(
        "Les substitutions prévisibles comme « @ » au lieu de « a » n'aident pas beaucoup."
    ),
}

# (label, Bootstrap background class) by zxcvbn score.
_LEVELS = (
    (_l("Très faible"), "bg-danger"),
    (_l("Faible"), "bg-danger"),
    (_l("Moyen"), "bg-warning"),
    (_l("Bon"), "bg-info"),
    (_l("Excellent"), "bg-success"),
)
_WIDTH_CLASSES = {0: "", 25: "w-25", 50: "w-50", 75: "w-75", 100: "w-100"}

# zxcvbn keeps the user inputs of the current call in a module-level dictionary: one call at a time.
_zxcvbn_lock = threading.Lock()


@dataclass(frozen=True)
class Strength:
    """What the meter shows for a password (see :func:`strength`)."""

    score: int  # 0-4
    label: str
    css_class: str  # Bootstrap background colour of the bar
    feedback: tuple[str, ...]  # French: the policy's errors first, then zxcvbn's advice
    percent: int  # bar width, 0-100
    is_acceptable: bool  # check_password() returns no error

    @property
    def width_class(self) -> str:
        """Bootstrap width utility for the bar (no inline style under the CSP); "" when empty."""
        return _WIDTH_CLASSES[self.percent]


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list, lower-case, read once (its first line is a ``#`` provenance comment)."""
    with COMMON_PASSWORDS_FILE.open(encoding="utf-8") as fh:
        return frozenset(entry for line in fh if (entry := line.rstrip("\n")) and not line.startswith("# "))


@cache
def _french_hints() -> tuple[str, ...]:
    """The entries zxcvbn does not know (the French ones), given to it as extra dictionary words."""
    known = set(FREQUENCY_LISTS["passwords"])
    return tuple(sorted(entry for entry in common_passwords() - known if len(entry) >= 4))


def _fold(text: str) -> str:
    """Lower-case without accents: "Élodie" -> "elodie"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _length(password: str) -> int:
    """Characters counted by ASVS 2.1.1: NFC-normalised, runs of spaces combined."""
    return len(_SPACES.sub(" ", unicodedata.normalize("NFC", password)))


def _listed_forms(text: str) -> Iterator[str]:
    """The text, then the text shortened one digit or punctuation mark at a time from the end, with
    and without its leading digits and punctuation: "2024soleil!" gives "soleil" among others."""
    for form in (text, text.lstrip(_EDGE_CHARS)):
        end = len(form)
        yield form[:end]
        while end and form[end - 1] in _EDGE_CHARS:
            end -= 1
            yield form[:end]


def is_common(password: str) -> bool:
    """Whether the password is listed, ignoring case, accents, separators, and digits and
    punctuation at either end ("Soleil2024!" and "Vitry-sur-Seine!" are)."""
    listed = common_passwords()
    lowered = password.strip().lower()
    folded = _fold(lowered)
    squeezed = _NON_ALNUM.sub("", folded)
    return any(form in listed for text in {lowered, folded, squeezed} for form in _listed_forms(text) if form)


def _user_tokens(user_inputs: Sequence[str]) -> set[str]:
    """Name parts and e-mail local part (whole and split on . _ - +) and domain labels, folded."""
    tokens: set[str] = set()
    for value in user_inputs:
        if not value:
            continue
        folded = _fold(str(value))
        local, at, domain = folded.partition("@")
        parts = [local]
        if at:
            labels = domain.split(".")
            parts += labels[:-1] if len(labels) > 1 else labels
        for part in parts:
            pieces = [p for p in _NON_ALNUM.split(part) if p]
            tokens.update(pieces)
            tokens.add("".join(pieces))
    return {token for token in tokens if len(token) >= MIN_USER_TOKEN_LENGTH}


def _user_input_share(password: str, tokens: set[str]) -> float:
    """Share of the password's letters and digits covered by the user's name or address."""
    core = _NON_ALNUM.sub("", _fold(password))
    if not core or not tokens:
        return 0.0
    covered = [False] * len(core)
    for token in tokens:
        start = core.find(token)
        while start != -1:
            covered[start : start + len(token)] = [True] * len(token)
            start = core.find(token, start + 1)
    return sum(covered) / len(core)


def _estimate(password: str, tokens: set[str], user_inputs: Sequence[str]) -> dict[str, Any]:
    hints = [*(str(v) for v in user_inputs if v), *sorted(tokens), *_french_hints()]
    with _zxcvbn_lock:
        return zxcvbn(password[:MAX_LENGTH], user_inputs=hints, max_length=MAX_LENGTH)


def _french(sentence: str) -> str | None:
    translated = _ZXCVBN_FRENCH.get(sentence)
    return str(translated) if translated is not None else None


@dataclass(frozen=True)
class _Evaluation:
    errors: list[str]
    result: dict[str, Any] | None  # zxcvbn's estimate; None when the password is empty or too long
    guessable_only: bool  # the only error, if any, is zxcvbn's score


def _evaluate(password: str, user_inputs: Sequence[str]) -> _Evaluation:
    if len(password) > MAX_LENGTH:
        return _Evaluation([_("Au plus %(max)d caractères.", max=MAX_LENGTH)], None, False)
    errors: list[str] = []
    if _length(password) < MIN_LENGTH:
        errors.append(_("Au moins %(min)d caractères.", min=MIN_LENGTH))
    if not password:
        return _Evaluation(errors, None, False)
    common = is_common(password)
    if common:
        errors.append(_("Ce mot de passe fait partie des mots de passe les plus courants ou déjà divulgués."))
    tokens = _user_tokens(user_inputs)
    if _user_input_share(password, tokens) >= MAX_USER_INPUT_SHARE:
        errors.append(_("Le mot de passe reprend en grande partie votre nom ou votre adresse e-mail."))
    result = _estimate(password, tokens, user_inputs)
    guessable_only = not errors
    if result["score"] < MIN_SCORE and not common:
        feedback = result["feedback"]
        reason = _french(feedback["warning"]) if feedback["warning"] else None
        reason = reason or next(filter(None, map(_french, feedback["suggestions"])), None)
        errors.append(
            _("Mot de passe trop facile à deviner. %(reason)s", reason=reason)
            if reason
            else _("Mot de passe trop facile à deviner.")
        )
    return _Evaluation(errors, result, guessable_only)


def check_password(password: str, *, user_inputs: Sequence[str] = ()) -> list[str]:
    """French messages saying why the password is refused; an empty list when it is accepted.

    ``user_inputs``: the user's e-mail address, full name, and the like.
    """
    return _evaluate(password, user_inputs).errors


def strength(password: str, user_inputs: Sequence[str] = ()) -> Strength:
    """The meter's state for a password being typed (same rules as :func:`check_password`).

    The score is zxcvbn's, capped at 1 ("Faible") while the password is too short, too long, common
    or made of the user's name: the meter never looks good for a password that will be refused.
    """
    evaluation = _evaluate(password, user_inputs)
    errors, result = evaluation.errors, evaluation.result
    score = result["score"] if result else 0
    advice: list[str] = []
    if result:
        feedback = result["feedback"]
        for sentence in (feedback["warning"], *feedback["suggestions"]):
            translated = _french(sentence) if sentence else None
            if translated and translated not in advice and not any(translated in e for e in errors):
                advice.append(translated)
    if not evaluation.guessable_only:
        score = min(score, 1)
    label, css_class = _LEVELS[score]
    return Strength(
        score=score,
        label=str(label),
        css_class=css_class,
        feedback=(*errors, *advice),
        percent=score * 25,
        is_acceptable=not errors,
    )
