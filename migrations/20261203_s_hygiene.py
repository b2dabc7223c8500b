"""risks: the hygiene self-assessment — each organisation's assessments against ANSSI's 42 measures, one answer per measure

Revision ID: 20261203s
Revises: 20261203r
Create Date: 2026-12-03 18:30:56

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

TZ = sa.DateTime(timezone=True)

revision: str = "20261203s"
down_revision: str | Sequence[str] | None = "20261203r"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "hygiene_assessments",
        sa.Column("assessed_on", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_hygiene_assessments_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hygiene_assessments")),
        sa.UniqueConstraint(
            "organisation_id", "assessed_on", name=op.f("uq_hygiene_assessments_organisation_id_assessed_on")
        ),
    )
    with op.batch_alter_table("hygiene_assessments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_hygiene_assessments_org_date", ["organisation_id", "assessed_on"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_hygiene_assessments_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "hygiene_answers",
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("measure", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "implemented",
                "partial",
                "not_implemented",
                "not_applicable",
                name="hygiene_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column("reinforced", sa.Boolean(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("evidence", sa.String(length=500), nullable=True),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["hygiene_assessments.id"],
            name=op.f("fk_hygiene_answers_assessment_id_hygiene_assessments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_hygiene_answers_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hygiene_answers")),
        sa.UniqueConstraint(
            "assessment_id", "measure", name=op.f("uq_hygiene_answers_assessment_id_measure")
        ),
    )
    with op.batch_alter_table("hygiene_answers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_hygiene_answers_organisation_id"), ["organisation_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("hygiene_answers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hygiene_answers_organisation_id"))

    op.drop_table("hygiene_answers")
    with op.batch_alter_table("hygiene_assessments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hygiene_assessments_organisation_id"))
        batch_op.drop_index("ix_hygiene_assessments_org_date")

    op.drop_table("hygiene_assessments")
