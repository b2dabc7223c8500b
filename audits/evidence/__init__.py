"""The evidence store of the audits domain: evidence files attached to SMSI actions, incidents,
Statement of Applicability controls, register fiches and audit findings — encrypted at rest
(AES-256-GCM, one data key per file version, wrapped by a key ring kept outside the database),
inspected on their content before they are kept, versioned, and downloaded decrypted on the fly.

A part of the audits domain (:class:`core.domains.DomainPart`): its routes are on the audits
blueprint under ``/audits/evidence/``, its menu entry in ``templates/audits/_nav.html``.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from core import panels, uploads
from core.domains import DomainPart
from core.security import Permission, Role

from . import demo, models, services, views  # noqa: F401 — the models, and the views adding their routes to ``bp``
from .cli import keys_cli
from .labels import ACTION_LABELS, JOURNAL_TYPES
from .models import LINK_TYPES
from .widgets import WIDGETS

UPLOAD_ENDPOINTS = ("audits.evidence_new", "audits.evidence_version_new")


def _panel_visible(object_type: str, obj: Any) -> bool:
    return object_type in LINK_TYPES


def setup(app: Flask) -> None:
    uploads.install(app)
    for endpoint in UPLOAD_ENDPOINTS:
        uploads.register_sink(endpoint, services.sink_factory, services.max_bytes)
    app.teardown_request(services.discard_unclaimed)
    panels.install(app)
    panels.register_panel(
        tuple(LINK_TYPES),
        panels.Panel(
            "audits.evidence", "audits/evidence/_panel.html", Permission.EVIDENCE_VIEW, _panel_visible
        ),
    )
    app.jinja_env.globals["linked_evidence"] = services.linked_to
    app.jinja_env.globals["evidence_state"] = services.state_of
    app.cli.add_command(keys_cli)


PART = DomainPart(
    name="audits.evidence",
    action_labels=ACTION_LABELS,
    object_types=dict.fromkeys(("Evidence", "EvidenceVersion"), Permission.EVIDENCE_VIEW)
    | {"EvidenceKeyRing": Permission.AUDIT_TRAIL_VIEW},
    journal_types=JOURNAL_TYPES,
    permissions={
        Role.RSSI: {Permission.EVIDENCE_VIEW, Permission.EVIDENCE_EDIT},
        Role.DPO: {Permission.EVIDENCE_VIEW, Permission.EVIDENCE_EDIT},
        Role.REFERENT: {Permission.EVIDENCE_VIEW},
        Role.READER: {Permission.EVIDENCE_VIEW},
        Role.AUDITOR: {Permission.EVIDENCE_VIEW},
    },
    demo=demo.load,
    widgets=WIDGETS,
    setup=setup,
)
