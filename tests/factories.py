"""Factories: each test states what it needs and gets real rows through the services."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy.orm import Session

from grantpool.accounts.models import Role, User
from grantpool.accounts.services import create_user
from grantpool.funds.commands import donor_details, fund_details
from grantpool.funds.models import Donor, Fund
from grantpool.funds.services import create_donor, create_fund
from grantpool.organisations.commands import organisation_details
from grantpool.organisations.models import Organisation
from grantpool.organisations.services import create_organisation

PASSWORD = "correct horse battery staple"
_counter = itertools.count(1)


def make_user(
    session: Session,
    *roles: str | tuple[str, int | None, int | None],
    organisations: list[Organisation] | None = None,
    password: str = PASSWORD,
    email: str | None = None,
    name: str | None = None,
    **kwargs: Any,
) -> User:
    n = next(_counter)
    role_rows = [r if isinstance(r, tuple) else (r, None, None) for r in roles]
    return create_user(
        session,
        None,
        email=email or f"user{n}@example.org",
        name=name or f"User {n}",
        password=password,
        roles=role_rows,
        organisation_ids=[o.id for o in organisations or []],
        **kwargs,
    )


def make_admin(session: Session) -> User:
    return make_user(session, Role.ADMIN.value)


def make_organisation(session: Session, **fields: Any) -> Organisation:
    n = next(_counter)
    data = {"name": f"Community Group {n}", "org_type": "community_based", "country": "KE"}
    data.update(fields)
    return create_organisation(session, None, organisation_details(**data))


def make_fund(session: Session, manager: User | None = None, **fields: Any) -> Fund:
    n = next(_counter)
    manager = manager or make_user(session, Role.FUND_MANAGER.value)
    data = {"name": f"Fund {n}", "base_currency": "USD", "timezone": "Africa/Nairobi"}
    data.update(fields)
    return create_fund(session, manager, fund_details(**data))


def make_donor(session: Session, actor: User | None = None, **fields: Any) -> Donor:
    n = next(_counter)
    actor = actor or make_user(session, Role.FUND_MANAGER.value)
    data = {"name": f"Donor {n}", "donor_type": "foundation", "currency": "EUR"}
    data.update(fields)
    return create_donor(session, actor, donor_details(**data))


def sample_questions() -> list[dict[str, Any]]:
    return [
        {
            "key": "summary",
            "kind": "long_text",
            "label": {"en": "What will you do?"},
            "help": {"en": "A few sentences."},
            "required": True,
            "word_limit": 50,
        },
        {
            "key": "has_partner",
            "kind": "yes_no",
            "label": {"en": "Do you work with a partner?"},
            "required": True,
        },
        {
            "key": "partner_name",
            "kind": "short_text",
            "label": {"en": "Partner's name"},
            "required": True,
            "show_if": {"has_partner": "yes"},
        },
    ]


def make_call(
    session: Session,
    fund: Fund | None = None,
    manager: User | None = None,
    *,
    open_until: Any = None,
    questions: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> Any:
    """A call of 1,000–5,000 USD in a 50,000 USD envelope; opened when open_until is given."""
    import datetime as dt

    from grantpool.calls import services as calls
    from grantpool.calls.commands import read_call_details, read_questions

    manager = manager or make_user(session, Role.FUND_MANAGER.value)
    fund = fund or make_fund(session, manager)
    n = next(_counter)
    data: dict[str, Any] = {
        "title": {"en": f"Call {n}"},
        "description": {"en": "Small grants for local groups."},
        "budget": "50000",
        "min_request": "1000",
        "max_request": "5000",
        "channels": ["web", "api"],
    }
    if open_until is not None:
        data["closes_at"] = open_until
        data["opens_at"] = open_until - dt.timedelta(days=60)
    data.update(fields)
    call = calls.create_call(session, manager, fund, read_call_details(fund, data))
    definitions = sample_questions() if questions is None else questions
    calls.set_questions(session, manager, call, read_questions(definitions))
    if open_until is not None:
        calls.open_call(session, manager, call, now=data["opens_at"])
    return call
