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


@rule("attribution.edit_defaults")
def _edit_defaults(user: Any, organisation: Any) -> bool:
    return user is not None and user.belongs_to(organisation.id)


@rule("attribution.list")
def _list(user: Any, _obj: Any) -> bool:
    return user is not None and (user.is_admin or user.is_fund_manager())
