from __future__ import annotations

from typing import Any

from ..platform.permissions import rule


@rule("organisation.view")
def _view(user: Any, organisation: Any) -> bool:
    return user is not None and (user.is_staff() or user.belongs_to(organisation.id))


@rule("organisation.edit")
def _edit(user: Any, organisation: Any) -> bool:
    return user is not None and (
        user.is_admin or user.is_fund_manager() or user.belongs_to(organisation.id)
    )


@rule("organisation.list")
def _list(user: Any, _obj: Any) -> bool:
    return user is not None and user.is_staff()


@rule("organisation.create")
def _create(user: Any, _obj: Any) -> bool:
    return user is not None and (user.is_admin or user.is_fund_manager())
