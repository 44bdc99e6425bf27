"""Request plumbing: one transaction per request, domain errors to responses, security headers."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable, Iterator
from typing import Any, TypeVar, overload

from flask import (
    Flask,
    Response,
    current_app,
    g,
    jsonify,
    make_response,
    render_template,
    request,
)
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, SQLAlchemyError
from werkzeug.exceptions import BadRequest, HTTPException, InternalServerError
from werkzeug.routing import IntegerConverter

from ..extensions import csrf, db
from .db import is_database_unavailable
from .errors import DomainError, UnreadableInput, ValidationFailed
from .forms import FormRejected
from .i18n import browser_locale, offered_languages

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


def handles_own_form_failures(view: View) -> View:
    """Mark a view that checks the CSRF token and the body's size itself: it keeps what a
    form with a stale token (or without its session) sent, for its person, and answers
    an oversized body with its own page, instead of refusing either bare."""
    view._grantpool_own_form_failures = True  # type: ignore[attr-defined]
    return view


def _handles_own_form_failures() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "_grantpool_own_form_failures", False))


def body_too_large() -> bool:
    """The request's body is over MAX_CONTENT_LENGTH (declared, or found when chunked)."""
    from .bodylimit import TOO_LARGE

    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    return bool(request.environ.get(TOO_LARGE)) or (
        limit is not None and (request.content_length or 0) > limit
    )


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
    app.before_request(_answer_head_as_get)
    app.before_request(_refuse_oversized_body)
    app.before_request(refuse_unreadable_input)
    app.before_request(_protect_against_csrf)
    app.before_request(_start_read_only_request)
    app.after_request(_finish_transaction)
    app.after_request(_security_headers)

    @app.get("/healthz")
    def healthz() -> Response:
        """For load balancers (and the benchmark's ceiling): answers without the database."""
        return Response("ok\n", mimetype="text/plain")

    @app.errorhandler(FormRejected)
    def _form_rejected(exc: FormRejected) -> Response:
        if isinstance(exc.page, str):  # a page shown again; a redirect keeps its status
            return make_response(exc.page, 422)
        return make_response(exc.page)

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
                "This form was not used: it was sent from a page of an earlier session, or "
                "not from grantpool. Nothing was changed. Go back with your browser's Back "
                "button (what you typed is usually still there) and send it again."
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

    @app.errorhandler(SQLAlchemyError)
    def _database_error(exc: SQLAlchemyError) -> Any:
        if is_database_unavailable(exc):
            return _database_unavailable(exc)
        if isinstance(exc, DataError):
            # A value the database cannot hold (a number past 64 bits, text it refuses)
            # that a schema let through: the input's fault, and nothing is kept.
            app.logger.warning("value refused by the database on %s: %s", request.path, exc)
            db.session.rollback()
            return error_response(400, "unreadable_input", _("Part of the request cannot be read."))
        return _unexpected(exc)

    @app.errorhandler(InternalServerError)
    def _server_error(exc: InternalServerError) -> Any:
        # An exception outside the view (the commit, in an after_request) arrives wrapped.
        original = exc.original_exception
        if original is not None and is_database_unavailable(original):
            return _database_unavailable(original)
        return _http_error(exc)


def _database_unavailable(exc: BaseException) -> Response:
    """503 when the database dropped the connection or is not answering. The session is
    rolled back at once (the next statement on it would raise PendingRollbackError) and
    removed at the end of the request, so the next request starts on a fresh connection.
    The answer itself touches no database: not the signed-in user (so not base.html and
    its header, nor the user's saved language), only the request."""
    app = current_app
    app.logger.warning(
        "database unavailable on %s %s: %s", request.method, request.path, exc, exc_info=exc
    )
    try:
        db.session.rollback()
    except Exception:  # the connection is gone; the session is removed at teardown anyway
        app.logger.debug("rollback after a lost connection failed", exc_info=True)
    offered = offered_languages()
    chosen = browser_locale()
    locale = (
        chosen
        if chosen in offered
        else request.accept_languages.best_match(offered) or app.config["DEFAULT_LOCALE"]
    )
    with force_locale(locale):
        if request.method in SAFE_METHODS:
            message = _("grantpool cannot reach its database just now. Try again in a minute.")
        else:
            message = _(
                "grantpool cannot reach its database just now, so nothing was saved. Go back "
                "and send it again in a minute."
            )
        if wants_json():
            response = jsonify({"code": "database_unavailable", "message": message})
        else:
            # Straight from the Jinja environment: render_template's context processors
            # would load the signed-in user from the database.
            page = app.jinja_env.get_template("errors/unavailable.html")
            response = Response(page.render(message=message, locale=locale), mimetype="text/html")
    response.status_code = 503
    response.headers["Retry-After"] = "30"
    return response


def _answer_head_as_get() -> None:
    """A HEAD is a GET without the body (RFC 9110): a view that branches on
    `request.method == "GET"` must take its GET branch, not its POST one (HEAD /login
    answered 401, and a HEAD on a sign-in link would have tried to use it). The body is
    still left out: the response looks at the WSGI environ, which keeps saying HEAD."""
    if request.method == "HEAD":
        request.method = "GET"


def _refuse_oversized_body() -> None:
    from werkzeug.exceptions import RequestEntityTooLarge

    if body_too_large() and not _handles_own_form_failures():
        raise RequestEntityTooLarge()


def _protect_against_csrf() -> None:
    if request.method not in UNSAFE_METHODS:
        return
    if any(request.path.startswith(prefix) for prefix in CSRF_EXEMPT_PREFIXES):
        return
    if _handles_own_form_failures():
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


# Hostile input ------------------------------------------------------------------------
# Text that no column can hold, JSON nested deeper than anything the service reads and
# numbers longer than any it reads are refused before any view runs: a 400 that says
# what is wrong and where, and nothing read or written, instead of a database error
# (PostgreSQL refuses NUL in text, UTF-8 cannot encode a lone surrogate), a ValueError
# (Python converts at most 4,300 digits) or a RecursionError halfway through a request.
# A number between 2^63 and MAX_JSON_DIGITS digits reaches the schema, whose range for
# that field says more (an amount's largest, an id's).

LARGEST_INTEGER = 2**63 - 1  # the 64-bit id and amount columns
MAX_JSON_DEPTH = 32
MAX_JSON_DIGITS = 30
# NUL, and the code points of UTF-16 surrogates, which are no characters on their own.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class _OutOfRange:
    """Stands in for a JSON number too large to keep, until the body's check names it."""


_OUT_OF_RANGE = _OutOfRange()


def _json_int(text: str) -> int | _OutOfRange:
    if len(text.lstrip("-")) > MAX_JSON_DIGITS:  # before int(): no 10,000-digit work
        return _OUT_OF_RANGE
    return int(text)


def _json_float(text: str) -> float | _OutOfRange:
    value = float(text)
    return value if math.isfinite(value) else _OUT_OF_RANGE


def _json_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _unstorable_message() -> str:
    return _(
        "This contains a character that cannot be stored (a NUL character or a broken "
        "Unicode sequence). Remove it and try again."
    )


def _too_large_message() -> str:
    return _(
        "This number is too large: no number here has more than %(digits)s digits.",
        digits=MAX_JSON_DIGITS,
    )


def _too_deep_message() -> str:
    return _("This is nested too deeply: at most %(depth)s levels are read.", depth=MAX_JSON_DEPTH)


def _request_texts() -> Iterator[tuple[str, str | None]]:
    """Every piece of text of the request a view may read, with the field it came in."""
    yield "", request.path
    for name, value in request.headers.items():
        yield "", name
        yield "", value
    for name, value in request.args.items(multi=True):
        yield name, name
        yield name, value
    if request.method in UNSAFE_METHODS and request.mimetype in {
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    }:
        for name, value in request.form.items(multi=True):
            if name is None:  # a multipart part whose name did not parse: no field has it
                raise BadRequest()
            yield name, name
            yield name, value
        for name, upload in request.files.items(multi=True):
            if name is None:
                raise BadRequest()
            yield name, upload.filename or ""


def _json_problem(value: Any) -> tuple[str, str] | None:
    """Where a parsed JSON body holds what cannot be kept, and why; None when nothing."""
    stack: list[tuple[Any, str, int]] = [(value, "", 1)]
    while stack:
        item, where, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return where, _too_deep_message()
        if isinstance(item, _OutOfRange):
            return where, _too_large_message()
        if isinstance(item, str) and _UNSTORABLE.search(item):
            return where, _unstorable_message()
        if isinstance(item, dict):
            for key, child in item.items():
                path = f"{where}.{key}" if where else str(key)
                if _UNSTORABLE.search(key):
                    return where, _unstorable_message()
                stack.append((child, path, depth + 1))
        elif isinstance(item, list):
            stack.extend(
                (child, f"{where}.{n}" if where else str(n), depth + 1)
                for n, child in enumerate(item)
            )
    return None


def refuse_unreadable_input() -> None:
    """Before every view: refuse (400, UnreadableInput) a request carrying text that cannot
    be stored, in its path, headers, query string or form, and a JSON body that is not
    JSON, is nested more than MAX_JSON_DEPTH deep or holds a number of more than
    MAX_JSON_DIGITS digits (or one that overflows to infinity)."""
    if body_too_large():
        return  # not read at all: refused whole, or answered by its view
    for where, text in _request_texts():
        if text and _UNSTORABLE.search(text):
            raise UnreadableInput({where: [_unstorable_message()]})
    if not request.is_json:
        return
    body = request.get_data(cache=True)
    if not body.strip():
        return
    try:
        value = json.loads(
            body,
            parse_int=_json_int,
            parse_float=_json_float,
            parse_constant=_json_constant,
        )
    except RecursionError:  # thousands deep: the parser gives up before our check
        problem: tuple[str, str] | None = ("", _too_deep_message())
    except ValueError:  # not JSON, not UTF-8, NaN or Infinity
        problem = ("", _("The body of the request is not valid JSON."))
    else:
        problem = _json_problem(value)
    if problem is not None:
        where, message = problem
        raise UnreadableInput({where: [message]})


@overload
def query_int(
    name: str, default: int, *, minimum: int = 0, maximum: int = LARGEST_INTEGER
) -> int: ...
@overload
def query_int(
    name: str, default: None = None, *, minimum: int = 0, maximum: int = LARGEST_INTEGER
) -> int | None: ...
def query_int(
    name: str,
    default: int | None = None,
    *,
    minimum: int = 0,
    maximum: int = LARGEST_INTEGER,
) -> int | None:
    """A whole number from the query string (a page cursor, a year). One that is missing,
    not plain digits, or outside minimum..maximum counts as not given (`default`): a
    cursor past 2^63 or a year 99999 is nobody's page, not a database error."""
    value = parse_whole_number(request.args.get(name), minimum=minimum, maximum=maximum)
    return default if value is None else value


def parse_whole_number(
    text: str | None, *, minimum: int = 0, maximum: int = LARGEST_INTEGER
) -> int | None:
    """Plain ASCII digits (an optional minus) within minimum..maximum, else None. Not
    int(): it also takes '١٢', '1_000' and 4,300 digits."""
    text = (text or "").strip()
    if not _PLAIN_INTEGER.fullmatch(text):
        return None
    value = int(text)
    return value if minimum <= value <= maximum else None


_PLAIN_INTEGER = re.compile("-?[0-9]{1,19}")

# The days a filter may name: a wider span than any record here, narrow enough that a
# day and its neighbours convert to instants in every time zone.
FIRST_FILTER_YEAR = 1900
LAST_FILTER_YEAR = 2999


def parse_filter_day(text: str | None) -> dt.date | None:
    """A day typed in a filter (YYYY-MM-DD), or None when it is not one or is outside
    FIRST_FILTER_YEAR..LAST_FILTER_YEAR (a year 0001 or 9999 overflows once moved into a
    time zone or to the next day)."""
    text = (text or "").strip()
    if not _PLAIN_DAY.fullmatch(text):
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        return None
    return day if FIRST_FILTER_YEAR <= day.year <= LAST_FILTER_YEAR else None


_PLAIN_DAY = re.compile("[0-9]{4}-[0-9]{2}-[0-9]{2}")
