"""What people read in the journal: action labels, object types and their fields as on the forms,
and who may read an entry's content."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_login import current_user

from core.audit import PLATFORM_CHAIN
from core.security import Permission, can
from core.tenancy import current_org

# The kernel's own actions; each domain adds its labels through its Domain record (core.domains).
ACTION_LABELS: dict[str, Any] = {
    "audit.payload_erase": _l("Détails du journal effacés (RGPD)"),
    "journal.export": _l("Journal exporté"),
}


# Families of actions named by a prefix (``session.revoke.logout``…), filled the same way.
PREFIX_LABELS: dict[str, Any] = {}


def action_label(action: str) -> str:
    """What people read for an action code; the code itself stays in the export and the filter."""
    if action in ACTION_LABELS:
        return str(ACTION_LABELS[action])
    for prefix, label in PREFIX_LABELS.items():
        if action.startswith(prefix):
            return str(label)
    return action


# --- object types, their fields and values, as people read them ------------------------------

# Ids → what to call each of them (a name, "TRT-004 — État civil"), asked once a page for every id
# of the page: a lookup of the domain that owns them (its own scoping).
Lookup = Callable[[Collection[int]], Mapping[int, str]]
# Every (field, stored value) of a page's entries about one type → the text of each (None: not this
# hook's, the type's ``values`` or the plain rendering then says it): one call a page, for lookups.
Describe = Callable[[Sequence[tuple[str, Any]]], Sequence[str | None]]


@dataclass(frozen=True)
class JournalType:
    """How the journal shows the entries about one object type (``AuditEvent.object_type``),
    declared by the domain that owns the type in its Domain record (``journal_types``): labels come
    from the domain's forms, core knows no domain. A field nobody labelled shows its stored name."""

    label: Any  # what the object is: "Fiche de traitement"
    fields: Mapping[str, Any] = field(default_factory=dict)  # stored field → label as on the form
    values: Mapping[str, Callable[[Any], str]] = field(default_factory=dict)  # field → value as text
    names: Mapping[str, Lookup] = field(default_factory=dict)  # field holding ids → their names
    describe: Describe | None = None  # the page's values of this type at once (see Describe)
    title: Lookup | None = None  # the objects' own names (shown to who may read the content)
    link: tuple[str, str | None] | None = None  # (endpoint, URL argument given the object's id)
    link_permission: str | None = None  # if the object's page asks more than reading the content


JOURNAL_TYPES: dict[str, JournalType] = {}


def register_journal_types(types: Mapping[str, JournalType]) -> None:
    """Declare how the journal shows some object types (each domain, through its Domain record).
    The same declaration again is harmless (one app per test); another one for a type is a bug."""
    for object_type, declared in types.items():
        known = JOURNAL_TYPES.setdefault(object_type, declared)
        if known != declared:
            raise ValueError(f"journal: {object_type} is already shown otherwise")


def object_type_label(object_type: str) -> str:
    """What people read for a stored object type; the type itself if nobody declared it."""
    declared = JOURNAL_TYPES.get(object_type)
    return str(declared.label) if declared is not None else object_type


# --- who may read an entry's content ----------------------------------------------------------

# Object type (``AuditEvent.object_type``) → the permission that reads such objects. Each domain
# declares its own types in its Domain record (see :func:`register_object_types`); a type nobody
# declared shows no content to anyone (deny by default).
OBJECT_TYPE_PERMISSIONS: dict[str, Permission | str] = {}  # str: a domain's own permission


def register_object_types(types: Mapping[str, Permission | str]) -> None:
    """Declare journalled object types with the permission needed to read them. Declaring a type
    again with the same permission is harmless (one app per test); with another one is a bug."""
    for object_type, permission in types.items():
        known = OBJECT_TYPE_PERMISSIONS.setdefault(object_type, permission)
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
