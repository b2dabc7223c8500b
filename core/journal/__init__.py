"""The journal: the audit trail of the active organisation, its integrity verdict and CSV export;
and the ``flask audit`` commands (verify, anchor, public-key).

Read-only for everybody: nothing here changes an entry. The views scope explicitly by the active
organisation's chain (audit tables are not tenant-scoped through the ORM safety net); a platform
administrator may also read the platform chain (logins, accounts), and nobody reads another
organisation's chain. An entry's content (changes, IP address) is shown, on the page and in the
export, only to who may read its object type there (:func:`content_visible`); others see when, who,
which action and which object.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import click
from flask import Blueprint, Response, render_template, request
from flask.cli import AppGroup
from flask_babel import get_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import Select, func, or_, select

from core import audit, params
from core.audit import PLATFORM_CHAIN, AuditEvent, AuditPayload
from core.db import Base, utcnow
from core.exports import FORMULA_STARTS, neutralise  # noqa: F401 — FORMULA_STARTS re-exported
from core.extensions import db
from core.pagination import paginate
from core.security import Permission, can, login_and_org_required, require
from core.tenancy import current_org

bp = Blueprint("journal", __name__, url_prefix="/journal")
bp.before_request(login_and_org_required)  # backstop behind the views' own policies

PLATFORM = "platform"
EXPORT_MAX_EVENTS = 50_000  # the most recent ones; a larger export is recorded as truncated


def _users() -> Any:
    return Base.metadata.tables["users"]


def _organisations() -> Any:
    return Base.metadata.tables["organisations"]


# --- filters and query -------------------------------------------------------------------------


def _int(value: Any) -> int | None:
    return params.parse_int(value)  # 1 .. 2**31 - 1, else no filter


def _date(value: Any) -> date | None:
    return params.parse_date(value)  # years 1900 .. 2200, else no filter


@dataclass
class JournalFilters:
    user: int | None = None
    object_type: str = ""
    object_id: int | None = None
    action: str = ""
    date_from: date | None = None
    date_to: date | None = None

    @classmethod
    def parse(cls, args: Mapping[str, Any]) -> JournalFilters:
        """Junk gives no filter, never an error."""
        return cls(
            user=_int(args.get("user")),
            object_type=str(args.get("object_type", "")).strip()[:100],
            object_id=_int(args.get("object_id")),
            action=str(args.get("action", "")).strip()[:100],
            date_from=_date(args.get("from", "")),
            date_to=_date(args.get("to", "")),
        )

    def as_args(self) -> dict[str, str]:
        """As query parameters (hidden fields of the export form)."""
        values = {
            "user": self.user,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "action": self.action,
            "from": self.date_from,
            "to": self.date_to,
        }
        return {k: str(v) if not isinstance(v, date) else v.isoformat() for k, v in values.items() if v}

    def as_record(self) -> dict[str, Any]:
        return {k: v.isoformat() if isinstance(v, date) else v for k, v in asdict(self).items() if v}


def _local_midnight_utc(day: date) -> datetime:
    """Midnight of ``day`` where the users are (the pages show local times), as UTC."""
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(str(get_timezone())))


def journal_query(chain: int, filters: JournalFilters) -> Select[Any]:
    users = _users()
    stmt = (
        select(AuditEvent, AuditPayload.data, AuditPayload.erased_at, users.c.full_name)
        .outerjoin(AuditPayload, AuditPayload.event_id == AuditEvent.id)
        .outerjoin(users, users.c.id == AuditEvent.actor_id)
        .where(AuditEvent.chain == chain)
    )
    if filters.user:
        stmt = stmt.where(AuditEvent.actor_id == filters.user)
    if filters.object_type:
        stmt = stmt.where(AuditEvent.object_type == filters.object_type)
    if filters.object_id:
        stmt = stmt.where(AuditEvent.object_id == filters.object_id)
    if filters.action:  # "login" also finds login.success and login.failure
        stmt = stmt.where(
            or_(AuditEvent.action == filters.action, AuditEvent.action.startswith(filters.action + "."))
        )
    if filters.date_from:
        stmt = stmt.where(AuditEvent.at >= _local_midnight_utc(filters.date_from))
    if filters.date_to:
        stmt = stmt.where(AuditEvent.at < _local_midnight_utc(filters.date_to + timedelta(days=1)))
    return stmt.order_by(AuditEvent.seq.desc())


ACTION_LABELS: dict[str, Any] = {
    "application.create": _l("Application ajoutée au catalogue"),
    "application.update": _l("Application modifiée"),
    "audit.payload_erase": _l("Détails du journal effacés (RGPD)"),
    "journal.export": _l("Journal exporté"),
    "login.failure": _l("Échec de connexion"),
    "login.success": _l("Connexion"),
    "membership.grant": _l("Rôle attribué"),
    "membership.revoke": _l("Rôle retiré"),
    "mfa.enrol": _l("Double authentification activée"),
    "mfa.enrol.failure": _l("Échec d'activation de la double authentification"),
    "mfa.failure": _l("Échec de double authentification"),
    "mfa.recovery_codes.regenerate": _l("Codes de secours régénérés"),
    "mfa.reset": _l("Double authentification réinitialisée"),
    "mfa.success": _l("Double authentification réussie"),
    "organisation.create": _l("Organisation créée"),
    "organisation.leave": _l("Départ d'une organisation"),
    "organisation.merge": _l("Fusion d'une organisation"),
    "organisation.rejoin": _l("Départ annulé"),
    "organisation.update": _l("Organisation modifiée"),
    "password.change": _l("Mot de passe changé"),
    "password.change.failure": _l("Échec de changement de mot de passe"),
    "password.invitation": _l("Mot de passe choisi (invitation)"),
    "password.reset": _l("Mot de passe réinitialisé"),
    "password.reset.request": _l("Réinitialisation demandée"),
    "password.reset.request.unknown": _l("Réinitialisation demandée pour une adresse inconnue"),
    "subscription.create": _l("Abonnement ajouté"),
    "subscription.end": _l("Fin d'abonnement"),
    "user.create": _l("Compte créé"),
    "user.invite": _l("Invitation envoyée"),
    "user.unlock": _l("Compte débloqué"),
    "user.update": _l("Compte modifié"),
}


def action_label(action: str) -> str:
    """What people read for an action code; the code itself stays in the export and the filter."""
    if action in ACTION_LABELS:
        return str(ACTION_LABELS[action])
    if action.startswith("session.revoke."):
        return str(_l("Session fermée"))
    return action


def filter_choices(chain: int) -> dict[str, list[tuple[Any, str]]]:
    in_chain = AuditEvent.chain == chain
    users = _users()
    actors = db.session.execute(
        select(users.c.id, users.c.full_name)
        .where(users.c.id.in_(select(AuditEvent.actor_id).where(in_chain)))
        .order_by(users.c.full_name, users.c.id)
    )
    actions = db.session.scalars(
        select(AuditEvent.action).where(in_chain).distinct().order_by(AuditEvent.action)
    )
    types = db.session.scalars(
        select(AuditEvent.object_type).where(in_chain).distinct().order_by(AuditEvent.object_type)
    )
    return {
        "users": [(row.id, row.full_name) for row in actors],
        "actions": [(a, action_label(a)) for a in actions],
        "object_types": [(t, t) for t in types],
    }


# --- who may read an entry's content ----------------------------------------------------------

# Object type (``AuditEvent.object_type``) → the permission that reads such objects. Each domain
# declares its own types in its ``register(app)`` (see :func:`register_object_types`); a type nobody
# declared shows no content to anyone (deny by default).
OBJECT_TYPE_PERMISSIONS: dict[str, Permission] = {}


def register_object_types(types: Mapping[str, Permission]) -> None:
    """Declare journalled object types with the permission needed to read them. Declaring a type
    again with the same permission is harmless (one app per test); with another one is a bug."""
    for object_type, permission in types.items():
        known = OBJECT_TYPE_PERMISSIONS.setdefault(object_type, Permission(permission))
        if known != permission:
            raise ValueError(f"journal: {object_type} is already read with {known}, not {permission}")


register_object_types(
    {
        "AuditJournal": Permission.AUDIT_TRAIL_VIEW,  # journal.export: the filters and a count
        "AuditPayload": Permission.USERS_MANAGE,  # audit.payload_erase (platform chain): for whom
    }
)


def content_visible(object_type: str, chain: int | None = None) -> bool:
    """Whether the current user may see the content of an entry about ``object_type``: its
    field-by-field changes and its request context (IP address), i.e. anything in its payload.

    The only rule, for the journal page and its export alike. Without it a reader still sees when,
    who, which action and which object (type and id). The permission is that of the user in the
    active organisation, whose chain the journal reads; ``chain``, when given, must be that chain
    (or the platform chain, for a platform administrator), else nothing is visible.
    """
    permission = OBJECT_TYPE_PERMISSIONS.get(object_type)
    if permission is None or not can(permission):
        return False
    if chain is None:
        return True
    if chain == PLATFORM_CHAIN:
        return bool(current_user.is_platform_admin)
    return chain == getattr(current_org._get_current_object(), "id", None)


# --- one line of the journal -------------------------------------------------------------------


@dataclass
class Change:
    field: str
    before: Any
    after: Any


@dataclass
class JournalLine:
    event: AuditEvent
    actor_name: str | None
    changes: list[Change] = field(default_factory=list)
    ip: str | None = None
    erased: bool = False
    hidden: bool = False  # content not visible for the reader's role (see content_visible)


def journal_lines(rows: list[Any]) -> list[JournalLine]:
    """The lines to show; the payload is read only for an entry whose content the user may see."""
    lines = []
    for row in rows:
        event, data = row.AuditEvent, row.data
        visible = content_visible(event.object_type, event.chain)
        line = JournalLine(
            event=event,
            actor_name=row.full_name,
            erased=data is None,
            hidden=not visible and data is not None,
        )
        if visible and data is not None:
            changes = data.get("changes") or {}
            line.changes = [Change(name, *values) for name, values in sorted(changes.items())]
            line.ip = (data.get("context") or {}).get("ip")
        lines.append(line)
    return lines


def display_value(value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


# --- views -------------------------------------------------------------------------------------


def chosen_chain(args: Mapping[str, Any]) -> int:
    """The active organisation's chain; the platform chain if a platform admin asks for it."""
    if args.get("chain") == PLATFORM and current_user.is_platform_admin:
        return PLATFORM_CHAIN
    return current_org.id


def journal_verdict(chain: int, *, full: bool) -> audit.ChainVerdict:
    """The page's verdict: quick (from the last signed anchor) by default; the full check on demand
    also compares the chain with the anchor file kept outside the database (a rewound or rewritten
    tail shows there)."""
    if not full:
        return audit.verify_chain(chain, from_last_anchor=True)
    return audit.verify_chain(chain, anchor_file=audit.configured_anchor_file())


@bp.route("/")
@require(Permission.AUDIT_TRAIL_VIEW)
def event_list() -> Any:
    chain = chosen_chain(request.args)
    filters = JournalFilters.parse(request.args)
    page = paginate(journal_query(chain, filters), scalars=False)
    return render_template(
        "journal/event_list.html",
        page=page,
        lines=journal_lines(page.items),
        filters=filters,
        choices=filter_choices(chain),
        chain=chain,
        platform=chain == PLATFORM_CHAIN,
        verdict=journal_verdict(chain, full=request.args.get("full") == "1"),
        display_value=display_value,
        action_label=action_label,
    )


def export_csv(lines: list[JournalLine]) -> bytes:
    """``;``-separated UTF-8 with a BOM (French Excel); one row per changed field, UTC times."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(
        [
            _("Horodatage (UTC)"),
            _("N°"),
            _("Utilisateur"),
            _("Id utilisateur"),
            _("Action"),
            _("Type d'objet"),
            _("Id objet"),
            _("Champ"),
            _("Avant"),
            _("Après"),
            _("Adresse IP"),
            _("Empreinte"),
        ]
    )
    for line in lines:
        event = line.event
        head = [
            audit.iso_utc(event.at),
            event.seq,
            line.actor_name,
            event.actor_id,
            event.action,
            event.object_type,
            event.object_id,
        ]
        if line.erased:
            changes = [(_("détail effacé (RGPD)"), None, None)]
        elif line.hidden:
            changes = [(_("contenu non visible pour votre rôle"), None, None)]
        else:
            changes = [(c.field, c.before, c.after) for c in line.changes] or [(None, None, None)]
        for name, before, after in changes:
            cells = [*head, name, before, after, line.ip, event.hash]
            writer.writerow([neutralise(display_value(c)) for c in cells])
    return out.getvalue().encode("utf-8-sig")


@bp.route("/export", methods=["POST"])
@require(Permission.AUDIT_TRAIL_VIEW)
def export() -> Any:
    chain = chosen_chain(request.form)
    filters = JournalFilters.parse(request.form)
    rows = db.session.execute(journal_query(chain, filters).limit(EXPORT_MAX_EVENTS)).all()
    body = export_csv(journal_lines(rows))
    audit.record(
        None if chain == PLATFORM_CHAIN else chain,
        current_user,
        "journal.export",
        audit.Ref("AuditJournal", chain),
        {"filters": (None, filters.as_record()), "events": (None, len(rows))}
        | ({"truncated_at": (None, EXPORT_MAX_EVENTS)} if len(rows) == EXPORT_MAX_EVENTS else {}),
    )
    db.session.commit()
    name = f"journal-{PLATFORM if chain == PLATFORM_CHAIN else chain}-{utcnow():%Y%m%d-%H%M%S}.csv"
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# --- command line ------------------------------------------------------------------------------

audit_cli = AppGroup("audit", help="Journal d'audit : vérifier les chaînes, signer leurs têtes.")


def _chain_names() -> dict[int, str]:
    orgs = _organisations()
    names = dict(db.session.execute(select(orgs.c.id, orgs.c.name)).all())
    names[PLATFORM_CHAIN] = "plateforme"
    return names


def _label(chain: int, names: Mapping[int, str]) -> str:
    return f"Chaîne {chain} ({names.get(chain, '?')})"


def resolve_chain(value: str) -> int:
    """An organisation id or name (or "0", "platform", "plateforme") → its chain number."""
    text = value.strip()
    if text.lower() in ("0", PLATFORM, "plateforme"):
        return PLATFORM_CHAIN
    orgs = _organisations()
    if text.isdigit():
        condition = orgs.c.id == int(text)
    else:
        condition = or_(
            func.lower(orgs.c.name) == text.lower(), func.lower(orgs.c.short_name) == text.lower()
        )
    found = db.session.execute(select(orgs.c.id).where(condition)).scalars().all()
    if len(found) != 1:
        raise click.BadParameter(f"organisation inconnue ou ambiguë : {value}", param_hint="--org")
    return found[0]


@audit_cli.command("verify")
@click.option("--org", metavar="ORG_ID_OR_NAME", help="Une seule organisation (0 : la plateforme).")
@click.option(
    "--anchors",
    "anchors_path",
    metavar="FILE",
    type=click.Path(dir_okay=False, exists=True),
    help="Recouper avec ce fichier d'ancres (copie d'un témoin) plutôt qu'avec AUDIT_ANCHOR_FILE.",
)
def verify_command(org: str | None, anchors_path: str | None) -> None:
    """Walk the chains and name the first broken entry; exit status 1 if a chain is broken.

    The anchors of the anchor file (AUDIT_ANCHOR_FILE, or --anchors: a witness's copy, e.g. gathered
    with `flask audit anchor --export`) must be in the database and match its entries.
    """
    from pathlib import Path  # noqa: PLC0415

    if anchors_path:
        anchor_file = audit.read_anchor_file(Path(anchors_path), complete=False)
    else:
        anchor_file = audit.configured_anchor_file()
    if anchor_file is not None:
        state = f"{len(anchor_file.anchors)} ancre(s)" if anchor_file.exists else "introuvable"
        click.echo(f"Fichier d'ancres {anchor_file.path} : {state}")
        for number in anchor_file.bad_lines:
            click.echo(f"{anchor_file.path}, ligne {number} : illisible", err=True)
    verdicts = audit.verify(None if org is None else [resolve_chain(org)], anchor_file=anchor_file or False)
    names = _chain_names()
    for verdict in verdicts:
        click.echo(f"{_label(verdict.chain, names)} : {verdict.message()}")
    if not verdicts:
        click.echo("Aucune chaîne : le journal est vide.")
    if any(not v.ok for v in verdicts) or (anchor_file is not None and anchor_file.bad_lines):
        raise SystemExit(1)


@audit_cli.command("anchor")
@click.option(
    "--export",
    "export",
    metavar="FILE|-",
    is_flag=False,
    flag_value="-",
    default=None,
    help="Puis ajouter la dernière ancre de chaque chaîne à FILE (« - » : la sortie standard), "
    "pour un témoin sur une autre machine.",
)
def anchor_command(export: str | None) -> None:
    """Sign the head of every chain that moved (Égide also does it by itself, see AUDIT_AUTO_ANCHOR).

    With --export, then write the latest anchor of every chain as JSON lines {chain, seq, hash,
    signed_at, key_id, signature}: each checks with the public key alone (`flask audit public-key`),
    Ed25519 over the canonical JSON of {chain, hash, seq, signed_at}. E.g. from cron:
    `flask audit anchor --export - | ssh temoin 'cat >> egide-anchors.jsonl'`.
    """
    from pathlib import Path  # noqa: PLC0415

    to_stdout = export == "-"
    report = click.echo if not to_stdout else lambda text: click.echo(text, err=True)
    result = audit.anchor_heads()
    db.session.commit()
    names = _chain_names()
    for anchor in result.anchors:
        report(
            f"{_label(anchor.chain, names)} : entrée n° {anchor.seq} signée "
            f"(empreinte {anchor.hash[:16]}…, clé {anchor.key_id})"
        )
    for verdict in result.refused:
        click.echo(f"{_label(verdict.chain, names)} : NON signée — {verdict.message()}", err=True)
    if not result.anchors and not result.refused:
        report("Aucune chaîne n'a bougé depuis sa dernière ancre.")
    if export is not None:
        keys = audit.trusted_public_keys()
        lines = []
        for anchor in audit.latest_anchors():
            if not audit.signature_checks(anchor, keys):
                click.echo(
                    f"{_label(anchor.chain, names)} : ancre n° {anchor.seq} non exportée, signature invalide",
                    err=True,
                )
                continue
            lines.append(audit.anchor_line(anchor))
        if to_stdout:
            for line in lines:
                click.echo(line)
        else:
            audit.append_anchor_lines(Path(export), lines)
            report(f"{len(lines)} ancre(s) ajoutée(s) à {export}")
    if result.refused:
        raise SystemExit(1)


@audit_cli.command("public-key")
def public_key_command() -> None:
    """Print the public key (PEM), so that an auditor can check anchors without trusting Égide.

    An anchor signs the canonical JSON {"chain","hash","seq","signed_at"} (sorted keys, no spaces,
    UTF-8; signed_at in ISO 8601 UTC with microseconds) with Ed25519.
    """
    key = audit.signing_key().public_key()
    click.echo(audit.public_key_pem(key), nl=False)
    click.echo(f"key id: {audit.key_id(key)}", err=True)
