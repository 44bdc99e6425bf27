from __future__ import annotations

from typing import Any

from ..platform.permissions import rule


def _manages(user: Any, fund_id: int) -> bool:
    return user is not None and (user.is_admin or user.is_fund_manager(fund_id))


@rule("call.view")
def _view(user: Any, call: Any) -> bool:
    """Open and closed calls are public; drafts and archived calls only for their managers."""
    return call.state in ("open", "closed") or _manages(user, call.fund_id)


@rule("call.manage")
def _manage(user: Any, call: Any) -> bool:
    return _manages(user, call.fund_id)


@rule("call.create", seen_by="fund.view")
def _create(user: Any, fund: Any) -> bool:
    return _manages(user, fund.id)
