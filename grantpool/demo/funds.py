"""The demo's funds and donors: a pooled fund in US dollars with three donors, and a
second fund with its own manager and donor that the first fund's staff never see."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ..accounts.models import Role, User
from ..accounts.services import create_user
from ..funds.commands import donor_details
from ..funds.models import Donor, Fund
from ..funds.services import create_donor
from ..platform.audit import record_event
from .people import DEMO_PASSWORD, demo_email

DONORS = [
    {
        "name": "Nordic Humanitarian Foundation",
        "donor_type": "foundation",
        "country": "NO",
        "currency": "EUR",
    },
    {"name": "Rivers Trust", "donor_type": "foundation", "country": "GB", "currency": "USD"},
    {
        "name": "City of Lyon Solidarity Fund",
        "donor_type": "government",
        "country": "FR",
        "currency": "EUR",
        "org_id": "FR-SIREN-216901231",
    },
]


def _create_fund(session: Session, actor: User, name: str, currency: str, description: str) -> Fund:
    fund = Fund(
        name=name, base_currency=currency, timezone="Africa/Nairobi", description=description
    )
    session.add(fund)
    session.flush()
    record_event(session, actor, "fund.create", fund, after={"name": fund.name})
    return fund


def seed_fund(session: Session, manager: User) -> tuple[Fund, list[Donor]]:
    fund = _create_fund(
        session,
        manager,
        "Local Action Pooled Fund",
        "USD",
        "A pooled fund for community-led response and recovery in East and "
        "West Africa and South Asia.",
    )
    return fund, [create_donor(session, manager, donor_details(**data)) for data in DONORS]


def seed_second_fund(session: Session, admin: User) -> None:
    """A second fund with its own manager and donor: the first fund's staff see neither
    its donor nor its money, and its manager sees nothing of the first fund."""
    coast = _create_fund(
        session,
        admin,
        "Coastal Resilience Fund",
        "KES",
        "Small grants for fishing and farming communities on the Kenyan coast.",
    )
    coast_manager = create_user(
        session,
        admin,
        email=demo_email("coast.manager"),
        name="Zawadi Manager",
        password=DEMO_PASSWORD,
        roles=[(Role.FUND_MANAGER.value, coast.id, None)],
    )
    create_donor(
        session,
        coast_manager,
        donor_details(
            name="Coast County Trust", donor_type="government", country="KE", currency="KES"
        ),
    )
