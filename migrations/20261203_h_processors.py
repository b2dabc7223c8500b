"""processors (Art. 28): each organisation's processors, the applications they run and the fiches
naming them; the syndicate DPO's sign-off of the processor register (Art. 30.2)

Revision ID: 20261203h
Revises: 20261203b
Create Date: 2026-12-03 15:03:56

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

TZ = sa.DateTime(timezone=True)

revision: str = "20261203h"
down_revision: str | Sequence[str] | None = "20261203b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "processor_register_signoffs",
        sa.Column("signed_by_id", sa.Integer(), nullable=True),
        sa.Column("signed_by_name", sa.String(length=200), nullable=False),
        sa.Column("signed_at", TZ, nullable=False),
        sa.Column("controllers", sa.Integer(), nullable=False),
        sa.Column("to_complete", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_processor_register_signoffs_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["signed_by_id"],
            ["users.id"],
            name=op.f("fk_processor_register_signoffs_signed_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_processor_register_signoffs")),
    )
    with op.batch_alter_table("processor_register_signoffs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_processor_register_signoffs_org_at", ["organisation_id", "signed_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_processor_register_signoffs_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "processors",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("service", sa.Text(), nullable=True),
        sa.Column("siren", sa.String(length=14), nullable=True),
        sa.Column("contact", sa.String(length=300), nullable=True),
        sa.Column("linked_organisation_id", sa.Integer(), nullable=True),
        sa.Column("contract_reference", sa.String(length=100), nullable=True),
        sa.Column("contract_signed_on", sa.Date(), nullable=True),
        sa.Column("contract_ends_on", sa.Date(), nullable=True),
        sa.Column("clauses", sa.JSON(), nullable=False),
        sa.Column("data_location", sa.String(length=300), nullable=True),
        sa.Column("transfers", sa.JSON(), nullable=False),
        sa.Column("certifications", sa.JSON(), nullable=False),
        sa.Column("certifications_other", sa.String(length=300), nullable=True),
        sa.Column("next_review_on", sa.Date(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("to_complete", sa.Integer(), nullable=False),
        sa.Column("sort_name", sa.String(length=200), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["linked_organisation_id"],
            ["organisations.id"],
            name=op.f("fk_processors_linked_organisation_id_organisations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_processors_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_processors")),
    )
    with op.batch_alter_table("processors", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_processors_linked_organisation_id"), ["linked_organisation_id"], unique=False
        )
        batch_op.create_index("ix_processors_org_review", ["organisation_id", "next_review_on"], unique=False)
        batch_op.create_index("ix_processors_org_sort_name", ["organisation_id", "sort_name"], unique=False)
        batch_op.create_index(
            "ix_processors_org_to_complete", ["organisation_id", "to_complete"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_processors_organisation_id"), ["organisation_id"], unique=False)

    op.create_table(
        "activity_processors",
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("processor_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["processing_activities.id"],
            name=op.f("fk_activity_processors_activity_id_processing_activities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["processor_id"],
            ["processors.id"],
            name=op.f("fk_activity_processors_processor_id_processors"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("activity_id", "processor_id", name=op.f("pk_activity_processors")),
    )
    with op.batch_alter_table("activity_processors", schema=None) as batch_op:
        batch_op.create_index("ix_activity_processors_processor_id", ["processor_id"], unique=False)

    op.create_table(
        "processor_applications",
        sa.Column("processor_id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_processor_applications_application_id_applications"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["processor_id"],
            ["processors.id"],
            name=op.f("fk_processor_applications_processor_id_processors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("processor_id", "application_id", name=op.f("pk_processor_applications")),
    )
    with op.batch_alter_table("processor_applications", schema=None) as batch_op:
        batch_op.create_index("ix_processor_applications_application_id", ["application_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("processor_applications", schema=None) as batch_op:
        batch_op.drop_index("ix_processor_applications_application_id")

    op.drop_table("processor_applications")
    with op.batch_alter_table("activity_processors", schema=None) as batch_op:
        batch_op.drop_index("ix_activity_processors_processor_id")

    op.drop_table("activity_processors")
    with op.batch_alter_table("processors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_processors_organisation_id"))
        batch_op.drop_index("ix_processors_org_to_complete")
        batch_op.drop_index("ix_processors_org_sort_name")
        batch_op.drop_index("ix_processors_org_review")
        batch_op.drop_index(batch_op.f("ix_processors_linked_organisation_id"))

    op.drop_table("processors")
    with op.batch_alter_table("processor_register_signoffs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_processor_register_signoffs_organisation_id"))
        batch_op.drop_index("ix_processor_register_signoffs_org_at")

    op.drop_table("processor_register_signoffs")
