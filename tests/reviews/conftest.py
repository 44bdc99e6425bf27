"""A call with sent applications, two fund managers, staff reviewers and a panel member."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy.orm import Session

from grantpool.accounts.models import Role, User
from grantpool.calls.models import Call
from grantpool.funds.models import Fund
from grantpool.intake.models import Application
from grantpool.intake.services import submit_application
from grantpool.organisations.models import Organisation
from grantpool.platform.money import Money
from tests.factories import make_call, make_donor, make_fund, make_organisation, make_user
from tests.ledger.helpers import contribute, make_finance_officer

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
ANSWERS = {"summary": "We will plant trees with the Riverside youth", "has_partner": "no"}


@dataclass
class World:
    fund: Fund
    call: Call
    manager: User
    manager2: User
    staff: User
    staff2: User
    panel: User
    organisations: list[Organisation]
    applicants: list[User]
    applications: list[Application]
    extra: dict[str, Any] = field(default_factory=dict)


def submit(
    session: Session,
    call: Call,
    organisation: Organisation,
    user: User,
    amount: int = 250000,
    language: str = "en",
) -> Application:
    return submit_application(
        session,
        user,
        call,
        organisation,
        dict(ANSWERS),
        Money(amount, call.currency),
        "web",
        language,
        NOW - dt.timedelta(days=1),
    )


def build_world(session: Session, *, money: str = "100000") -> World:
    manager = make_user(session, Role.FUND_MANAGER.value, name="Mariam Manager")
    fund = make_fund(session, manager)
    manager2 = make_user(session, (Role.FUND_MANAGER.value, fund.id, None), name="Moses Manager")
    call = make_call(session, fund, manager, open_until=NOW + dt.timedelta(days=10))
    staff = make_user(session, (Role.REVIEWER.value, fund.id, None), name="Rania Reviewer")
    staff2 = make_user(session, (Role.REVIEWER.value, fund.id, None), name="Sam Staff")
    organisations = [
        make_organisation(
            session,
            name="Riverside Women Farmers",
            short_name="RWF",
            country="KE",
            women_led=True,
            contact_email="rwf@example.org",
            contact_phone="+254 711 222 333",
            registration_number="KE-REG-7788",
            org_id="KE-NGB-998877",
        ),
        make_organisation(
            session, name="Gulu Youth Link", country="UG", youth_led=True, org_type="informal_group"
        ),
    ]
    panel = make_user(
        session,
        (Role.COMMUNITY_PANEL.value, fund.id, None),
        name="Pascal Panel",
        organisations=[organisations[1]],
    )
    applicants = [
        make_user(session, organisations=[organisations[0]], email="amina@example.org"),
        make_user(
            session, organisations=[organisations[1]], email="okello@example.org", locale="fr"
        ),
    ]
    applications = [
        submit(session, call, organisations[0], applicants[0], 250000, "en"),
        submit(session, call, organisations[1], applicants[1], 400000, "fr"),
    ]
    if money:
        officer = make_finance_officer(session, fund)
        contribute(session, officer, fund, make_donor(session, manager), money, "USD")
    return World(
        fund, call, manager, manager2, staff, staff2, panel, organisations, applicants, applications
    )


@pytest.fixture
def world(session: Session) -> World:
    return build_world(session)


@contextmanager
def refused(kind: type[Exception], text: str) -> Iterator[None]:
    """Expect a domain error whose message or field messages contain `text`."""
    with pytest.raises(kind) as info:
        yield
    exc: Any = info.value
    said = [str(exc.message)] + [m for ms in getattr(exc, "errors", {}).values() for m in ms]
    assert any(text in s for s in said), said
