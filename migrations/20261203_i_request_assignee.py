"""rights requests: who handles each one (a DPO or referent of the organisation)

Revision ID: 20261203i
Revises: 20261203h
Create Date: 2026-12-03 15:35:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261203i"
down_revision: str | Sequence[str] | None = "20261203h"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rights_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assigned_to_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_rights_requests_assigned_to_id_users"),
            "users",
            ["assigned_to_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index("ix_rights_requests_assigned_open", ["assigned_to_id", "is_open"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rights_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_rights_requests_assigned_open")
        batch_op.drop_constraint(batch_op.f("fk_rights_requests_assigned_to_id_users"), type_="foreignkey")
        batch_op.drop_column("assigned_to_id")
