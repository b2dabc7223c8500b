"""risks: the risk register — each organisation's risks rated on its scale (likelihood x impact, matrix of levels, acceptance threshold), their treatment linked to the SMSI's corrective actions

Revision ID: 20261203r
Revises: 20261203p
Create Date: 2026-12-03 18:08:18

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

TZ = sa.DateTime(timezone=True)

revision: str = "20261203r"
down_revision: str | Sequence[str] | None = "20261203p"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "risk_scales",
        sa.Column("likelihood_labels", sa.JSON(), nullable=False),
        sa.Column("impact_labels", sa.JSON(), nullable=False),
        sa.Column("matrix", sa.JSON(), nullable=False),
        sa.Column("acceptance_level", sa.String(length=20), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_risk_scales_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_scales")),
        sa.UniqueConstraint("organisation_id", name=op.f("uq_risk_scales_organisation_id")),
    )
    with op.batch_alter_table("risk_scales", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_risk_scales_organisation_id"), ["organisation_id"], unique=False)

    op.create_table(
        "risks",
        sa.Column("reference", sa.String(length=30), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column(
            "asset_kind",
            sa.Enum(
                "application",
                "site",
                "process",
                "supplier",
                "other",
                name="risk_asset_kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("application_id", sa.Integer(), nullable=True),
        sa.Column("asset", sa.String(length=200), nullable=True),
        sa.Column("threat", sa.Text(), nullable=True),
        sa.Column("vulnerability", sa.Text(), nullable=True),
        sa.Column("scenario", sa.Text(), nullable=True),
        sa.Column("impact_confidentiality", sa.Boolean(), nullable=False),
        sa.Column("impact_integrity", sa.Boolean(), nullable=False),
        sa.Column("impact_availability", sa.Boolean(), nullable=False),
        sa.Column("likelihood", sa.Integer(), nullable=False),
        sa.Column("impact", sa.Integer(), nullable=False),
        sa.Column("existing_measures", sa.Text(), nullable=True),
        sa.Column(
            "treatment",
            sa.Enum(
                "reduce",
                "accept",
                "transfer",
                "avoid",
                name="risk_treatment",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column("treatment_plan", sa.Text(), nullable=True),
        sa.Column("control_ids", sa.JSON(), nullable=False),
        sa.Column("residual_likelihood", sa.Integer(), nullable=True),
        sa.Column("residual_impact", sa.Integer(), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("accepted_by", sa.String(length=200), nullable=True),
        sa.Column("accepted_on", sa.Date(), nullable=True),
        sa.Column("next_review_on", sa.Date(), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_risks_application_id_applications"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_risks_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_risks_owner_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risks")),
        sa.UniqueConstraint("organisation_id", "reference", name=op.f("uq_risks_organisation_id_reference")),
    )
    with op.batch_alter_table("risks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_risks_application_id"), ["application_id"], unique=False)
        batch_op.create_index("ix_risks_org_cell", ["organisation_id", "impact", "likelihood"], unique=False)
        batch_op.create_index("ix_risks_org_review", ["organisation_id", "next_review_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_risks_organisation_id"), ["organisation_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_risks_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "risk_actions",
        sa.Column("risk_id", sa.Integer(), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["smsi_actions.id"],
            name=op.f("fk_risk_actions_action_id_smsi_actions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["risk_id"], ["risks.id"], name=op.f("fk_risk_actions_risk_id_risks"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("risk_id", "action_id", name=op.f("pk_risk_actions")),
    )
    with op.batch_alter_table("risk_actions", schema=None) as batch_op:
        batch_op.create_index("ix_risk_actions_action_id", ["action_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("risk_actions", schema=None) as batch_op:
        batch_op.drop_index("ix_risk_actions_action_id")

    op.drop_table("risk_actions")
    with op.batch_alter_table("risks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risks_owner_id"))
        batch_op.drop_index(batch_op.f("ix_risks_organisation_id"))
        batch_op.drop_index("ix_risks_org_review")
        batch_op.drop_index("ix_risks_org_cell")
        batch_op.drop_index(batch_op.f("ix_risks_application_id"))

    op.drop_table("risks")
    with op.batch_alter_table("risk_scales", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risk_scales_organisation_id"))

    op.drop_table("risk_scales")
