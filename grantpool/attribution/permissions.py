"""Who may see and change credit attribution. The partner's words and consent are its
own: only its members change them. The fund manager sees records and sets the safety flag."""

from __future__ import annotations

from typing import Any

from ..platform.permissions import rule


@rule("attribution.view")
def _view(user: Any, grant: Any) -> bool:
    if user is None:
        return False
    return (
        user.is_admin
        or user.is_fund_manager(grant.fund_id)
        or user.belongs_to(grant.organisation_id)
    )


@rule("attribution.edit")
def _edit(user: Any, grant: Any) -> bool:
    return user is not None and user.belongs_to(grant.organisation_id)


@rule("attribution.manage")
def _manage(user: Any, grant: Any) -> bool:
    return user is not None and user.is_fund_manager(grant.fund_id)


# An organisation's credit page. The object is an `OrganisationScope`: the organisation and
# the funds it has applied to or holds grants from.


@rule("organisation_credit.view")
def _view_organisation(user: Any, scope: Any) -> bool:
    if user is None:
        return False
    return user.belongs_to(scope.organisation.id) or _protects(user, scope)


@rule("organisation_credit.edit")
def _edit_defaults(user: Any, scope: Any) -> bool:
    return user is not None and user.belongs_to(scope.organisation.id)


@rule("organisation_credit.protect")
def _protect(user: Any, scope: Any) -> bool:
    return user is not None and _protects(user, scope)


def _protects(user: Any, scope: Any) -> bool:
    """Admins, and the managers of a fund the organisation works with, may hide it."""
    return user.is_admin or any(user.is_fund_manager(fund_id) for fund_id in scope.fund_ids)


@rule("attribution.list")
def _list(user: Any, _obj: Any) -> bool:
    return user is not None and (user.is_admin or user.is_fund_manager())
