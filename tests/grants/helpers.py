"""Shared set-up for grants tests: a funded fund, its people, and awardable applications."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from grantpool.accounts.models import Role, User
from grantpool.funds.models import Fund
from grantpool.grants import services
from grantpool.grants.models import Grant
from grantpool.intake import services as intake
from grantpool.intake.models import Application
from grantpool.ledger.services import check_ledger
from grantpool.organisations.models import Organisation
from grantpool.platform.money import Money
from tests.factories import make_call, make_donor, make_fund, make_organisation, make_user
from tests.ledger.helpers import contribute

AWARDED_AT = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
PAYMENT_DAY = {"method": "bank_transfer", "paid_on": dt.date(2026, 1, 9)}
ANSWERS = {"summary": "Seed banks and a water committee.", "has_partner": "no"}


@dataclass
class World:
    fund: Fund
    manager: User
    officer: User
    officer2: User
    organisation: Organisation
    grantee: User
    call: Any


def make_world(session: Session, available: str = "100000.00") -> World:
    manager = make_user(session, Role.FUND_MANAGER.value)
    fund = make_fund(session, manager)
    # The factory's manager holds a global role; give the fund its own manager too.
    manager = make_user(session, (Role.FUND_MANAGER.value, fund.id, None))
    officer = make_user(session, (Role.FINANCE_OFFICER.value, fund.id, None))
    officer2 = make_user(session, (Role.FINANCE_OFFICER.value, fund.id, None))
    donor = make_donor(session, currency="USD")
    if available:
        contribute(session, officer, fund, donor, available)
    organisation = make_organisation(session)
    grantee = make_user(session, Role.APPLICANT.value, organisations=[organisation])
    call = make_call(session, fund, manager, open_until=dt.datetime(2026, 12, 31, tzinfo=dt.UTC))
    return World(fund, manager, officer, officer2, organisation, grantee, call)


def make_application(
    session: Session, world: World, organisation: Organisation | None = None
) -> Application:
    organisation = organisation or world.organisation
    return intake.submit_application(
        session,
        None,
        world.call,
        organisation,
        dict(ANSWERS),
        Money(500000, "USD"),
        "web",
        "en",
        dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
        notify="",
    )


def make_grant(
    session: Session,
    world: World,
    amount_minor: int = 1_000_000,
    risk_level: str = "low",
    **kwargs: Any,
) -> Grant:
    kwargs.setdefault("now", AWARDED_AT)
    return services.create_grant(
        session,
        world.manager,
        make_application(session, world),
        Money(amount_minor, world.fund.base_currency),
        risk_level=risk_level,
        **kwargs,
    )


def assert_ledger_sound(session: Session) -> None:
    problems = list(check_ledger(session))
    assert problems == [], problems
