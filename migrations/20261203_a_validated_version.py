"""fiches: the version validated by the DPO (the public register and the register PDF read it)

Revision ID: 20261203a
Revises: 20261124d
Create Date: 2026-12-03 09:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261203a"
down_revision: str | Sequence[str] | None = "20261124d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A table of its own, not a column of processing_activities: activity_versions references
    # processing_activities, a reference back would make a cycle (and rebuilding
    # processing_activities in SQLite batch mode, foreign keys on, would delete its versions).
    op.create_table(
        "validated_versions",
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["processing_activities.id"],
            name=op.f("fk_validated_versions_activity_id_processing_activities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["activity_versions.id"],
            name=op.f("fk_validated_versions_version_id_activity_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("activity_id", name=op.f("pk_validated_versions")),
    )
    with op.batch_alter_table("validated_versions", schema=None) as batch_op:
        batch_op.create_index("ix_validated_versions_version_id", ["version_id"], unique=False)

    # Fiches validated before this revision: their latest version is the validated content (every
    # write through the services records a version of the state it leaves). A validated fiche
    # without any version (written straight to the database) stays unpublished until revalidated.
    op.execute(
        """
        INSERT INTO validated_versions (activity_id, version_id)
        SELECT pa.id, (
            SELECT v.id FROM activity_versions v
            WHERE v.activity_id = pa.id
            ORDER BY v.number DESC
            LIMIT 1
        )
        FROM processing_activities pa
        WHERE pa.status = 'validated'
        AND EXISTS (SELECT 1 FROM activity_versions w WHERE w.activity_id = pa.id)
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("validated_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_validated_versions_version_id")

    op.drop_table("validated_versions")
