"""smsi: the Statement of Applicability — one row per (organisation, Annex A control), and the
approved versions (frozen snapshots)

Revision ID: 20261203j
Revises: 20261203i
Create Date: 2026-12-03 16:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

TZ = sa.DateTime(timezone=True)

revision: str = "20261203j"
down_revision: str | Sequence[str] | None = "20261203i"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "soa_entries",
        sa.Column("control_id", sa.String(length=10), nullable=False),
        sa.Column("applicable", sa.Boolean(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("exclusion_justification", sa.Text(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "not_started",
                "partial",
                "implemented",
                "not_applicable",
                name="soa_implementation_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("implementation", sa.Text(), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_soa_entries_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_soa_entries_owner_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_soa_entries")),
        sa.UniqueConstraint(
            "organisation_id", "control_id", name=op.f("uq_soa_entries_organisation_id_control_id")
        ),
    )
    with op.batch_alter_table("soa_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_soa_entries_organisation_id"), ["organisation_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_soa_entries_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "soa_versions",
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("approved_by_id", sa.Integer(), nullable=True),
        sa.Column("approved_by_name", sa.String(length=200), nullable=False),
        sa.Column("approved_at", TZ, nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["approved_by_id"],
            ["users.id"],
            name=op.f("fk_soa_versions_approved_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_soa_versions_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_soa_versions")),
        sa.UniqueConstraint("organisation_id", "number", name=op.f("uq_soa_versions_organisation_id_number")),
    )
    with op.batch_alter_table("soa_versions", schema=None) as batch_op:
        batch_op.create_index("ix_soa_versions_org_at", ["organisation_id", "approved_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_soa_versions_approved_by_id"), ["approved_by_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_soa_versions_organisation_id"), ["organisation_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("soa_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_soa_versions_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_soa_versions_approved_by_id"))
        batch_op.drop_index("ix_soa_versions_org_at")
    op.drop_table("soa_versions")
    with op.batch_alter_table("soa_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_soa_entries_owner_id"))
        batch_op.drop_index(batch_op.f("ix_soa_entries_organisation_id"))
    op.drop_table("soa_entries")
