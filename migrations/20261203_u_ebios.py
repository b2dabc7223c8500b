"""risks: EBIOS Risk Manager studies — a study per organisation and scope, what its five workshops produce, each operational scenario linked to one risk of the register (risks.ebios_scenario_id)

Revision ID: 20261203u
Revises: 20261203t
Create Date: 2026-12-03 20:47:45.106326

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

TZ = sa.DateTime(timezone=True)

revision: str = "20261203u"
down_revision: str | Sequence[str] | None = "20261203t"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "ebios_studies",
        sa.Column("reference", sa.String(length=30), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("missions", sa.Text(), nullable=True),
        sa.Column("objectives", sa.Text(), nullable=True),
        sa.Column("participants", sa.Text(), nullable=True),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("baseline_notes", sa.Text(), nullable=True),
        sa.Column("monitoring_plan", sa.Text(), nullable=True),
        sa.Column("next_review_on", sa.Date(), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_ebios_studies_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ebios_studies")),
        sa.UniqueConstraint(
            "organisation_id", "reference", name=op.f("uq_ebios_studies_organisation_id_reference")
        ),
    )
    with op.batch_alter_table("ebios_studies", schema=None) as batch_op:
        batch_op.create_index("ix_ebios_studies_org_started", ["organisation_id", "started_on"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_ebios_studies_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "ebios_baseline_gaps",
        sa.Column(
            "source",
            sa.Enum(
                "soa", "hygiene", "other", name="ebios_gap_source", native_enum=False, create_constraint=True
            ),
            nullable=False,
        ),
        sa.Column("reference", sa.String(length=30), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("justification", sa.Text(), nullable=True),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_ebios_baseline_gaps_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["study_id"],
            ["ebios_studies.id"],
            name=op.f("fk_ebios_baseline_gaps_study_id_ebios_studies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ebios_baseline_gaps")),
    )
    with op.batch_alter_table("ebios_baseline_gaps", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ebios_baseline_gaps_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_ebios_baseline_gaps_study_id"), ["study_id"], unique=False)

    op.create_table(
        "ebios_business_values",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "nature",
            sa.Enum("process", "information", name="ebios_nature", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("responsible", sa.String(length=200), nullable=True),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_ebios_business_values_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["study_id"],
            ["ebios_studies.id"],
            name=op.f("fk_ebios_business_values_study_id_ebios_studies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ebios_business_values")),
    )
    with op.batch_alter_table("ebios_business_values", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ebios_business_values_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_ebios_business_values_study_id"), ["study_id"], unique=False)

    op.create_table(
        "ebios_sr_ov",
        sa.Column("risk_origin", sa.String(length=200), nullable=False),
        sa.Column("target_objective", sa.String(length=200), nullable=False),
        sa.Column("motivation", sa.Integer(), nullable=False),
        sa.Column("resources", sa.Integer(), nullable=False),
        sa.Column("activity", sa.Integer(), nullable=False),
        sa.Column("relevance", sa.Integer(), nullable=True),
        sa.Column("is_selected", sa.Boolean(), nullable=False),
        sa.Column("justification", sa.Text(), nullable=True),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_ebios_sr_ov_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["study_id"],
            ["ebios_studies.id"],
            name=op.f("fk_ebios_sr_ov_study_id_ebios_studies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ebios_sr_ov")),
    )
    with op.batch_alter_table("ebios_sr_ov", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ebios_sr_ov_organisation_id"), ["organisation_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ebios_sr_ov_study_id"), ["study_id"], unique=False)

    op.create_table(
        "ebios_stakeholders",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "category",
            sa.Enum(
                "client",
                "partner",
                "provider",
                name="ebios_stakeholder_category",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("dependency", sa.Integer(), nullable=False),
        sa.Column("penetration", sa.Integer(), nullable=False),
        sa.Column("maturity", sa.Integer(), nullable=False),
        sa.Column("trust", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_ebios_stakeholders_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["study_id"],
            ["ebios_studies.id"],
            name=op.f("fk_ebios_stakeholders_study_id_ebios_studies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ebios_stakeholders")),
    )
    with op.batch_alter_table("ebios_stakeholders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ebios_stakeholders_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_ebios_stakeholders_study_id"), ["study_id"], unique=False)

    op.create_table(
        "ebios_supporting_assets",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "application",
                "infrastructure",
                "service",
                "people",
                "site",
                "other",
                name="ebios_asset_kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("application_id", sa.Integer(), nullable=True),
        sa.Column("business_value_ids", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_ebios_supporting_assets_application_id_applications"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_ebios_supporting_assets_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["study_id"],
            ["ebios_studies.id"],
            name=op.f("fk_ebios_supporting_assets_study_id_ebios_studies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ebios_supporting_assets")),
    )
    with op.batch_alter_table("ebios_supporting_assets", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ebios_supporting_assets_application_id"), ["application_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ebios_supporting_assets_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_ebios_supporting_assets_study_id"), ["study_id"], unique=False)

    op.create_table(
        "ebios_feared_events",
        sa.Column("business_value_id", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("impacts", sa.Text(), nullable=True),
        sa.Column("gravity", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["business_value_id"],
            ["ebios_business_values.id"],
            name=op.f("fk_ebios_feared_events_business_value_id_ebios_business_values"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_ebios_feared_events_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["study_id"],
            ["ebios_studies.id"],
            name=op.f("fk_ebios_feared_events_study_id_ebios_studies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ebios_feared_events")),
    )
    with op.batch_alter_table("ebios_feared_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ebios_feared_events_business_value_id"), ["business_value_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ebios_feared_events_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_ebios_feared_events_study_id"), ["study_id"], unique=False)

    op.create_table(
        "ebios_strategic_scenarios",
        sa.Column("srov_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("gravity", sa.Integer(), nullable=False),
        sa.Column("feared_event_ids", sa.JSON(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_ebios_strategic_scenarios_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["srov_id"],
            ["ebios_sr_ov.id"],
            name=op.f("fk_ebios_strategic_scenarios_srov_id_ebios_sr_ov"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["study_id"],
            ["ebios_studies.id"],
            name=op.f("fk_ebios_strategic_scenarios_study_id_ebios_studies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ebios_strategic_scenarios")),
    )
    with op.batch_alter_table("ebios_strategic_scenarios", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ebios_strategic_scenarios_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_ebios_strategic_scenarios_srov_id"), ["srov_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ebios_strategic_scenarios_study_id"), ["study_id"], unique=False)

    op.create_table(
        "ebios_attack_paths",
        sa.Column("scenario_id", sa.Integer(), nullable=False),
        sa.Column("stakeholder_id", sa.Integer(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_ebios_attack_paths_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["scenario_id"],
            ["ebios_strategic_scenarios.id"],
            name=op.f("fk_ebios_attack_paths_scenario_id_ebios_strategic_scenarios"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["stakeholder_id"],
            ["ebios_stakeholders.id"],
            name=op.f("fk_ebios_attack_paths_stakeholder_id_ebios_stakeholders"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["study_id"],
            ["ebios_studies.id"],
            name=op.f("fk_ebios_attack_paths_study_id_ebios_studies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ebios_attack_paths")),
    )
    with op.batch_alter_table("ebios_attack_paths", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ebios_attack_paths_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_ebios_attack_paths_scenario_id"), ["scenario_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_ebios_attack_paths_stakeholder_id"), ["stakeholder_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_ebios_attack_paths_study_id"), ["study_id"], unique=False)

    op.create_table(
        "ebios_operational_scenarios",
        sa.Column("strategic_scenario_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("asset_ids", sa.JSON(), nullable=False),
        sa.Column("likelihood", sa.Integer(), nullable=False),
        sa.Column(
            "treatment",
            sa.Enum(
                "reduce",
                "accept",
                "transfer",
                "avoid",
                name="ebios_treatment",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column("treatment_plan", sa.Text(), nullable=True),
        sa.Column("control_ids", sa.JSON(), nullable=False),
        sa.Column("residual_likelihood", sa.Integer(), nullable=True),
        sa.Column("residual_impact", sa.Integer(), nullable=True),
        sa.Column("accepted_by", sa.String(length=200), nullable=True),
        sa.Column("accepted_on", sa.Date(), nullable=True),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_ebios_operational_scenarios_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["strategic_scenario_id"],
            ["ebios_strategic_scenarios.id"],
            name=op.f("fk_ebios_operational_scenarios_strategic_scenario_id_ebios_strategic_scenarios"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["study_id"],
            ["ebios_studies.id"],
            name=op.f("fk_ebios_operational_scenarios_study_id_ebios_studies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ebios_operational_scenarios")),
    )
    with op.batch_alter_table("ebios_operational_scenarios", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ebios_operational_scenarios_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ebios_operational_scenarios_strategic_scenario_id"),
            ["strategic_scenario_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_ebios_operational_scenarios_study_id"), ["study_id"], unique=False
        )

    op.create_table(
        "ebios_measures",
        sa.Column("scenario_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("control_ids", sa.JSON(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=True),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["smsi_actions.id"],
            name=op.f("fk_ebios_measures_action_id_smsi_actions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_ebios_measures_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_ebios_measures_owner_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["scenario_id"],
            ["ebios_operational_scenarios.id"],
            name=op.f("fk_ebios_measures_scenario_id_ebios_operational_scenarios"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["study_id"],
            ["ebios_studies.id"],
            name=op.f("fk_ebios_measures_study_id_ebios_studies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ebios_measures")),
    )
    with op.batch_alter_table("ebios_measures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ebios_measures_action_id"), ["action_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_ebios_measures_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_ebios_measures_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ebios_measures_scenario_id"), ["scenario_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ebios_measures_study_id"), ["study_id"], unique=False)

    with op.batch_alter_table("risks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ebios_scenario_id", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_risks_ebios_scenario_id"), ["ebios_scenario_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_risks_ebios_scenario_id_ebios_operational_scenarios"),
            "ebios_operational_scenarios",
            ["ebios_scenario_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:

    with op.batch_alter_table("risks", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_risks_ebios_scenario_id_ebios_operational_scenarios"), type_="foreignkey"
        )
        batch_op.drop_constraint(batch_op.f("uq_risks_ebios_scenario_id"), type_="unique")
        batch_op.drop_column("ebios_scenario_id")

    with op.batch_alter_table("ebios_measures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ebios_measures_study_id"))
        batch_op.drop_index(batch_op.f("ix_ebios_measures_scenario_id"))
        batch_op.drop_index(batch_op.f("ix_ebios_measures_owner_id"))
        batch_op.drop_index(batch_op.f("ix_ebios_measures_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_ebios_measures_action_id"))

    op.drop_table("ebios_measures")
    with op.batch_alter_table("ebios_operational_scenarios", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ebios_operational_scenarios_study_id"))
        batch_op.drop_index(batch_op.f("ix_ebios_operational_scenarios_strategic_scenario_id"))
        batch_op.drop_index(batch_op.f("ix_ebios_operational_scenarios_organisation_id"))

    op.drop_table("ebios_operational_scenarios")
    with op.batch_alter_table("ebios_attack_paths", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ebios_attack_paths_study_id"))
        batch_op.drop_index(batch_op.f("ix_ebios_attack_paths_stakeholder_id"))
        batch_op.drop_index(batch_op.f("ix_ebios_attack_paths_scenario_id"))
        batch_op.drop_index(batch_op.f("ix_ebios_attack_paths_organisation_id"))

    op.drop_table("ebios_attack_paths")
    with op.batch_alter_table("ebios_strategic_scenarios", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ebios_strategic_scenarios_study_id"))
        batch_op.drop_index(batch_op.f("ix_ebios_strategic_scenarios_srov_id"))
        batch_op.drop_index(batch_op.f("ix_ebios_strategic_scenarios_organisation_id"))

    op.drop_table("ebios_strategic_scenarios")
    with op.batch_alter_table("ebios_feared_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ebios_feared_events_study_id"))
        batch_op.drop_index(batch_op.f("ix_ebios_feared_events_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_ebios_feared_events_business_value_id"))

    op.drop_table("ebios_feared_events")
    with op.batch_alter_table("ebios_supporting_assets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ebios_supporting_assets_study_id"))
        batch_op.drop_index(batch_op.f("ix_ebios_supporting_assets_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_ebios_supporting_assets_application_id"))

    op.drop_table("ebios_supporting_assets")
    with op.batch_alter_table("ebios_stakeholders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ebios_stakeholders_study_id"))
        batch_op.drop_index(batch_op.f("ix_ebios_stakeholders_organisation_id"))

    op.drop_table("ebios_stakeholders")
    with op.batch_alter_table("ebios_sr_ov", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ebios_sr_ov_study_id"))
        batch_op.drop_index(batch_op.f("ix_ebios_sr_ov_organisation_id"))

    op.drop_table("ebios_sr_ov")
    with op.batch_alter_table("ebios_business_values", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ebios_business_values_study_id"))
        batch_op.drop_index(batch_op.f("ix_ebios_business_values_organisation_id"))

    op.drop_table("ebios_business_values")
    with op.batch_alter_table("ebios_baseline_gaps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ebios_baseline_gaps_study_id"))
        batch_op.drop_index(batch_op.f("ix_ebios_baseline_gaps_organisation_id"))

    op.drop_table("ebios_baseline_gaps")
    with op.batch_alter_table("ebios_studies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ebios_studies_organisation_id"))
        batch_op.drop_index("ix_ebios_studies_org_started")

    op.drop_table("ebios_studies")
