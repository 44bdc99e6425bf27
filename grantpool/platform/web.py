"""Request plumbing: one transaction per request, domain errors to responses, security headers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Response, current_app, g, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from ..extensions import csrf, db
from .errors import DomainError, ValidationFailed

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

# Endpoints whose callers cannot hold a CSRF token and authenticate every request
# themselves (API tokens, OpenRosa device credentials) register here.
CSRF_EXEMPT_PREFIXES: list[str] = []

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)


View = TypeVar("View", bound=Callable[..., Any])
SAFE_METHODS = {"GET", "HEAD"}


def reads_only(view: View) -> View:
    """Mark a view that never writes when asked with GET or HEAD: its request then runs
    without a transaction's BEGIN and COMMIT, and a write raises (see Database.read_only).
    Wrapping decorators (login_required) keep the mark through functools.wraps."""
    view._grantpool_reads_only = True  # type: ignore[attr-defined]
    return view


def _start_read_only_request() -> None:
    if request.method not in SAFE_METHODS or request.endpoint is None:
        return
    view = current_app.view_functions.get(request.endpoint)
    if getattr(view, "_grantpool_reads_only", False):
        db.read_only()


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def error_response(
    status: int, code: str, message: str, errors: dict[str, list[str]] | None = None
) -> tuple[Any, int]:
    if wants_json():
        body: dict[str, Any] = {"code": code, "message": message}
        if errors:
            body["errors"] = errors
        return jsonify(body), status
    return render_template(
        "errors/error.html", status=status, message=message, errors=errors or {}
    ), status


class IdConverter(IntegerConverter):
    """`<int:…>` in a path: a whole number that fits the 64-bit id columns. A larger one
    (2^63 and up) matches no route and is a 404, instead of overflowing in the database."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(map, *args, **kwargs)


def bound_path_integers(app: Flask) -> None:
    """Before any route is added: every `<int:…>` path part is an IdConverter."""
    app.url_map.converters["int"] = IdConverter


def init_web(app: Flask) -> None:
    app.before_request(_refuse_oversized_body)
    app.before_request(_protect_against_csrf)
    app.before_request(_start_read_only_request)
    app.after_request(_finish_transaction)
    app.after_request(_security_headers)

    @app.get("/healthz")
    def healthz() -> Response:
        """For load balancers (and the benchmark's ceiling): answers without the database."""
        return Response("ok\n", mimetype="text/plain")

    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError) -> tuple[Any, int]:
        errors = exc.errors if isinstance(exc, ValidationFailed) else None
        return error_response(exc.status_code, exc.code, str(exc.message), errors)

    @app.errorhandler(CSRFError)
    def _csrf_error(exc: CSRFError) -> tuple[Any, int]:
        return error_response(
            400,
            "csrf_failed",
            _(
                "This form has expired or was not sent from grantpool. Go back, reload the "
                "page and try again."
            ),
        )

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        if exc.code is None or exc.code < 400:
            return exc
        messages = {
            400: _("The request could not be understood."),
            401: _("Please sign in to continue."),
            403: _("You do not have permission to do that."),
            404: _("We could not find that page."),
            405: _("That action is not allowed here."),
            413: _("What you sent is too large."),
            422: _("Some of the information is missing or not valid."),
            429: _("Too many attempts. Wait a little and try again."),
        }
        message = messages.get(exc.code, exc.description or exc.name)
        errors = None
        data = getattr(exc, "data", None)
        if isinstance(data, dict) and isinstance(data.get("messages"), dict):
            # webargs/flask-smorest validation errors: {"json": {"field": ["msg"]}}
            errors = {}
            for location in data["messages"].values():
                if isinstance(location, dict):
                    errors.update(
                        {k: v if isinstance(v, list) else [str(v)] for k, v in location.items()}
                    )
        response, status = error_response(
            exc.code, exc.name.lower().replace(" ", "_"), str(message), errors
        )
        if exc.code == 429 and not isinstance(response, str):
            retry = exc.get_headers()
            for name, value in retry:
                if name.lower() == "retry-after":
                    response.headers["Retry-After"] = value
        return response, status

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[Any, int]:
        if app.testing:
            raise exc
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "server_error", _("Something went wrong on our side."))


def _refuse_oversized_body() -> None:
    from werkzeug.exceptions import RequestEntityTooLarge

    from .bodylimit import TOO_LARGE

    if request.environ.get(TOO_LARGE):
        raise RequestEntityTooLarge()


def _protect_against_csrf() -> None:
    if request.method not in UNSAFE_METHODS:
        return
    if any(request.path.startswith(prefix) for prefix in CSRF_EXEMPT_PREFIXES):
        return
    if request.path.startswith("/api/") and request.headers.get("Authorization", "").startswith(
        "Bearer "
    ):
        # A bearer token is not sent automatically by a browser, so it cannot be forged
        # cross-site; a session cookie can, and must come with the CSRF header.
        return
    csrf.protect()


def _finish_transaction(response: Response) -> Response:
    """Commit after a successful handler; anything else rolls back."""
    # A view may keep what it wrote although it answers with an error (e.g. counting a
    # wrong sign-in code): it sets g.keep_changes.
    if (response.status_code < 400 or g.get("keep_changes")) and not g.get("rollback_only"):
        try:
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
    else:
        db.session.rollback()
    return response


def _security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    from flask import current_app

    if current_app.config.get("ENV") == "production":
        headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
    if response.mimetype == "text/html" and "Cache-Control" not in headers:
        headers["Cache-Control"] = "no-store"
    return response
