"""Who may see and move a fund's money: checked against the fund, never the role alone."""

from __future__ import annotations

from typing import Any

from ..platform.permissions import rule


def _sees_fund_money(user: Any, fund: Any) -> bool:
    return user is not None and (
        user.is_admin or user.is_fund_manager(fund.id) or user.is_finance_officer(fund.id)
    )


def _keeps_fund_books(user: Any, fund: Any) -> bool:
    return user is not None and user.is_finance_officer(fund.id)


@rule("ledger.view")
def _ledger_view(user: Any, fund: Any) -> bool:
    return _sees_fund_money(user, fund)


@rule("ledger.post")
def _ledger_post(user: Any, fund: Any) -> bool:
    return _keeps_fund_books(user, fund)


@rule("contribution.view")
def _contribution_view(user: Any, fund: Any) -> bool:
    return _sees_fund_money(user, fund)


@rule("contribution.create")
def _contribution_create(user: Any, fund: Any) -> bool:
    return _keeps_fund_books(user, fund)


@rule("pledge.view")
def _pledge_view(user: Any, fund: Any) -> bool:
    return _sees_fund_money(user, fund)


@rule("pledge.create")
def _pledge_create(user: Any, fund: Any) -> bool:
    return _keeps_fund_books(user, fund)
