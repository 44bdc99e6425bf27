"""The demo's money: contributions in two currencies (with the exchange rate used), a
pledge, a fund management cost and a refund to a donor."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy.orm import Session

from ..accounts.models import User
from ..funds.models import Donor, Fund
from ..ledger import services as ledger
from ..ledger.commands import ContributionDetails, PledgeDetails
from ..platform.money import Money
from ..platform.time import now_utc


def seed_money(session: Session, finance: User, fund: Fund, donors: list[Donor]) -> None:
    received = now_utc() - dt.timedelta(days=120)
    for donor, amount, currency, rate, theme in (
        (donors[0], "250000.00", "EUR", "1.0850", "food security"),
        (donors[1], "180000.00", "USD", "", None),
        (donors[2], "90000.00", "EUR", "1.0720", None),
    ):
        ledger.record_contribution(
            session,
            finance,
            fund,
            ContributionDetails(
                donor_id=donor.id,
                amount=Money.from_decimal(amount, currency),
                received_at=received,
                exchange_rate=Decimal(rate) if rate else None,
                earmark_theme=theme,
            ),
        )
        received += dt.timedelta(days=21)
    ledger.record_pledge(
        session,
        finance,
        fund,
        PledgeDetails(
            donor_id=donors[1].id,
            amount=Money.from_decimal("120000.00", "USD"),
            expected_on=(now_utc() + dt.timedelta(days=60)).date(),
        ),
    )
    ledger.record_fund_cost(
        session,
        finance,
        fund,
        Money(1_250_000, fund.base_currency),
        "Fund management: first quarter",
    )
    ledger.refund_donor(
        session,
        finance,
        fund,
        donors[2],
        Money(500_000, fund.base_currency),
        "Unused earmarked balance returned at the donor's request",
    )
