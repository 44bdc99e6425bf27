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


@rule("donor.list")
def _donor_list(user: Any, _obj: Any) -> bool:
    return user is not None and (
        user.is_admin or user.is_fund_manager() or user.is_finance_officer()
    )


@rule("donor.view")
def _donor_view(user: Any, donor: Any) -> bool:
    if user is None:
        return False
    return (
        user.is_admin
        or user.is_fund_manager()
        or user.is_finance_officer()
        or user.has_role(Role.DONOR_VIEWER, donor_id=donor.id)
    )


@rule("donor.edit")
def _donor_edit(user: Any, _donor: Any) -> bool:
    return user is not None and (user.is_admin or user.is_fund_manager())


@rule("donor.create")
def _donor_create(user: Any, _obj: Any) -> bool:
    return user is not None and (user.is_admin or user.is_fund_manager())
