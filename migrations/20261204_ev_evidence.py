"""audits.evidence: the encrypted evidence store (evidence, their file versions, their links)

Revision ID: 20261204ev
Revises: 20261204an
Create Date: 2026-12-04 12:40:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

TZ = sa.DateTime(timezone=True)

revision: str = "20261204ev"
down_revision: str | Sequence[str] | None = "20261204an"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _org(table: str) -> list[sa.schema.SchemaItem]:
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=f"fk_{table}_organisation_id_organisations",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
    ]


def upgrade() -> None:
    op.create_table(
        "evidence",
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        *_org("evidence"),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name="fk_evidence_owner_id_users", ondelete="SET NULL"
        ),
    )
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.create_index("ix_evidence_organisation_id", ["organisation_id"], unique=False)
        batch_op.create_index("ix_evidence_owner_id", ["owner_id"], unique=False)
        batch_op.create_index("ix_evidence_org_valid_until", ["organisation_id", "valid_until"], unique=False)
        batch_op.create_index("ix_evidence_org_updated", ["organisation_id", "updated_at"], unique=False)

    op.create_table(
        "evidence_versions",
        sa.Column("evidence_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("storage_id", sa.String(64), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("media_type", sa.String(120), nullable=False),
        sa.Column("kek_id", sa.String(40), nullable=False),
        sa.Column("wrapped_key", sa.String(80), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("uploaded_at", TZ, nullable=False),
        *_org("evidence_versions"),
        sa.ForeignKeyConstraint(
            ["evidence_id"],
            ["evidence.id"],
            name="fk_evidence_versions_evidence_id_evidence",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"],
            ["users.id"],
            name="fk_evidence_versions_uploaded_by_id_users",
            ondelete="SET NULL",
        ),
        sa.UniqueConstraint("evidence_id", "number", name="uq_evidence_versions_evidence_id_number"),
        sa.UniqueConstraint("storage_id", name="uq_evidence_versions_storage_id"),
    )
    with op.batch_alter_table("evidence_versions", schema=None) as batch_op:
        batch_op.create_index("ix_evidence_versions_organisation_id", ["organisation_id"], unique=False)
        batch_op.create_index("ix_evidence_versions_evidence_id", ["evidence_id"], unique=False)
        batch_op.create_index("ix_evidence_versions_kek_id", ["kek_id"], unique=False)
        batch_op.create_index("ix_evidence_versions_uploaded_by_id", ["uploaded_by_id"], unique=False)

    op.create_table(
        "evidence_links",
        sa.Column("evidence_id", sa.Integer(), nullable=False),
        sa.Column("object_type", sa.String(40), nullable=False),
        sa.Column("object_id", sa.Integer(), nullable=False),
        sa.Column("object_label", sa.String(300), nullable=False),
        *_org("evidence_links"),
        sa.ForeignKeyConstraint(
            ["evidence_id"],
            ["evidence.id"],
            name="fk_evidence_links_evidence_id_evidence",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "evidence_id",
            "object_type",
            "object_id",
            name="uq_evidence_links_evidence_id_object_type_object_id",
        ),
    )
    with op.batch_alter_table("evidence_links", schema=None) as batch_op:
        batch_op.create_index("ix_evidence_links_organisation_id", ["organisation_id"], unique=False)
        batch_op.create_index("ix_evidence_links_evidence_id", ["evidence_id"], unique=False)
        batch_op.create_index(
            "ix_evidence_links_org_object", ["organisation_id", "object_type", "object_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("evidence_links")
    op.drop_table("evidence_versions")
    op.drop_table("evidence")
