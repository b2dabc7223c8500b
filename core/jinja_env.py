"""Égide's Jinja environment: Flask's, with the escaping of every ``{{ value }}`` made cheaper.

A list page writes about 700 values through autoescape (``{{ row.name }}``, a badge, a date). Jinja's
compiled templates call ``markupsafe.escape`` for each, and it builds its answer through
``Markup.__new__``, written in Python: 350 ns for a plain string, 450 ns for a value already safe
(a badge, a macro's output), which it copies. :func:`fast_escape` gives the same answers without that
constructor (190 ns and 60 ns): a quarter of a millisecond on a register list page, measured with
bench/bench_http.py. Only Égide's environment uses it (:class:`EgideCodeGenerator` writes it into the
compiled templates); markupsafe and Jinja are left as they are.

The answers are those of ``markupsafe.escape`` for every kind of value (tests/core/test_jinja_env.py
compares them); should a Jinja release stop calling the hook used here, templates fall back to
``markupsafe.escape`` — slower, never wrong — and that test fails.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from flask.templating import Environment
from jinja2.compiler import CodeGenerator
from markupsafe import Markup, _escape_inner

_new_str = str.__new__


def fast_escape(value: Any, /) -> Markup:
    """``markupsafe.escape(value)``, the Markup built directly (``str.__new__``) rather than through
    ``Markup.__new__``, and a value that already is exactly a Markup returned as it is (immutable:
    markupsafe returns an equal copy)."""
    kind = type(value)
    if kind is str:
        return _new_str(Markup, _escape_inner(value))
    if kind is Markup:
        return value
    if kind is int:  # digits and a sign: nothing to escape (bool, IntEnum: below, as markupsafe)
        return _new_str(Markup, int.__repr__(value))
    html = getattr(value, "__html__", None)
    if html is not None:
        return Markup(html())  # noqa: S704 — as markupsafe.escape: the object says it is safe
    return _new_str(Markup, _escape_inner(str(value)))


class EgideCodeGenerator(CodeGenerator):
    """Jinja's code generator, writing ``environment.fast_escape(`` where it writes ``escape(``
    before an autoescaped output (the name ``environment`` is in every compiled template's module)."""

    def _output_child_pre(self, node: Any, frame: Any, finalize: Any) -> None:
        if frame.eval_ctx.volatile:
            self.write("(environment.fast_escape if context.eval_ctx.autoescape else str)(")
        elif frame.eval_ctx.autoescape:
            self.write("environment.fast_escape(")
        else:
            self.write("str(")
        if finalize.src is not None:
            self.write(finalize.src)


class EgideEnvironment(Environment):
    """Flask's template environment with :class:`EgideCodeGenerator` (``app.jinja_environment``)."""

    code_generator_class = EgideCodeGenerator
    fast_escape = staticmethod(fast_escape)

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        """A template's globals: the environment's own dict when it has none of its own (all of
        Égide's), rather than Jinja's ChainMap over it. Jinja reads them as a set on every macro call
        and ``{% from … import … %}`` (``set(globals)``, ``keys() - …``), and over a ChainMap each took
        20 µs for Égide's forty globals (a list page imports and calls a dozen). Jinja's reason for
        the ChainMap — writes to one template's globals must not reach the others — does not arise:
        nothing writes to a template's globals once loaded (Jinja's own advice)."""
        if not d:
            return self.globals
        return super().make_globals(d)
