"""The audit trail: every service write calls :func:`record`, which appends a hash-chained entry.

Design (STACK.md §2.4):

* **One chain per organisation.** ``chain`` is the organisation's id, or 0 for platform events
  (logins, accounts). Entries are numbered 1, 2, 3 … in their chain (``UNIQUE(chain, seq)``), so
  organisations never serialise on each other. Appends to one chain are serialised on its row of
  ``audit_heads`` (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite has a single writer).
* **Same transaction as the business change.** :func:`record` adds and flushes, never commits: a
  change that is rolled back leaves no entry, and an entry never exists without its change.
* **Hash chain.** ``hash = SHA-256(prev_hash || canonical JSON of {chain, seq, at, actor_id,
  organisation_id, action, object_type, object_id, payload_sha256})`` where ``prev_hash`` is the hex
  hash of the previous entry (64 zeros for the first), ``||`` is byte concatenation of its ASCII
  form with the UTF-8 JSON, and canonical JSON has sorted keys, ``(",", ":")`` separators and no
  ASCII escaping; ``at`` is ISO 8601 UTC with microseconds.
* **Erasable payload.** The field-by-field changes and the request context (IP address, user agent)
  are personal data: they live in ``audit_payloads``, outside the chain, which only holds their
  SHA-256. :func:`erase_payloads` empties them for the GDPR and journals the erasure itself on the
  platform chain: that entry's payload (bound to the chain by its ``payload_sha256``, never erasable)
  lists every emptied entry as ``{chain: [seq, …]}``. :func:`verify` counts a listed entry as
  "payload erased"; an empty or missing payload that no erasure lists is tampering.
* **Signed anchors.** An anchor signs ``(chain, seq, hash, signed_at)`` of a chain's head with an
  Ed25519 key kept in a file, outside the database (``AUDIT_SIGNING_KEY_FILE``, default
  ``instance/audit_signing_key.pem``, created with mode 0600 on first use). Without anchors, someone
  with write access to the database could rewrite the end of a chain, or cut it off and rewind its
  head. Anchors are written without an operator (:func:`init_app`, ``AUDIT_AUTO_ANCHOR``): every
  ``AUDIT_ANCHOR_EVERY`` entries as they are written; on the commit that appends to a chain whose last
  anchor is older than ``AUDIT_ANCHOR_MAX_AGE`` (or which has none); and by a throttled sweep after
  requests, for chains that moved and then went quiet. ``flask audit anchor`` does the same by hand.
* **Anchor file.** Every committed anchor is also appended, as one JSON line verifiable with the public
  key alone, to ``AUDIT_ANCHOR_FILE`` (default ``instance/audit_anchors.jsonl``). :func:`verify`
  checks the database against it: every anchor of the file must be in the database and match the
  entry at its seq, so a tail cut off with its head rewound, or rewritten with recomputed hashes and
  its database anchors deleted, is named. ``flask audit anchor --export`` hands the latest anchor of
  every chain to a witness on another machine.
* **Read-only.** The application never updates or deletes an entry; on PostgreSQL a trigger refuses
  UPDATE and DELETE on ``audit_events`` and ``audit_anchors``, and lets a payload change only to
  NULL (erasure). See migrations/20261124_b_audit_trail.py.

:func:`verify` walks each chain and names the first broken entry. Its limit, by design: entries
appended after the last anchor are vouched for by nothing yet — someone with write access to the
database can remove or rewrite them (and rewind ``audit_heads``) until the next anchor; the verdict
therefore says "vérifié jusqu'à l'ancre n° …". Someone who holds the signing key, the anchor file and
the database can rewrite everything; a witness copy of the anchors on another machine is then the
only trace.

Entries are also logged to the ``egide.audit`` logger (field names only, never values), and handed
to ``sinks`` (callables taking an :class:`AuditEntry`), for forwarding elsewhere.

Layout, each module importing only those above it: :mod:`~core.audit.hashing` (canonical form and
hashes), :mod:`~core.audit.models` (tables and constants), :mod:`~core.audit.signing` (key, anchors,
anchor file), :mod:`~core.audit.chain` (recording, GDPR erasure), :mod:`~core.audit.verification`
(verdicts), :mod:`~core.audit.anchoring` (when to sign: by hand, on commit, after requests). This
package re-exports them: ``from core import audit; audit.record(...)``. A test that replaces a function
or ``sinks`` patches the module that defines it (``audit.chain.sinks``, ``audit.signing.signing_key``).
"""

from core.audit.anchoring import (
    AnchoringResult,
    _anchor_on_commit,
    _max_age,
    _sweep_lock,
    _sweep_slot,
    anchor_heads,
    due_chains,
    init_app,
    sweep,
    sweep_after_request,
)
from core.audit.chain import (
    AuditEntry,
    Ref,
    _append,
    _lock_head,
    _lock_heads,
    _plain,
    _request_context,
    audited,
    diff,
    erase_payloads,
    erase_personal_data,
    logger,
    record,
    record_each,
    record_many,
    sinks,
    snapshot,
)
from core.audit.hashing import (
    HASHED_FIELDS,
    canonical,
    chain_content,
    entry_hash,
    iso_utc,
    jsonable,
    payload_hash,
)
from core.audit.models import (
    _APPENDED,
    _AUTO_ANCHORING,
    _FILE_LINES,
    ERASE_ACTION,
    ERASED_KEY,
    GENESIS,
    PLATFORM_CHAIN,
    USER_AGENT_MAX,
    AuditAnchor,
    AuditEvent,
    AuditHead,
    AuditPayload,
)
from core.audit.signing import (
    AnchorFile,
    FileAnchor,
    _forget_transaction,
    _key_path,
    _new_anchor,
    _signature_problem,
    _write_committed_anchors,
    anchor_file_path,
    anchor_key,
    anchor_line,
    anchor_message,
    append_anchor_lines,
    configured_anchor_file,
    key_id,
    latest_anchors,
    public_key_pem,
    read_anchor_file,
    signature_checks,
    signing_key,
    trusted_public_keys,
)
from core.audit.verification import (
    AnchorInfo,
    ChainVerdict,
    Erasures,
    _anchor_file_problems,
    chains,
    verify,
    verify_chain,
)

# Everything the single module core/audit.py defined, private helpers included (tests and benchmarks
# may reach them as ``audit.<name>``).
__all__ = [
    "ERASED_KEY",
    "ERASE_ACTION",
    "GENESIS",
    "HASHED_FIELDS",
    "PLATFORM_CHAIN",
    "USER_AGENT_MAX",
    "_APPENDED",
    "_AUTO_ANCHORING",
    "_FILE_LINES",
    "AnchorFile",
    "AnchorInfo",
    "AnchoringResult",
    "AuditAnchor",
    "AuditEntry",
    "AuditEvent",
    "AuditHead",
    "AuditPayload",
    "ChainVerdict",
    "Erasures",
    "FileAnchor",
    "Ref",
    "_anchor_file_problems",
    "_anchor_on_commit",
    "_append",
    "_forget_transaction",
    "_key_path",
    "_lock_head",
    "_lock_heads",
    "_max_age",
    "_new_anchor",
    "_plain",
    "_request_context",
    "_signature_problem",
    "_sweep_lock",
    "_sweep_slot",
    "_write_committed_anchors",
    "anchor_file_path",
    "anchor_heads",
    "anchor_key",
    "anchor_line",
    "anchor_message",
    "append_anchor_lines",
    "audited",
    "canonical",
    "chain_content",
    "chains",
    "configured_anchor_file",
    "diff",
    "due_chains",
    "entry_hash",
    "erase_payloads",
    "erase_personal_data",
    "init_app",
    "iso_utc",
    "jsonable",
    "key_id",
    "latest_anchors",
    "logger",
    "payload_hash",
    "public_key_pem",
    "read_anchor_file",
    "record",
    "record_each",
    "record_many",
    "signature_checks",
    "signing_key",
    "sinks",
    "snapshot",
    "sweep",
    "sweep_after_request",
    "trusted_public_keys",
    "verify",
    "verify_chain",
]
