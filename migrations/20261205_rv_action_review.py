"""smsi: the weekly review whose decision created an action (smsi_actions.review_id)

Revision ID: 20261205rv
Revises: 20261204au
Create Date: 2026-12-05 00:55:00

A decision of the weekly review becomes an action: the action keeps the review it came from, and the
review lists the actions its decisions created. The application never deletes a review's minutes;
were one deleted, its actions would stay and lose the link (SET NULL).

On SQLite, no batch: a batch copies the table and drops the old one, and smsi_actions is referenced
by the risks, the parcours, EBIOS RM and the audits' findings — with foreign keys on (they cannot be
switched off inside the migration's transaction) the DROP fails, or deletes the rows that cascade.
The column is added by a plain ALTER TABLE, and its foreign key written into the table's definition
(SQLite's documented procedure for a change that leaves the stored rows as they are,
https://www.sqlite.org/lang_altertable.html#otheralter: every row's review_id is NULL then), as a
table constraint: SQLite would take it inline in ADD COLUMN, but SQLAlchemy reads neither the name
nor the ON DELETE of an inline one, and the models would no longer match the database. All of it in
the migration's transaction; the downgrade takes the constraint out, then drops the column.
"""

import re
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261205rv"
down_revision: str | Sequence[str] | None = "20261204au"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE, COLUMN, INDEX = "smsi_actions", "review_id", "ix_smsi_actions_review_id"
FK = "fk_smsi_actions_review_id_smsi_weekly_reviews"
# As SQLAlchemy writes it in a CREATE TABLE (a database created from the models has this text).
CONSTRAINT = f"CONSTRAINT {FK} FOREIGN KEY({COLUMN}) REFERENCES smsi_weekly_reviews (id) ON DELETE SET NULL"
IN_TABLE = re.compile(rf",\s*CONSTRAINT {FK} FOREIGN KEY\s*\(\s*{COLUMN}\s*\)[^,]*?ON DELETE SET NULL")


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _rewrite_sqlite_table(edit: Callable[[str], str]) -> None:
    """Replace smsi_actions's CREATE TABLE text by ``edit(text)`` in sqlite_master, then reload the
    schema (``writable_schema=RESET``): within the transaction, rolled back with it."""
    bind = op.get_bind()
    query = "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?"
    sql = bind.exec_driver_sql(query, (TABLE,)).scalar_one()
    new = edit(sql)
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema=ON")
    bind.exec_driver_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?", (new, TABLE))
    bind.exec_driver_sql(f"PRAGMA schema_version={int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema=RESET")


def _add_constraint(sql: str) -> str:
    body = sql.rstrip()
    if not body.endswith(")") or IN_TABLE.search(body):
        raise RuntimeError(f"{TABLE}: unexpected table definition, not changed")
    return f"{body[:-1].rstrip()},\n\t{CONSTRAINT}\n)"


def _remove_constraint(sql: str) -> str:
    new, found = IN_TABLE.subn("", sql)
    if found != 1:
        raise RuntimeError(f"{TABLE}: the foreign key {FK} was not found, nothing changed")
    return new


def upgrade() -> None:
    if _sqlite():
        op.execute(f"ALTER TABLE {TABLE} ADD COLUMN {COLUMN} INTEGER")
        _rewrite_sqlite_table(_add_constraint)
    else:
        op.add_column(TABLE, sa.Column(COLUMN, sa.Integer(), nullable=True))
        op.create_foreign_key(FK, TABLE, "smsi_weekly_reviews", [COLUMN], ["id"], ondelete="SET NULL")
    op.create_index(INDEX, TABLE, [COLUMN], unique=False)


def downgrade() -> None:
    op.drop_index(INDEX, table_name=TABLE)
    if _sqlite():
        _rewrite_sqlite_table(_remove_constraint)
    else:
        op.drop_constraint(FK, TABLE, type_="foreignkey")
    op.drop_column(TABLE, COLUMN)
