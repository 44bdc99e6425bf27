"""dashboard: an organisation's optional annual budget (for the share of money reaching
organisations with small budgets)

Revision ID: 0008
Revises: 0005
Create Date: 2026-11-22 09:05:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("annual_budget_minor", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("annual_budget_currency", sa.String(length=3), nullable=True))
        batch_op.create_check_constraint(
            batch_op.f("ck_organisations_annual_budget_with_currency"),
            "(annual_budget_minor IS NULL) = (annual_budget_currency IS NULL) "
            "AND (annual_budget_minor IS NULL OR annual_budget_minor >= 0)",
        )


def downgrade() -> None:
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("ck_organisations_annual_budget_with_currency"), type_="check"
        )
        batch_op.drop_column("annual_budget_currency")
        batch_op.drop_column("annual_budget_minor")
