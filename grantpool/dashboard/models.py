"""Summary figures the dashboard reads instead of summing every grant on each request.

Kept in step with the ledger and the grants in the same transaction as the postings that
move them (see totals.py); `flask grantpool dashboard-rebuild` recomputes them from the
source rows and `dashboard-check` compares the two.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..platform.db import Base


class DashboardTotal(Base):
    """One figure of a fund by one dimension and key.

    dimension "ledger": key is an account category (available, costs, outstanding, paid)
    and amount_minor its balance. dimension "refund": key a donor id, amount_minor what
    was returned to it. dimension "organisation": key an organisation id (counted for the
    credit list). Every other dimension (all, call, country, area, theme, org_type, local,
    budget, leadership): amount_minor committed, paid_minor disbursed, grants the number
    of grants.
    """

    __tablename__ = "dashboard_totals"

    fund_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("funds.id", ondelete="RESTRICT"), primary_key=True
    )
    dimension: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    grants: Mapped[int] = mapped_column(Integer, default=0)


class DashboardDays(Base):
    """How many times a speed measure took this many whole days, per fund: the
    distribution its median and 90th percentile are read from."""

    __tablename__ = "dashboard_days"

    fund_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("funds.id", ondelete="RESTRICT"), primary_key=True
    )
    measure: Mapped[str] = mapped_column(String(32), primary_key=True)
    days: Mapped[int] = mapped_column(Integer, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
