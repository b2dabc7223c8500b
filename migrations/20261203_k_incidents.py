"""smsi: security incidents, their applications, the organisations they affect, their timeline

Revision ID: 20261203k
Revises: 20261203j
Create Date: 2026-12-03 15:55:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

TZ = sa.DateTime(timezone=True)

revision: str = "20261203k"
down_revision: str | Sequence[str] | None = "20261203j"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("reference", sa.String(length=30), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("detected_at", TZ, nullable=False),
        sa.Column("reported_by", sa.String(length=200), nullable=True),
        sa.Column(
            "category",
            sa.Enum(
                "malware",
                "phishing",
                "intrusion",
                "data_leak",
                "availability",
                "physical",
                "human_error",
                "supplier",
                "other",
                name="incident_category",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "severity",
            sa.Enum("1", "2", "3", "4", name="incident_severity", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("impact_confidentiality", sa.Boolean(), nullable=False),
        sa.Column("impact_integrity", sa.Boolean(), nullable=False),
        sa.Column("impact_availability", sa.Boolean(), nullable=False),
        sa.Column("affected_sites", sa.Text(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "new",
                "qualified",
                "contained",
                "resolved",
                "closed",
                name="incident_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("is_open", sa.Boolean(), nullable=False),
        sa.Column("has_personal_data", sa.Boolean(), nullable=False),
        sa.Column("excluded_organisation_ids", sa.JSON(), nullable=False),
        sa.Column("root_cause", sa.Text(), nullable=True),
        sa.Column("lessons_learned", sa.Text(), nullable=True),
        sa.Column("closed_at", TZ, nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_incidents_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
        sa.UniqueConstraint(
            "organisation_id", "reference", name=op.f("uq_incidents_organisation_id_reference")
        ),
    )
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.create_index("ix_incidents_org_detected", ["organisation_id", "detected_at"], unique=False)
        batch_op.create_index(
            "ix_incidents_org_open_detected", ["organisation_id", "is_open", "detected_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_incidents_organisation_id"), ["organisation_id"], unique=False)

    op.create_table(
        "incident_applications",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_incident_applications_application_id_applications"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_applications_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("incident_id", "application_id", name=op.f("pk_incident_applications")),
    )
    with op.batch_alter_table("incident_applications", schema=None) as batch_op:
        batch_op.create_index("ix_incident_applications_application_id", ["application_id"], unique=False)

    op.create_table(
        "incident_events",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "detection",
                "qualification",
                "containment",
                "eradication",
                "recovery",
                "closure",
                "note",
                name="incident_event_kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("at", TZ, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_incident_events_author_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_events_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_incident_events_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_events")),
    )
    with op.batch_alter_table("incident_events", schema=None) as batch_op:
        batch_op.create_index("ix_incident_events_incident_at", ["incident_id", "at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_incident_events_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "incident_organisations",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("is_added", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_organisations_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_incident_organisations_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("incident_id", "organisation_id", name=op.f("pk_incident_organisations")),
    )
    with op.batch_alter_table("incident_organisations", schema=None) as batch_op:
        batch_op.create_index("ix_incident_organisations_organisation_id", ["organisation_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("incident_organisations", schema=None) as batch_op:
        batch_op.drop_index("ix_incident_organisations_organisation_id")

    op.drop_table("incident_organisations")
    with op.batch_alter_table("incident_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_events_organisation_id"))
        batch_op.drop_index("ix_incident_events_incident_at")

    op.drop_table("incident_events")
    with op.batch_alter_table("incident_applications", schema=None) as batch_op:
        batch_op.drop_index("ix_incident_applications_application_id")

    op.drop_table("incident_applications")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incidents_organisation_id"))
        batch_op.drop_index("ix_incidents_org_open_detected")
        batch_op.drop_index("ix_incidents_org_detected")

    op.drop_table("incidents")
