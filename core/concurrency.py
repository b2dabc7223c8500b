"""Optimistic locking: two people editing the same record.

Every editable model has a ``version`` column (``version_id_col``). Edit forms carry the version they
were loaded with; the service calls :func:`check_version` before changing anything. The check reads
the committed version with the row locked (PostgreSQL ``SELECT … FOR UPDATE``; SQLite's write
transaction already holds the database), so no other request can change the row between the check
and the commit: an edit either lands or is a conflict, never a ``StaleDataError`` surfacing from an
autoflush as a 500 (seen with 50 sessions editing 20 fiches on two servers,
tests/scale/test_concurrent_edits.py). A race between two flushes of an unchecked write still
raises ``StaleDataError``, which :func:`flush_or_conflict` turns into the same
:class:`EditConflict`. The view answers with :func:`conflict_response`: the edit page again, status
409, with the user's typed values kept, the stored version beside them, and the form's version moved
forward so that saving again is a deliberate overwrite.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from flask import render_template
from flask_babel import format_date, format_datetime
from flask_babel import gettext as _
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from wtforms import Field, Form

from core.extensions import db
from core.field_errors import FieldError
from core.tenancy import UNSCOPED

SKIPPED_FIELDS = {"csrf_token", "version", "submit"}
T = TypeVar("T")


class EditConflict(Exception):
    """Somebody saved the record after the form was loaded."""

    def __init__(self, obj: Any) -> None:
        super().__init__(f"edit conflict on {obj!r}")
        self.obj = obj


def check_version(obj: Any, submitted_version: Any) -> None:
    try:
        submitted = int(submitted_version)
    except (TypeError, ValueError):
        raise EditConflict(obj) from None
    if submitted != obj.version or committed_version(obj) != obj.version:
        raise EditConflict(obj)


def committed_version(obj: Any) -> int:
    """The version of ``obj``'s row as committed now, the row locked until this transaction ends
    (PostgreSQL waits for a concurrent writer to finish, then reads what it wrote). A new object:
    its own."""
    state = sa_inspect(obj)
    mapper = state.mapper
    if state.identity is None or mapper.version_id_col is None:
        return int(obj.version)
    key = dict(zip((c.key for c in mapper.primary_key), state.identity, strict=True))
    stmt = (
        select(mapper.version_id_col)
        .where(*(column == key[column.key] for column in mapper.primary_key))
        .with_for_update()
        # unscoped: the object itself was loaded through the tenant's checks; this reads its version
        .execution_options(**UNSCOPED)
    )
    with db.session.no_autoflush:
        value = db.session.execute(stmt).scalar_one_or_none()
    return -1 if value is None else int(value)  # deleted meanwhile: a conflict


def flush_or_conflict(obj: Any) -> None:
    try:
        db.session.flush()
    except StaleDataError as exc:
        raise EditConflict(obj) from exc


@dataclass(frozen=True)
class ConflictRow:
    label: str
    mine: str
    theirs: str

    @property
    def differs(self) -> bool:
        return self.mine != self.theirs


def _display(field: Field, value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("Oui") if value else _("Non")
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return format_date(value)
    if hasattr(value, "value") and not isinstance(value, str | int):  # enum members
        value = value.value
    choices = getattr(field, "choices", None)
    if choices:
        labels = {str(k): str(v) for k, v in (tuple(c)[:2] for c in choices)}
        if isinstance(value, list | tuple | set):
            return ", ".join(labels.get(str(v), str(v)) for v in value) or "—"
        return labels.get(str(value), str(value))
    return str(value)


def conflict_rows(form: Form, obj: Any) -> list[ConflictRow]:
    rows = []
    for field in form:
        if field.name in SKIPPED_FIELDS or field.type in {"SubmitField", "CSRFTokenField"}:
            continue
        stored = getattr(obj, field.name, None)
        if hasattr(form, f"stored_{field.name}"):
            stored = getattr(form, f"stored_{field.name}")(obj)
        if hasattr(form, f"display_{field.name}"):  # structured fields (rows) say how to show them
            show = getattr(form, f"display_{field.name}")
            rows.append(ConflictRow(str(field.label.text), show(field.data), show(stored)))
            continue
        rows.append(ConflictRow(str(field.label.text), _display(field, field.data), _display(field, stored)))
    return rows


def conflict_response(form: Form, obj: Any, template: str, **context: Any) -> tuple[str, int]:
    db.session.rollback()
    db.session.refresh(obj)
    rows = conflict_rows(form, obj)
    form.version.data = obj.version
    return render_template(template, form=form, conflict=rows, conflict_obj=obj, **context), 409


def create_once(
    create: Callable[[], T], existing: Callable[[], Any], *, otherwise: FieldError | None = None
) -> T:
    """Run ``create`` — which adds, journals and flushes a record there may be only one of (an
    organisation's parcours, risk scale or public register, the SoA entry of a control) — in a
    savepoint. When another request created that record in between (its unique constraint fires),
    nothing of ours is kept (record and journal entry rolled back with the savepoint) and the other
    one is what we were editing: :class:`EditConflict` with it, so the page shows both versions and
    keeps what was typed, as for any edit that came second. ``existing`` finds that record; if it
    finds none, the constraint was another one (a public register's address): ``otherwise`` is
    raised (a message beside the field), or the error itself.

    Without this, two people saving such a form for the first time at the same instant got a 500.
    """
    try:
        with db.session.begin_nested():
            return create()
    except IntegrityError:
        found = existing()
        if found is not None:
            raise EditConflict(found) from None
        if otherwise is not None:
            raise otherwise from None
        raise


def with_fresh_reference(create: Callable[[], T], *, attempts: int = 3) -> T:
    """Run ``create`` (which picks the next free reference, writes and flushes) in a savepoint and,
    when another request took the same reference in between (the unique constraint on
    ``(organisation_id, reference)`` fires), run it again: it picks the next one.

    Without this, two people creating a record in the same organisation at the same instant would
    get a 500 page; with it the second one gets the following number (or, after ``attempts`` tries,
    a message beside the field).
    """
    for _attempt in range(attempts):
        try:
            with db.session.begin_nested():
                return create()
        except IntegrityError as exc:
            if "reference" not in str(exc.orig).lower():
                raise
    raise FieldError(
        "reference", _("Cette référence vient d'être attribuée ailleurs : enregistrez de nouveau.")
    )
