"""dashboard: an organisation's optional annual budget (for the share of money reaching
organisations with small budgets); summary figures kept in step with the postings

After upgrading a database that already holds grants, run `flask grantpool
dashboard-rebuild` once to fill the summary figures.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 09:05:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dashboard_totals",
        sa.Column("fund_id", sa.BigInteger(), nullable=False),
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("paid_minor", sa.BigInteger(), nullable=False),
        sa.Column("grants", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["fund_id"],
            ["funds.id"],
            name=op.f("fk_dashboard_totals_fund_id_funds"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("fund_id", "dimension", "key", name=op.f("pk_dashboard_totals")),
    )
    op.create_table(
        "dashboard_days",
        sa.Column("fund_id", sa.BigInteger(), nullable=False),
        sa.Column("measure", sa.String(length=32), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["fund_id"],
            ["funds.id"],
            name=op.f("fk_dashboard_days_fund_id_funds"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("fund_id", "measure", "days", name=op.f("pk_dashboard_days")),
    )
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
    op.drop_table("dashboard_days")
    op.drop_table("dashboard_totals")
