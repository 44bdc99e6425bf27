"""fund donors: which funds a donor gives to

A fund's staff see and change only the donors of their funds. A donor becomes a donor of a
fund when that fund's staff add it or record its pledge or contribution; donors already
giving are linked to the funds they pledged or contributed to.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 00:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import grantpool.platform.db

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fund_donors",
        sa.Column("fund_id", sa.BigInteger(), nullable=False),
        sa.Column("donor_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", grantpool.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["fund_id"], ["funds.id"], name=op.f("fk_fund_donors_fund_id_funds"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["donor_id"],
            ["donors.id"],
            name=op.f("fk_fund_donors_donor_id_donors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("fund_id", "donor_id", name=op.f("pk_fund_donors")),
    )
    op.create_index("ix_fund_donors_donor_id", "fund_donors", ["donor_id"])
    op.execute(
        "INSERT INTO fund_donors (fund_id, donor_id, created_at) "
        "SELECT fund_id, donor_id, MIN(created_at) FROM ("
        " SELECT fund_id, donor_id, created_at FROM pledges"
        " UNION ALL SELECT fund_id, donor_id, created_at FROM contributions"
        ") AS given GROUP BY fund_id, donor_id"
    )


def downgrade() -> None:
    op.drop_index("ix_fund_donors_donor_id", table_name="fund_donors")
    op.drop_table("fund_donors")
