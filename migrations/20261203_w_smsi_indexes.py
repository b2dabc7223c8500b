"""smsi: the incident list filtered by severity or by category, in its order (latest detection first)

Revision ID: 20261203w
Revises: 20261203u
Create Date: 2026-12-03 21:30:00

A severity (or a category) is a tenth of a log of 100,000 incidents: without these indexes the
list's count read the whole log (a sequential scan, 40 to 100 ms); with them it reads the matching
entries of the index, and the page its first rows in order.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "20261203w"
down_revision: str | Sequence[str] | None = "20261203u"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.create_index(
            "ix_incidents_org_severity_detected", ["organisation_id", "severity", "detected_at"], unique=False
        )
        batch_op.create_index(
            "ix_incidents_org_category_detected", ["organisation_id", "category", "detected_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index("ix_incidents_org_category_detected")
        batch_op.drop_index("ix_incidents_org_severity_detected")
