"""audits: evidence packs (a signed ZIP of a scope's documents and evidence, built by the job queue)

Revision ID: 20261204pk
Revises: 20261204ev
Create Date: 2026-12-04 12:40:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

TZ = sa.DateTime(timezone=True)

revision: str = "20261204pk"
down_revision: str | Sequence[str] | None = "20261204ev"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "evidence_packs",
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("scope_org_ids", sa.JSON(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("audit_id", sa.Integer(), nullable=True),
        sa.Column("linked_to", sa.String(length=200), nullable=True),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("requested_at", TZ, nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("started_at", TZ, nullable=True),
        sa.Column("finished_at", TZ, nullable=True),
        sa.Column("expires_at", TZ, nullable=True),
        sa.Column("file_path", sa.String(length=500), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("manifest_sha256", sa.String(length=64), nullable=True),
        sa.Column("file_count", sa.Integer(), nullable=False),
        sa.Column("report_count", sa.Integer(), nullable=False),
        sa.Column("evidence_count", sa.Integer(), nullable=False),
        sa.Column("evidence_bytes", sa.BigInteger(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_evidence_packs_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["users.id"], name=op.f("fk_evidence_packs_requested_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_packs")),
    )
    with op.batch_alter_table("evidence_packs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_evidence_packs_org_requested", ["organisation_id", "requested_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_evidence_packs_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_evidence_packs_requested_by_id"), ["requested_by_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_evidence_packs_audit_id"), ["audit_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("evidence_packs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_packs_audit_id"))
        batch_op.drop_index(batch_op.f("ix_evidence_packs_requested_by_id"))
        batch_op.drop_index(batch_op.f("ix_evidence_packs_organisation_id"))
        batch_op.drop_index("ix_evidence_packs_org_requested")

    op.drop_table("evidence_packs")
