"""Who may read a fund's dashboard: its managers and finance officers, admins, and the
viewers of a donor that gave or pledged to that fund. Checked against the fund."""

from __future__ import annotations

from typing import Any

from ..accounts.models import Role
from ..platform.permissions import rule


@rule("dashboard.view")
def _dashboard_view(user: Any, scope: Any) -> bool:
    """`scope` is a queries.FundScope: the fund and the donors who gave to it."""
    if user is None:
        return False
    fund_id = scope.fund.id
    if user.is_admin or user.is_fund_manager(fund_id) or user.is_finance_officer(fund_id):
        return True
    return any(a.role == Role.DONOR_VIEWER and a.donor_id in scope.donor_ids for a in user.roles)


@rule("dashboard.see_all_donors")
def _dashboard_see_all_donors(user: Any, scope: Any) -> bool:
    """Staff see every donor's row; a donor viewer only its own donor's."""
    if user is None:
        return False
    fund_id = scope.fund.id
    return bool(user.is_admin or user.is_fund_manager(fund_id) or user.is_finance_officer(fund_id))
