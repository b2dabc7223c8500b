"""Form plumbing shared by every domain: hidden version field, field-level service errors and the
one ``handle_form`` flow (validate → service → commit → redirect, or re-display with what was typed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import flash, redirect, render_template, request
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import HiddenField, SelectMultipleField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from core.concurrency import EditConflict, conflict_response
from core.extensions import db


class FieldError(Exception):
    """A rule only the service can check (uniqueness, cross-record consistency), tied to a field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message

    def attach(self, form: FlaskForm) -> None:
        target = getattr(form, self.field, None)
        if target is None:
            form.form_errors.append(self.message)
        else:
            target.errors = [*target.errors, self.message]


class FieldErrors(FieldError):
    """Several field errors at once: a form shows each beside its field, an import lists them all."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(errors[0].field, errors[0].message)
        self.errors = errors

    def attach(self, form: FlaskForm) -> None:
        for error in self.errors:
            FieldError.attach(error, form)


def raise_field_errors(errors: list[FieldError]) -> None:
    """Raise the errors found by a service's checks, if any (one, or all of them together)."""
    if errors:
        raise errors[0] if len(errors) == 1 else FieldErrors(errors)


def ensure_unique(
    model: Any,
    column: Any,
    value: Any,
    *,
    field: str,
    message: str,
    exclude_id: int | None = None,
    where: tuple[Any, ...] = (),
) -> None:
    """Raise FieldError when another row (case-insensitively) already has ``value`` in ``column``.

    Checked across every tenant (uniqueness is global, or narrowed by ``where``): the database's
    unique constraints stay the last word, this gives the person a message beside the field.
    """
    if value is None:
        return
    stmt = select(model.id).where(func.lower(column) == str(value).lower(), *where)
    if exclude_id is not None:
        stmt = stmt.where(model.id != exclude_id)
    if db.session.scalar(stmt.execution_options(skip_org_scope=True).limit(1)) is not None:
        raise FieldError(field, message)


class MultiCheckboxField(SelectMultipleField):
    """A multiple choice shown as a list of checkboxes (short reference lists)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class VersionedForm(FlaskForm):
    """Edit forms carry the version of the record they were loaded from (see core.concurrency)."""

    version = HiddenField()


def enum_choices(enum_cls: Any) -> list[SelectChoice]:
    """Select options from an enum whose members have a (lazy, translated) ``label``."""
    return [SelectChoice(member.value, member.label) for member in enum_cls]


def to_choices(pairs: Iterable[tuple[Any, Any]], blank: Any = None) -> list[SelectChoice]:
    """Select options from (value, label) pairs, with an optional empty first option."""
    options = [SelectChoice("", blank)] if blank is not None else []
    return options + [SelectChoice(value, label) for value, label in pairs]


def strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def none_if_empty(value: Any) -> Any:
    return None if value in ("", "None") else value


def coerce_optional_int(value: Any) -> int | None:
    if value in (None, "", "None"):
        return None
    return int(value)


def handle_form(
    form: FlaskForm,
    save: Callable[[dict[str, Any]], Any],
    *,
    template: str,
    success_message: str,
    success_url: Callable[[Any], str],
    **context: Any,
) -> Any:
    if form.validate_on_submit():
        try:
            result = save(form.data)
        except EditConflict as conflict:
            return conflict_response(form, conflict.obj, template, **context)
        except FieldError as error:
            db.session.rollback()
            error.attach(form)
        else:
            db.session.commit()
            flash(success_message, "success")
            return redirect(success_url(result))
    if request.method == "POST":
        flash(_("Le formulaire contient des erreurs : corrigez les champs signalés."), "danger")
        return render_template(template, form=form, **context), 422
    return render_template(template, form=form, **context)
