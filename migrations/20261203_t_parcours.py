"""risks: the ANSSI parcours de cybersécurité — an organisation's parcours, its two phases, its subsidies and
its measures (each one an SMSI corrective action)

Revision ID: 20261203t
Revises: 20261203s
Create Date: 2026-12-03 20:48:42

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

TZ = sa.DateTime(timezone=True)

revision: str = "20261203t"
down_revision: str | Sequence[str] | None = "20261203s"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "parcours",
        sa.Column("selected_on", sa.Date(), nullable=False),
        sa.Column("provider", sa.String(length=200), nullable=True),
        sa.Column("anssi_contact", sa.String(length=200), nullable=True),
        sa.Column("csirt", sa.String(length=200), nullable=True),
        sa.Column("convention_reference", sa.String(length=100), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_parcours_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parcours")),
        sa.UniqueConstraint("organisation_id", name=op.f("uq_parcours_organisation_id")),
    )
    with op.batch_alter_table("parcours", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_parcours_organisation_id"), ["organisation_id"], unique=False)

    op.create_table(
        "parcours_phases",
        sa.Column("parcours_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "diagnostic",
                "corrective",
                name="parcours_phase_kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("starts_on", sa.Date(), nullable=True),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("deliverables", sa.Text(), nullable=True),
        sa.Column("delivered_on", sa.Date(), nullable=True),
        sa.Column("cofinancing_rate", sa.Integer(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "cofinancing_rate >= 0 AND cofinancing_rate <= 100",
            name=op.f("ck_parcours_phases_cofinancing_rate"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_parcours_phases_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["parcours_id"],
            ["parcours.id"],
            name=op.f("fk_parcours_phases_parcours_id_parcours"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parcours_phases")),
        sa.UniqueConstraint("parcours_id", "kind", name=op.f("uq_parcours_phases_parcours_id_kind")),
    )
    with op.batch_alter_table("parcours_phases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_parcours_phases_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "parcours_subsidies",
        sa.Column("parcours_id", sa.Integer(), nullable=False),
        sa.Column("phase_id", sa.Integer(), nullable=True),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("amount_expected", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("expected_on", sa.Date(), nullable=True),
        sa.Column("amount_received", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("received_on", sa.Date(), nullable=True),
        sa.Column("condition", sa.Text(), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.CheckConstraint("amount_expected >= 0", name=op.f("ck_parcours_subsidies_amount_expected")),
        sa.CheckConstraint(
            "amount_received IS NULL OR amount_received >= 0",
            name=op.f("ck_parcours_subsidies_amount_received"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_parcours_subsidies_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["parcours_id"],
            ["parcours.id"],
            name=op.f("fk_parcours_subsidies_parcours_id_parcours"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["phase_id"],
            ["parcours_phases.id"],
            name=op.f("fk_parcours_subsidies_phase_id_parcours_phases"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parcours_subsidies")),
    )
    with op.batch_alter_table("parcours_subsidies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_parcours_subsidies_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(
            "ix_parcours_subsidies_parcours_expected", ["parcours_id", "expected_on"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_parcours_subsidies_phase_id"), ["phase_id"], unique=False)

    op.create_table(
        "parcours_measures",
        sa.Column("parcours_id", sa.Integer(), nullable=False),
        sa.Column("phase_id", sa.Integer(), nullable=False),
        sa.Column("theme", sa.String(length=4), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("hygiene_measures", sa.JSON(), nullable=False),
        sa.Column("control_ids", sa.JSON(), nullable=False),
        sa.Column("planned_cost", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("amount_spent", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("subsidy_id", sa.Integer(), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.CheckConstraint("amount_spent >= 0", name=op.f("ck_parcours_measures_amount_spent")),
        sa.CheckConstraint("planned_cost >= 0", name=op.f("ck_parcours_measures_planned_cost")),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["smsi_actions.id"],
            name=op.f("fk_parcours_measures_action_id_smsi_actions"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_parcours_measures_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["parcours_id"],
            ["parcours.id"],
            name=op.f("fk_parcours_measures_parcours_id_parcours"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["phase_id"],
            ["parcours_phases.id"],
            name=op.f("fk_parcours_measures_phase_id_parcours_phases"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["subsidy_id"],
            ["parcours_subsidies.id"],
            name=op.f("fk_parcours_measures_subsidy_id_parcours_subsidies"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parcours_measures")),
        sa.UniqueConstraint("action_id", name=op.f("uq_parcours_measures_action_id")),
    )
    with op.batch_alter_table("parcours_measures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_parcours_measures_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index("ix_parcours_measures_parcours_theme", ["parcours_id", "theme"], unique=False)
        batch_op.create_index(batch_op.f("ix_parcours_measures_phase_id"), ["phase_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_parcours_measures_subsidy_id"), ["subsidy_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("parcours_measures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_parcours_measures_subsidy_id"))
        batch_op.drop_index(batch_op.f("ix_parcours_measures_phase_id"))
        batch_op.drop_index("ix_parcours_measures_parcours_theme")
        batch_op.drop_index(batch_op.f("ix_parcours_measures_organisation_id"))

    op.drop_table("parcours_measures")
    with op.batch_alter_table("parcours_subsidies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_parcours_subsidies_phase_id"))
        batch_op.drop_index("ix_parcours_subsidies_parcours_expected")
        batch_op.drop_index(batch_op.f("ix_parcours_subsidies_organisation_id"))

    op.drop_table("parcours_subsidies")
    with op.batch_alter_table("parcours_phases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_parcours_phases_organisation_id"))

    op.drop_table("parcours_phases")
    with op.batch_alter_table("parcours", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_parcours_organisation_id"))

    op.drop_table("parcours")
