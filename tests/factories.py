"""Factories: each test states what it needs and gets real rows through the services."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy.orm import Session

from grantpool.accounts.models import Role, User
from grantpool.accounts.services import create_user
from grantpool.funds.models import Donor, Fund
from grantpool.funds.services import create_donor, create_fund
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
    return create_organisation(session, None, data)


def make_fund(session: Session, manager: User | None = None, **fields: Any) -> Fund:
    n = next(_counter)
    manager = manager or make_user(session, Role.FUND_MANAGER.value)
    data = {"name": f"Fund {n}", "base_currency": "USD", "timezone": "Africa/Nairobi"}
    data.update(fields)
    return create_fund(session, manager, data)


def make_donor(session: Session, actor: User | None = None, **fields: Any) -> Donor:
    n = next(_counter)
    actor = actor or make_user(session, Role.FUND_MANAGER.value)
    data = {"name": f"Donor {n}", "donor_type": "foundation", "currency": "EUR"}
    data.update(fields)
    return create_donor(session, actor, data)
