"""Demo organisations (SIIM94, SICIO and their members) and one demo account per role."""

from __future__ import annotations

from datetime import date
from typing import Any

import click
import pyotp
from sqlalchemy import select

from accounts.models import Membership, Organisation, OrgKind, OrgRelation, User
from accounts.services import users
from core import crypto
from core.cli import demo_cli
from core.data import load_json
from core.db import utcnow
from core.extensions import db
from core.security import Role
from core.tenancy import UNSCOPED

DEMO_PASSWORD = "egide-demo-2026"  # noqa: S105 — printed by `make run`; demo databases only
DEMO_TOTP_SECRET = "EGIDEDEMOEGIDEDEMOEGIDEDEMOSIIM"  # noqa: S105 — published demo key, base32

# (email, full name, [(organisation name, role)], label printed by `make run`)
DEMO_USERS: list[tuple[str, str, list[tuple[str, Role]], str]] = [
    ("admin@egide.example.org", "Camille Admin", [("SIIM94", Role.ADMIN)], "administrateur de la plateforme"),
    ("rssi@siim94.example.org", "Karim Benali", [("SIIM94", Role.RSSI)], "RSSI du SIIM94"),
    (
        "dpo@siim94.example.org",
        "Sophie Marchand",
        [
            ("SIIM94", Role.DPO),
            # DPO designated by the founding cities and their CCAS (mutualised DPO service of SIIM94):
            # her portfolio page has one row per organisation.
            ("Arcueil", Role.DPO),
            ("Gentilly", Role.DPO),
            ("Ivry-sur-Seine", Role.DPO),
            ("Villejuif", Role.DPO),
            ("Vitry-sur-Seine", Role.DPO),
            ("CCAS des villes adhérentes SIIM94", Role.DPO),
        ],
        "DPO du SIIM94, des cinq villes fondatrices et de leur CCAS",
    ),
    (
        "dpo.mutualise@siim94.example.org",
        "Nadia Ferreira",
        [("SIIM94", Role.DPO), ("EPT Grand-Orly Seine Bièvre (GOSB)", Role.DPO)],
        "DPO mutualisé (SIIM94 + GOSB)",
    ),
    (
        "referent@ivry.example.org",
        "Julien Morel",
        [("Ivry-sur-Seine", Role.REFERENT)],
        "référent RGPD d'Ivry-sur-Seine",
    ),
    (
        "lecteur@vitry.example.org",
        "Hélène Dubois",
        [("Vitry-sur-Seine", Role.READER)],
        "lecteur (DGS de Vitry-sur-Seine)",
    ),
    ("auditeur@audit.example.org", "Thomas Lefèvre", [("SIIM94", Role.AUDITOR)], "auditeur (SIIM94)"),
    ("rssi@sicio.example.org", "Laure Nguyen", [("SICIO", Role.RSSI)], "RSSI du SICIO"),
]

ORG_FIELDS = (
    "short_name",
    "siren",
    "address",
    "postal_code",
    "city",
    "head_title",
    "head_name",
    "dpo_name",
    "dpo_email",
    "cnil_dpo_number",
    "notes",
)
DATE_FIELDS = ("joined_on", "left_on", "dpo_service_since")


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _org_by_name() -> dict[str, Organisation]:
    # unscoped: demo loader (CLI): every organisation
    stmt = select(Organisation).execution_options(**UNSCOPED)
    return {o.name: o for o in db.session.scalars(stmt)}


def load_organisations(context: dict[str, Any]) -> None:
    data = load_json("demo_organisations.json")
    existing = _org_by_name()
    records = data["syndicates"] + data["organisations"]
    for record in records:  # first pass: create what is missing
        if record["name"] in existing:
            continue
        org = Organisation(
            name=record["name"],
            kind=OrgKind(record["kind"]),
            relation=OrgRelation(record["relation"]),
            **{f: record.get(f) for f in ORG_FIELDS},
            **{f: _date(record.get(f)) for f in DATE_FIELDS},
        )
        if record.get("uncertain"):
            org.notes = ((org.notes or "") + " [donnée incertaine]").strip()
        db.session.add(org)
        existing[org.name] = org
        org._demo_new = True  # type: ignore[attr-defined]
    db.session.flush()
    for record in records:  # second pass: links between organisations, on new rows only
        org = existing[record["name"]]
        if not getattr(org, "_demo_new", False):
            continue
        for field, key in (("syndicate", "syndicate"), ("parent", "parent"), ("merged_into", "merged_into")):
            if record.get(key):
                setattr(org, field, existing[record[key]])
    context["organisations"] = existing


def load_users(context: dict[str, Any]) -> None:
    orgs: dict[str, Organisation] = context["organisations"]
    for email, full_name, roles, label in DEMO_USERS:
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            user = users.create_user(
                None, {"email": email, "full_name": full_name, "password": DEMO_PASSWORD, "is_enabled": True}
            )
        for org_name, role in roles:
            org = orgs[org_name]
            held = db.session.scalar(
                select(Membership.id).where(
                    Membership.user_id == user.id,
                    Membership.organisation_id == org.id,
                    Membership.role == role,
                )
            )
            if held is None:
                users.grant_role(user, org, role, None)
        if user.requires_mfa() and not user.has_mfa:
            # Demo only: a shared, published TOTP key, so that anybody can try the product.
            user.totp_secret_enc = crypto.encrypt(DEMO_TOTP_SECRET)
            user.totp_enabled_at = utcnow()
        context["logins"].append((email, label + (" — double authentification" if user.has_mfa else "")))
    context["password"] = DEMO_PASSWORD
    context.setdefault("notes", []).append(
        f"Double authentification des comptes de démonstration : clé TOTP {DEMO_TOTP_SECRET} "
        "(à saisir dans une application d'authentification), ou le code du moment avec "
        "« .venv/bin/flask demo totp »."
    )


@demo_cli.command("totp")
def demo_totp() -> None:
    """Print the current TOTP code of the demo accounts (demo key only)."""
    click.echo(pyotp.TOTP(DEMO_TOTP_SECRET).now())


def load(context: dict[str, Any]) -> None:
    """The accounts domain's demo step (Domain.demo): organisations, then the demo users."""
    load_organisations(context)
    db.session.flush()
    load_users(context)
