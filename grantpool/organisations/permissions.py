"""Who may see and change an organisation. Its members always; admins and staff of every
fund; staff of some funds only the organisations working with those funds (applied to
them or holding their grants), and those not yet working with any fund."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import object_session

from ..accounts.models import Role
from ..platform.permissions import rule


def _staff_reaches(user: Any, organisation: Any, *roles: Role) -> bool:
    funds = user.staff_fund_ids(*roles)
    if funds is None:
        return True
    if not funds:
        return False
    from .services import fund_ids

    session = object_session(organisation)
    works_with = fund_ids(session, organisation.id) if session is not None else frozenset()
    return not works_with or bool(funds & works_with)


@rule("organisation.view")
def _view(user: Any, organisation: Any) -> bool:
    return user is not None and (
        user.belongs_to(organisation.id) or _staff_reaches(user, organisation)
    )


@rule("organisation.edit")
def _edit(user: Any, organisation: Any) -> bool:
    return user is not None and (
        user.belongs_to(organisation.id) or _staff_reaches(user, organisation, Role.FUND_MANAGER)
    )


@rule("organisation.list")
def _list(user: Any, _obj: Any) -> bool:
    return user is not None and user.is_staff()


@rule("organisation.create")
def _create(user: Any, _obj: Any) -> bool:
    return user is not None and (user.is_admin or user.is_fund_manager())
