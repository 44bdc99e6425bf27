"""A small fund whose every dashboard figure is worked out by hand in the tests."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from grantpool.accounts.models import Role, User
from grantpool.attribution import services as attribution
from grantpool.attribution.commands import CreditSettings
from grantpool.attribution.rules import LocationPrecision, Naming
from grantpool.funds.models import Donor
from grantpool.grants import queries as grant_queries
from grantpool.grants import services as grants
from grantpool.grants.commands import payment_details
from grantpool.grants.models import Grant
from grantpool.ledger import services as ledger
from grantpool.ledger.commands import pledge_details
from grantpool.platform.money import Money
from grantpool.reviews.models import Decision
from grantpool.reviews.signals import decision_confirmed
from tests.factories import make_donor, make_organisation, make_user
from tests.grants.helpers import AWARDED_AT, World, make_application, make_world
from tests.ledger.helpers import contribute


@dataclass
class Pool:
    world: World
    donor_a: Donor  # gives 1,000 EUR at 1.1 (1,100.00 USD) and pledges 2,000 EUR
    donor_b: Donor  # gives 900.00 USD, gets 50.00 back
    local_grant: Grant  # 1,000.00 USD to a small, women-led community group in Kenya
    other_grant: Grant  # 500.00 USD to an international NGO in Uganda, no budget given
    viewer_a: User
    viewer_b: User


def pay_first_tranche(session: Session, world: World, grant: Grant, paid_on: dt.date) -> None:
    tranche = grant_queries.tranches_of(session, grant)[0]
    disbursement = grants.request_release(session, world.officer, tranche, now=AWARDED_AT)
    grants.approve_release(session, world.officer2, disbursement, now=AWARDED_AT)
    grants.record_payment(
        session,
        world.officer2,
        disbursement,
        payment_details(reference=f"TRX-{grant.id}", method="bank_transfer", paid_on=paid_on),
        now=AWARDED_AT,
    )


def award(session: Session, world: World, organisation: Any, amount_minor: int) -> Grant:
    return grants.create_grant(
        session,
        world.manager,
        make_application(session, world, organisation),
        Money(amount_minor, "USD"),
        risk_level="low",  # tranches of 60 % now and 40 % in 180 days
        now=AWARDED_AT,
    )


def decide(session: Session, world: World, grant: Grant, days_after_close: int) -> None:
    """A confirmed award decision on the grant's application, written past the reviews
    services (whose confirmation would make a second grant) at a chosen instant; it says
    what confirm_decision says, so the kept figures count it."""
    other = make_user(session, (Role.FUND_MANAGER.value, world.fund.id, None))
    decision = Decision(
        application_id=grant.application_id,
        kind="award",
        state="confirmed",
        amount_minor=grant.amount_minor,
        currency="USD",
        reason="Strong local support.",
        reason_keys=[],
        language="en",
        proposed_by_id=world.manager.id,
        decided_by_id=other.id,
        decided_at=world.call.closes_at + dt.timedelta(days=days_after_close),
    )
    session.add(decision)
    session.flush()
    decision_confirmed.send(decision, session=session)


def make_pool(session: Session) -> Pool:
    world = make_world(session, available="")
    donor_a = make_donor(session, currency="EUR")
    donor_b = make_donor(session, currency="USD")
    contribute(
        session,
        world.officer,
        world.fund,
        donor_a,
        "1000.00",
        "EUR",
        Decimal("1.1"),
        earmark_theme="water",
        earmark_country="KE",
    )
    contribute(session, world.officer, world.fund, donor_b, "900.00")
    ledger.record_pledge(
        session,
        world.officer,
        world.fund,
        pledge_details(donor_id=donor_a.id, amount="2000", currency="EUR"),
    )
    ledger.record_fund_cost(session, world.officer, world.fund, Money(10000, "USD"), "Audit fee")
    ledger.refund_donor(
        session, world.officer, world.fund, donor_b, Money(5000, "USD"), "Unused balance"
    )
    small = make_organisation(
        session,
        org_type="community_based",
        country="KE",
        area="KE-47",
        women_led=True,
        annual_budget_minor=1_000_000,
        annual_budget_currency="USD",
    )
    big = make_organisation(session, org_type="international_ngo", country="UG")
    # The local partner lets its area be shown; the other keeps the default (country).
    attribution.save_organisation_settings(
        session,
        make_user(session, Role.APPLICANT.value, organisations=[small]),
        small,
        CreditSettings(Naming.ANONYMISED, LocationPrecision.AREA),
    )
    local_grant = award(session, world, small, 100_000)
    other_grant = award(session, world, big, 50_000)
    pay_first_tranche(session, world, local_grant, dt.date(2026, 1, 9))  # 4 days after award
    pay_first_tranche(session, world, other_grant, dt.date(2026, 1, 15))  # 10 days
    decide(session, world, local_grant, 2)
    decide(session, world, other_grant, 6)
    viewer_a = make_user(session, (Role.DONOR_VIEWER.value, None, donor_a.id))
    viewer_b = make_user(session, (Role.DONOR_VIEWER.value, None, donor_b.id))
    return Pool(world, donor_a, donor_b, local_grant, other_grant, viewer_a, viewer_b)
