"""Set-up for publication tests: a grant with a paid tranche, an earmarked donor and a
partner with everything that could identify it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from grantpool.attribution import services as attribution
from grantpool.attribution.commands import RecordDetails
from grantpool.grants.models import Grant
from grantpool.organisations.models import Organisation
from tests.factories import make_donor, make_organisation, make_user
from tests.grants.helpers import PAYMENT_DAY, World, make_grant, make_world
from tests.ledger.helpers import contribute

TODAY = dt.date(2026, 11, 22)
NOW = dt.datetime(2026, 11, 22, 12, tzinfo=dt.UTC)

SECRET_ORG = {
    "name": "Secret Sisters Savings Circle",
    "short_name": "SSSC",
    "org_type": "community_based",
    "country": "KE",
    "area": "KE-30",
    "locality": "Hiddenvale Ward",
    "org_id": "KE-RCO-HIDDEN123",
    "women_led": True,
    "contact_email": "secret@circle.example.org",
    "contact_phone": "+254 711 999 888",
}
IDENTIFYING = [
    "Secret Sisters",
    "SSSC",
    "KE-RCO-HIDDEN123",
    "secret@circle.example.org",
    "+254 711 999 888",
    "Hiddenvale",
    "Seed banks and a water committee",  # the application's words, never approved
]


@dataclass
class Published:
    world: World
    grant: Grant
    organisation: Organisation
    partner: object


def pay_first_tranche(session: Session, world: World, grant: Grant) -> None:
    from grantpool.grants import queries, services
    from grantpool.grants.commands import payment_details

    tranche = queries.tranches_of(session, grant)[0]
    disbursement = services.request_release(
        session, world.officer, tranche, now=dt.datetime(2026, 1, 6, tzinfo=dt.UTC)
    )
    services.approve_release(
        session, world.officer2, disbursement, now=dt.datetime(2026, 1, 7, tzinfo=dt.UTC)
    )
    services.record_payment(
        session,
        world.officer,
        disbursement,
        payment_details(**{"reference": "PAY-1", **PAYMENT_DAY}),
        now=dt.datetime(2026, 1, 9, tzinfo=dt.UTC),
    )


def published_grant(
    session: Session, *, organisation: dict | None = None, world: World | None = None
) -> Published:
    if world is None:
        world = make_world(session)
        earmarked = make_donor(
            session, currency="USD", name="Earmark Foundation", org_id="GB-CHC-1"
        )
        contribute(session, world.officer, world.fund, earmarked, "50000.00", earmark_theme="water")
    org = make_organisation(session, **(organisation or {}))
    world.organisation = org
    partner = make_user(session, "applicant", organisations=[org])
    grant = make_grant(session, world, 1_000_000, risk_level="low")
    attribution.save_fund_details(session, world.manager, grant, RecordDetails("water", True, None))
    return Published(world, grant, org, partner)
