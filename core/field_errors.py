"""Errors a service raises about a form field (uniqueness, cross-record consistency): the one
vocabulary shared by the services, :mod:`core.forms` (shows them beside their fields) and
:mod:`core.concurrency` (a reference taken in between). No import from the project: both use it."""

from __future__ import annotations

from typing import Any


class FieldError(Exception):
    """A rule only the service can check (uniqueness, cross-record consistency), tied to a field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message

    def attach(self, form: Any) -> None:
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

    def attach(self, form: Any) -> None:
        for error in self.errors:
            FieldError.attach(error, form)


def raise_field_errors(errors: list[FieldError]) -> None:
    """Raise the errors found by a service's checks, if any (one, or all of them together)."""
    if errors:
        raise errors[0] if len(errors) == 1 else FieldErrors(errors)
