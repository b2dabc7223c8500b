"""register_figures: each organisation's register figures kept by the database itself

Revision ID: 20261203g
Revises: 20261203f
Create Date: 2026-12-03 13:10:00

"""

# ruff: noqa: S608 — the SQL below is built from this file's constants only, never from input

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261203g"
down_revision: str | Sequence[str] | None = "20261203f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A fiche counts when it is in the register (registers.services.queries.in_register): not a model,
# not archived. The counted conditions are those of registers.services.queries (is_dpia_missing,
# is_incomplete, is_awaiting_validation, is_template_decision), the home page's and the portfolio's
# figures. {row} is NEW, OLD or the table; {true}/{false} the dialect's booleans.
COUNTED = "{row}.is_model = {false} AND {row}.status <> 'archived'"
CONDITIONS = {
    "dpia_missing": "{row}.is_dpia_required = {true} AND {row}.dpia_status <> 'done'",
    "incomplete": "{row}.completeness < 100",
    "awaiting_validation": "{row}.status = 'in_review'",
    "template_decisions": "({row}.has_model_update = {true} OR {row}.is_archive_proposed = {true})",
}
WATCHED = (
    "is_model, status, completeness, is_dpia_required, dpia_status, has_model_update, "
    "is_archive_proposed, organisation_id"
)
COLUMNS = ("fiches", "completeness_total", *CONDITIONS)


def _values(row: str, true: str) -> dict[str, str]:
    """Each column's contribution of one counted fiche."""
    return {
        "fiches": "1",
        "completeness_total": f"{row}.completeness",
        **{
            name: f"(CASE WHEN {cond.format(row=row, true=true)} THEN 1 ELSE 0 END)"
            for name, cond in CONDITIONS.items()
        },
    }


def _remove(row: str, true: str) -> str:
    sets = ", ".join(f"{c} = {c} - {v}" for c, v in _values(row, true).items())
    return f"UPDATE register_figures SET {sets} WHERE organisation_id = {row}.organisation_id"


def _add(row: str, true: str, table: str) -> str:
    values = _values(row, true)
    sets = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in values)
    return (
        f"INSERT INTO register_figures (organisation_id, {', '.join(values)}) "
        f"SELECT {row}.organisation_id, {', '.join(values.values())} "
        "{where} "  # SQLite's parser needs a WHERE before an upsert's ON CONFLICT in INSERT … SELECT
        f"ON CONFLICT (organisation_id) DO UPDATE SET {sets}"
    )


PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION register_figures_apply() RETURNS trigger AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') AND {COUNTED.format(row="OLD", false="false")} THEN
    {_remove("OLD", "true")};
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') AND {COUNTED.format(row="NEW", false="false")} THEN
    {_add("NEW", "true", "register_figures").format(where="")};
  END IF;
  RETURN NULL;
END
$$ LANGUAGE plpgsql
"""


def _sqlite_remove(row: str) -> str:
    return f"{_remove(row, '1')} AND {COUNTED.format(row=row, false='0')};"


def _sqlite_add(row: str) -> str:
    return (
        _add(row, "1", "register_figures").format(where=f"WHERE {COUNTED.format(row=row, false='0')}") + ";"
    )


SQLITE_TRIGGERS = {
    "register_figures_insert": f"AFTER INSERT ON processing_activities BEGIN {_sqlite_add('NEW')} END",
    "register_figures_update": (
        f"AFTER UPDATE OF {WATCHED} ON processing_activities "
        f"BEGIN {_sqlite_remove('OLD')} {_sqlite_add('NEW')} END"
    ),
    "register_figures_delete": f"AFTER DELETE ON processing_activities BEGIN {_sqlite_remove('OLD')} END",
}


def upgrade() -> None:
    # The portfolio ranks every organisation a DPO serves, and the DPO's home page counts over all of
    # them: aggregated from the fiches, that read 250,000 rows a page (100-300 ms at 5,000
    # organisations). Kept here by triggers, the figures are right whatever writes the fiches (the
    # ORM, the import's bulk INSERT, a script): no code path can forget them.
    op.create_table(
        "register_figures",
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        *(sa.Column(c, sa.Integer(), nullable=False, server_default="0") for c in COLUMNS),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_register_figures_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("organisation_id", name=op.f("pk_register_figures")),
    )
    sqlite = op.get_bind().dialect.name == "sqlite"
    false, true = ("0", "1") if sqlite else ("false", "true")
    values = _values("processing_activities", true)
    sums = ", ".join("count(*)" if c == "fiches" else f"coalesce(sum({v}), 0)" for c, v in values.items())
    op.execute(
        f"INSERT INTO register_figures (organisation_id, {', '.join(values)}) "
        f"SELECT organisation_id, {sums} FROM processing_activities "
        f"WHERE {COUNTED.format(row='processing_activities', false=false)} GROUP BY organisation_id"
    )
    if sqlite:
        for name, body in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")
    else:
        op.execute(PG_FUNCTION)
        op.execute(
            "CREATE TRIGGER register_figures_apply AFTER INSERT OR UPDATE OR DELETE ON processing_activities "
            "FOR EACH ROW EXECUTE FUNCTION register_figures_apply()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        op.execute("DROP TRIGGER IF EXISTS register_figures_apply ON processing_activities")
        op.execute("DROP FUNCTION IF EXISTS register_figures_apply()")
    op.drop_table("register_figures")
