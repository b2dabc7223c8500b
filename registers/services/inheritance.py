"""Mutualisation: a model written once by the syndicate's DPO, an entry in each subscriber's register.

* :func:`spread_model` / :func:`on_subscription_started`: every member using the model's
  application has exactly one entry inheriting from it (created as a draft in its register); run
  when a model is created (the ``model_created`` signal of :mod:`registers.services.activities`).
* :func:`flag_model_update`: a model's content changed (``model_content_changed``) → its entries get
  ``has_model_update``.

This module builds on :mod:`registers.services.activities` (the one writer of a fiche), which does
not know it: the signals keep the dependency one-way. ``registers`` imports this module when the
app starts, so the receivers are connected before any request.
* :func:`pending_changes` / :func:`accept_model_update`: the member sees, field by field, the old
  and new model values beside its own, and chooses for each: take the new value, keep its own, or
  decide later. Fields it did not override take the new value by default; overridden fields keep
  the local value unless it asks otherwise.
* :func:`on_subscription_ended`: the entry is proposed for archiving (never archived silently).

Models belong to the syndicate's tenant; members' sessions cannot load them through the tenant
filter, so this module reads them ``UNSCOPED`` and only ever by the entry's ``model_id``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import or_, select, update

from accounts.models import Organisation, User
from catalogue.models import Application, Subscription
from catalogue.services import signals
from core import audit
from core.concurrency import check_version, with_fresh_reference
from core.db import today
from core.extensions import db
from core.forms import FieldError
from core.tenancy import UNSCOPED
from registers.models import ActivityStatus, ProcessingActivity, activity_applications, models_of_application
from registers.services import activities as acts


def model_of(entry: ProcessingActivity) -> ProcessingActivity | None:
    if entry.model_id is None:
        return None
    # session.get: the identity map answers the second time (detail page, diff, accept).
    # unscoped: the member's entry reads its syndicate's template
    return db.session.get(ProcessingActivity, entry.model_id, execution_options=UNSCOPED)


def model_application(model: ProcessingActivity) -> Application | None:
    return model.applications[0] if model.applications else None


def _entry_for(model: ProcessingActivity, member_id: int) -> ProcessingActivity | None:
    return db.session.scalar(
        select(ProcessingActivity)
        .where(ProcessingActivity.model_id == model.id, ProcessingActivity.organisation_id == member_id)
        # unscoped: the syndicate's template reaches the member's inherited entry
        .execution_options(**UNSCOPED)
        .limit(1)
    )


def create_inherited(
    model: ProcessingActivity, member: Organisation, actor: User | None
) -> ProcessingActivity:
    """The member's entry for ``model`` (created, or reopened if it was archived)."""
    existing = _entry_for(model, member.id)
    if existing is not None:
        if existing.status == ActivityStatus.ARCHIVED or existing.is_archive_proposed:
            with audit.audited(
                member.id, actor, "activity.reopen", existing, ("status", "is_archive_proposed")
            ):
                # A draft whoever reopens it; still through the one rule (never "validated" here).
                existing.status = acts.resulting_status(existing, actor, ActivityStatus.DRAFT, member.id)
                existing.is_archive_proposed = False
        return existing
    return with_fresh_reference(lambda: _new_entry(model, member, actor))


def _new_entry(model: ProcessingActivity, member: Organisation, actor: User | None) -> ProcessingActivity:
    data: dict[str, Any] = {name: getattr(model, name) for name in acts.CONTENT_FIELDS}
    data["application_ids"] = [a.id for a in model.applications]
    data["status"] = ActivityStatus.DRAFT
    data["reference"] = acts.next_reference(member.id)
    entry = ProcessingActivity(
        organisation_id=member.id,
        organisation=member,
        model_id=model.id,
        synced_model_version=model.content_version,
        model_snapshot=acts.snapshot_json(model),
    )
    for name in acts.LIST_FIELDS:
        setattr(entry, name, [])
    return acts._save(member.id, actor, "activity.inherit", entry, acts.normalise(data), acts.ALL_FIELDS)


def _active_subscribers(application_id: int) -> list[Organisation]:
    stmt = (
        select(Organisation)
        .join(Subscription, Subscription.organisation_id == Organisation.id)
        .where(
            Subscription.application_id == application_id,
            or_(Subscription.ended_on.is_(None), Subscription.ended_on >= today()),
            Organisation.left_on.is_(None),
        )
        .order_by(Organisation.id)
        .execution_options(**UNSCOPED)  # unscoped: the syndicate's template reaches its subscribers
    )
    return list(db.session.scalars(stmt).unique())


def spread_model(model: ProcessingActivity, actor: User | None) -> int:
    """Give every current subscriber of the model's application its entry; returns how many."""
    app = model_application(model)
    if app is None:
        return 0
    created = 0
    for member in _active_subscribers(app.id):
        if member.id == model.organisation_id:
            continue  # the syndicate's own use is described in its own register
        if _entry_for(model, member.id) is None:
            create_inherited(model, member, actor)
            created += 1
    return created


def flag_model_update(model: ProcessingActivity, actor: User | None) -> int:
    """Mark every entry inheriting from ``model`` whose accepted version is older."""
    result = db.session.execute(
        update(ProcessingActivity)
        .where(
            ProcessingActivity.model_id == model.id,
            ProcessingActivity.synced_model_version < model.content_version,
            ProcessingActivity.status != ActivityStatus.ARCHIVED,
        )
        .values(has_model_update=True)
        # unscoped: the syndicate's template reaches the members' inherited entries
        .execution_options(synchronize_session="fetch", **UNSCOPED)
    )
    audit.record(
        model.organisation_id,
        actor,
        "activity.model_published",
        model,
        {"content_version": (model.content_version - 1, model.content_version)},
    )
    return int(result.rowcount or 0)


@dataclass(frozen=True)
class FieldChange:
    field: str
    label: str
    before: Any  # the model's value the entry last accepted
    after: Any  # the model's value now
    local: Any  # the entry's value now
    is_overridden: bool  # the member had changed this field

    @property
    def applies_by_default(self) -> bool:
        return not self.is_overridden


def _comparable(value: Any) -> Any:
    return audit.jsonable(value)


def overridden_fields(entry: ProcessingActivity, content: Mapping[str, Any] | None = None) -> set[str]:
    """Fields whose local value differs from the model version the entry last accepted.

    ``content``: compare this content of the entry (e.g. its validated version) instead of its
    current one."""
    snapshot = entry.model_snapshot or {}
    if content is None:
        content = {name: getattr(entry, name) for name in acts.CONTENT_FIELDS}
    return {
        name
        for name in acts.CONTENT_FIELDS
        if name in snapshot and _comparable(content.get(name)) != snapshot[name]
    }


def pending_changes(entry: ProcessingActivity) -> list[FieldChange]:
    model = model_of(entry)
    if model is None or entry.synced_model_version == model.content_version:
        return []
    snapshot = entry.model_snapshot or {}
    current = acts.snapshot_json(model)
    changes = []
    for name in acts.CONTENT_FIELDS:
        if current.get(name) == snapshot.get(name):
            continue
        local = _comparable(getattr(entry, name))
        changes.append(
            FieldChange(
                field=name,
                label=str(acts.FIELD_LABELS[name]),
                before=snapshot.get(name),
                after=current.get(name),
                local=local,
                is_overridden=local != snapshot.get(name),
            )
        )
    return changes


def accept_model_update(
    entry: ProcessingActivity,
    actor: User | None,
    apply: Iterable[str],
    version: Any,
    later: Iterable[str] = (),
) -> ProcessingActivity:
    """Take the model's new value for the fields in ``apply``, leave those in ``later`` to decide
    later, keep the local value elsewhere.

    A decided field is settled: the entry is in step with the model's current version for it. With
    nothing left for later, the whole change is settled (``has_model_update`` drops); otherwise the
    fields left for later stay pending, shown again next time, with their old model value. Nothing
    decided: nothing is written.
    """
    check_version(entry, version)
    model = model_of(entry)
    if model is None:
        raise FieldError("apply", _("Cette fiche n'hérite d'aucun modèle."))
    apply, later = set(apply), set(later)
    changes = {c.field: c for c in pending_changes(entry)}
    if (apply | later) - set(changes) or apply & later:
        raise FieldError("apply", _("Le modèle a encore changé : relisez les différences."))
    decided = set(changes) - later
    if not decided:
        return entry
    data = acts.normalise({name: getattr(model, name) for name in apply})
    current = acts.snapshot_json(model)
    if later:
        accepted = dict(entry.model_snapshot or {})
        accepted.update({name: current.get(name) for name in decided})
        entry.model_snapshot = accepted  # still behind the model for the fields left for later
    else:
        entry.model_snapshot = current
        entry.synced_model_version = model.content_version
        entry.has_model_update = False
    return acts._save(entry.organisation_id, actor, "activity.model_accept", entry, data, tuple(apply))


def revert_to_model(
    entry: ProcessingActivity, actor: User | None, field: str, version: Any
) -> ProcessingActivity:
    """Drop a local override: the field takes the value of the model version last accepted."""
    check_version(entry, version)
    if field not in acts.CONTENT_FIELDS or entry.model_snapshot is None or field not in entry.model_snapshot:
        raise FieldError("field", _("Ce champ n'est pas hérité du modèle."))
    data = acts.normalise({field: entry.model_snapshot[field]})
    return acts._save(entry.organisation_id, actor, "activity.revert_field", entry, data, (field,))


def entries_of(model: ProcessingActivity) -> list[ProcessingActivity]:
    """The model's entries in members' registers (the syndicate's DPO follows their adoption)."""
    return list(
        db.session.scalars(
            select(ProcessingActivity)
            .where(ProcessingActivity.model_id == model.id)
            .order_by(ProcessingActivity.organisation_id)
            # unscoped: the syndicate's template reaches the members' inherited entries
            .execution_options(**UNSCOPED)
        )
    )


# --- events: a model written (registers.services.activities), a subscription (catalogue) -----------


@acts.model_created.connect
def on_model_created(model: ProcessingActivity, actor: User | None = None, **_: Any) -> None:
    spread_model(model, actor)


@acts.model_content_changed.connect
def on_model_content_changed(model: ProcessingActivity, actor: User | None = None, **_: Any) -> None:
    flag_model_update(model, actor)


@signals.subscription_started.connect
def on_subscription_started(sub: Subscription, actor: User | None = None, **_: Any) -> None:
    member = sub.organisation or db.session.get(Organisation, sub.organisation_id)
    if member is None or member.id == sub.syndicate_id:
        return
    # unscoped: a subscription (syndicate side) creates the member's entry
    for model in db.session.scalars(models_of_application(sub.application_id).execution_options(**UNSCOPED)):
        if model.status != ActivityStatus.ARCHIVED:
            create_inherited(model, member, actor)


@signals.subscription_ended.connect
def on_subscription_ended(sub: Subscription, actor: User | None = None, **_: Any) -> None:
    model_ids = select(activity_applications.c.activity_id).where(
        activity_applications.c.application_id == sub.application_id
    )
    entries = db.session.scalars(
        select(ProcessingActivity)
        .where(
            ProcessingActivity.organisation_id == sub.organisation_id,
            ProcessingActivity.model_id.in_(model_ids),
            ProcessingActivity.status != ActivityStatus.ARCHIVED,
        )
        .execution_options(**UNSCOPED)  # unscoped: a subscription (syndicate side) ends the member's entry
    )
    for entry in entries:
        with audit.audited(
            sub.organisation_id, actor, "activity.archive_proposed", entry, ("is_archive_proposed",)
        ):
            entry.is_archive_proposed = True
