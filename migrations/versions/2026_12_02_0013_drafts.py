"""drafts: one per organisation and call, a version against lost saves, stashed pages

"Start" on a call where the organisation has a draft opens that draft: a partial unique
index allows one draft per organisation and call. Where earlier data holds more, the most
recently changed draft stays and the others are withdrawn (their answers are kept and shown
under "My applications"). A version number detects two tabs or phones saving one draft.
A withdrawn application remembers the state it left, so withdrawing can be undone. Form
stashes keep a page posted after the session had gone, for its person only.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 04:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import grantpool.platform.db

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("applications", sa.Column("withdrawn_from", sa.String(length=24)))
    op.add_column(
        "applications", sa.Column("version", sa.Integer(), server_default="1", nullable=False)
    )
    op.execute(
        "UPDATE applications SET withdrawn_from = CASE WHEN submitted_at IS NULL "
        "THEN 'draft' ELSE 'submitted' END WHERE state = 'withdrawn'"
    )
    op.execute(
        "UPDATE applications SET state = 'withdrawn', withdrawn_from = 'draft', "
        "withdrawn_at = updated_at "
        "WHERE state = 'draft' AND channel = 'web' AND EXISTS (SELECT 1 FROM applications "
        " AS newer WHERE newer.state = 'draft' AND newer.channel = 'web' AND newer.organisation_id = applications.organisation_id"
        " AND newer.call_id = applications.call_id AND (newer.updated_at > applications.updated_at"
        " OR (newer.updated_at = applications.updated_at AND newer.id > applications.id)))"
    )
    op.create_index(
        "uq_applications_one_draft",
        "applications",
        ["organisation_id", "call_id"],
        unique=True,
        sqlite_where=sa.text("state = 'draft' AND channel = 'web'"),
        postgresql_where=sa.text("state = 'draft' AND channel = 'web'"),
    )
    op.create_table(
        "form_stashes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("application_id", sa.BigInteger(), nullable=False),
        sa.Column("page", sa.Integer(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("created_at", grantpool.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", grantpool.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_form_stashes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_form_stashes_application_id_applications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_form_stashes")),
    )
    op.create_index(
        "ix_form_stashes_user_id_application_id", "form_stashes", ["user_id", "application_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_form_stashes_user_id_application_id", table_name="form_stashes")
    op.drop_table("form_stashes")
    op.drop_index("uq_applications_one_draft", table_name="applications")
    with op.batch_alter_table("applications") as batch:
        batch.drop_column("version")
        batch.drop_column("withdrawn_from")
