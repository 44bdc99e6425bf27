from __future__ import annotations

from typing import Any

from ..platform.permissions import rule


@rule("admin.users")
def _users(user: Any, _obj: Any) -> bool:
    return user is not None and user.is_admin


@rule("admin.audit")
def _audit(user: Any, _obj: Any) -> bool:
    return user is not None and user.is_admin
