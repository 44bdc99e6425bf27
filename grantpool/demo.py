"""Demonstration data, so a newcomer sees the whole service after `make run`."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .accounts.models import Role, User
from .accounts.services import create_user
from .funds.models import Donor, Fund
from .funds.services import create_donor
from .organisations.services import create_organisation
from .platform.audit import record_event
from .platform.time import now_utc

DEMO_PASSWORD = "demo-grantpool-2026"
DEMO_DOMAIN = "demo.grantpool.localhost"

ORGANISATIONS = [
    {
        "name": "Kibera Women's Savings Collective",
        "short_name": "KWSC",
        "org_type": "community_based",
        "country": "KE",
        "area": "KE-30",
        "locality": "Kibera",
        "registered": False,
        "women_led": True,
        "contact_email": "kwsc@example.org",
    },
    {
        "name": "Association Jeunesse Solidaire de Bouaké",
        "short_name": "AJSB",
        "org_type": "local_ngo",
        "country": "CI",
        "area": "CI-VB",
        "locality": "Bouaké",
        "registered": True,
        "registration_number": "CI-ASSO-2019-0412",
        "youth_led": True,
        "contact_email": "contact@ajsb.example.org",
    },
    {
        "name": "Gulu Refugee Youth Network",
        "org_type": "informal_group",
        "country": "UG",
        "area": "UG-N",
        "locality": "Gulu",
        "registered": False,
        "youth_led": True,
        "refugee_migrant_led": True,
        "contact_phone": "+256 700 000 000",
    },
    {
        "name": "Mairie de Ouahigouya",
        "org_type": "local_government",
        "country": "BF",
        "area": "BF-10",
        "locality": "Ouahigouya",
        "registered": True,
    },
    {
        "name": "Sindh Disability Rights Forum",
        "short_name": "SDRF",
        "org_type": "national_ngo",
        "country": "PK",
        "area": "PK-SD",
        "registered": True,
        "org_id": "PK-SECP-0098765",
        "disability_led": True,
        "contact_email": "info@sdrf.example.org",
    },
]

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


def database_is_empty(session: Session) -> bool:
    return not session.scalar(select(func.count()).select_from(User))


def demo_logins(session: Session) -> list[tuple[str, str]]:
    users = session.scalars(
        select(User).where(User.email.like(f"%@{DEMO_DOMAIN}")).order_by(User.id)
    ).all()
    return [(", ".join(u.role_names()) or "applicant", u.email) for u in users]


def seed(session: Session) -> list[tuple[str, str]]:
    admin = create_user(
        session,
        None,
        email=f"admin@{DEMO_DOMAIN}",
        name="Amina Admin",
        password=DEMO_PASSWORD,
        roles=[(Role.ADMIN.value, None, None)],
    )
    manager = create_user(
        session,
        admin,
        email=f"manager@{DEMO_DOMAIN}",
        name="Mariam Manager",
        password=DEMO_PASSWORD,
        roles=[(Role.FUND_MANAGER.value, None, None)],
    )

    fund = Fund(
        name="Local Action Pooled Fund",
        base_currency="USD",
        timezone="Africa/Nairobi",
        description="A pooled fund for community-led response and recovery in East and "
        "West Africa and South Asia.",
    )
    session.add(fund)
    session.flush()
    record_event(session, manager, "fund.create", fund, after={"name": fund.name})

    donors = [create_donor(session, manager, data) for data in DONORS]
    organisations = [create_organisation(session, manager, data) for data in ORGANISATIONS]

    create_user(
        session,
        admin,
        email=f"manager2@{DEMO_DOMAIN}",
        name="Moses Manager",
        password=DEMO_PASSWORD,
        roles=[(Role.FUND_MANAGER.value, fund.id, None)],
    )
    finance = create_user(
        session,
        admin,
        email=f"finance@{DEMO_DOMAIN}",
        name="Fatou Finance",
        password=DEMO_PASSWORD,
        roles=[(Role.FINANCE_OFFICER.value, fund.id, None)],
    )
    create_user(
        session,
        admin,
        email=f"finance2@{DEMO_DOMAIN}",
        name="Farid Finance",
        password=DEMO_PASSWORD,
        roles=[(Role.FINANCE_OFFICER.value, fund.id, None)],
    )
    create_user(
        session,
        admin,
        email=f"reviewer@{DEMO_DOMAIN}",
        name="Rania Reviewer",
        password=DEMO_PASSWORD,
        roles=[(Role.REVIEWER.value, fund.id, None)],
    )
    create_user(
        session,
        admin,
        email=f"panel@{DEMO_DOMAIN}",
        name="Pascal Panel",
        password=DEMO_PASSWORD,
        roles=[(Role.COMMUNITY_PANEL.value, fund.id, None)],
        organisation_ids=[organisations[3].id],
    )
    create_user(
        session,
        admin,
        email=f"donor@{DEMO_DOMAIN}",
        name="Dina Donor",
        password=DEMO_PASSWORD,
        roles=[(Role.DONOR_VIEWER.value, None, donors[0].id)],
    )
    create_user(
        session,
        admin,
        email=f"applicant@{DEMO_DOMAIN}",
        name="Achieng Applicant",
        password=DEMO_PASSWORD,
        roles=[(Role.APPLICANT.value, None, None)],
        organisation_ids=[organisations[0].id],
        locale="en",
    )
    create_user(
        session,
        admin,
        email=f"candidat@{DEMO_DOMAIN}",
        name="Koffi Candidat",
        password=DEMO_PASSWORD,
        roles=[(Role.APPLICANT.value, None, None)],
        organisation_ids=[organisations[1].id],
        locale="fr",
    )
    session.flush()
    _seed_money(session, finance, fund, donors)
    from .intake.demo import seed_calls

    applicants = [
        (user, membership.organisation)
        for email in (f"applicant@{DEMO_DOMAIN}", f"candidat@{DEMO_DOMAIN}")
        if (user := session.scalar(select(User).where(User.email == email))) is not None
        for membership in user.memberships
    ]
    seed_calls(session, manager, fund, applicants)
    from .reviews.demo import seed_reviews

    seed_reviews(session, fund, organisations, DEMO_DOMAIN, DEMO_PASSWORD)
    from .grants.demo import seed_grants

    grant_list = seed_grants(session, manager, fund, organisations)
    from .attribution.demo import seed_attribution

    seed_attribution(session, manager, fund, organisations, grant_list, DEMO_DOMAIN, DEMO_PASSWORD)
    _seed_second_fund(session, admin)
    return demo_logins(session)


def _seed_second_fund(session: Session, admin: User) -> None:
    """A second fund with its own manager and donor: the first fund's staff see neither
    its donor nor its money, and its manager sees nothing of the first fund."""
    coast = Fund(
        name="Coastal Resilience Fund",
        base_currency="KES",
        timezone="Africa/Nairobi",
        description="Small grants for fishing and farming communities on the Kenyan coast.",
    )
    session.add(coast)
    session.flush()
    record_event(session, admin, "fund.create", coast, after={"name": coast.name})
    coast_manager = create_user(
        session,
        admin,
        email=f"coast.manager@{DEMO_DOMAIN}",
        name="Zawadi Manager",
        password=DEMO_PASSWORD,
        roles=[(Role.FUND_MANAGER.value, coast.id, None)],
    )
    create_donor(
        session,
        coast_manager,
        {"name": "Coast County Trust", "donor_type": "government", "country": "KE",
         "currency": "KES"},
    )  # fmt: skip


def _seed_money(session: Session, finance: User, fund: Fund, donors: list[Donor]) -> None:
    """Contributions in two currencies, a pledge, a management cost and a donor refund."""
    from .ledger import services as ledger
    from .platform.money import Money

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
            {
                "donor_id": donor.id,
                "amount": amount,
                "currency": currency,
                "exchange_rate": rate,
                "received_at": received,
                "earmark_theme": theme,
            },
        )
        received += dt.timedelta(days=21)
    ledger.record_pledge(
        session,
        finance,
        fund,
        {
            "donor_id": donors[1].id,
            "amount": "120000.00",
            "currency": "USD",
            "expected_on": (now_utc() + dt.timedelta(days=60)).date(),
        },
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
