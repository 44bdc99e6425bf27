"""audit chain head in one statement: take the chain's lock and read the newest hash

On PostgreSQL the first audit event of a transaction used to take the advisory lock and
then read the newest hash: two statements, two round trips on every audited write. This
function does both in one. Each statement of a VOLATILE function takes a fresh snapshot,
so the hash is read after the lock is held and sees whatever the previous holder
committed. SQLite needs nothing: BEGIN IMMEDIATE already serialises writers.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 03:30:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

CHAIN_HEAD_PG = """
CREATE FUNCTION audit_chain_head(lock_key bigint) RETURNS varchar LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(lock_key);
    RETURN (SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1);
END
$$;
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CHAIN_HEAD_PG)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION audit_chain_head(bigint)")
