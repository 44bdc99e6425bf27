"""Calls: create, edit, open, close and archive; the form definition and its changes."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from ..accounts.models import User
from ..funds.models import Fund
from ..platform.audit import record_event, snapshot
from ..platform.errors import InvalidTransition, ValidationFailed
from ..platform.money import Money, is_currency, parse_exchange_rate, parse_money
from ..platform.time import now_utc
from .models import Call
from .rules import (
    CallState,
    Channel,
    check_call_transition,
    clean_eligibility,
    clean_questions,
    orphaning_changes,
)

FIELDS = [
    "title",
    "description",
    "currency",
    "exchange_rate",
    "budget_minor",
    "min_request_minor",
    "max_request_minor",
    "opens_at",
    "closes_at",
    "eligibility",
    "channels",
    "tranche_template",
]


def _instant(value: Any, timezone: str) -> dt.datetime | None:
    """An aware datetime, or what a datetime-local field sends, read in the fund's zone."""
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=ZoneInfo(timezone)).astimezone(dt.UTC)
        return value.astimezone(dt.UTC)
    local = dt.datetime.fromisoformat(str(value).strip())
    if local.tzinfo is None:
        local = local.replace(tzinfo=ZoneInfo(timezone))
    return local.astimezone(dt.UTC)


def _amount(value: Any, currency: str, locale: str) -> Money:
    if isinstance(value, int) and not isinstance(value, bool):
        return Money(value, currency)
    return parse_money(str(value or ""), currency, locale)


def _clean_call(fund: Fund, data: dict[str, Any], locale: str) -> dict[str, Any]:
    errors: dict[str, str] = {}
    title = {k: v.strip() for k, v in (data.get("title") or {}).items() if v and v.strip()}
    if not title:
        errors["title"] = _("Give the call a title in at least one language.")
    description = {
        k: v.strip() for k, v in (data.get("description") or {}).items() if v and v.strip()
    }
    currency = (data.get("currency") or fund.base_currency).strip().upper()
    if not is_currency(currency):
        errors["currency"] = _("Enter a currency code such as USD, EUR or KES.")
        currency = fund.base_currency
    exchange_rate: str | None = None
    if currency != fund.base_currency:
        # A call's rate may be typed with a decimal comma (0,0017).
        raw_rate = str(data.get("exchange_rate") or "").strip().replace(",", ".")
        try:
            exchange_rate = str(parse_exchange_rate(raw_rate))
        except ValueError:
            errors["exchange_rate"] = _(
                "State the rate: how many %(base)s one %(currency)s is worth, such as 0.0017.",
                base=fund.base_currency,
                currency=currency,
            )
    amounts: dict[str, Money] = {}
    for name, message in (
        ("budget", _("Enter the total budget of the call, such as 50000.")),
        ("min_request", _("Enter the smallest amount an organisation may ask for.")),
        ("max_request", _("Enter the largest amount an organisation may ask for.")),
    ):
        try:
            amounts[name] = _amount(data.get(name), currency, locale)
            if amounts[name].is_zero():
                raise ValueError
        except ValueError:
            errors[name] = message
    if not errors.keys() & {"min_request", "max_request", "budget"}:
        if amounts["min_request"] > amounts["max_request"]:
            errors["min_request"] = _("The smallest request must not be above the largest.")
        elif amounts["max_request"] > amounts["budget"]:
            errors["max_request"] = _("The largest request must not be above the budget.")
    times: dict[str, dt.datetime | None] = {}
    for name in ("opens_at", "closes_at"):
        try:
            times[name] = _instant(data.get(name), fund.timezone)
        except ValueError:
            errors[name] = _("Enter a date and time such as 2026-12-31 17:00.")
    opens_at, closes_at = times.get("opens_at"), times.get("closes_at")
    if opens_at is not None and closes_at is not None and opens_at >= closes_at:
        errors["closes_at"] = _("The call must close after it opens.")
    channels = [str(c) for c in data.get("channels") or [Channel.WEB.value]]
    if any(c not in {ch.value for ch in Channel} for c in channels):
        errors["channels"] = _("Choose intake channels from the list.")
    try:
        eligibility = clean_eligibility(data.get("eligibility") or {})
    except ValidationFailed as failure:
        errors.update({k: v[0] for k, v in failure.errors.items()})
        eligibility = {}
    if errors:
        raise ValidationFailed(errors)
    return {
        "title": title,
        "description": description,
        "currency": currency,
        "exchange_rate": exchange_rate,
        "budget_minor": amounts["budget"].amount_minor,
        "min_request_minor": amounts["min_request"].amount_minor,
        "max_request_minor": amounts["max_request"].amount_minor,
        "opens_at": times["opens_at"],
        "closes_at": times["closes_at"],
        "eligibility": eligibility,
        "channels": sorted(set(channels)),
        "tranche_template": (data.get("tranche_template") or "").strip() or None,
    }


def create_call(
    session: Session, actor: User, fund: Fund, data: dict[str, Any], *, locale: str = "en"
) -> Call:
    call = Call(
        fund_id=fund.id,
        questions=[],
        state=CallState.DRAFT.value,
        **_clean_call(fund, data, locale),
    )
    session.add(call)
    session.flush()
    record_event(session, actor, "call.create", call, after=snapshot(call, FIELDS))
    return call


def update_call(
    session: Session, actor: User, call: Call, data: dict[str, Any], *, locale: str = "en"
) -> Call:
    if call.state == CallState.ARCHIVED:
        raise InvalidTransition(_("An archived call cannot be changed."))
    before = snapshot(call, FIELDS)
    clean = _clean_call(call.fund, data, locale)
    if call.state != CallState.DRAFT and clean["currency"] != call.currency:
        raise ValidationFailed.single(
            "currency", _("The currency cannot change once the call has opened.")
        )
    if call.state != CallState.DRAFT and clean["exchange_rate"] != call.exchange_rate:
        raise ValidationFailed.single(
            "exchange_rate", _("The exchange rate cannot change once the call has opened.")
        )
    closes_at = clean["closes_at"]
    if call.state == CallState.OPEN and (closes_at is None or closes_at <= now_utc()):
        raise ValidationFailed.single(
            "closes_at", _("An open call needs a closing time in the future; close it instead.")
        )
    for key, value in clean.items():
        setattr(call, key, value)
    session.flush()
    record_event(session, actor, "call.update", call, before=before, after=snapshot(call, FIELDS))
    return call


def has_applications(session: Session, call: Call) -> bool:
    from ..intake.models import Application

    return bool(session.scalar(select(exists().where(Application.call_id == call.id))))


def set_questions(
    session: Session, actor: User, call: Call, questions: list[dict[str, Any]]
) -> Call:
    """Replace the form definition. Once applications exist, only changes that keep every
    existing answer meaningful are allowed."""
    if call.state in (CallState.CLOSED, CallState.ARCHIVED):
        raise InvalidTransition(_("The questions of a closed call cannot change."))
    cleaned = clean_questions(questions, call.languages)
    if has_applications(session, call):
        problems = orphaning_changes(call.questions, cleaned)
        if problems:
            raise ValidationFailed({"": problems})
    if call.state == CallState.OPEN and not cleaned:
        raise ValidationFailed.single("", _("An open call needs at least one question."))
    before = {"questions": call.questions}
    call.questions = cleaned
    session.flush()
    record_event(
        session, actor, "call.set_questions", call, before=before, after={"questions": cleaned}
    )
    return call


def _move(session: Session, actor: User, call: Call, target: CallState, now: dt.datetime) -> None:
    before = call.state
    check_call_transition(call.state, target.value)
    call.state = target.value
    session.flush()
    record_event(
        session,
        actor,
        f"call.{target.value}",
        call,
        before={"state": before},
        after={"state": target.value},
        at=now,
    )


def open_call(session: Session, actor: User, call: Call, now: dt.datetime | None = None) -> Call:
    now = now or now_utc()
    check_call_transition(call.state, CallState.OPEN.value)
    problems = []
    if not call.questions:
        problems.append(_("Add at least one question before opening the call."))
    if call.closes_at is None or call.closes_at <= now:
        problems.append(_("Set a closing date and time in the future before opening the call."))
    if problems:
        raise ValidationFailed({"": problems})
    call.opened_at = now
    if call.opens_at is None:
        call.opens_at = now
    _move(session, actor, call, CallState.OPEN, now)
    return call


def close_call(session: Session, actor: User, call: Call, now: dt.datetime | None = None) -> Call:
    now = now or now_utc()
    check_call_transition(call.state, CallState.CLOSED.value)
    call.closed_at = now
    if call.closes_at is None or call.closes_at > now:
        call.closes_at = now  # closed early: nothing is accepted from now on
    _move(session, actor, call, CallState.CLOSED, now)
    return call


def archive_call(session: Session, actor: User, call: Call, now: dt.datetime | None = None) -> Call:
    now = now or now_utc()
    check_call_transition(call.state, CallState.ARCHIVED.value)
    call.closed_at = call.closed_at or now
    _move(session, actor, call, CallState.ARCHIVED, now)
    return call


def calls_of_fund(session: Session, fund: Fund) -> list[Call]:
    return list(session.scalars(select(Call).where(Call.fund_id == fund.id).order_by(Call.id)))


def public_calls(session: Session, now: dt.datetime | None = None) -> list[Call]:
    """Open calls first (closing soonest first), then recently closed ones."""
    now = now or now_utc()
    calls = session.scalars(
        select(Call)
        .where(Call.state.in_([CallState.OPEN.value, CallState.CLOSED.value]))
        .order_by(Call.closes_at.desc())
        .limit(100)
    )
    result = list(calls)
    # An accepting call has its close instant (`or now` is for the type checker only).
    accepting = sorted((c for c in result if c.is_accepting(now)), key=lambda c: c.closes_at or now)
    return accepting + [c for c in result if not c.is_accepting(now)]


def is_public(call: Call) -> bool:
    return call.state in (CallState.OPEN, CallState.CLOSED)
