"""An enum's members are declared once, with their label (core.enums.LabelledEnum), and with their
badge's colour where a page shows one (ColouredEnum): no second table of labels to keep in step."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from flask import Flask
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from audits.packs.models import PackStatus
from core.enums import ColouredEnum, LabelledEnum
from core.jobs.models import JobStatus
from reports.models import DocumentJobStatus

PRODUCT = Path(__file__).resolve().parents[2]
PACKAGES = ("accounts", "audits", "catalogue", "core", "registers", "reports", "risks", "smsi")
ENUM_BASES = {"Enum", "StrEnum", "IntEnum", "Flag", "IntFlag"}
# Enums that are not LabelledEnum, and why. A domain's own permissions (``class WikiPermission``,
# core.security.KNOWN_PERMISSIONS) are codes too, never shown as such: any "…Permission" class.
NOT_LABELLED = {
    "core/enums.py:LabelledEnum": "the base itself",
    "core/security.py:Permission": "codes of the permission vocabulary, never shown as such",
}


def _plain_enums() -> list[str]:
    found = []
    for package in PACKAGES:
        for path in sorted((PRODUCT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ClassDef):
                    bases = {
                        b.attr if isinstance(b, ast.Attribute) else getattr(b, "id", "") for b in node.bases
                    }
                    if bases & ENUM_BASES and not (node.name.endswith("Permission") and package != "core"):
                        found.append(f"{path.relative_to(PRODUCT)}:{node.name}")
    return found


def test_every_enum_declares_its_labels_with_its_members() -> None:
    assert sorted(_plain_enums()) == sorted(NOT_LABELLED), (
        "declare the members with their label (LabelledEnum)"
    )


@pytest.mark.parametrize("kind", [JobStatus, PackStatus, DocumentJobStatus])
def test_statuses_once_declared_read_in_both_languages(app: Flask, kind: type[LabelledEnum]) -> None:
    with app.test_request_context("/"):
        for member in kind:
            with force_locale("fr"):
                french = str(member.label)
            with force_locale("en"):
                english = str(member.label)
            assert french
            assert english
            assert kind(member.value) is member
    assert str(JobStatus.FAILED.label) == "En échec"
    assert JobStatus.FAILED.colour == "danger"
    assert PackStatus.READY.colour == "success"


def test_a_coloured_member_without_a_colour_is_grey_and_one_without_a_label_is_refused() -> None:
    class Light(ColouredEnum):
        ON = "on", _l("Allumé"), "success"
        OFF = "off", _l("Éteint")

    assert Light.ON.colour == "success"
    assert Light.OFF.colour == "secondary"
    with pytest.raises(TypeError):

        class Broken(LabelledEnum):
            ONLY = "only"
