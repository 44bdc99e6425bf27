"""stored uploads: a row for every stored file, for quotas, rate limits and retention

Uploads used to be known only by signed tokens. Each is now a row charged to an
organisation (none for a spreadsheet a fund manager imports), marked attached once an
application or report refers to it; `flask grantpool purge-uploads` removes those never
attached. Files stored before this revision have no row: they count towards no quota and
are never purged.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 00:11:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import grantpool.platform.db

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stored_uploads",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("organisation_id", sa.BigInteger(), nullable=True),
        sa.Column("uploaded_by_id", sa.BigInteger(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(length=120), nullable=False),
        sa.Column("purpose", sa.String(length=24), nullable=False),
        sa.Column("created_at", grantpool.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attached_at", grantpool.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "purpose IN ('application_answer', 'report_file', 'import_sheet')",
            name=op.f("ck_stored_uploads_purpose_known"),
        ),
        sa.CheckConstraint("size > 0", name=op.f("ck_stored_uploads_size_positive")),
        sa.CheckConstraint(
            "(purpose = 'import_sheet') = (organisation_id IS NULL)",
            name=op.f("ck_stored_uploads_organisation_unless_import"),
        ),
        sa.CheckConstraint(
            "purpose <> 'import_sheet' OR attached_at IS NULL",
            name=op.f("ck_stored_uploads_import_never_attached"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_stored_uploads_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"],
            ["users.id"],
            name=op.f("fk_stored_uploads_uploaded_by_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stored_uploads")),
        sa.UniqueConstraint("key", name=op.f("uq_stored_uploads_key")),
    )
    with op.batch_alter_table("stored_uploads", schema=None) as batch_op:
        batch_op.create_index(
            "ix_stored_uploads_organisation_id", ["organisation_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_stored_uploads_uploaded_by_id", ["uploaded_by_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_stored_uploads_unattached", ["attached_at", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("stored_uploads", schema=None) as batch_op:
        batch_op.drop_index("ix_stored_uploads_unattached")
        batch_op.drop_index("ix_stored_uploads_uploaded_by_id")
        batch_op.drop_index("ix_stored_uploads_organisation_id")
    op.drop_table("stored_uploads")
