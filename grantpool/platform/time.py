"""One clock for the whole service: aware UTC, injectable in tests."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

UTC = dt.UTC

# The instants the service accepts from people and clients (a contribution received, a
# date typed on a form): none before 2000, long before any fund here, and none more than
# ten years ahead. Outside lie typing slips and probes (years 0001 or 9999) that an
# append-only ledger could never correct, and that overflow when shown in a time zone.
EARLIEST_INSTANT = dt.datetime(2000, 1, 1, tzinfo=UTC)
YEARS_AHEAD = 10


def now_utc() -> dt.datetime:
    """The current instant, timezone-aware, in UTC. Tests move time by passing instants in."""
    return dt.datetime.now(UTC)


def as_utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetimes are not accepted; attach a time zone first")
    return value.astimezone(UTC)


def latest_instant(now: dt.datetime | None = None) -> dt.datetime:
    """The latest instant accepted: ten years from now."""
    now = now or now_utc()
    try:
        return now.replace(year=now.year + YEARS_AHEAD)
    except ValueError:  # 29 February
        return now.replace(year=now.year + YEARS_AHEAD, day=28)


def instant_problem(value: dt.datetime | dt.date, *, now: dt.datetime | None = None) -> str | None:
    """Why an instant (or a calendar day) is outside the range the service accepts, in the
    user's language, or None when it is inside. Never raises on an extreme value."""
    from flask_babel import format_date
    from flask_babel import gettext as _

    latest = latest_instant(now)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            return _("Give the time with its time zone, such as 2026-03-31T09:00:00+00:00.")
        # Aware datetimes compare by their UTC instant, without converting (which could
        # overflow at the edges of the calendar).
        inside = EARLIEST_INSTANT <= value <= latest
    else:
        inside = EARLIEST_INSTANT.date() <= value <= latest.date()
    if inside:
        return None
    return _(
        "Enter a date between %(earliest)s and %(latest)s.",
        earliest=format_date(EARLIEST_INSTANT.date()),
        latest=format_date(latest.date()),
    )


def is_valid_timezone(name: str) -> bool:
    if not name or name not in _zone_names():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


_ZONES: frozenset[str] | None = None


def _zone_names() -> frozenset[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(available_timezones())
    return _ZONES


def timezone_choices() -> list[str]:
    return sorted(_zone_names())
