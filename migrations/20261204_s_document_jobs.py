"""reports: documents built by a background job (a large register), with their progress

Revision ID: 20261204s
Revises: 20261203x
Create Date: 2026-12-04 00:20:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

TZ = sa.DateTime(timezone=True)

revision: str = "20261204s"
down_revision: str | Sequence[str] | None = "20261203x"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "document_jobs",
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("requested_at", TZ, nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("started_at", TZ, nullable=True),
        sa.Column("finished_at", TZ, nullable=True),
        sa.Column("report_id", sa.Integer(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_document_jobs_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["generated_reports.id"],
            name=op.f("fk_document_jobs_report_id_generated_reports"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["users.id"], name=op.f("fk_document_jobs_requested_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_jobs")),
    )
    with op.batch_alter_table("document_jobs", schema=None) as batch_op:
        batch_op.create_index("ix_document_jobs_org_status", ["organisation_id", "status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_document_jobs_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_document_jobs_report_id"), ["report_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_document_jobs_requested_by_id"), ["requested_by_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("document_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_jobs_requested_by_id"))
        batch_op.drop_index(batch_op.f("ix_document_jobs_report_id"))
        batch_op.drop_index(batch_op.f("ix_document_jobs_organisation_id"))
        batch_op.drop_index("ix_document_jobs_org_status")

    op.drop_table("document_jobs")
