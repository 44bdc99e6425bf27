"""Shared pieces of the JSON API (/api/v1): authentication and the human docs page."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, current_app, render_template
from flask_login import current_user
from werkzeug.exceptions import Unauthorized

F = TypeVar("F", bound=Callable[..., Any])

docs_bp = Blueprint("api", __name__, url_prefix="/api/v1")


def authenticated(fn: F) -> F:
    """API views need a personal token (Authorization: Bearer …) or a signed-in session."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            raise Unauthorized()
        return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@docs_bp.get("/docs")
def docs() -> Any:
    """The API described for people, drawn from the OpenAPI document, with no JavaScript."""
    spec = current_app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict()
    return render_template("api/docs.html", spec=spec)
