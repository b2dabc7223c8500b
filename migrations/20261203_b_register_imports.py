"""register imports: the pending import (encrypted cells, mapping, result), mapping presets, and the
declared creation and update dates of imported fiches

Revision ID: 20261203b
Revises: 20261203g
Create Date: 2026-12-03 11:48:12

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

TZ = sa.DateTime(timezone=True)

revision: str = "20261203b"
down_revision: str | Sequence[str] | None = "20261203g"  # after main's 20261203g (main moved on)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IMPORT_STATUSES = ("pending", "imported", "cancelled", "expired")


def upgrade() -> None:
    op.create_table(
        "import_presets",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_import_presets_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_import_presets_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_presets")),
        sa.UniqueConstraint("organisation_id", "name", name=op.f("uq_import_presets_organisation_id_name")),
    )
    with op.batch_alter_table("import_presets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_import_presets_created_by_id"), ["created_by_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_import_presets_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "register_imports",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                *IMPORT_STATUSES,
                name="register_import_status",
                native_enum=False,
                create_constraint=True,
                length=9,
            ),
            nullable=False,
        ),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("finished_at", TZ, nullable=True),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("fmt", sa.String(length=10), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=True),
        sa.Column("payload", sa.LargeBinary(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_register_imports_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_register_imports_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_register_imports")),
    )
    with op.batch_alter_table("register_imports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_register_imports_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index("ix_register_imports_status_expires", ["status", "expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_register_imports_user_id"), ["user_id"], unique=False)

    # Plain ALTER TABLE (SQLite ≥ 3.35 and PostgreSQL), not batch mode: rebuilding
    # processing_activities in SQLite, foreign keys on, would delete its versions.
    op.add_column("processing_activities", sa.Column("declared_created_on", sa.Date(), nullable=True))
    op.add_column("processing_activities", sa.Column("declared_updated_on", sa.Date(), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE processing_activities DROP COLUMN declared_updated_on")
    op.execute("ALTER TABLE processing_activities DROP COLUMN declared_created_on")

    with op.batch_alter_table("register_imports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_register_imports_user_id"))
        batch_op.drop_index("ix_register_imports_status_expires")
        batch_op.drop_index(batch_op.f("ix_register_imports_organisation_id"))
    op.drop_table("register_imports")

    with op.batch_alter_table("import_presets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_presets_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_import_presets_created_by_id"))
    op.drop_table("import_presets")
