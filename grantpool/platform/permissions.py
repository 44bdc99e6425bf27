"""Permissions are checked against the object, never only against a role.

Each capability registers a rule per action in its `permissions.py`:

    @rule("fund.edit")
    def _(user, fund): return user.is_fund_manager(fund.id)

Views call `require(current_user, "fund.edit", fund)`. When the user may not even see the
object (`<type>.view` fails), the answer is NotFound, so another organisation's objects
are indistinguishable from missing ones. An action on an object of another type names the
rule that says who sees that object: `@rule("call.create", seen_by="fund.view")`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask_login import current_user

from ..extensions import db
from .errors import NotFound, NotPermitted

Model = TypeVar("Model")

Rule = Callable[[Any, Any], bool]
_RULES: dict[str, Rule] = {}
_SEEN_BY: dict[str, str] = {}


def rule(action: str, *, seen_by: str | None = None) -> Callable[[Rule], Rule]:
    def register(fn: Rule) -> Rule:
        _RULES[action] = fn
        if seen_by is not None:
            _SEEN_BY[action] = seen_by
        return fn

    return register


def _authenticated(user: Any) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False))


def can(user: Any, action: str, obj: Any = None) -> bool:
    try:
        check = _RULES[action]
    except KeyError:
        raise LookupError(f"no permission rule for {action!r}") from None
    if not _authenticated(user):
        user = None
    if user is not None and not getattr(user, "is_active", True):
        return False
    return bool(check(user, obj))


def require(user: Any, action: str, obj: Any = None) -> None:
    if can(user, action, obj):
        return
    if obj is None:
        raise NotPermitted()
    view_action = _SEEN_BY.get(action) or f"{action.split('.', 1)[0]}.view"
    if view_action != action and view_action in _RULES and not can(user, view_action, obj):
        raise NotFound()
    if action == view_action:
        raise NotFound()
    raise NotPermitted()


def registered_actions() -> list[str]:
    return sorted(_RULES)


def load(
    model: type[Model],
    object_id: int,
    action: str | None = None,
    *,
    on: Callable[[Model], Any] | None = None,
) -> Model:
    """The `model` row with this id for the signed-in person, who must be allowed
    `action` on it (or on `on(row)`, the object that rule is about: a tranche's grant).
    A missing row is NotFound, as is one the person may not see (see `require`)."""
    found = db.session.get(model, object_id)
    if found is None:
        raise NotFound()
    if action is not None:
        require(current_user, action, found if on is None else on(found))
    return found
