"""Pooled funds and the donors who give to them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

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

    __table_args__ = (
        CheckConstraint(
            "donor_type IN ('government', 'multilateral', 'foundation', 'private_sector', "
            "'individual', 'pooled_fund', 'other')",
            name="donor_type_known",
        ),
    )
