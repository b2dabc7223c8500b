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
# not archived. Its DPIA is missing when required and not done (queries.is_dpia_missing).
COUNTED = "{row}.is_model = {false} AND {row}.status <> 'archived'"
DPIA_MISSING = "({row}.is_dpia_required = {true} AND {row}.dpia_status <> 'done')"
WATCHED = "is_model, status, completeness, is_dpia_required, dpia_status, organisation_id"

PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION register_figures_apply() RETURNS trigger AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') AND {COUNTED.format(row="OLD", false="false")} THEN
    UPDATE register_figures
       SET fiches = fiches - 1,
           completeness_total = completeness_total - OLD.completeness,
           dpia_missing = dpia_missing - ({DPIA_MISSING.format(row="OLD", true="true")})::int
     WHERE organisation_id = OLD.organisation_id;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') AND {COUNTED.format(row="NEW", false="false")} THEN
    INSERT INTO register_figures (organisation_id, fiches, completeness_total, dpia_missing)
    VALUES (NEW.organisation_id, 1, NEW.completeness, ({DPIA_MISSING.format(row="NEW", true="true")})::int)
    ON CONFLICT (organisation_id) DO UPDATE
       SET fiches = register_figures.fiches + 1,
           completeness_total = register_figures.completeness_total + EXCLUDED.completeness_total,
           dpia_missing = register_figures.dpia_missing + EXCLUDED.dpia_missing;
  END IF;
  RETURN NULL;
END
$$ LANGUAGE plpgsql
"""


def _sqlite_remove(row: str) -> str:
    return f"""
    UPDATE register_figures
       SET fiches = fiches - 1,
           completeness_total = completeness_total - {row}.completeness,
           dpia_missing = dpia_missing - {DPIA_MISSING.format(row=row, true="1")}
     WHERE organisation_id = {row}.organisation_id AND {COUNTED.format(row=row, false="0")};"""


def _sqlite_add(row: str) -> str:
    # INSERT … SELECT: SQLite's parser needs the WHERE before an upsert's ON CONFLICT.
    return f"""
    INSERT INTO register_figures (organisation_id, fiches, completeness_total, dpia_missing)
    SELECT {row}.organisation_id, 1, {row}.completeness, {DPIA_MISSING.format(row=row, true="1")}
     WHERE {COUNTED.format(row=row, false="0")}
    ON CONFLICT (organisation_id) DO UPDATE
       SET fiches = fiches + 1,
           completeness_total = completeness_total + excluded.completeness_total,
           dpia_missing = dpia_missing + excluded.dpia_missing;"""


SQLITE_TRIGGERS = {
    "register_figures_insert": f"AFTER INSERT ON processing_activities BEGIN {_sqlite_add('NEW')} END",
    "register_figures_update": (
        f"AFTER UPDATE OF {WATCHED} ON processing_activities BEGIN {_sqlite_remove('OLD')} {_sqlite_add('NEW')} END"
    ),
    "register_figures_delete": f"AFTER DELETE ON processing_activities BEGIN {_sqlite_remove('OLD')} END",
}


def upgrade() -> None:
    # The portfolio sorted by completeness or by missing DPIAs ranks every organisation a DPO serves:
    # aggregated from the fiches, that read 250,000 rows a page (100-200 ms at 5,000 organisations).
    # Kept here by triggers, the figures are right whatever writes the fiches (the ORM, a bulk
    # INSERT of an import, a script): no code path can forget them.
    op.create_table(
        "register_figures",
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("fiches", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("completeness_total", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("dpia_missing", sa.Integer(), nullable=False, server_default="0"),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_register_figures_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("organisation_id", name=op.f("pk_register_figures")),
    )
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    false, true = ("0", "1") if sqlite else ("false", "true")
    op.execute(
        f"""INSERT INTO register_figures (organisation_id, fiches, completeness_total, dpia_missing)
        SELECT organisation_id, count(*), coalesce(sum(completeness), 0),
               sum(CASE WHEN {DPIA_MISSING.format(row="processing_activities", true=true)} THEN 1 ELSE 0 END)
          FROM processing_activities
         WHERE {COUNTED.format(row="processing_activities", false=false)}
         GROUP BY organisation_id"""
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
