"""smsi: the incident and action lists' search on a folded column (trigram index on PostgreSQL), and
the indexes of the action list's orders and of the weekly review

Revision ID: 20261203p
Revises: 20261203o
Create Date: 2026-12-03 18:00:00

``search_text`` holds an incident's (an action's) reference and title folded — lower case, accents
removed (:func:`core.text.fold`) — kept by the service that writes them; existing rows are filled
here. On PostgreSQL a trigram GIN index (extension ``pg_trgm``) serves ``LIKE '%…%'``; elsewhere the
index is a plain one and the search a LIKE on the column.
"""

import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261203p"
down_revision: str | Sequence[str] | None = "20261203o"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5_000
TRGM = {"postgresql_using": "gin", "postgresql_ops": {"search_text": "gin_trgm_ops"}}


def fold(text: str | None) -> str:
    """core.text.fold, copied (a migration keeps the rule of its day): lower case, no accents."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()


def search_text(reference: str | None, title: str | None) -> str:
    """smsi.models.search_text: the reference and the title folded, one line each."""
    return f"{fold(reference)}\n{fold(title)}"


def _backfill(table_name: str) -> None:
    bind = op.get_bind()
    table = sa.table(
        table_name,
        sa.column("id", sa.Integer),
        sa.column("reference"),
        sa.column("title"),
        sa.column("search_text"),
    )
    last = 0
    while True:
        rows = bind.execute(
            sa.select(table.c.id, table.c.reference, table.c.title)
            .where(table.c.id > last)
            .order_by(table.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        bind.execute(
            sa.update(table)
            .where(table.c.id == sa.bindparam("row_id"))
            .values(search_text=sa.bindparam("text")),
            [{"row_id": r.id, "text": search_text(r.reference, r.title)} for r in rows],
        )
        last = rows[-1].id


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for table in ("incidents", "smsi_actions"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            # the default fills the rows already there until the backfill; dropped after it
            batch_op.add_column(sa.Column("search_text", sa.Text(), server_default="", nullable=False))
        _backfill(table)
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.alter_column("search_text", existing_type=sa.Text(), server_default=None)
        batch_op.create_index("ix_incidents_org_closed", ["organisation_id", "closed_at"], unique=False)
        batch_op.create_index("ix_incidents_org_updated", ["organisation_id", "updated_at"], unique=False)
        batch_op.create_index("ix_incidents_search_text", ["search_text"], unique=False, **TRGM)
    with op.batch_alter_table("smsi_actions", schema=None) as batch_op:
        batch_op.alter_column("search_text", existing_type=sa.Text(), server_default=None)
        batch_op.create_index("ix_smsi_actions_org_due", ["organisation_id", "due_on", "id"], unique=False)
        batch_op.create_index(
            "ix_smsi_actions_org_origin_due", ["organisation_id", "origin", "due_on", "id"], unique=False
        )
        batch_op.create_index("ix_smsi_actions_org_checked", ["organisation_id", "checked_on"], unique=False)
        batch_op.create_index("ix_smsi_actions_search_text", ["search_text"], unique=False, **TRGM)


def downgrade() -> None:
    with op.batch_alter_table("smsi_actions", schema=None) as batch_op:
        batch_op.drop_index("ix_smsi_actions_search_text")
        batch_op.drop_index("ix_smsi_actions_org_checked")
        batch_op.drop_index("ix_smsi_actions_org_origin_due")
        batch_op.drop_index("ix_smsi_actions_org_due")
        batch_op.drop_column("search_text")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index("ix_incidents_search_text")
        batch_op.drop_index("ix_incidents_org_updated")
        batch_op.drop_index("ix_incidents_org_closed")
        batch_op.drop_column("search_text")
    # pg_trgm stays: dropping an extension another schema object may use is not this migration's call.
