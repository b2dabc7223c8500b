"""RGPD registers: processing activities and their models, history, rights requests, breaches,
public register settings, generated reports

Revision ID: 20261124d
Revises: 20261124c
Create Date: 2026-11-24 12:24:49

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261124d"
down_revision: str | Sequence[str] | None = "20261124c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "breaches",
        sa.Column("reference", sa.String(length=30), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("discovered_at", TZ, nullable=False),
        sa.Column("occurred_at", TZ, nullable=True),
        sa.Column("natures", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("data_categories", sa.JSON(), nullable=False),
        sa.Column("data_subjects", sa.JSON(), nullable=False),
        sa.Column("people_count", sa.Integer(), nullable=True),
        sa.Column("records_count", sa.Integer(), nullable=True),
        sa.Column("consequences", sa.Text(), nullable=True),
        sa.Column("measures", sa.Text(), nullable=True),
        sa.Column(
            "risk_level",
            sa.Enum(
                "none", "risk", "high", name="breach_risk_level", native_enum=False, create_constraint=True
            ),
            nullable=True,
        ),
        sa.Column(
            "cnil_decision",
            sa.Enum(
                "pending",
                "notified",
                "not_required",
                name="breach_cnil_decision",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("cnil_notified_at", TZ, nullable=True),
        sa.Column("cnil_reference", sa.String(length=60), nullable=True),
        sa.Column("late_reason", sa.Text(), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column(
            "subjects_decision",
            sa.Enum(
                "pending",
                "informed",
                "not_required",
                name="breach_subjects_decision",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("subjects_informed_on", sa.Date(), nullable=True),
        sa.Column("subjects_reason", sa.Text(), nullable=True),
        sa.Column("is_closed", sa.Boolean(), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("source_incident_id", sa.Integer(), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_breaches_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_breaches")),
        sa.UniqueConstraint(
            "organisation_id", "reference", name=op.f("uq_breaches_organisation_id_reference")
        ),
        sa.UniqueConstraint(
            "organisation_id",
            "source_incident_id",
            name=op.f("uq_breaches_organisation_id_source_incident_id"),
        ),
    )
    with op.batch_alter_table("breaches", schema=None) as batch_op:
        batch_op.create_index(
            "ix_breaches_org_open", ["organisation_id", "is_closed", "discovered_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_breaches_organisation_id"), ["organisation_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_breaches_source_incident_id"), ["source_incident_id"], unique=False
        )

    op.create_table(
        "processing_activities",
        sa.Column("reference", sa.String(length=30), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "in_review",
                "validated",
                "archived",
                name="activity_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("next_review_on", sa.Date(), nullable=True),
        sa.Column("joint_controllers", sa.Text(), nullable=True),
        sa.Column("representative", sa.Text(), nullable=True),
        sa.Column("purpose", sa.Text(), nullable=True),
        sa.Column("sub_purposes", sa.JSON(), nullable=False),
        sa.Column("legal_basis", sa.String(length=10), nullable=True),
        sa.Column("legal_basis_text", sa.Text(), nullable=True),
        sa.Column("data_subjects", sa.JSON(), nullable=False),
        sa.Column("data_subjects_other", sa.Text(), nullable=True),
        sa.Column("data_categories", sa.JSON(), nullable=False),
        sa.Column("sensitive_data", sa.JSON(), nullable=False),
        sa.Column("art9_exception", sa.String(length=10), nullable=True),
        sa.Column("sensitive_details", sa.Text(), nullable=True),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("transfers", sa.JSON(), nullable=False),
        sa.Column("security_measures", sa.JSON(), nullable=False),
        sa.Column("dpia_criteria", sa.JSON(), nullable=False),
        sa.Column("dpia_cnil_required", sa.String(length=10), nullable=True),
        sa.Column("dpia_cnil_exempt", sa.String(length=10), nullable=True),
        sa.Column("dpia_justification", sa.Text(), nullable=True),
        sa.Column(
            "dpia_status",
            sa.Enum(
                "not_started",
                "in_progress",
                "done",
                name="dpia_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("dpia_done_on", sa.Date(), nullable=True),
        sa.Column("has_sensitive_data", sa.Boolean(), nullable=False),
        sa.Column("is_dpia_required", sa.Boolean(), nullable=False),
        sa.Column("completeness", sa.Integer(), nullable=False),
        sa.Column("is_model", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("content_version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=True),
        sa.Column("synced_model_version", sa.Integer(), nullable=True),
        sa.Column("model_snapshot", sa.JSON(), nullable=True),
        sa.Column("has_model_update", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("is_archive_proposed", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("sort_name", sa.String(length=200), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["processing_activities.id"],
            name=op.f("fk_processing_activities_model_id_processing_activities"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_processing_activities_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_processing_activities")),
        sa.UniqueConstraint(
            "organisation_id", "reference", name=op.f("uq_processing_activities_organisation_id_reference")
        ),
    )
    with op.batch_alter_table("processing_activities", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_processing_activities_model_id"), ["model_id"], unique=False)
        batch_op.create_index(
            "ix_processing_activities_figures",
            [
                "organisation_id",
                "is_model",
                "status",
                "completeness",
                "is_dpia_required",
                "dpia_status",
                "next_review_on",
                "has_model_update",
                "is_archive_proposed",
            ],
            unique=False,
        )
        batch_op.create_index(
            "ix_processing_activities_org_review", ["organisation_id", "next_review_on"], unique=False
        )
        batch_op.create_index(
            "ix_processing_activities_org_sort_name",
            ["organisation_id", "is_model", "sort_name"],
            unique=False,
        )
        batch_op.create_index(
            "ix_processing_activities_org_status", ["organisation_id", "status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_processing_activities_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "register_publications",
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column("is_published", sa.Boolean(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("introduction", sa.Text(), nullable=True),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_register_publications_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_register_publications")),
        sa.UniqueConstraint("organisation_id", name=op.f("uq_register_publications_organisation_id")),
        sa.UniqueConstraint("slug", name=op.f("uq_register_publications_slug")),
    )
    with op.batch_alter_table("register_publications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_register_publications_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "activity_applications",
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["processing_activities.id"],
            name=op.f("fk_activity_applications_activity_id_processing_activities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_activity_applications_application_id_applications"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("activity_id", "application_id", name=op.f("pk_activity_applications")),
    )
    with op.batch_alter_table("activity_applications", schema=None) as batch_op:
        batch_op.create_index("ix_activity_applications_application_id", ["application_id"], unique=False)

    op.create_table(
        "activity_versions",
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["processing_activities.id"],
            name=op.f("fk_activity_versions_activity_id_processing_activities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_activity_versions_actor_id_users")),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_activity_versions_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity_versions")),
        sa.UniqueConstraint("activity_id", "number", name=op.f("uq_activity_versions_activity_id_number")),
    )
    with op.batch_alter_table("activity_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_activity_versions_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "rights_requests",
        sa.Column("reference", sa.String(length=30), nullable=False),
        sa.Column(
            "right",
            sa.Enum(
                "acces",
                "rectification",
                "effacement",
                "limitation",
                "portabilite",
                "opposition",
                name="right_type",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("requester_name", sa.String(length=200), nullable=False),
        sa.Column("requester_contact", sa.String(length=300), nullable=True),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("identity_checked", sa.Boolean(), nullable=False),
        sa.Column("identity_checked_on", sa.Date(), nullable=True),
        sa.Column("activity_id", sa.Integer(), nullable=True),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("is_extended", sa.Boolean(), nullable=False),
        sa.Column("extension_notified_on", sa.Date(), nullable=True),
        sa.Column("extension_reason", sa.Text(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "received",
                "in_progress",
                "answered",
                "refused",
                "withdrawn",
                name="request_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("answered_on", sa.Date(), nullable=True),
        sa.Column("answer_summary", sa.Text(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("is_open", sa.Boolean(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["processing_activities.id"],
            name=op.f("fk_rights_requests_activity_id_processing_activities"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_rights_requests_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rights_requests")),
        sa.UniqueConstraint(
            "organisation_id", "reference", name=op.f("uq_rights_requests_organisation_id_reference")
        ),
    )
    with op.batch_alter_table("rights_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rights_requests_activity_id"), ["activity_id"], unique=False)
        batch_op.create_index(
            "ix_rights_requests_org_open_due", ["organisation_id", "is_open", "due_on"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_rights_requests_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "generated_reports",
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("object_id", sa.Integer(), nullable=True),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_generated_reports_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_generated_reports_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_generated_reports")),
    )
    with op.batch_alter_table("generated_reports", schema=None) as batch_op:
        batch_op.create_index(
            "ix_generated_reports_org_kind_created", ["organisation_id", "kind", "created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_generated_reports_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_generated_reports_sha256"), ["sha256"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("generated_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_generated_reports_sha256"))
        batch_op.drop_index(batch_op.f("ix_generated_reports_organisation_id"))
        batch_op.drop_index("ix_generated_reports_org_kind_created")

    op.drop_table("generated_reports")

    with op.batch_alter_table("rights_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rights_requests_organisation_id"))
        batch_op.drop_index("ix_rights_requests_org_open_due")
        batch_op.drop_index(batch_op.f("ix_rights_requests_activity_id"))

    op.drop_table("rights_requests")
    with op.batch_alter_table("activity_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_activity_versions_organisation_id"))

    op.drop_table("activity_versions")
    with op.batch_alter_table("activity_applications", schema=None) as batch_op:
        batch_op.drop_index("ix_activity_applications_application_id")

    op.drop_table("activity_applications")
    with op.batch_alter_table("register_publications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_register_publications_organisation_id"))

    op.drop_table("register_publications")
    with op.batch_alter_table("processing_activities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_processing_activities_organisation_id"))
        batch_op.drop_index("ix_processing_activities_org_status")
        batch_op.drop_index("ix_processing_activities_org_sort_name")
        batch_op.drop_index("ix_processing_activities_org_review")
        batch_op.drop_index("ix_processing_activities_figures")
        batch_op.drop_index(batch_op.f("ix_processing_activities_model_id"))

    # SQLite drops a table row by row: entries inherited from a model (model_id, ON DELETE RESTRICT)
    # would block the deletion of their model.
    op.execute("UPDATE processing_activities SET model_id = NULL")
    op.drop_table("processing_activities")
    with op.batch_alter_table("breaches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_breaches_source_incident_id"))
        batch_op.drop_index(batch_op.f("ix_breaches_organisation_id"))
        batch_op.drop_index("ix_breaches_org_open")

    op.drop_table("breaches")
