"""Who may see and act on a grant: checked against the grant's fund and organisation.

A grantee's members see their own grant and nothing else: any other grant answers 404
(`grant.view` fails, so `require` says NotFound).
"""

from __future__ import annotations

from typing import Any

from ..platform.permissions import rule


def _manages(user: Any, fund_id: int) -> bool:
    return user is not None and user.is_fund_manager(fund_id)


def _keeps_books(user: Any, fund_id: int) -> bool:
    return user is not None and user.is_finance_officer(fund_id)


@rule("grant.view")
def _view(user: Any, grant: Any) -> bool:
    if user is None:
        return False
    return (
        user.is_admin
        or _manages(user, grant.fund_id)
        or _keeps_books(user, grant.fund_id)
        or user.belongs_to(grant.organisation_id)
    )


@rule("grant.manage")
def _manage(user: Any, grant: Any) -> bool:
    """Amend, waive conditions, verify milestones, review reports, close."""
    return _manages(user, grant.fund_id)


@rule("grant.report")
def _report(user: Any, grant: Any) -> bool:
    """Reports are the grantee's own word."""
    return user is not None and user.belongs_to(grant.organisation_id)


@rule("grant.request_release")
def _request_release(user: Any, grant: Any) -> bool:
    return _keeps_books(user, grant.fund_id)


@rule("grant.approve_release")
def _approve_release(user: Any, grant: Any) -> bool:
    return _keeps_books(user, grant.fund_id) or _manages(user, grant.fund_id)


@rule("grant.record_payment")
def _record_payment(user: Any, grant: Any) -> bool:
    return _keeps_books(user, grant.fund_id)


@rule("fund.award_grant")
def _award(user: Any, fund: Any) -> bool:
    return _manages(user, fund.id)


@rule("fund.edit_tranche_templates")
def _edit_templates(user: Any, fund: Any) -> bool:
    return _manages(user, fund.id)
