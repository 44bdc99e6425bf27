"""Shared set-up for ledger tests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from grantpool.accounts.models import Role, User
from grantpool.funds.models import Donor, Fund
from grantpool.ledger import services
from grantpool.ledger.commands import contribution_details
from grantpool.ledger.models import Contribution
from tests.factories import make_user

RECEIVED = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def make_finance_officer(session: Session, fund: Fund, **kwargs: Any) -> User:
    return make_user(session, (Role.FINANCE_OFFICER.value, fund.id, None), **kwargs)


def contribute(
    session: Session,
    officer: User,
    fund: Fund,
    donor: Donor,
    amount: str,
    currency: str | None = None,
    rate: Decimal | str = "1",
    **extra: Any,
) -> Contribution:
    data = {
        "donor_id": donor.id,
        "amount": amount,
        "currency": currency or fund.base_currency,
        "exchange_rate": str(rate),
        "received_at": RECEIVED,
    }
    data.update(extra)
    return services.record_contribution(session, officer, fund, contribution_details(**data))
