"""Form plumbing shared by every domain: hidden version field, field-level service errors and the
one ``handle_form`` flow (validate → service → commit → redirect, or re-display with what was typed).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from typing import Any

from flask import abort, flash, redirect, render_template, request
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import DateField, DateTimeLocalField, HiddenField, IntegerField, SelectMultipleField
from wtforms.fields.choices import SelectChoice
from wtforms.fields.core import UnboundField
from wtforms.widgets import CheckboxInput, ListWidget

from core.concurrency import EditConflict, conflict_response
from core.db import PARIS
from core.extensions import db
from core.field_errors import FieldError as FieldError  # re-exported: services import it from here
from core.field_errors import FieldErrors as FieldErrors
from core.field_errors import raise_field_errors as raise_field_errors
from core.params import MAX_ID, date_in_range, parse_int
from core.tenancy import UNSCOPED

_DIGITS = re.compile(r"[+-]?[0-9]+")
# WTForms' own messages, translated by WTForms' catalogue through ``field.gettext`` (named here, not
# written inside a gettext call, so that they stay out of the application's catalogue).
NOT_A_DATE = "Not a valid date value."
NOT_A_DATETIME = "Not a valid datetime value."
NOT_AN_INTEGER = "Not a valid integer value."
OUT_OF_RANGE = "Number must be between %(min)s and %(max)s."


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
    # unscoped: uniqueness holds across every organisation
    if db.session.scalar(stmt.execution_options(**UNSCOPED).limit(1)) is not None:
        raise FieldError(field, message)


class MultiCheckboxField(SelectMultipleField):
    """A multiple choice shown as a list of checkboxes (short reference lists)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class VersionedForm(FlaskForm):
    """Edit forms carry the version of the record they were loaded from (see core.concurrency)."""

    version = HiddenField()


def form_labels(form_class: type[Any], *names: str) -> dict[str, Any]:
    """The labels of a form's fields (``names``, or all of them), as the form declares them: what
    the journal shows for a stored field of the same name (see core.journal.JournalType)."""
    fields = []
    for name in names or dir(form_class):
        unbound = getattr(form_class, name, None)
        if not isinstance(unbound, UnboundField):
            if names:
                raise KeyError(f"{form_class.__name__} has no field {name!r}")
            continue
        label = unbound.kwargs.get("label", unbound.args[0] if unbound.args else None)
        if label is not None:
            fields.append((unbound.creation_counter, name, label))
    return {name: label for _order, name, label in sorted(fields, key=lambda f: f[0] if not names else 0)}


def enum_text(enum_cls: Any) -> Callable[[Any], str]:
    """A stored enum value → its label (the value itself if the enum no longer has it)."""

    def text(value: Any) -> str:
        try:
            return str(enum_cls(value).label)
        except ValueError:
            return str(value)

    return text


def enum_choices(enum_cls: Any) -> list[SelectChoice]:
    """Select options from an enum whose members have a (lazy, translated) ``label``."""
    return [SelectChoice(member.value, member.label) for member in enum_cls]


def to_choices(pairs: Iterable[tuple[Any, Any]], blank: Any = None) -> list[SelectChoice]:
    """Select options from (value, label) pairs, with an optional empty first option."""
    options = [SelectChoice("", blank)] if blank is not None else []
    return options + [SelectChoice(value, label) for value, label in pairs]


def enum_value(
    enum_cls: Any,
    value: Any,
    field: str,
    errors: list[FieldError],
    *,
    default: Any = None,
    required: bool = True,
) -> Any:
    """The member of ``enum_cls`` a service was given (a form's string or the member itself). Empty:
    ``default``, and "Ce champ est obligatoire." when it is ``required`` without a default; unknown:
    "Valeur inconnue.". Errors go to ``errors`` (the service reports them all at once)."""
    if value in (None, ""):
        if default is None and required:
            errors.append(FieldError(field, _("Ce champ est obligatoire.")))
        return default
    try:
        return enum_cls(value)
    except ValueError:
        errors.append(FieldError(field, _("Valeur inconnue.")))
        return default


def id_list(values: Any) -> list[int]:
    """The ids a service was given (a form's strings or ints), sorted, without repeats; what is not
    an id is dropped (the service checks the ids against the organisation's choices)."""
    out = set()
    for value in values or ():
        try:
            out.add(int(value))
        except (TypeError, ValueError):
            continue
    return sorted(out)


def text_value(value: Any, limit: int) -> str | None:
    """A text a service was given: stripped, None when empty, cut one character past ``limit`` —
    never more — so that the length rule still sees it is too long (and names the field)."""
    if value is None:
        return None
    text = str(value).strip()
    return text[: limit + 1] or None


def strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def none_if_empty(value: Any) -> Any:
    return None if value in ("", "None") else value


def coerce_id(value: Any) -> int:
    """Coerce a select's value to an id (1 .. 2**31 - 1, see core.params); anything else is a
    field error ("could not coerce"), never an overflow in the database."""
    number = parse_int(value)
    if number is None:
        raise ValueError(value)
    return number


def coerce_optional_int(value: Any) -> int | None:
    """An optional id: "" and None (not chosen) are None; otherwise as :func:`coerce_id`."""
    if value in (None, "", "None"):
        return None
    return coerce_id(value)


class BoundedDateField(DateField):
    """A date between the years 1900 and 2200 (core.params): year 1 or 9999 is a typing slip, and
    would overflow the first date computation (a deadline, a time zone). Out of range, the field
    shows WTForms' own "not a valid date" error."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        if isinstance(self.data, date) and not date_in_range(self.data):
            self.data = None
            raise ValueError(self.gettext(NOT_A_DATE))


class BoundedIntegerField(IntegerField):
    """A whole number in ``minimum .. maximum`` (default 0 .. 2**31 - 1, a PostgreSQL ``integer``),
    checked as it is read (core.params): a 400-digit number is a field error, not an overflow in a
    validator or in the database. The errors are WTForms' own (translated) messages."""

    def __init__(self, *args: Any, minimum: int = 0, maximum: int = MAX_ID, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.minimum, self.maximum = minimum, maximum

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            return
        self.data = parse_int(valuelist[0], minimum=self.minimum, maximum=self.maximum)
        if self.data is not None:
            return
        if not _DIGITS.fullmatch(str(valuelist[0]).strip()):
            raise ValueError(self.gettext(NOT_AN_INTEGER))
        message = self.gettext(OUT_OF_RANGE)
        raise ValueError(message % {"min": self.minimum, "max": self.maximum})


def handle_form(
    form: FlaskForm,
    save: Callable[[dict[str, Any]], Any],
    *,
    template: str,
    success_message: str,
    success_url: Callable[[Any], str],
    edited: Any = None,
    **context: Any,
) -> Any:
    """``edited``: the record the form edits, when its choices depend on the record's state (a
    fiche's statuses): a form read before somebody else saved it is a conflict (409) even when one
    of its values is no longer a valid choice, not a form to correct (422)."""
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
        if edited is not None and _is_stale(form, edited):
            return conflict_response(form, edited, template, **context)
        flash(_("Le formulaire contient des erreurs : corrigez les champs signalés."), "danger")
        return render_template(template, form=form, **context), 422
    return render_template(template, form=form, **context)


def _is_stale(form: FlaskForm, edited: Any) -> bool:
    version = getattr(form, "version", None)
    return version is not None and str(version.data) != str(getattr(edited, "version", version.data))


def handle_delete(
    delete: Callable[[Any], Any],
    *,
    success_message: str,
    success_url: str,
    conflict_message: str,
    back_url: str,
    form: FlaskForm | None = None,
) -> Any:
    """A delete button's POST, as ``handle_form`` is an edit's: the form checked (CSRF, and the
    version the page was loaded with when it is a ``VersionedForm``), ``delete(version)`` run and
    committed. A record changed in the meantime (``EditConflict``: ``conflict_message``) or a refusal
    of the service (``FieldError``: its message) deletes nothing and leads back to ``back_url``."""
    form = form or VersionedForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        delete(form.version.data if isinstance(form, VersionedForm) else None)
    except EditConflict:
        db.session.rollback()
        flash(conflict_message, "warning")
        return redirect(back_url)
    except FieldError as error:
        db.session.rollback()
        flash(error.message, "danger")
        return redirect(back_url)
    db.session.commit()
    flash(success_message, "success")
    return redirect(success_url)


INPUT_FORMAT = "%Y-%m-%dT%H:%M"


class LocalDateTimeField(DateTimeLocalField):
    """A ``datetime-local`` input typed in French local time (Europe/Paris); ``data`` is aware UTC.

    A stored (UTC) value is shown in local time; what was typed is shown back as typed.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("format", [INPUT_FORMAT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"])
        super().__init__(*args, **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        if isinstance(self.data, datetime) and not date_in_range(self.data.date()):
            # Year 1 or 9999 (core.params): a typing slip, and the time-zone shift would overflow.
            self.data = None
            raise ValueError(self.gettext(NOT_A_DATETIME))
        if isinstance(self.data, datetime) and self.data.tzinfo is None:
            self.data = self.data.replace(tzinfo=PARIS).astimezone(UTC)

    def _value(self) -> str:
        if self.raw_data:
            return " ".join(self.raw_data)
        if isinstance(self.data, datetime):
            value = self.data if self.data.tzinfo is None else self.data.astimezone(PARIS)
            return value.strftime(INPUT_FORMAT)
        return ""
