"""The journal pages: the entries of the active organisation's chain (or the platform's), its
integrity verdict, and their CSV export."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from core import audit
from core.audit import PLATFORM_CHAIN
from core.db import utcnow
from core.exports import neutralise
from core.extensions import db
from core.journal.display import Change, JournalLine, present, when
from core.journal.filters import PLATFORM, JournalFilters, filter_choices, journal_query
from core.journal.labels import action_label, content_visible
from core.pagination import paginate
from core.params import int_arg
from core.security import Permission, login_and_org_required, require
from core.tenancy import current_org

bp = Blueprint("journal", __name__, url_prefix="/journal")
bp.before_request(login_and_org_required)  # backstop behind the views' own policies
# An action code as people read it, for every page that shows one (a fiche's history, a version):
# the journal owns its labels (core.journal.labels, filled by each Domain record), so its filter too.
bp.add_app_template_filter(action_label, "action_label")

EXPORT_MAX_EVENTS = 50_000  # the most recent ones; a larger export is recorded as truncated
PAGE_SIZE = 50  # entries a page (``?per_page=`` may ask otherwise, up to the app's maximum)


# --- one line of the journal -------------------------------------------------------------------


def journal_lines(rows: list[Any]) -> list[JournalLine]:
    """The lines to show; the payload is read only for an entry whose content the user may see.
    Raw values (the export's); :func:`~core.journal.display.present` adds what people read."""
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
    per_page = int_arg("per_page", PAGE_SIZE, maximum=current_app.config["MAX_PAGE_SIZE"])
    page = paginate(journal_query(chain, filters), per_page=per_page, scalars=False)
    return render_template(
        "journal/event_list.html",
        page=page,
        lines=present(journal_lines(page.items)),
        filters=filters,
        choices=filter_choices(chain),
        chain=chain,
        platform=chain == PLATFORM_CHAIN,
        verdict=journal_verdict(chain, full=request.args.get("full") == "1"),
        action_label=action_label,
        when=when,
    )


def export_csv(lines: list[JournalLine]) -> bytes:
    """``;``-separated UTF-8 with a BOM (French Excel); one row per changed field. The first twelve
    columns are the stored entry as the chain signs it (UTC time, codes, values as stored: what a
    verification script reads); the last six say the same as the journal page says it (Paris time,
    action, object, field and values as on the forms) for the auditor reading it."""
    present(lines)
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
            _("Date (heure de Paris)"),
            _("Action (libellé)"),
            _("Objet"),
            _("Champ (libellé)"),
            _("Avant (lu)"),
            _("Après (lu)"),
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
        read_head = [when(event.at), action_label(event.action), _object_text(line)]
        if line.erased:
            note = _("détail effacé (RGPD)")
            changes = [(note, None, None, note, None, None)]
        elif line.hidden:
            note = _("contenu non visible pour votre rôle")
            changes = [(note, None, None, note, None, None)]
        else:
            changes = [
                (c.field, c.before, c.after, c.label, c.before_text, c.after_text) for c in line.changes
            ] or [(None,) * 6]
        for name, before, after, label, before_text, after_text in changes:
            cells = [
                *head,
                name,
                before,
                after,
                line.ip,
                event.hash,
                *read_head,
                label,
                before_text,
                after_text,
            ]
            writer.writerow([neutralise(display_value(c)) for c in cells])
    return out.getvalue().encode("utf-8-sig")


def _object_text(line: JournalLine) -> str:
    """ "Fiche de traitement n° 12 — TRT-001 Paie" as the page names the object."""
    parts = [line.object_label]
    if line.event.object_id is not None:
        parts.append(_("n° %(id)s", id=line.event.object_id))
    text = " ".join(p for p in parts if p)
    return f"{text} — {line.object_title}" if line.object_title else text


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
