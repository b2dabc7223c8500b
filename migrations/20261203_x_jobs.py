"""core: background jobs — the jobs page's table (one row per job run) and the weekly digest's opt-out on users

Revision ID: 20261203x
Revises: 20261203w
Create Date: 2026-12-03 21:20:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

TZ = sa.DateTime(timezone=True)

revision: str = "20261203x"
down_revision: str | Sequence[str] | None = "20261203w"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("task_id", sa.String(length=64), nullable=False),
        sa.Column("task_name", sa.String(length=120), nullable=False),
        sa.Column("arguments", sa.JSON(), nullable=False),
        sa.Column("args_summary", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("enqueued_at", TZ, nullable=False),
        sa.Column("started_at", TZ, nullable=True),
        sa.Column("finished_at", TZ, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_runs")),
        sa.UniqueConstraint("task_id", name=op.f("uq_job_runs_task_id")),
    )
    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.create_index("ix_job_runs_status_id", ["status", "id"], unique=False)

    # Plain ALTER TABLE on both databases, not a batch: on SQLite a batch copies the table, and users
    # is referenced by many others (the copy's DROP fails with foreign keys on); SQLite adds and drops
    # a plain column in place.
    op.add_column(
        "users", sa.Column("is_digest_subscribed", sa.Boolean(), server_default=sa.true(), nullable=False)
    )


def downgrade() -> None:
    op.drop_column("users", "is_digest_subscribed")

    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_job_runs_status_id")

    op.drop_table("job_runs")
