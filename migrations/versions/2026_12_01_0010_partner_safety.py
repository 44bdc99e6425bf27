"""partner safety: a safety flag on the organisation, and words for anonymised publication

The safety flag protects an organisation, not one grant: set on the organisation (or on
any of its grants) it hides every grant and record of that organisation everywhere. A
partner that is credited anonymously may write a version of its words for anonymised
publication; without one, an anonymised record carries none of its own words.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 20:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("organisations") as batch:
        batch.add_column(
            sa.Column("safety_flag", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("safety_reason", sa.Text(), nullable=True))
        batch.create_check_constraint(
            "safety_has_reason",
            "NOT safety_flag OR length(trim(coalesce(safety_reason, ''))) > 0",
        )
    with op.batch_alter_table("attribution_settings") as batch:
        batch.add_column(
            sa.Column(
                "anonymised_descriptions", sa.JSON(), nullable=False, server_default=sa.text("'{}'")
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("attribution_settings") as batch:
        batch.drop_column("anonymised_descriptions")
    with op.batch_alter_table("organisations") as batch:
        batch.drop_constraint("safety_has_reason", type_="check")
        batch.drop_column("safety_reason")
        batch.drop_column("safety_flag")
