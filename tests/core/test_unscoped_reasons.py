"""A read past the tenant filter is spelled one way, ``execution_options(**UNSCOPED)`` (or
``execution_options=UNSCOPED``), and says why beside it: a ``# unscoped: <reason>`` comment on the
statement's lines or the line just above (core.tenancy). A reviewer reads each reason; this test
makes sure there is one to read, in every product module, a new domain's included."""

from __future__ import annotations

import ast
import io
import tokenize
from collections.abc import Iterator
from pathlib import Path

PRODUCT = Path(__file__).resolve().parents[2]
PACKAGES = ("accounts", "audits", "catalogue", "core", "registers", "reports", "risks", "smsi")
REASON = "unscoped:"


def _uses(tree: ast.AST) -> Iterator[ast.Call]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and any(
            isinstance(kw.value, ast.Name) and kw.value.id == "UNSCOPED" for kw in node.keywords
        ):
            yield node


def _statement_spans(tree: ast.AST) -> list[tuple[int, int]]:
    """(first, last) line of each simple statement, and of the header of each compound one."""
    spans = []
    for node in ast.walk(tree):
        if isinstance(node, ast.If | ast.While):
            spans.append((node.lineno, node.test.end_lineno or node.lineno))
        elif isinstance(node, ast.For):
            spans.append((node.lineno, node.iter.end_lineno or node.lineno))
        elif isinstance(node, ast.With):
            spans.append((node.lineno, node.items[-1].context_expr.end_lineno or node.lineno))
        elif isinstance(node, ast.stmt) and not isinstance(
            node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Try
        ):
            spans.append((node.lineno, node.end_lineno or node.lineno))
    return spans


def unscoped_without_reason(source: str) -> list[int]:
    """First lines of the statements of ``source`` using UNSCOPED with no ``# unscoped:`` reason."""
    tree = ast.parse(source)
    comments = {
        t.start[0]: t.string
        for t in tokenize.generate_tokens(io.StringIO(source).readline)
        if t.type == tokenize.COMMENT
    }
    spans = _statement_spans(tree)
    missing = []
    for call in _uses(tree):
        around = [s for s in spans if s[0] <= call.lineno <= s[1]]
        first, last = min(around, key=lambda s: s[1] - s[0]) if around else (call.lineno, call.lineno)
        if not any(REASON in comments.get(line, "") for line in range(first - 1, last + 1)):
            missing.append(first)
    return missing


def test_every_unscoped_read_says_why() -> None:
    missing = [
        f"{path.relative_to(PRODUCT)}:{line}"
        for package in PACKAGES
        for path in sorted((PRODUCT / package).rglob("*.py"))
        for line in unscoped_without_reason(path.read_text(encoding="utf-8"))
    ]
    assert missing == [], "add a '# unscoped: <reason>' beside each of these reads"


def _source(*lines: str) -> str:
    return "\n".join(lines) + "\n"


def test_the_scan_sees_a_missing_reason_and_accepts_the_two_places_of_one() -> None:
    without = _source("rows = db.session.scalars(", "  select(A)", "  .execution_options(**UNSCOPED)", ")")
    assert unscoped_without_reason(without) == [1]
    beside = _source(
        "rows = db.session.scalars(",
        "    select(A)",
        "    .execution_options(**UNSCOPED)  # unscoped: platform job",
        ")",
    )
    above = _source(
        "# unscoped: the member's syndicate",
        "syndicate = db.session.get(Org, 1, execution_options=UNSCOPED)",
    )
    assert unscoped_without_reason(beside) == []
    assert unscoped_without_reason(above) == []
    # a reason two statements up does not cover this one
    far = _source(
        "# unscoped: the count",
        "total = 1",
        "rows = db.session.scalars(select(A).execution_options(**UNSCOPED))",
    )
    assert unscoped_without_reason(far) == [3]
