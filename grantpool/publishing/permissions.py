"""Publication needs no login: what is published is decided per record, not per user."""

from __future__ import annotations

from typing import Any

from ..platform.permissions import rule


@rule("publication.view")
def _view(_user: Any, _obj: Any) -> bool:
    return True
