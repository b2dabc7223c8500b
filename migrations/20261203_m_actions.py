"""smsi: corrective and preventive actions (ISO/IEC 27001:2022 §10.2) with their effectiveness check

Revision ID: 20261203m
Revises: 20261203l
Create Date: 2026-12-03 16:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

TZ = sa.DateTime(timezone=True)

revision: str = "20261203m"
down_revision: str | Sequence[str] | None = "20261203l"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "smsi_actions",
        sa.Column("reference", sa.String(length=30), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "origin",
            sa.Enum(
                "incident",
                "audit_finding",
                "risk",
                "parcours",
                "management_review",
                "other",
                name="action_origin",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("origin_detail", sa.String(length=300), nullable=True),
        sa.Column(
            "type",
            sa.Enum(
                "correction",
                "corrective",
                "preventive",
                "improvement",
                name="action_type",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "priority",
            sa.Enum(
                "low", "normal", "high", name="action_priority", native_enum=False, create_constraint=True
            ),
            nullable=False,
        ),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "planned",
                "in_progress",
                "done",
                "effective",
                "ineffective",
                name="action_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("is_open", sa.Boolean(), nullable=False),
        sa.Column("done_on", sa.Date(), nullable=True),
        sa.Column("check_method", sa.Text(), nullable=True),
        sa.Column("checked_on", sa.Date(), nullable=True),
        sa.Column("checked_by_id", sa.Integer(), nullable=True),
        sa.Column("check_result", sa.Text(), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["checked_by_id"],
            ["users.id"],
            name=op.f("fk_smsi_actions_checked_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_smsi_actions_incident_id_incidents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_smsi_actions_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_smsi_actions_owner_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_smsi_actions")),
        sa.UniqueConstraint(
            "organisation_id", "reference", name=op.f("uq_smsi_actions_organisation_id_reference")
        ),
    )
    with op.batch_alter_table("smsi_actions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_smsi_actions_incident_id"), ["incident_id"], unique=False)
        batch_op.create_index(
            "ix_smsi_actions_org_open_due", ["organisation_id", "is_open", "due_on"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_smsi_actions_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(
            "ix_smsi_actions_owner_open_due", ["owner_id", "is_open", "due_on"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("smsi_actions", schema=None) as batch_op:
        batch_op.drop_index("ix_smsi_actions_owner_open_due")
        batch_op.drop_index(batch_op.f("ix_smsi_actions_organisation_id"))
        batch_op.drop_index("ix_smsi_actions_org_open_due")
        batch_op.drop_index(batch_op.f("ix_smsi_actions_incident_id"))

    op.drop_table("smsi_actions")
