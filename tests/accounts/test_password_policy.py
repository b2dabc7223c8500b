"""Password policy (ASVS 4.0.3 V2.1): length, shipped common list, user inputs, zxcvbn, meter partial."""

from __future__ import annotations

import ast
import logging
import re
from pathlib import Path
from typing import Any

import pytest
import zxcvbn
from flask import Flask, render_template

from accounts.services import password_policy as policy
from accounts.services.password_policy import (
    MAX_LENGTH,
    MIN_LENGTH,
    Strength,
    check_password,
    common_passwords,
    is_common,
    strength,
)

STRONG = "correct-cheval-agrafe-batterie-94"
TOO_SHORT = "Au moins 12 caractères."
TOO_LONG = "Au plus 128 caractères."
COMMON = "Ce mot de passe fait partie des mots de passe les plus courants ou déjà divulgués."
USER_INPUT = "Le mot de passe reprend en grande partie votre nom ou votre adresse e-mail."
GUESSABLE = "Mot de passe trop facile à deviner."
AGENT = ("jean-marc.dupont@mairie-ivry.fr", "Jean-Marc Dupont")


# --- Length --------------------------------------------------------------------------------------


def test_eleven_characters_are_too_short_even_when_hard_to_guess() -> None:
    assert check_password("Kx9#mP2$vLq") == [TOO_SHORT]


def test_twelve_characters_are_enough() -> None:
    assert check_password("Kx9#mP2$vLq8") == []


def test_runs_of_spaces_count_as_one_character() -> None:
    assert TOO_SHORT in check_password("Kx9#m      P2$")


def test_accented_letters_count_as_one_character_whatever_their_unicode_form() -> None:
    decomposed = "e\u0301" * 6 + "Kx9#mP"  # 12 characters written with 18 code points
    assert TOO_SHORT not in check_password(decomposed)
    assert TOO_SHORT in check_password("e\u0301" * 5 + "Kx9#mP")


def test_128_characters_are_accepted_and_129_refused() -> None:
    longest = (STRONG + "-") * 3 + "x" * (MAX_LENGTH - 3 * (len(STRONG) + 1))
    assert len(longest) == MAX_LENGTH
    assert check_password(longest) == []
    assert check_password(longest + "x") == [TOO_LONG]


def test_limits_follow_asvs_v2_1() -> None:
    assert (MIN_LENGTH, MAX_LENGTH) == (12, 128)


def test_empty_password_only_reports_its_length() -> None:
    assert check_password("") == [TOO_SHORT]


# --- No composition rules, strong passphrases -----------------------------------------------------


@pytest.mark.parametrize(
    "password",
    [
        STRONG,
        "correct cheval agrafe batterie",
        "la pluie tombe sur vitry en juillet",
        "Ŝàŋş ċőмρőŝįţîőŋ ñí ŕèġłé",
    ],
)
def test_passphrase_without_digits_capitals_or_symbols_is_accepted(password: str) -> None:
    assert check_password(password) == []


def test_strong_passphrase_is_accepted_with_the_user_inputs() -> None:
    assert check_password(STRONG, user_inputs=AGENT) == []


# --- Common passwords ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "password",
    [
        "password1234",
        "123456789012",
        "qwertyuiop123",
        "azertyuiop12",
        "AZERTYUIOP2024",
        "motdepasse2025",
        "Soleil2024!!!!",
        "!!Soleil2024!!",
        "Bonjour123456",
        "Marseille13013",
        "Chouchou2025!!",
        "Mairie@2025!!!",
        "Printemps2024!",
        "Été2026!!!!!!",
        "Hiver2026....",
        "Gentilly94000",
        "SIIM94-2025!!",
        "Vitry-sur-Seine!",
        "123soleil2024",
    ],
)
def test_common_passwords_and_their_variants_are_refused(password: str) -> None:
    assert COMMON in check_password(password)


@pytest.mark.parametrize("password", ["Soleil2024!", "JETAIME", "mairie2024", "ÉTÉ2025", "Azerty123!"])
def test_common_list_is_matched_case_insensitively_without_edge_digits_and_punctuation(
    password: str,
) -> None:
    assert is_common(password)


@pytest.mark.parametrize("password", [STRONG, "soleil-agrafe-batterie", "mairie de quartier fleurie"])
def test_words_of_the_list_inside_a_passphrase_are_not_a_hit(password: str) -> None:
    assert not is_common(password)


def test_common_hit_does_not_add_the_guessability_message_too() -> None:
    errors = check_password("motdepasse2025")
    assert errors == [COMMON]


def test_french_words_of_the_list_lower_zxcvbn_score() -> None:
    # zxcvbn alone gives 4 to "bienvenuemairie": it does not know French.
    assert zxcvbn.zxcvbn("bienvenuemairie")["score"] == 4
    assert any(e.startswith(GUESSABLE) for e in check_password("bienvenuemairie"))


# --- User inputs ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "password",
    ["jeanmarcdupont!", "Dupont.Jean-Marc.2025", "jean-marc-dupont", "DupontMairieIvry"],
)
def test_password_made_of_the_users_name_or_address_is_refused(password: str) -> None:
    assert USER_INPUT in check_password(password, user_inputs=AGENT)


def test_accented_name_is_found_without_its_accents() -> None:
    assert USER_INPUT in check_password("heleneberanger1", user_inputs=("Hélène Béranger",))


def test_name_as_a_small_part_of_a_passphrase_is_accepted() -> None:
    assert check_password("dupont-agrafe-cheval-batterie", user_inputs=AGENT) == []


def test_user_inputs_are_ignored_when_not_given() -> None:
    assert USER_INPUT not in check_password("jeanmarcdupont!")


# --- zxcvbn ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("abcdefghijklmn", "Les suites comme « abc » ou « 6543 » se devinent facilement."),
        ("aaaaaaaaaaaaaaa", "Les répétitions comme « aaa » se devinent facilement."),
        ("asdfghjkl;lkjh", "Les motifs de clavier courts se devinent facilement."),
        (
            "zxcvbnmzxcvbnm",
            "Les répétitions comme « abcabcabc » ne sont guère plus difficiles à deviner que « abc ».",
        ),
    ],
)
def test_easily_guessed_password_is_refused_with_a_french_reason(password: str, reason: str) -> None:
    assert f"{GUESSABLE} {reason}" in check_password(password)


def test_every_zxcvbn_feedback_sentence_has_a_french_translation() -> None:
    source = Path(zxcvbn.__file__).with_name("feedback.py").read_text(encoding="utf-8")
    sentences = {
        node.args[0].value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "_"
        and isinstance(node.args[0], ast.Constant)
    }
    assert len(sentences) > 20
    assert sentences <= set(policy._ZXCVBN_FRENCH)


def _fake_estimate(score: int) -> Any:
    def estimate(*_args: object) -> dict[str, Any]:
        return {"score": score, "feedback": {"warning": "", "suggestions": []}}

    return estimate


@pytest.mark.parametrize(
    ("score", "label", "css_class", "percent", "width_class"),
    [
        (0, "Très faible", "bg-danger", 0, ""),
        (1, "Faible", "bg-danger", 25, "w-25"),
        (2, "Moyen", "bg-warning", 50, "w-50"),
        (3, "Bon", "bg-info", 75, "w-75"),
        (4, "Excellent", "bg-success", 100, "w-100"),
    ],
)
def test_zxcvbn_score_maps_to_label_colour_and_width(
    monkeypatch: pytest.MonkeyPatch, score: int, label: str, css_class: str, percent: int, width_class: str
) -> None:
    monkeypatch.setattr(policy, "_estimate", _fake_estimate(score))
    meter = strength("brindille-ornithorynque")
    assert (meter.score, meter.label, meter.css_class, meter.percent, meter.width_class) == (
        score,
        label,
        css_class,
        percent,
        width_class,
    )
    assert meter.is_acceptable is (score >= 3)


def test_score_under_three_is_refused_and_three_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(policy, "_estimate", _fake_estimate(2))
    assert check_password("brindille-ornithorynque") == [GUESSABLE]
    monkeypatch.setattr(policy, "_estimate", _fake_estimate(3))
    assert check_password("brindille-ornithorynque") == []


def test_meter_never_shows_better_than_weak_for_a_refused_password() -> None:
    meter = strength("Kx9#mP2$vLq")  # zxcvbn: excellent, but too short
    assert (meter.score, meter.label, meter.is_acceptable) == (1, "Faible", False)
    assert meter.feedback[0] == TOO_SHORT


def test_meter_shows_medium_when_only_the_guessability_fails() -> None:
    meter = strength("azertymotdepasse")
    assert (meter.score, meter.label, meter.is_acceptable) == (2, "Moyen", False)


def test_meter_of_a_strong_passphrase_is_excellent_without_feedback() -> None:
    assert strength(STRONG) == Strength(
        score=4, label="Excellent", css_class="bg-success", feedback=(), percent=100, is_acceptable=True
    )


def test_meter_feedback_is_french_and_not_repeated() -> None:
    meter = strength("abcdefghijklmn")
    assert meter.feedback[0].startswith(GUESSABLE)
    assert "Évitez les suites." in meter.feedback
    assert len(set(meter.feedback)) == len(meter.feedback)
    assert not any(re.search(r"\b(the|is|are|guess)\b", line) for line in meter.feedback)


def test_password_is_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    secret = "Unique-Secret-Canary-7391"
    with caplog.at_level(logging.DEBUG):
        check_password(secret, user_inputs=AGENT)
        strength(secret, user_inputs=AGENT)
    assert secret not in caplog.text
    assert secret not in repr(strength(secret))


# --- Shipped list --------------------------------------------------------------------------------


def test_common_list_file_has_provenance_header_and_is_sorted_lower_case_and_unique() -> None:
    lines = policy.COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    header, entries = lines[0], lines[1:]
    assert header.startswith("# ")
    assert "zxcvbn" in header
    assert entries == sorted(set(entries))
    assert all(entry == entry.lower() and entry == entry.strip() and entry for entry in entries)


def test_common_list_loads_once_with_every_zxcvbn_password_and_the_french_ones() -> None:
    listed = common_passwords()
    assert isinstance(listed, frozenset)
    assert common_passwords() is listed
    assert len(listed) > 25_000
    assert set(zxcvbn.frequency_lists.FREQUENCY_LISTS["passwords"]) <= listed
    french = {"azerty", "azertyuiop", "motdepasse", "soleil", "123soleil", "jetaime", "mairie2024"}
    assert french | {"printemps2024", "ete2025", "hiver2026", "mairie@2025", "siim94", "gentilly"} <= listed
    assert not any(entry.startswith("#") for entry in listed)


# --- Partial ---------------------------------------------------------------------------------------


def _render(app: Flask, meter: Strength | None) -> str:
    with app.test_request_context():
        return render_template("accounts/_password_meter.html", strength=meter)


def test_meter_partial_renders_an_accessible_progress_bar_without_inline_style(app: Flask) -> None:
    html = _render(app, strength("abcdefghijklmn"))
    assert 'id="password-meter"' in html
    assert 'role="progressbar"' in html
    assert 'aria-valuenow="0"' in html
    assert 'aria-valuemin="0"' in html
    assert 'aria-valuemax="4"' in html
    assert 'aria-valuetext="Très faible"' in html
    assert 'aria-label="Force du mot de passe"' in html
    assert "Force du mot de passe : Très faible" in html
    assert "<li>Évitez les suites.</li>" in html
    assert "style" not in html.lower()


def test_meter_partial_sets_the_bar_width_with_a_utility_class(app: Flask) -> None:
    html = _render(app, strength(STRONG))
    assert re.search(r'class="progress-bar bg-success w-100\s*"', html)
    assert 'aria-valuenow="4"' in html
    assert "<ul" not in html
    assert "style=" not in html


def test_meter_partial_without_strength_is_an_empty_target(app: Flask) -> None:
    html = _render(app, None)
    assert 'id="password-meter"' in html
    assert "progress" not in html.replace("password-meter", "")
