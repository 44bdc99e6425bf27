"""A call for proposals in a fund."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..platform.db import Base, IdPK, MinorUnits
from ..platform.money import Money
from ..platform.states import state_enum
from ..platform.time import now_utc
from .rules import CallState, text_in

if TYPE_CHECKING:
    from ..funds.models import Fund


class Call(Base):
    __tablename__ = "calls"

    id: Mapped[IdPK]
    fund_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("funds.id", ondelete="RESTRICT"))
    title: Mapped[dict[str, Any]] = mapped_column(JSON)
    description: Mapped[dict[str, Any]] = mapped_column(JSON)
    currency: Mapped[str] = mapped_column(String(3))
    # Units of the fund's base currency per unit of the call's currency, stated when the
    # call is in another currency (exact decimal text; None when they are the same).
    exchange_rate: Mapped[str | None] = mapped_column(String(40))
    budget_minor: Mapped[MinorUnits]
    min_request_minor: Mapped[MinorUnits]
    max_request_minor: Mapped[MinorUnits]
    opens_at: Mapped[dt.datetime | None]
    closes_at: Mapped[dt.datetime | None]
    eligibility: Mapped[dict[str, Any]] = mapped_column(JSON)
    channels: Mapped[list[str]] = mapped_column(JSON)
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    tranche_template: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[CallState] = mapped_column(
        state_enum(CallState, length=16), default=CallState.DRAFT
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)
    opened_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]

    fund: Mapped[Fund] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint("currency = upper(currency) AND length(currency) = 3", name="currency_iso"),
        CheckConstraint(
            "min_request_minor > 0 AND min_request_minor <= max_request_minor "
            "AND max_request_minor <= budget_minor",
            name="request_bounds",
        ),
        CheckConstraint(
            "opens_at IS NULL OR closes_at IS NULL OR opens_at < closes_at",
            name="opens_before_closes",
        ),
        CheckConstraint(
            "state IN ('draft', 'archived') OR (opened_at IS NOT NULL AND closes_at IS NOT NULL)",
            name="opened_when_open",
        ),
        CheckConstraint(
            "state IN ('draft', 'open') OR closed_at IS NOT NULL", name="closed_when_closed"
        ),
        Index("ix_calls_fund_id", "fund_id"),
        Index("ix_calls_state", "state"),
    )

    @property
    def budget(self) -> Money:
        return Money(self.budget_minor, self.currency)

    @property
    def rate_to_base(self) -> Decimal:
        return Decimal(self.exchange_rate) if self.exchange_rate else Decimal(1)

    def in_base_currency(self, amount: Money) -> Money:
        """An amount of this call expressed in the fund's currency at the stated rate."""
        if amount.currency == self.fund.base_currency:
            return amount
        return amount.convert(self.rate_to_base, self.fund.base_currency)

    @property
    def min_request(self) -> Money:
        return Money(self.min_request_minor, self.currency)

    @property
    def max_request(self) -> Money:
        return Money(self.max_request_minor, self.currency)

    @property
    def languages(self) -> list[str]:
        return list(self.title)

    @property
    def main_language(self) -> str | None:
        """The call's first language: the one every text is written in."""
        return next(iter(self.title or {}), None)

    def title_in(self, language: str) -> str:
        return text_in(self.title, language, self.main_language)

    def description_in(self, language: str) -> str:
        return text_in(self.description, language, self.main_language)

    def is_accepting(self, now: dt.datetime) -> bool:
        return (
            self.state == CallState.OPEN
            and self.closes_at is not None
            and now < self.closes_at
            and (self.opens_at is None or self.opens_at <= now)
        )

    def __repr__(self) -> str:
        return f"<Call {self.id} {self.state}>"
