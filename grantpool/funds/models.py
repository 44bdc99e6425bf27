"""Pooled funds and the donors who give to them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..platform.db import Base, IdPK
from ..platform.time import now_utc


class Fund(Base):
    __tablename__ = "funds"

    id: Mapped[IdPK]
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    base_currency: Mapped[str] = mapped_column(String(3))
    timezone: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)

    __table_args__ = (
        CheckConstraint(
            "base_currency = upper(base_currency) AND length(base_currency) = 3",
            name="currency_iso",
        ),
    )


class Donor(Base):
    __tablename__ = "donors"

    id: Mapped[IdPK]
    name: Mapped[str] = mapped_column(String(200), unique=True)
    donor_type: Mapped[str] = mapped_column(String(32))
    country: Mapped[str | None] = mapped_column(String(2))
    org_id: Mapped[str | None] = mapped_column(String(100))
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)

    fund_links: Mapped[list[FundDonor]] = relationship(lazy="select", cascade="all, delete-orphan")

    @property
    def fund_ids(self) -> frozenset[int]:
        """The funds this donor gives to; empty for a donor not yet giving to any."""
        return frozenset(link.fund_id for link in self.fund_links)

    __table_args__ = (
        CheckConstraint(
            "donor_type IN ('government', 'multilateral', 'foundation', 'private_sector', "
            "'individual', 'pooled_fund', 'other')",
            name="donor_type_known",
        ),
    )


class FundDonor(Base):
    """A donor of a fund: made when a fund's staff add the donor, or record its pledge or
    contribution. A fund's staff see only their funds' donors (and those not yet giving to
    any fund)."""

    __tablename__ = "fund_donors"

    fund_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("funds.id", ondelete="CASCADE"), primary_key=True
    )
    donor_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("donors.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)

    __table_args__ = (Index("ix_fund_donors_donor_id", "donor_id"),)
