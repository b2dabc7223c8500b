"""reports: the RSSI's texts of the annual report (highlights, next year's plan), per organisation and year

Revision ID: 20261204an
Revises: 20261204api
Create Date: 2026-12-04 04:50:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

TZ = sa.DateTime(timezone=True)

revision: str = "20261204an"
down_revision: str | Sequence[str] | None = "20261204api"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "annual_report_texts",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("highlights", sa.Text(), nullable=True),
        sa.Column("plan", sa.Text(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_annual_report_texts_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_annual_report_texts")),
        sa.UniqueConstraint("organisation_id", "year", name="uq_annual_report_texts_org_year"),
    )
    with op.batch_alter_table("annual_report_texts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_annual_report_texts_organisation_id"), ["organisation_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("annual_report_texts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_annual_report_texts_organisation_id"))
    op.drop_table("annual_report_texts")
