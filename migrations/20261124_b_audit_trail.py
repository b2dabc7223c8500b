"""audit trail: hash-chained events, erasable payloads, chain heads, signed anchors

Revision ID: 20261124b
Revises: 1795512344
Create Date: 2026-11-24 14:00:00

Hand-written (no import of the application's models). On PostgreSQL, triggers make the journal
append-only for everybody but a superuser who disables them: UPDATE and DELETE (and TRUNCATE) of
``audit_events`` and ``audit_anchors`` raise, and a payload may only be emptied (GDPR erasure).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "20261124b"
down_revision: str | Sequence[str] | None = "1795512344"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit journal is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""

PAYLOAD_ERASE_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_payload_erase_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.id = OLD.id AND NEW.event_id = OLD.event_id AND NEW.data IS NULL THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'an audit payload may only be erased: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""

TRIGGERS = (
    ("audit_events_append_only", "audit_events", "BEFORE UPDATE OR DELETE", "ROW", "audit_append_only"),
    ("audit_events_no_truncate", "audit_events", "BEFORE TRUNCATE", "STATEMENT", "audit_append_only"),
    ("audit_anchors_append_only", "audit_anchors", "BEFORE UPDATE OR DELETE", "ROW", "audit_append_only"),
    ("audit_anchors_no_truncate", "audit_anchors", "BEFORE TRUNCATE", "STATEMENT", "audit_append_only"),
    (
        "audit_payloads_erase_only",
        "audit_payloads",
        "BEFORE UPDATE OR DELETE",
        "ROW",
        "audit_payload_erase_only",
    ),
    (
        "audit_payloads_no_truncate",
        "audit_payloads",
        "BEFORE TRUNCATE",
        "STATEMENT",
        "audit_payload_erase_only",
    ),
)


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("chain", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("object_type", sa.String(length=100), nullable=False),
        sa.Column("object_id", sa.Integer(), nullable=True),
        sa.Column("payload_sha256", sa.String(length=64), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "(chain = 0 AND organisation_id IS NULL) OR chain = organisation_id",
            name=op.f("ck_audit_events_chain_matches_organisation"),
        ),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_audit_events_actor_id_users")),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_audit_events_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
        sa.UniqueConstraint("chain", "seq", name=op.f("uq_audit_events_chain_seq")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_events_actor_id"), ["actor_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_audit_events_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index("ix_audit_events_chain_at", ["chain", "at"], unique=False)
        batch_op.create_index("ix_audit_events_chain_action", ["chain", "action"], unique=False)
        batch_op.create_index("ix_audit_events_object", ["object_type", "object_id"], unique=False)

    op.create_table(
        "audit_payloads",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["audit_events.id"], name=op.f("fk_audit_payloads_event_id_audit_events")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_payloads")),
        sa.UniqueConstraint("event_id", name=op.f("uq_audit_payloads_event_id")),
    )

    op.create_table(
        "audit_heads",
        sa.Column("chain", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("chain", name=op.f("pk_audit_heads")),
    )

    op.create_table(
        "audit_anchors",
        sa.Column("chain", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signature", sa.String(length=100), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_anchors")),
    )
    with op.batch_alter_table("audit_anchors", schema=None) as batch_op:
        batch_op.create_index("ix_audit_anchors_chain_seq", ["chain", "seq"], unique=False)

    if _postgresql():
        op.execute(APPEND_ONLY_FUNCTION)
        op.execute(PAYLOAD_ERASE_ONLY_FUNCTION)
        for name, table, when, level, function in TRIGGERS:
            op.execute(
                f"CREATE TRIGGER {name} {when} ON {table} FOR EACH {level} EXECUTE FUNCTION {function}()"
            )


def downgrade() -> None:
    if _postgresql():
        for name, table, *_rest in reversed(TRIGGERS):
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS audit_payload_erase_only()")
        op.execute("DROP FUNCTION IF EXISTS audit_append_only()")

    with op.batch_alter_table("audit_anchors", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_anchors_chain_seq")
    op.drop_table("audit_anchors")
    op.drop_table("audit_heads")
    op.drop_table("audit_payloads")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_object")
        batch_op.drop_index("ix_audit_events_chain_action")
        batch_op.drop_index("ix_audit_events_chain_at")
        batch_op.drop_index(batch_op.f("ix_audit_events_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_audit_events_actor_id"))
    op.drop_table("audit_events")
