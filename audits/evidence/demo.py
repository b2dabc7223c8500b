"""Demo evidence (``flask demo load``, idempotent): a few small files — a PDF, a PNG, a text note —
generated here, stored through the same inspection and encryption as an upload, and linked to the
demo's SMSI actions and incidents (read by table name: the SMSI is not imported)."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

from sqlalchemy import column, select, table

from accounts.models import Membership, Organisation, User
from core.db import today
from core.extensions import db
from core.roles import Role
from core.tenancy import UNSCOPED

from . import keyring
from . import services as svc
from .models import Evidence

ACTIONS = table("smsi_actions", column("id"), column("organisation_id"), column("reference"), column("title"))
INCIDENTS = table("incidents", column("id"), column("organisation_id"), column("reference"), column("title"))


def _pdf(title: str) -> bytes:
    from reportlab.lib.pagesizes import A4  # noqa: PLC0415
    from reportlab.pdfgen import canvas  # noqa: PLC0415

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4)
    page.setTitle(title)
    page.drawString(72, 760, title)
    page.drawString(72, 740, "Procès-verbal de vérification — document de démonstration Égide.")
    page.save()
    return buffer.getvalue()


def _png() -> bytes:
    from PIL import Image, ImageDraw  # noqa: PLC0415

    image = Image.new("RGB", (320, 120), "white")
    ImageDraw.Draw(image).text((10, 50), "Capture : MFA active (demo)", fill="black")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _rssi(org: Organisation) -> User | None:
    # unscoped: the demo loader runs outside any request
    return db.session.scalar(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.organisation_id == org.id, Membership.role == Role.RSSI)
        .limit(1)
        .execution_options(**UNSCOPED)
    )


def load(context: dict[str, Any]) -> None:
    keyring.init_ring()
    # unscoped: the demo loader: the organisations that already hold evidence
    held = set(db.session.scalars(select(Evidence.organisation_id).execution_options(**UNSCOPED)))
    orgs = [o for o in context.get("organisations", {}).values() if getattr(o, "is_syndicate", False)]
    for org in orgs:
        if org.id in held:
            continue
        action = db.session.execute(
            select(ACTIONS.c.id).where(ACTIONS.c.organisation_id == org.id).order_by(ACTIONS.c.id).limit(1)
        ).first()
        incident = db.session.execute(
            select(INCIDENTS.c.id)
            .where(INCIDENTS.c.organisation_id == org.id)
            .order_by(INCIDENTS.c.id)
            .limit(1)
        ).first()
        actor = _rssi(org)
        specs = [
            (
                "Procès-verbal de déploiement MFA",
                "PV déploiement MFA.pdf",
                _pdf("PV de déploiement MFA"),
                ("Action", action),
                today() + timedelta(days=365),
            ),
            (
                "Capture de la console MFA",
                "capture console MFA.png",
                _png(),
                ("Action", action),
                today() + timedelta(days=20),
            ),
            (
                "Note de clôture d'incident",
                "note de clôture.txt",
                "Incident clos : services rétablis, cause identifiée.\n".encode(),
                ("Incident", incident),
                today() - timedelta(days=10),
            ),
        ]
        for title, filename, content, (otype, row), until in specs:
            data = {
                "title": title,
                "description": "Démonstration.",
                "owner_id": actor.id if actor else None,
                "valid_from": today() - timedelta(days=30),
                "valid_until": until,
            }
            upload = svc.upload_from_bytes(filename, content)
            evidence = svc.create_evidence(org, actor, data, upload, None)
            if row is not None:
                label = db.session.execute(
                    select(
                        (ACTIONS if otype == "Action" else INCIDENTS).c.reference,
                        (ACTIONS if otype == "Action" else INCIDENTS).c.title,
                    ).where((ACTIONS if otype == "Action" else INCIDENTS).c.id == row.id)
                ).one()
                svc._link(org, actor, evidence, otype, row.id, f"{label.reference} — {label.title}")
