"""An entry of the journal as people read it: the object (what it is, its name, a link to its page),
each changed field under its label as on the form, and each value as text — codes as their labels,
ids as names, dates in one format and in the readers' time (Europe/Paris).

What a type's fields and values mean is declared by its domain (:class:`~core.journal.labels.
JournalType`); this module only applies the declarations, with one lookup of each kind a page (never
one per entry), and renders what nobody declared plainly. The content of an entry (its values, the
object's name and link) is worked out only for entries whose content the reader may see.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from flask import url_for
from flask_babel import format_date, format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core.audit import AuditEvent
from core.journal.labels import (
    JOURNAL_TYPES,
    JournalType,
    Lookup,
    action_label,
    object_type_label,
    register_journal_types,
)
from core.security import Permission, can

DATE_FORMAT = "short"  # one format on the page, for the entries' times and the dates they record
ISO_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ISO_DATETIME_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?$"
)
EMPTY = "—"


@dataclass
class Change:
    field: str
    before: Any
    after: Any
    label: str = ""  # the field as on its form (its stored name if nobody declared it)
    before_text: str = EMPTY
    after_text: str = EMPTY


@dataclass
class JournalLine:
    event: AuditEvent
    actor_name: str | None
    changes: list[Change] = field(default_factory=list)
    ip: str | None = None
    erased: bool = False
    hidden: bool = False  # content not visible for the reader's role (see content_visible)
    object_label: str = ""  # what the object is ("Fiche de traitement")
    object_title: str | None = None  # its name, for who may read the content
    object_url: str | None = None  # its page, for who may read the content and open the page


# --- values -------------------------------------------------------------------------------------


def when(moment: datetime) -> str:
    """A moment as the page shows every moment: in the readers' time zone (Europe/Paris)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # the journal stores UTC
    return format_datetime(moment, DATE_FORMAT)


def plain_text(value: Any) -> str:
    """A stored value nobody declared, as text: yes/no, dates and times in the page's format, one
    list item or mapping entry a line."""
    if value is None or value == "" or value == [] or value == {}:
        return EMPTY
    if isinstance(value, bool):
        return _("Oui") if value else _("Non")
    if isinstance(value, str):
        return _date_text(value) or value
    if isinstance(value, list):
        return "\n".join(plain_text(item) for item in value)
    if isinstance(value, dict):
        return "\n".join(f"{key} : {plain_text(item)}" for key, item in value.items())
    return str(value)


def _date_text(value: str) -> str | None:
    try:
        if ISO_DATE_RE.match(value):
            return format_date(date.fromisoformat(value), DATE_FORMAT)
        if ISO_DATETIME_RE.match(value):
            return when(datetime.fromisoformat(value))
    except ValueError:  # 2024-02-31: shown as stored
        return None
    return None


def _ids(value: Any) -> list[int]:
    values = value if isinstance(value, list) else [value]
    return [v for v in values if isinstance(v, int) and not isinstance(v, bool)]


def _named(value: Any, names: Mapping[int, str]) -> str:
    if value is None or value == []:
        return EMPTY
    ids = value if isinstance(value, list) else [value]
    return "\n".join(names.get(i, _("n° %(id)s", id=i)) if isinstance(i, int) else str(i) for i in ids)


# --- the page's lines ---------------------------------------------------------------------------


def _lookups(pairs: Iterable[tuple[Lookup, int]]) -> dict[Lookup, Mapping[int, str]]:
    """Each lookup asked once, for all its ids."""
    wanted: dict[Lookup, set[int]] = defaultdict(set)
    for lookup, object_id in pairs:
        wanted[lookup].add(object_id)
    return {lookup: lookup(sorted(ids)) if ids else {} for lookup, ids in wanted.items()}


def _texts(
    kind: JournalType | None, changes: Sequence[Change], named: Mapping[Lookup, Mapping[int, str]]
) -> None:
    """Fill the label and texts of ``changes``, all about objects of one type (``kind``)."""
    if kind is None:
        for change in changes:
            change.label = change.field
            change.before_text, change.after_text = plain_text(change.before), plain_text(change.after)
        return
    described: Iterator[str | None] = iter(())
    if kind.describe is not None:  # one call for the page: its values in order, before then after
        pairs = [(c.field, v) for c in changes if c.field not in kind.names for v in (c.before, c.after)]
        described = iter(kind.describe(pairs) if pairs else ())
    for change in changes:
        change.label = str(kind.fields.get(change.field, change.field))
        if change.field in kind.names:
            names = named.get(kind.names[change.field], {})
            change.before_text, change.after_text = _named(change.before, names), _named(change.after, names)
            continue
        texts = [
            _value_text(kind, change.field, value, next(described, None) if kind.describe else None)
            for value in (change.before, change.after)
        ]
        change.before_text, change.after_text = texts


def _value_text(kind: JournalType, name: str, value: Any, described: str | None) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return EMPTY
    if described:
        return described
    if name in kind.values:
        return kind.values[name](value) or EMPTY
    return plain_text(value)


def _link(kind: JournalType, object_id: int | None) -> str | None:
    if kind.link is None or (kind.link_permission is not None and not can(kind.link_permission)):
        return None
    endpoint, argument = kind.link
    if argument is None:
        return url_for(endpoint)
    return url_for(endpoint, **{argument: object_id}) if object_id is not None else None


def present(lines: list[JournalLine]) -> list[JournalLine]:
    """Labels, texts, names and links of a page's lines, in place: one lookup of each kind a page."""
    for line in lines:
        line.object_label = object_type_label(line.event.object_type)
    visible = [line for line in lines if not line.hidden and not line.erased]
    wanted: list[tuple[Lookup, int]] = []
    for line in visible:
        kind = JOURNAL_TYPES.get(line.event.object_type)
        if kind is None:
            continue
        if kind.title is not None and line.event.object_id is not None:
            wanted.append((kind.title, line.event.object_id))
        for change in line.changes:
            if change.field in kind.names:
                lookup = kind.names[change.field]
                wanted += [(lookup, i) for v in (change.before, change.after) for i in _ids(v)]
    named = _lookups(wanted)
    by_type: dict[str, list[Change]] = defaultdict(list)
    for line in visible:
        by_type[line.event.object_type] += line.changes
        kind = JOURNAL_TYPES.get(line.event.object_type)
        if kind is None:
            continue
        object_id = line.event.object_id
        if kind.title is not None:
            line.object_title = named[kind.title].get(object_id) if object_id is not None else None
            if object_id is not None and line.object_title is None:
                continue  # gone (or never there): no link to a missing page
        line.object_url = _link(kind, object_id)
    for object_type, changes in by_type.items():
        _texts(JOURNAL_TYPES.get(object_type), changes, named)
    for line in visible:
        order = {
            name: n for n, name in enumerate(getattr(JOURNAL_TYPES.get(line.event.object_type), "fields", {}))
        }
        # In the form's order; a field that reads "—" on both sides (None → []) changed nothing one sees.
        line.changes = sorted(
            (c for c in line.changes if (c.before_text, c.after_text) != (EMPTY, EMPTY)),
            key=lambda c: (order.get(c.field, len(order)), c.field),
        )
    return lines


# --- the kernel's own types -------------------------------------------------------------------

FILTER_LABELS: dict[str, Any] = {
    "user": _l("Utilisateur (n°)"),
    "object_type": _l("Type d'objet"),
    "object_id": _l("Id objet"),
    "action": _l("Action"),
    "date_from": _l("Du"),
    "date_to": _l("Au"),
}


def _filters_text(filters: Any) -> str:
    if not isinstance(filters, dict):
        return plain_text(filters)
    shown: dict[str, Callable[[Any], str]] = {"action": action_label, "object_type": object_type_label}
    return "\n".join(
        f"{FILTER_LABELS.get(key, key)} : {shown.get(key, plain_text)(value)}"
        for key, value in filters.items()
    )


register_journal_types(
    {
        "AuditJournal": JournalType(
            _l("Journal d'audit"),
            fields={
                "filters": _l("Filtres"),
                "events": _l("Entrées exportées"),
                "truncated_at": _l("Export limité aux plus récentes"),
            },
            values={"filters": _filters_text},
            link=("journal.event_list", None),
            link_permission=Permission.AUDIT_TRAIL_VIEW,
        ),
        "AuditPayload": JournalType(
            _l("Détails d'entrées du journal"),
            fields={"erased": _l("Entrées effacées"), "subject_user_id": _l("Compte concerné (n°)")},
        ),
    }
)
