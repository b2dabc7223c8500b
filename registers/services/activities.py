"""Processing activities ("fiches de traitement"): writes with history (creation, update, status,
restore of a version) and the list of versions.

Only the DPO validates, by every path: every write goes through :func:`_save`, which asks
:func:`resulting_status` what status the fiche ends with. A write by someone without
``REGISTERS_VALIDATE`` in the fiche's organisation never yields "validated" and sends a validated
fiche back to review; a write that yields "validated" records the version the public register and
the register PDF then read (:func:`validated_version_id`).

A fiche's content is exchanged as a plain dict keyed by column name (see :data:`CONTENT_FIELDS` and
:data:`LOCAL_FIELDS`): forms, imports, restores and model inheritance all go through
:func:`normalise` and the same two writers, so the rules are checked once.

This module is the entry point of the domain: it re-exports the content rules of
:mod:`registers.services.content` (field lists, :func:`normalise`, :func:`validate`,
:func:`completeness`, :func:`dpia_verdict`…) and the reads of :mod:`registers.services.queries`
(:func:`activities_query`, :func:`register_summary`), so callers use ``acts.<name>`` for all of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from blinker import Namespace
from flask_babel import gettext as _
from sqlalchemy import delete, func, insert, select

from accounts.models import Organisation, User
from catalogue.models import Application
from core import audit, references
from core.concurrency import check_version, flush_or_conflict, with_fresh_reference
from core.extensions import db
from core.forms import FieldError, FieldErrors, raise_field_errors
from core.security import Permission, user_can
from core.tenancy import UNSCOPED, scoped
from registers.models import ActivityStatus, ActivityVersion, ProcessingActivity, validated_versions
from registers.services import processors
from registers.services.content import (
    ALL_FIELDS,
    AUDITED_FIELDS,
    CATEGORY_KEYS,
    CONTENT_FIELDS,
    DATE_FIELDS,
    FIELD_LABELS,
    LIST_FIELDS,
    LOCAL_FIELDS,
    MAX_ITEM_TEXT,
    MAX_LIST_ITEMS,
    MAX_NAME,
    MAX_TEXT,
    MEASURE_KEYS,
    RECIPIENT_KEYS,
    REFERENCE_RE,
    TRANSFER_KEYS,
    Completeness,
    DpiaVerdict,
    completeness,
    content_of,
    dpia_required,
    dpia_verdict,
    normalise,
    snapshot_json,
    validate,
)
from registers.services.queries import (
    SORTS,
    ActivityFilters,
    RegisterSummary,
    activities_query,
    activity_titles,
    register_summary,
)

__all__ = [
    "ALL_FIELDS",
    "ALWAYS_RECORDED",
    "AUDITED_FIELDS",
    "CATEGORY_KEYS",
    "CONTENT_FIELDS",
    "DATE_FIELDS",
    "FIELD_LABELS",
    "LIST_FIELDS",
    "LOCAL_FIELDS",
    "MAX_ITEM_TEXT",
    "MAX_LIST_ITEMS",
    "MAX_NAME",
    "MAX_TEXT",
    "MEASURE_KEYS",
    "RECIPIENT_KEYS",
    "REFERENCE_RE",
    "SORTS",
    "TRANSFER_KEYS",
    "ActivityFilters",
    "Completeness",
    "DpiaVerdict",
    "FieldErrors",
    "RegisterSummary",
    "activities_query",
    "activity_titles",
    "add_version",
    "completeness",
    "content_of",
    "create_activity",
    "dpia_required",
    "dpia_verdict",
    "may_validate",
    "model_content_changed",
    "model_created",
    "next_reference",
    "normalise",
    "register_summary",
    "restore_version",
    "resulting_status",
    "set_status",
    "snapshot_json",
    "update_activity",
    "validate",
    "validated_version_id",
    "versions_of",
]

# A model (a fiche the syndicate's DPO writes for its members) was written. The mutualisation
# (registers.services.inheritance, which builds on this module) listens: a new model gives each
# subscriber its entry, a changed one flags the entries. Sent inside the writer's transaction, the
# receivers only flush. Sender: the model; keyword argument ``actor`` (User or None).
_signals = Namespace()
model_created = _signals.signal("model-created")
model_content_changed = _signals.signal("model-content-changed")

# Actions journalled and versioned even when no field changed (the decision itself is the event).
ALWAYS_RECORDED = frozenset({"activity.create", "activity.inherit", "activity.model_accept"})


# --- who validates ----------------------------------------------------------------------------


def may_validate(actor: User | None, org_id: int) -> bool:
    """Whether ``actor`` holds ``REGISTERS_VALIDATE`` in organisation ``org_id`` (its own roles
    there, never the request's: :func:`core.security.user_can`)."""
    return user_can(actor, Permission.REGISTERS_VALIDATE, org_id)


def resulting_status(
    activity: ProcessingActivity, actor: User | None, requested: ActivityStatus | str | None, org_id: int
) -> ActivityStatus:
    """The status a fiche ends with after a write by ``actor`` that asks for ``requested`` (None: the
    write does not touch the status, the fiche keeps its own). The one rule for every write path.

    * Someone holding ``REGISTERS_VALIDATE`` in ``org_id`` (the fiche's organisation) gets what
      they ask for.
    * Anyone else never gets "validated": asking for it, or keeping it while changing anything of
      a validated fiche (an edit, a restore, an import, a model update accepted, a field reverted),
      gives "in review": the DPO reviews before the change is published. Nor can they archive (the
      fiche keeps its status, under the same rule).
    * ``actor=None`` is a system write (demo loader, command line, tests): the status is taken as
      given. No web route writes without its logged-in user.
    """
    current = activity.status
    wanted = ActivityStatus(requested) if requested else (current or ActivityStatus.DRAFT)
    if actor is None or may_validate(actor, org_id):
        return wanted
    if wanted == ActivityStatus.ARCHIVED and current != ActivityStatus.ARCHIVED:
        wanted = current or ActivityStatus.DRAFT
    if wanted == ActivityStatus.VALIDATED:
        return ActivityStatus.IN_REVIEW
    return wanted


# --- writes -------------------------------------------------------------------------------------


def next_reference(org_id: int, prefix: str = "TRT") -> str:
    """The next free ``PREFIX-NNN`` of an organisation (gaps are not reused)."""
    return references.next_reference(ProcessingActivity, org_id, f"{prefix}-")


def _check(activity: ProcessingActivity | None, org_id: int, data: Mapping[str, Any]) -> None:
    errors = validate(data)
    exclude_id = activity.id if activity is not None else None
    if data.get("reference") and references.is_reference_taken(
        ProcessingActivity, org_id, data["reference"], exclude_id
    ):
        errors.append(
            FieldError("reference", _("Une autre fiche de ce registre porte déjà cette référence."))
        )
    raise_field_errors(errors)


def _applications(org: Organisation, ids: Iterable[int]) -> list[Application]:
    """Applications an organisation may link: its syndicate's catalogue, or its own if a syndicate."""
    ids = list(ids)
    if not ids:
        return []
    owner = org.id if org.is_syndicate else org.syndicate_id
    apps = list(
        db.session.scalars(
            select(Application)
            .where(Application.id.in_(ids), Application.syndicate_id == owner)
            .execution_options(**UNSCOPED)  # unscoped: the member's fiche names its syndicate's applications
        )
    )
    if len(apps) != len(set(ids)):
        raise FieldError("application_ids", _("Application inconnue du catalogue du syndicat."))
    return apps


def _derive(activity: ProcessingActivity) -> None:
    content = content_of(activity, CONTENT_FIELDS)
    activity.has_sensitive_data = bool(activity.sensitive_data)
    activity.is_dpia_required = dpia_verdict(content).required
    activity.completeness = completeness(content).score


def _apply(activity: ProcessingActivity, data: Mapping[str, Any], fields: Iterable[str]) -> None:
    for name in fields:
        if name in data:
            setattr(activity, name, data[name])
    _derive(activity)


def add_version(activity: ProcessingActivity, actor: User | None, action: str) -> ActivityVersion:
    data = snapshot_json(activity, ALL_FIELDS)
    data["application_ids"] = [a.id for a in activity.applications]
    number = (
        db.session.scalar(
            select(func.max(ActivityVersion.number))
            .where(ActivityVersion.activity_id == activity.id)
            # unscoped: filtered on the fiche explicitly (inherited entries are written by the syndicate)
            .execution_options(**UNSCOPED)
        )
        or 0
    ) + 1
    version = ActivityVersion(
        organisation_id=activity.organisation_id,
        activity_id=activity.id,
        number=number,
        actor_id=getattr(actor, "id", None),
        action=action,
        data=data,
    )
    db.session.add(version)
    return version


def validated_version_id(activity: ProcessingActivity) -> int | None:
    """The id of the fiche's version last validated (None: never validated, or archived since)."""
    if activity.id is None:
        return None
    return db.session.scalar(
        select(validated_versions.c.version_id).where(validated_versions.c.activity_id == activity.id)
    )


def _set_validated_version(activity: ProcessingActivity, version: ActivityVersion | None) -> None:
    """Point the fiche at its validated version (None: it has none). Called by :func:`_save` only."""
    db.session.execute(delete(validated_versions).where(validated_versions.c.activity_id == activity.id))
    if version is not None:
        db.session.execute(insert(validated_versions).values(activity_id=activity.id, version_id=version.id))


def _save(
    org_id: int,
    actor: User | None,
    action: str,
    activity: ProcessingActivity,
    data: Mapping[str, Any],
    fields: Iterable[str],
) -> ProcessingActivity:
    """The single writer of a fiche: content, derived columns, status (by :func:`resulting_status`,
    for the fiche's own organisation), journal, version, and its validated version: a write that
    yields "validated" (only a validator's, or the system's) makes the version it records the one
    published; archiving unpublishes."""
    fields = tuple(fields)
    is_new = activity.id is None
    before = {
        **audit.snapshot(activity, ALL_FIELDS),
        "application_ids": sorted(a.id for a in activity.applications),
    }
    # Whatever the caller asked, the status comes from the one rule (see resulting_status).
    requested = data.get("status") if "status" in fields else None
    fiche_org = activity.organisation_id if activity.organisation_id is not None else org_id
    data = {**data, "status": resulting_status(activity, actor, requested, fiche_org)}
    if "status" not in fields:
        fields = (*fields, "status")
    if "recipients" in data and "recipients" in fields:
        # A recipient may point only to a processor of the fiche's own organisation.
        data["recipients"] = [dict(row) for row in data["recipients"]]
        processors.clean_recipient_links(fiche_org, data["recipients"], is_model=activity.is_model)
    _apply(activity, data, fields)
    if "application_ids" in data:
        activity.applications = _applications(
            activity.organisation or db.session.get(Organisation, org_id), data["application_ids"]
        )
    if activity.id is None:
        db.session.add(activity)
    if (
        activity.is_model
        and activity.id is not None
        and any(before.get(name) != audit.jsonable(getattr(activity, name)) for name in CONTENT_FIELDS)
    ):
        activity.content_version += 1
    flush_or_conflict(activity)
    if "recipients" in fields:
        processors.sync_fiche_links(activity)
    after = {
        **audit.snapshot(activity, ALL_FIELDS),
        "application_ids": sorted(a.id for a in activity.applications),
    }
    changes = audit.diff({} if is_new else before, after)
    is_validated = activity.status == ActivityStatus.VALIDATED
    # A validated fiche that changed nothing keeps its validated version, unless it has none yet
    # (a fiche written straight to the database): this write then records it.
    if changes or action in ALWAYS_RECORDED or (is_validated and validated_version_id(activity) is None):
        audit.record(
            org_id,
            actor,
            action,
            activity,
            {k: (audit.jsonable(a), audit.jsonable(b)) for k, (a, b) in changes.items()},
        )
        version = add_version(activity, actor, action)
        db.session.flush()
        if is_validated:  # only a validator's write (or the system's) yields it: resulting_status
            _set_validated_version(activity, version)
    if activity.status == ActivityStatus.ARCHIVED:
        _set_validated_version(activity, None)  # an archived fiche leaves the published register
    return activity


def create_activity(
    org: Organisation,
    actor: User | None,
    data: Mapping[str, Any],
    *,
    is_model: bool = False,
) -> ProcessingActivity:
    data = normalise(data)
    if not data.get("reference"):
        return with_fresh_reference(
            lambda: create_activity(
                org,
                actor,
                {**data, "reference": next_reference(org.id, "MOD" if is_model else "TRT")},
                is_model=is_model,
            )
        )
    if is_model:
        # A model is validated when written, by its DPO: _save applies the rule like anywhere else.
        data = {**data, "status": data.get("status") or ActivityStatus.VALIDATED}
        if len(data.get("application_ids") or ()) != 1:
            raise FieldError(
                "application_ids", _("Un modèle porte sur une application du catalogue, et une seule.")
            )
    _check(None, org.id, data)
    activity = ProcessingActivity(
        organisation_id=org.id, organisation=org, is_model=is_model, content_version=1
    )
    for name in LIST_FIELDS:
        setattr(activity, name, [])
    activity = _save(org.id, actor, "activity.create", activity, data, ALL_FIELDS)
    if is_model:
        model_created.send(activity, actor=actor)
    return activity


def update_activity(
    activity: ProcessingActivity, actor: User | None, data: Mapping[str, Any]
) -> ProcessingActivity:
    check_version(activity, data.get("version"))
    data = normalise(data)
    if data.get("reference") == "":
        data.pop("reference")
    return _rewrite(activity, actor, "activity.update", data)


def _rewrite(
    activity: ProcessingActivity, actor: User | None, action: str, data: dict[str, Any]
) -> ProcessingActivity:
    """Write new content over a fiche (an edit, a restore); a model's changed content is then
    offered to the entries inheriting from it."""
    if activity.is_model:
        data.pop("application_ids", None)  # a model stays on the application it was written for
    _check(activity, activity.organisation_id, data)
    before_content = activity.content_version
    activity = _save(activity.organisation_id, actor, action, activity, data, ALL_FIELDS)
    if activity.is_model and activity.content_version != before_content:
        model_content_changed.send(activity, actor=actor)
    return activity


def set_status(
    activity: ProcessingActivity, actor: User | None, status: ActivityStatus, version: Any
) -> ProcessingActivity:
    check_version(activity, version)
    data: dict[str, Any] = {"status": status}
    if status == ActivityStatus.ARCHIVED:
        activity.is_archive_proposed = False
    return _save(activity.organisation_id, actor, "activity.status", activity, data, ("status",))


def restore_version(
    activity: ProcessingActivity, actor: User | None, version: ActivityVersion, form_version: Any
) -> ProcessingActivity:
    """Bring back the content of an earlier version; it becomes a new version (nothing is lost)."""
    check_version(activity, form_version)
    data = normalise({k: v for k, v in version.data.items() if k != "reference"})
    return _rewrite(activity, actor, "activity.restore", data)


def versions_of(activity: ProcessingActivity) -> list[ActivityVersion]:
    return list(
        db.session.scalars(
            scoped(select(ActivityVersion), ActivityVersion)
            .where(ActivityVersion.activity_id == activity.id)
            .order_by(ActivityVersion.number.desc())
        )
    )
