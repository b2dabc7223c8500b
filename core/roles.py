"""The roles a person holds in an organisation (through a membership). Their own module: the
permissions (:mod:`core.security`, which re-exports :class:`Role`) and the active organisation
(:mod:`core.tenancy`, which resolves the user's roles in it) both speak of them."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from core.enums import LabelledEnum


class Role(LabelledEnum):
    ADMIN = "admin", _l("Administrateur de la plateforme")
    RSSI = "rssi", _l("RSSI")
    DPO = "dpo", _l("DPO")
    REFERENT = "referent", _l("Référent")
    READER = "reader", _l("Lecteur")
    AUDITOR = "auditor", _l("Auditeur")
