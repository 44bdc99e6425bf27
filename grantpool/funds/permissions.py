from __future__ import annotations

from typing import Any

from ..accounts.models import Role
from ..platform.permissions import rule


@rule("fund.view")
def _view(user: Any, fund: Any) -> bool:
    if user is None:
        return False
    if user.is_admin or user.is_fund_manager(fund.id) or user.is_finance_officer(fund.id):
        return True
    # Reviewers and panel members limited to a fund see it; donor viewers see the funds
    # their donor contributed to once contributions exist (ledger capability).
    return any(
        a.fund_id == fund.id for a in user.roles if a.role in (Role.REVIEWER, Role.COMMUNITY_PANEL)
    )


@rule("fund.create")
def _create(user: Any, _obj: Any) -> bool:
    return user is not None and (user.is_admin or user.is_fund_manager())


@rule("fund.edit")
def _edit(user: Any, fund: Any) -> bool:
    return user is not None and (user.is_admin or user.is_fund_manager(fund.id))


# Donors. Staff limited to some funds see and change those funds' donors, and donors not
# yet giving to any fund (so they can add them); admins and staff of every fund, all.


def _staff_reaches(user: Any, donor: Any, *roles: Role) -> bool:
    funds = user.staff_fund_ids(*roles)
    if funds is None:
        return True
    return bool(funds) and (not donor.fund_ids or bool(funds & donor.fund_ids))


@rule("donor.list")
def _donor_list(user: Any, _obj: Any) -> bool:
    return user is not None and (
        user.is_admin or user.is_fund_manager() or user.is_finance_officer()
    )


@rule("donor.view")
def _donor_view(user: Any, donor: Any) -> bool:
    if user is None:
        return False
    if user.has_role(Role.DONOR_VIEWER, donor_id=donor.id):
        return True
    return _staff_reaches(user, donor)


@rule("donor.edit")
def _donor_edit(user: Any, donor: Any) -> bool:
    return user is not None and _staff_reaches(user, donor, Role.FUND_MANAGER)


@rule("donor.create")
def _donor_create(user: Any, _obj: Any) -> bool:
    return user is not None and (user.is_admin or user.is_fund_manager())
