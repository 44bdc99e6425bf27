"""Language choice and locale-aware formatting for templates and mail."""

from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo

import babel.dates
from flask import current_app, has_request_context, request, session
from flask_babel import format_datetime as babel_format_datetime
from flask_babel import get_locale
from flask_login import current_user
from werkzeug.wrappers import Response

from .money import Money, format_money

LANGUAGE_NAMES = {"en": "English", "fr": "Français"}

# The language chosen in this browser. A cookie of its own, not the session: signing in
# and out starts a fresh session, and the person must not be dropped into another
# language on the sign-in page (a shared phone, a workshop laptop).
LOCALE_COOKIE = "gp_locale"
LOCALE_COOKIE_DAYS = 365


def offered_languages() -> list[str]:
    return [code.strip() for code in current_app.config["LANGUAGES"].split(",") if code.strip()]


def browser_locale() -> str | None:
    """The language chosen in this browser (this session's choice, else the cookie's), if
    it is one offered; None when the browser has chosen none."""
    offered = offered_languages()
    for chosen in (session.get("locale"), request.cookies.get(LOCALE_COOKIE)):
        if chosen in offered:
            return str(chosen)
    return None


def select_locale() -> str:
    """The user's saved choice, then this browser's choice, then Accept-Language."""
    offered = offered_languages()
    if not has_request_context():
        return current_app.config["DEFAULT_LOCALE"]
    if current_user.is_authenticated and getattr(current_user, "locale", None) in offered:
        return str(current_user.locale)
    return (
        browser_locale()
        or request.accept_languages.best_match(offered)
        or current_app.config["DEFAULT_LOCALE"]
    )


def mail_locale(user_locale: str | None, fallback: str) -> str:
    """The language of a message to a person: the one saved on their account, else the
    one they were using (`fallback`, the request's) when they asked for it."""
    return user_locale if user_locale in offered_languages() else fallback


def remember_locale(response: Response, locale: str) -> Response:
    """Keep the language chosen in this browser past signing out."""
    response.set_cookie(
        LOCALE_COOKIE,
        locale,
        max_age=60 * 60 * 24 * LOCALE_COOKIE_DAYS,
        httponly=True,
        samesite="Lax",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )
    return response


def select_timezone() -> str:
    if (
        has_request_context()
        and current_user.is_authenticated
        and getattr(current_user, "timezone", None)
    ):
        return str(current_user.timezone)
    return str(current_app.config["DEFAULT_TIMEZONE"])


def money_filter(value: Money | None) -> str:
    if value is None:
        return ""
    try:
        return format_money(value, str(get_locale() or "en"))
    except (ArithmeticError, ValueError):  # a page never fails on a stored amount
        return str(value)


def to_the_minute(locale: str, length: str = "medium", date_length: str | None = None) -> str:
    """The locale's date-and-time pattern of that length with the time to the minute: an
    instant is read as "30 nov. 2026, 05:02", never with seconds. `date_length` picks
    another length for the date part ("full" adds the weekday)."""
    parsed = babel.Locale.parse(locale)
    return (
        str(parsed.datetime_formats[length])
        .replace("{1}", parsed.date_formats[date_length or length].pattern)
        .replace("{0}", parsed.time_formats["short"].pattern)
    )


def datetime_filter(value: dt.datetime | None, tz: str | None = None, fmt: str = "medium") -> str:
    """Show an instant in the given zone (a fund's), else in the user's zone; the named
    lengths (short, medium, long) to the minute."""
    if value is None:
        return ""
    if fmt in ("short", "medium", "long"):
        fmt = to_the_minute(current_locale(), fmt)
    try:
        if tz:
            return _in_zone(value, tz, fmt, current_locale())
        return str(babel_format_datetime(value, fmt))
    except (OverflowError, ValueError):
        # An instant at the edge of the calendar (year 1 or 9999) cannot be moved into
        # every zone; a stored one is shown in UTC rather than failing the page.
        return _in_utc(value, fmt, current_locale())


def _in_utc(value: dt.datetime, fmt: str, locale: str) -> str:
    try:
        as_utc = value.astimezone(dt.UTC) if value.tzinfo is not None else value
        text = babel.dates.format_datetime(as_utc.replace(tzinfo=None), fmt, locale=locale)
    except (OverflowError, ValueError):
        text = value.isoformat()
    return f"{text} (UTC)"


@functools.lru_cache(maxsize=4096)
def _in_zone(value: dt.datetime, tz: str, fmt: str, locale: str) -> str:
    """Formatting is costly (Babel) and lists repeat instants (one due date for a whole
    call's reviews): each (instant, zone, format, language) is formatted once."""
    local = value.astimezone(ZoneInfo(tz)).replace(tzinfo=None)
    return f"{babel.dates.format_datetime(local, fmt, locale=locale)} ({tz})"


def current_locale() -> str:
    """The locale of the request being served (or the default outside one)."""
    from flask_babel import get_locale as babel_locale

    return str(babel_locale() or current_app.config.get("DEFAULT_LOCALE", "en"))
