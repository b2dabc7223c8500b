"""smsi: external notifications of an incident (CERT-FR, CSIRT, complaint, insurer, editor) and the
NIS2 flag of a significant incident

Revision ID: 20261203l
Revises: 20261203k
Create Date: 2026-12-03 16:10:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

TZ = sa.DateTime(timezone=True)

revision: str = "20261203l"
down_revision: str | Sequence[str] | None = "20261203k"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "incident_notifications",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column(
            "recipient",
            sa.Enum(
                "cert_fr",
                "csirt",
                "police",
                "insurer",
                "editor",
                "other",
                name="incident_notification_recipient",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "kind",
            sa.Enum(
                "information",
                "early_warning",
                "notification",
                "final_report",
                name="incident_notification_kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("notified_at", TZ, nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_incident_notifications_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_notifications_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_incident_notifications_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_notifications")),
    )
    with op.batch_alter_table("incident_notifications", schema=None) as batch_op:
        batch_op.create_index(
            "ix_incident_notifications_incident_at", ["incident_id", "notified_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_incident_notifications_organisation_id"), ["organisation_id"], unique=False
        )

    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("nis2_significant", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_column("nis2_significant")

    with op.batch_alter_table("incident_notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_notifications_organisation_id"))
        batch_op.drop_index("ix_incident_notifications_incident_at")

    op.drop_table("incident_notifications")
