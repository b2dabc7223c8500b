"""The journal: the audit trail of the active organisation, its integrity verdict and CSV export;
and the ``flask audit`` commands (verify, anchor, public-key).

Read-only for everybody: nothing here changes an entry. The views scope explicitly by the active
organisation's chain (audit tables are not tenant-scoped through the ORM safety net); a platform
administrator may also read the platform chain (logins, accounts), and nobody reads another
organisation's chain. An entry's content (changes, IP address) is shown, on the page and in the
export, only to who may read its object type there (:func:`content_visible`); others see when, who,
which action and which object.

Layout, each module importing only those above it: :mod:`~core.journal.labels` (action labels, object
types as people read them, who may read an entry's content), :mod:`~core.journal.filters` (filters and
query), :mod:`~core.journal.display` (an entry as people read it: labels, values, names, links),
:mod:`~core.journal.views` (the pages and the export), :mod:`~core.journal.cli` (``flask audit``). The
domains' labels, object types and how their fields read come through their Domain records
(core.domains).
"""

from core.exports import FORMULA_STARTS, neutralise
from core.journal.cli import anchor_command, audit_cli, public_key_command, resolve_chain, verify_command
from core.journal.display import Change, JournalLine, plain_text, present
from core.journal.filters import PLATFORM, JournalFilters, filter_choices, journal_query
from core.journal.labels import (
    ACTION_LABELS,
    JOURNAL_TYPES,
    OBJECT_TYPE_PERMISSIONS,
    PREFIX_LABELS,
    JournalType,
    action_label,
    content_visible,
    object_type_label,
    register_journal_types,
    register_object_types,
)
from core.journal.views import (
    EXPORT_MAX_EVENTS,
    PAGE_SIZE,
    bp,
    chosen_chain,
    display_value,
    event_list,
    export,
    export_csv,
    journal_lines,
    journal_verdict,
)

__all__ = [
    "ACTION_LABELS",
    "EXPORT_MAX_EVENTS",
    "FORMULA_STARTS",
    "JOURNAL_TYPES",
    "OBJECT_TYPE_PERMISSIONS",
    "PAGE_SIZE",
    "PLATFORM",
    "PREFIX_LABELS",
    "Change",
    "JournalFilters",
    "JournalLine",
    "JournalType",
    "action_label",
    "anchor_command",
    "audit_cli",
    "bp",
    "chosen_chain",
    "content_visible",
    "display_value",
    "event_list",
    "export",
    "export_csv",
    "filter_choices",
    "journal_lines",
    "journal_query",
    "journal_verdict",
    "neutralise",
    "object_type_label",
    "plain_text",
    "present",
    "public_key_command",
    "register_journal_types",
    "register_object_types",
    "resolve_chain",
    "verify_command",
]
