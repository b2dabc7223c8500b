"""organisations: what each declares itself under NIS2 (none, important or essential entity) —
the SMSI's NIS2 deadlines run only for an essential or important entity

Revision ID: 20261203o
Revises: 20261203n
Create Date: 2026-12-03 19:05:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261203o"
down_revision: str | Sequence[str] | None = "20261203n"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE on both databases, not a batch: on SQLite a batch copies the table, and
# organisations is referenced by every other table (the copy's DROP fails with foreign keys on).
# SQLite takes the CHECK inline in ADD COLUMN (Alembic would skip it), and drops a column whose
# CHECK is its own.
COLUMN = "nis2_entity"
VALUES = ("none", "important", "essential")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        allowed = ", ".join(f"'{v}'" for v in VALUES)
        op.execute(
            f"ALTER TABLE organisations ADD COLUMN {COLUMN} VARCHAR(9) DEFAULT 'none' NOT NULL "
            f"CONSTRAINT {COLUMN} CHECK ({COLUMN} IN ({allowed}))"
        )
        return
    op.add_column(
        "organisations",
        sa.Column(
            COLUMN,
            sa.Enum(*VALUES, name=COLUMN, native_enum=False, create_constraint=True),
            server_default="none",
            nullable=False,
        ),
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(COLUMN, "organisations", type_="check")
    op.drop_column("organisations", COLUMN)
