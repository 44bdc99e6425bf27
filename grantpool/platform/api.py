"""Shared pieces of the JSON API (/api/v1): authentication, what the OpenAPI description
says about errors and tokens, and the human docs page."""

from __future__ import annotations

import functools
import http
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from apispec import BasePlugin
from flask import Blueprint, current_app, render_template
from flask.blueprints import BlueprintSetupState
from flask.sansio.app import App
from flask_login import current_user
from werkzeug.exceptions import Unauthorized

P = ParamSpec("P")
R = TypeVar("R")

docs_bp = Blueprint("api", __name__, url_prefix="/api/v1")

BEARER_SCHEME = "bearerAuth"

# The body of every error answer, as platform.web.error_response writes it.
ERROR_BODY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "code": {
            "type": "string",
            "description": "What went wrong, for programs: e.g. not_found, validation_failed.",
        },
        "message": {"type": "string", "description": "What went wrong, for people."},
        "errors": {
            "type": "object",
            "description": "Messages by field ('' for the request as a whole).",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "required": ["code", "message"],
}


def authenticated(fn: Callable[P, R]) -> Callable[P, R]:
    """API views need a personal token (Authorization: Bearer …) or a signed-in session.
    The OpenAPI description marks their operations as needing the bearer token."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if not current_user.is_authenticated:
            raise Unauthorized()
        return fn(*args, **kwargs)

    return wrapper


def _needs_token(app: App, endpoint: str) -> bool:
    view = app.view_functions.get(endpoint)
    view_class = getattr(view, "view_class", None)
    return authenticated in getattr(view_class, "decorators", ())


def _status(code: int) -> str:
    """The name flask-smorest registers the error response of a status code under."""
    return http.HTTPStatus(code).name


class ErrorsAndSecurityPlugin(BasePlugin):
    """Completes each operation of the OpenAPI description with the errors it can answer
    and, where the view is `authenticated`, the bearer token it needs."""

    def __init__(self, app: App) -> None:
        self.app = app

    def operation_helper(
        self, path: str | None = None, operations: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        rule = kwargs.get("rule")
        if rule is None or not operations:
            return
        needs_token = _needs_token(self.app, rule.endpoint)
        has_ids = bool(rule.arguments)
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            # Unreadable or hostile input (bad JSON, NUL characters, numbers out of range).
            codes = [400]
            if needs_token:
                operation["security"] = [{BEARER_SCHEME: []}]
                codes += [401, 403]
            if has_ids:
                codes += [403, 404]
            if method in {"post", "put", "patch", "delete"}:
                # A change refused in the current state, a body too large, bad fields.
                codes += [409, 413, 422]
            for code in codes:
                responses.setdefault(str(code), _status(code))


def _document_errors_and_security(state: BlueprintSetupState) -> None:
    """Runs when this blueprint is registered: after the Api is bound to the app, before
    the capabilities' API blueprints add their operations."""
    api = state.app.extensions["flask-smorest"]["apis"][""]["ext_obj"]
    # Each operation lists the errors it answers (see ErrorsAndSecurityPlugin) instead of
    # one catch-all `default` that would let any status through.
    api.DEFAULT_ERROR_RESPONSE_NAME = None
    spec = api.spec
    # flask-smorest documents its own error body (an integer code, a status name); ours
    # is platform.web.error_response's.
    spec.components.schemas["Error"] = ERROR_BODY_SCHEMA
    spec.components.security_scheme(
        BEARER_SCHEME,
        {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token from your account page (gp_…).",
        },
    )
    spec.plugins.append(ErrorsAndSecurityPlugin(state.app))


docs_bp.record_once(_document_errors_and_security)


@docs_bp.get("/docs")
def docs() -> Any:
    """The API described for people, drawn from the OpenAPI document, with no JavaScript."""
    spec = current_app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict()
    return render_template("api/docs.html", spec=spec)
