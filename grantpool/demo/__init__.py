"""Demonstration data, so a newcomer sees the whole service after `make run`: every role
can sign in, and every capability has something to show.

`seed` loads it (`flask grantpool seed-demo`) and returns the sign-ins that
`demo_logins` lists again later (`flask grantpool demo-logins`). One module per part, in
the order they are loaded, each building on the ones before: people and funds, money,
calls and applications, reviews, grants, attribution, and a second fund kept apart.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from . import attribution, calls, funds, grants, money, people, reviews
from .people import DEMO_DOMAIN, DEMO_PASSWORD, ORGANISATIONS, database_is_empty, demo_logins

__all__ = [
    "DEMO_DOMAIN",
    "DEMO_PASSWORD",
    "ORGANISATIONS",
    "database_is_empty",
    "demo_logins",
    "seed",
]


def seed(session: Session) -> list[tuple[str, str]]:
    """Load the demonstration data (flushed, not committed) and return its sign-ins as
    (roles, email) pairs."""
    admin, manager = people.seed_administrators(session)
    fund, donors = funds.seed_fund(session, manager)
    organisations = people.seed_organisations(session, manager)
    fund_people = people.seed_fund_people(session, admin, fund, donors, organisations)
    money.seed_money(session, fund_people.finance, fund, donors)
    calls.seed_calls(session, manager, fund, fund_people.applicants)
    reviews.seed_reviews(session, fund, organisations)
    grant_list = grants.seed_grants(session, manager, fund, organisations)
    attribution.seed_attribution(session, manager, fund, organisations, grant_list)
    funds.seed_second_fund(session, admin)
    return demo_logins(session)
