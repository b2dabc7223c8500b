"""Corrective and preventive actions (ISO/IEC 27001:2022 §10.2): the rules, the writes, the lists.

* An action comes from somewhere: an incident of the organisation (linked), a decision of one of
  its weekly reviews (origin "revue de direction", linked: the review lists the actions it decided),
  or an origin described in words until the audits, risks and parcours domains exist (a finding, a
  risk, a measure).
* Its owner is a person holding an SMSI role in the organisation; its due date is not in the past
  when it is created.
* **Closed only when proven effective**: the status "efficacité vérifiée" asks how the check was
  made, when, by whom and its result; "inefficace" keeps it open (to be reworked, with a new due
  date). ``is_open`` is stored (indexed: the lists and the home page filter on it).
* When an owner leaves, :func:`reassign` hands every open action of his to someone else at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import joinedload, lazyload

from accounts.models import Organisation, User
from accounts.services.users import people_holding
from core import audit, references
from core.concurrency import check_version, flush_or_conflict, with_fresh_reference
from core.db import today
from core.extensions import db
from core.forms import FieldError, enum_value, raise_field_errors, text_value
from core.pagination import Page, paginate, paginate_capped
from core.params import parse_int
from core.security import Permission, roles_granting
from core.tenancy import UNSCOPED, scoped
from core.text import fold
from smsi.models import (
    Action,
    ActionOrigin,
    ActionPriority,
    ActionStatus,
    ActionType,
    Incident,
    WeeklyReview,
    search_text,
)

FIELDS: tuple[str, ...] = (
    "title",
    "description",
    "origin",
    "incident_id",
    "origin_detail",
    "review_id",
    "type",
    "priority",
    "owner_id",
    "due_on",
    "status",
    "done_on",
    "check_method",
    "checked_on",
    "checked_by_id",
    "check_result",
)
AUDITED_FIELDS = (*FIELDS, "reference", "is_open")
MAX_TEXT = 10_000
WEEK = 7


def _text(value: Any, limit: int = MAX_TEXT) -> str | None:
    return text_value(value, limit)


def _id(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "", "None") else None
    except (TypeError, ValueError):
        return None


def owner_choices(org_id: int, *, include: int | None = None) -> list[tuple[int, str]]:
    """Who may own an action: the people holding an SMSI role in the organisation."""
    return people_holding(org_id, roles_granting(Permission.SMSI_VIEW), include=include)


def incident_choices(org_id: int, *, include: int | None = None) -> list[tuple[int, str]]:
    """The organisation's incidents an action may come from, latest first (the 300 latest, and the
    current one)."""
    stmt = (
        select(Incident.id, Incident.reference, Incident.title)
        .where(Incident.organisation_id == org_id)
        .order_by(Incident.detected_at.desc(), Incident.id.desc())
        .execution_options(**UNSCOPED)  # unscoped: filtered on the organisation explicitly
    )
    rows = list(db.session.execute(stmt.limit(300)))
    if include is not None and all(r.id != include for r in rows):
        rows += list(db.session.execute(stmt.where(Incident.id == include)))
    return [(r.id, f"{r.reference} — {r.title}") for r in rows]


def review_of(org_id: int, review_id: int | None) -> WeeklyReview | None:
    """The organisation's weekly review ``review_id`` — None for an id from elsewhere: an action is
    never linked to another organisation's review."""
    if review_id is None:
        return None
    return db.session.scalar(
        select(WeeklyReview)
        .where(WeeklyReview.id == review_id, WeeklyReview.organisation_id == org_id)
        .execution_options(**UNSCOPED)  # unscoped: filtered on the organisation explicitly
    )


def normalise(data: Mapping[str, Any], errors: list[FieldError]) -> dict[str, Any]:
    out: dict[str, Any] = {name: data.get(name) for name in FIELDS}
    out["title"] = _text(out["title"], 200)
    out["origin_detail"] = _text(out["origin_detail"], 300)
    for name in ("description", "check_method", "check_result"):
        out[name] = _text(out[name])
    out["origin"] = enum_value(ActionOrigin, out["origin"], "origin", errors)
    out["type"] = enum_value(ActionType, out["type"], "type", errors)
    out["priority"] = enum_value(
        ActionPriority, out["priority"], "priority", errors, default=ActionPriority.NORMAL
    )
    out["status"] = enum_value(ActionStatus, out["status"], "status", errors, default=ActionStatus.PLANNED)
    for name in ("incident_id", "owner_id", "checked_by_id"):
        out[name] = _id(out[name])
    out["review_id"] = parse_int(out["review_id"])  # junk or out of range: no review
    if out["origin"] is not ActionOrigin.INCIDENT:
        out["incident_id"] = None
    if out["origin"] is not ActionOrigin.MANAGEMENT_REVIEW:  # a review decides management actions
        out["review_id"] = None
    if out["status"] not in (ActionStatus.EFFECTIVE, ActionStatus.INEFFECTIVE):
        out["check_method"] = out["checked_on"] = out["checked_by_id"] = out["check_result"] = None
    if out["status"] in (ActionStatus.PLANNED, ActionStatus.IN_PROGRESS):
        out["done_on"] = None
    return out


def validate(org_id: int, action: Action | None, data: Mapping[str, Any]) -> list[FieldError]:
    errors: list[FieldError] = []
    if not data["title"]:
        errors.append(FieldError("title", _("Donnez un intitulé à l'action.")))
    for name, limit in (("title", 200), ("origin_detail", 300), ("description", MAX_TEXT)):
        if data.get(name) and len(data[name]) > limit:
            errors.append(FieldError(name, _("%(n)s caractères au plus.", n=limit)))
    due = data.get("due_on")
    if due is None:
        errors.append(FieldError("due_on", _("Indiquez l'échéance.")))
    elif action is None and due < today():
        errors.append(FieldError("due_on", _("Une nouvelle action ne peut pas être déjà échue.")))
    if data["origin"] is ActionOrigin.INCIDENT:
        if data["incident_id"] is None:
            errors.append(FieldError("incident_id", _("Choisissez l'incident d'où vient l'action.")))
        elif data["incident_id"] not in dict(incident_choices(org_id, include=data["incident_id"])):
            errors.append(FieldError("incident_id", _("Incident inconnu dans cette organisation.")))
    elif data["origin"] is not None and not data["origin_detail"]:
        errors.append(
            FieldError("origin_detail", _("Précisez l'origine (le constat, le risque, la mesure…)."))
        )
    review_id = data.get("review_id")
    unchanged = action is not None and review_id == action.review_id
    if review_id is not None and not unchanged and review_of(org_id, review_id) is None:
        errors.append(FieldError("review_id", _("Revue hebdomadaire inconnue dans cette organisation.")))
    current_owner = action.owner_id if action else None
    people = dict(owner_choices(org_id, include=current_owner))
    if data["owner_id"] is None:
        errors.append(FieldError("owner_id", _("Désignez le responsable de l'action.")))
    elif data["owner_id"] not in people:
        errors.append(FieldError("owner_id", _("Cette personne n'a pas de rôle SMSI dans l'organisation.")))
    status = data["status"]
    if (
        status in (ActionStatus.DONE, ActionStatus.EFFECTIVE, ActionStatus.INEFFECTIVE)
        and not data["done_on"]
    ):
        errors.append(FieldError("done_on", _("Indiquez quand l'action a été réalisée.")))
    if data.get("done_on") and data["done_on"] > today():
        errors.append(FieldError("done_on", _("La réalisation ne peut pas être dans le futur.")))
    if status in (ActionStatus.EFFECTIVE, ActionStatus.INEFFECTIVE):
        checks = (
            ("check_method", _("Décrivez comment l'efficacité a été vérifiée.")),
            ("checked_on", _("Indiquez la date de la vérification.")),
            ("checked_by_id", _("Indiquez qui a vérifié l'efficacité.")),
            ("check_result", _("Indiquez le résultat de la vérification.")),
        )
        errors += [FieldError(name, message) for name, message in checks if not data.get(name)]
        if data.get("checked_by_id") and data["checked_by_id"] not in people:
            errors.append(
                FieldError("checked_by_id", _("Cette personne n'a pas de rôle SMSI dans l'organisation."))
            )
        checked, done = data.get("checked_on"), data.get("done_on")
        if checked and done and checked < done:
            errors.append(FieldError("checked_on", _("L'efficacité se vérifie après la réalisation.")))
        if checked and checked > today():
            errors.append(FieldError("checked_on", _("La vérification ne peut pas être dans le futur.")))
    if status is ActionStatus.INEFFECTIVE and due is not None and due < today():
        errors.append(FieldError("due_on", _("Action inefficace : donnez-lui une nouvelle échéance.")))
    return errors


def _save(
    org: Organisation, actor: User | None, action: Action, data: Mapping[str, Any], name: str
) -> Action:
    errors: list[FieldError] = []
    clean = normalise(data, errors)
    errors += validate(org.id, None if action.id is None else action, clean)
    raise_field_errors(errors)
    with audit.audited(org.id, actor, name, action, AUDITED_FIELDS):
        for field in FIELDS:
            setattr(action, field, clean[field])
        action.is_open = action.status.is_open
        if action.id is None:
            action.reference = references.next_reference(Action, org.id, f"ACT-{today():%Y}-")
            db.session.add(action)
        action.search_text = search_text(action.reference, action.title)
        flush_or_conflict(action)
    return action


def create_action(org: Organisation, actor: User | None, data: Mapping[str, Any]) -> Action:
    return with_fresh_reference(
        lambda: _save(org, actor, Action(organisation_id=org.id), data, "action.create")
    )


def update_action(action: Action, actor: User | None, data: Mapping[str, Any]) -> Action:
    """``data`` carries the ``version`` the form was loaded with (EditConflict when stale)."""
    check_version(action, data.get("version"))
    org = db.session.get(Organisation, action.organisation_id)
    return _save(org, actor, action, data, "action.update")


def reassign(org: Organisation, actor: User | None, from_id: int, to_id: int) -> int:
    """Every open action of ``from_id`` in the organisation given to ``to_id`` (someone holding an
    SMSI role there); each change journalled. Returns how many."""
    if from_id not in dict(owners_with_open_actions(org.id)):
        raise FieldError("from_id", _("Cette personne n'a aucune action ouverte."))
    if to_id not in dict(owner_choices(org.id)):
        raise FieldError("to_id", _("Cette personne n'a pas de rôle SMSI dans l'organisation."))
    if from_id == to_id:
        raise FieldError("to_id", _("Choisissez une autre personne."))
    actions = list(
        db.session.scalars(
            scoped(select(Action), Action).where(Action.owner_id == from_id, Action.is_open.is_(True))
        )
    )
    for action in actions:
        with audit.audited(org.id, actor, "action.reassign", action, ("owner_id",)):
            action.owner_id = to_id
    db.session.flush()
    return len(actions)


# --- reads --------------------------------------------------------------------------------------


@dataclass
class ActionFilters:
    q: str = ""
    status: str = "open"  # "open" / "closed" / "all"
    origin: str = ""
    due: str = ""  # "overdue" / "week"
    owner_id: int | None = None  # ?mine=1: the reader's own (set by the view)

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> ActionFilters:
        status = str(args.get("status", "open"))
        due = str(args.get("due", ""))
        return cls(
            q=str(args.get("q", "")).strip()[:100],
            status=status if status in ("open", "closed", "all") else "open",
            origin=str(args.get("origin", "")),
            due=due if due in ("overdue", "week") else "",
        )


def is_overdue(on: Any) -> ColumnElement[bool]:
    return and_(Action.is_open.is_(True), Action.due_on < on)


def is_due_this_week(on: date) -> ColumnElement[bool]:
    return and_(Action.is_open.is_(True), Action.due_on >= on, Action.due_on <= on + timedelta(days=WEEK))


def actions_query(filters: ActionFilters) -> Select[Any]:
    """The active organisation's actions, nearest due date first."""
    a = Action
    stmt = scoped(select(a), a)
    if filters.status == "open" or filters.due:
        stmt = stmt.where(a.is_open.is_(True))
    elif filters.status == "closed":
        stmt = stmt.where(a.is_open.is_(False))
    if filters.origin in {o.value for o in ActionOrigin}:
        stmt = stmt.where(a.origin == ActionOrigin(filters.origin))
    if filters.due == "overdue":
        stmt = stmt.where(is_overdue(today()))
    elif filters.due == "week":
        stmt = stmt.where(is_due_this_week(today()))
    if filters.owner_id is not None:
        stmt = stmt.where(a.owner_id == filters.owner_id)
    if filters.q:  # reference or title, case and accents ignored
        stmt = stmt.where(a.search_text.like(f"%{fold(filters.q)}%"))
    return stmt.order_by(a.due_on, a.id)


def actions_page(filters: ActionFilters, *, rows: bool = False, per_page: int | None = None) -> Page:
    """The page of :func:`actions_query` named by ``?page=``: the page's ids first — read from the
    index in the list's order, however deep the page — then those actions with their owner and
    incident (one query), rather than the joins of every row before the page. With ``rows``, rows
    of what the list shows (LIST_COLUMNS, the owner's name, the incident's reference) instead of
    whole actions. A search's page counts its matches up to a cap ("plus de 1 000",
    :func:`core.pagination.paginate_capped`): a common word matches tens of thousands of actions, and counting
    them all cost more than the page."""
    ids = actions_query(filters).with_only_columns(Action.id, maintain_column_froms=True)
    page = paginate_capped(ids, per_page=per_page) if filters.q else paginate(ids, per_page=per_page)
    if not page.items:
        return page
    if rows:
        found = db.session.execute(
            scoped(
                select(
                    *LIST_COLUMNS,
                    User.full_name.label("owner_name"),
                    Incident.reference.label("incident_reference"),
                ),
                Action,
            )
            .outerjoin(User, User.id == Action.owner_id)
            .outerjoin(Incident, Incident.id == Action.incident_id)
            .where(Action.id.in_(page.items))
        )
    else:
        found = db.session.scalars(
            scoped(select(Action), Action)
            .where(Action.id.in_(page.items))
            # The list shows neither the checker nor the incident's applications.
            .options(lazyload(Action.checked_by), joinedload(Action.incident).lazyload(Incident.applications))
        ).unique()
    loaded = {a.id: a for a in found}
    page.items = [loaded[i] for i in page.items if i in loaded]
    return page


# What the action list shows of an action (actions_page's rows).
LIST_COLUMNS = (
    Action.id,
    Action.reference,
    Action.title,
    Action.type,
    Action.origin,
    Action.due_on,
    Action.status,
    Action.is_open,
)


def actions_of_incident(incident: Incident) -> list[Action]:
    return list(
        db.session.scalars(
            scoped(select(Action), Action)
            .where(Action.incident_id == incident.id)
            .order_by(Action.due_on, Action.id)
        )
    )


@dataclass(frozen=True)
class MyActions:
    open: int
    overdue: int
    week: int


def my_actions(org_id: int, user_id: int) -> MyActions:
    """A person's open actions in the organisation: all, overdue, due within the week (one query)."""
    on = today()
    row = db.session.execute(
        select(
            func.count(),
            func.count().filter(Action.due_on < on),
            func.count().filter(and_(Action.due_on >= on, Action.due_on <= on + timedelta(days=WEEK))),
        )
        .where(Action.organisation_id == org_id, Action.owner_id == user_id, Action.is_open.is_(True))
        .execution_options(**UNSCOPED)  # unscoped: filtered on the organisation explicitly
    ).one()
    return MyActions(int(row[0]), int(row[1]), int(row[2]))


def action_titles(ids: Iterable[int]) -> dict[int, str]:
    ids = {int(i) for i in ids}
    if not ids:
        return {}
    rows = db.session.execute(
        scoped(select(Action.id, Action.reference, Action.title), Action).where(Action.id.in_(ids))
    )
    return {r.id: f"{r.reference} — {r.title}" for r in rows}


def owners_with_open_actions(org_id: int) -> list[tuple[int, str]]:
    """Whose open actions may be handed over: anyone owning one, role or not (he may have left)."""
    rows = db.session.execute(
        select(User.id, User.full_name)
        .where(
            User.id.in_(
                select(Action.owner_id).where(Action.organisation_id == org_id, Action.is_open.is_(True))
            )
        )
        .order_by(User.full_name, User.id)
        .execution_options(**UNSCOPED)  # unscoped: filtered on the organisation explicitly
    )
    return [(r.id, r.full_name) for r in rows]


# --- for the other domains (risks, parcours, audits link their objects to actions) ------------------


def open_action_choices(org_id: int, *, include: Iterable[int] = ()) -> list[tuple[int, str]]:
    """The organisation's open actions, nearest due date first (500 at most), and those in
    ``include`` whatever their state: what another domain's form offers to link."""
    keep = list(include)
    rows = db.session.execute(
        select(Action.id, Action.reference, Action.title)
        .where(
            Action.organisation_id == org_id,
            or_(Action.is_open.is_(True), Action.id.in_(keep)) if keep else Action.is_open.is_(True),
        )
        .order_by(Action.due_on, Action.id)
        .limit(500)
        .execution_options(**UNSCOPED)  # unscoped: filtered on the organisation explicitly
    )
    return [(r.id, f"{r.reference} — {r.title}") for r in rows]


def actions_by_ids(ids: Iterable[int], org_id: int | None = None) -> dict[int, Action]:
    """The active organisation's actions among ``ids`` (one query); ``org_id``: that organisation's,
    named explicitly (a document built by a background job, without a request)."""
    wanted = {int(i) for i in ids}
    if not wanted:
        return {}
    if org_id is None:
        stmt = scoped(select(Action), Action)
    else:
        # unscoped: filtered on the organisation explicitly (a background job has no request)
        stmt = select(Action).where(Action.organisation_id == org_id).execution_options(**UNSCOPED)
    return {a.id: a for a in db.session.scalars(stmt.where(Action.id.in_(wanted)))}
