"""smsi: the minutes of the weekly SMSI review

Revision ID: 20261203n
Revises: 20261203m
Create Date: 2026-12-03 16:50:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

TZ = sa.DateTime(timezone=True)

revision: str = "20261203n"
down_revision: str | Sequence[str] | None = "20261203m"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "smsi_weekly_reviews",
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=True),
        sa.Column("attendees", sa.Text(), nullable=True),
        sa.Column("minutes", sa.Text(), nullable=True),
        sa.Column("decisions", sa.Text(), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_smsi_weekly_reviews_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_smsi_weekly_reviews")),
        sa.UniqueConstraint(
            "organisation_id", "week_start", name=op.f("uq_smsi_weekly_reviews_organisation_id_week_start")
        ),
    )
    with op.batch_alter_table("smsi_weekly_reviews", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_smsi_weekly_reviews_organisation_id"), ["organisation_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("smsi_weekly_reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_smsi_weekly_reviews_organisation_id"))

    op.drop_table("smsi_weekly_reviews")
