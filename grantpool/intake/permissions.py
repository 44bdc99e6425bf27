from __future__ import annotations

from typing import Any

from ..platform.permissions import rule


@rule("application.view")
def _view(user: Any, application: Any) -> bool:
    if user is None:
        return False
    return (
        user.belongs_to(application.organisation_id)
        or user.is_admin
        or user.is_fund_manager(application.call.fund_id)
    )


@rule("application.edit")
def _edit(user: Any, application: Any) -> bool:
    """Filling in a draft and withdrawing are the organisation's own acts."""
    return user is not None and user.belongs_to(application.organisation_id)


@rule("organisation.apply")
def _apply(user: Any, organisation: Any) -> bool:
    """Applying in an organisation's name is for its own members."""
    return user is not None and user.belongs_to(organisation.id)
