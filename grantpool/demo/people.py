"""The demo's people: one sign-in for every role, and organisations of every kind (local
NGO, community group, informal collective, local government, national NGO; registered or
not; women-, youth-, refugee- and disability-led)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..accounts.models import Role, User
from ..accounts.services import create_user
from ..funds.models import Donor, Fund
from ..organisations.commands import organisation_details
from ..organisations.models import Organisation
from ..organisations.services import create_organisation

DEMO_PASSWORD = "demo-grantpool-2026"
DEMO_DOMAIN = "demo.grantpool.localhost"

ORGANISATIONS: list[dict[str, Any]] = [
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


@dataclass(frozen=True)
class FundPeople:
    """The first fund's staff and applicants the later parts of the demo act as."""

    finance: User
    applicants: list[tuple[User, Organisation]]


def demo_email(name: str) -> str:
    return f"{name}@{DEMO_DOMAIN}"


def demo_user(session: Session, name: str) -> User:
    """A demo user made earlier, by the first part of its address."""
    found = session.scalar(select(User).where(User.email == demo_email(name)))
    assert found is not None, name
    return found


def database_is_empty(session: Session) -> bool:
    return not session.scalar(select(func.count()).select_from(User))


def demo_logins(session: Session) -> list[tuple[str, str]]:
    users = session.scalars(
        select(User).where(User.email.like(f"%@{DEMO_DOMAIN}")).order_by(User.id)
    ).all()
    return [(", ".join(u.role_names()) or "applicant", u.email) for u in users]


def seed_administrators(session: Session) -> tuple[User, User]:
    """The administrator and a fund manager of every fund."""
    admin = create_user(
        session,
        None,
        email=demo_email("admin"),
        name="Amina Admin",
        password=DEMO_PASSWORD,
        roles=[(Role.ADMIN.value, None, None)],
    )
    manager = create_user(
        session,
        admin,
        email=demo_email("manager"),
        name="Mariam Manager",
        password=DEMO_PASSWORD,
        roles=[(Role.FUND_MANAGER.value, None, None)],
    )
    return admin, manager


def seed_organisations(session: Session, manager: User) -> list[Organisation]:
    return [
        create_organisation(session, manager, organisation_details(**data))
        for data in ORGANISATIONS
    ]


def seed_fund_people(
    session: Session,
    admin: User,
    fund: Fund,
    donors: list[Donor],
    organisations: list[Organisation],
) -> FundPeople:
    """The first fund's own staff (a second manager, two finance officers for the four
    eyes on every payment, a reviewer, a community panel member), a donor's viewer, and an
    applicant in English and one in French."""

    def add(
        name: str,
        full_name: str,
        role: Role,
        fund_id: int | None = None,
        donor_id: int | None = None,
        organisation: Organisation | None = None,
        locale: str | None = None,
    ) -> User:
        return create_user(
            session,
            admin,
            email=demo_email(name),
            name=full_name,
            password=DEMO_PASSWORD,
            roles=[(role.value, fund_id, donor_id)],
            organisation_ids=[organisation.id] if organisation is not None else None,
            locale=locale,
        )

    add("manager2", "Moses Manager", Role.FUND_MANAGER, fund.id)
    finance = add("finance", "Fatou Finance", Role.FINANCE_OFFICER, fund.id)
    add("finance2", "Farid Finance", Role.FINANCE_OFFICER, fund.id)
    add("reviewer", "Rania Reviewer", Role.REVIEWER, fund.id)
    add("panel", "Pascal Panel", Role.COMMUNITY_PANEL, fund.id, organisation=organisations[3])
    add("donor", "Dina Donor", Role.DONOR_VIEWER, donor_id=donors[0].id)
    applicant = add(
        "applicant", "Achieng Applicant", Role.APPLICANT, organisation=organisations[0], locale="en"
    )
    candidat = add(
        "candidat", "Koffi Candidat", Role.APPLICANT, organisation=organisations[1], locale="fr"
    )
    session.flush()
    applicants = [
        (user, membership.organisation)
        for user in (applicant, candidat)
        for membership in user.memberships
    ]
    return FundPeople(finance=finance, applicants=applicants)
