"""Calls: create, edit, open, close and archive; the form definition and its changes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from ..accounts.models import User
from ..funds.models import Fund
from ..platform.audit import record_event, snapshot
from ..platform.errors import InvalidTransition, ValidationFailed
from ..platform.links import Link, rows
from ..platform.time import now_utc
from .commands import CallDetails, QuestionSpec, rate_needed
from .models import Call
from .rules import (
    CallState,
    check_call_transition,
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


def _stored(details: CallDetails) -> dict[str, Any]:
    return {
        "title": dict(details.title),
        "description": dict(details.description),
        "currency": details.currency,
        "exchange_rate": str(details.exchange_rate) if details.exchange_rate is not None else None,
        "budget_minor": details.budget_minor,
        "min_request_minor": details.min_request_minor,
        "max_request_minor": details.max_request_minor,
        "opens_at": details.opens_at,
        "closes_at": details.closes_at,
        "eligibility": details.eligibility.as_stored(),
        "channels": sorted(set(details.channels)),
        "tranche_template": details.tranche_template,
    }


def _check_rate(fund: Fund, details: CallDetails) -> CallDetails:
    """A call in another currency than its fund's states the rate awards are counted at;
    one in the fund's currency has none."""
    if details.currency == fund.base_currency:
        return replace(details, exchange_rate=None)
    if details.exchange_rate is None:
        raise ValidationFailed.single(
            "exchange_rate", rate_needed(fund.base_currency, details.currency)
        )
    return details


def create_call(session: Session, actor: User, fund: Fund, details: CallDetails) -> Call:
    details = _check_rate(fund, details)
    call = Call(
        fund_id=fund.id,
        questions=[],
        state=CallState.DRAFT.value,
        **_stored(details),
    )
    session.add(call)
    session.flush()
    record_event(session, actor, "call.create", call, after=snapshot(call, FIELDS))
    return call


def update_call(session: Session, actor: User, call: Call, details: CallDetails) -> Call:
    if call.state == CallState.ARCHIVED:
        raise InvalidTransition(_("An archived call cannot be changed."))
    before = snapshot(call, FIELDS)
    clean = _stored(_check_rate(call.fund, details))
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


APPLICATIONS = Link("call.applications", ("call_id", "application_id"))
"""(call, application) for every application made to a call: intake provides the rows."""


def has_applications(session: Session, call: Call) -> bool:
    applications = rows(APPLICATIONS)
    return bool(session.scalar(select(exists().where(applications.c.call_id == call.id))))


def set_questions(
    session: Session, actor: User, call: Call, questions: Sequence[QuestionSpec]
) -> Call:
    """Replace the form definition. Each question must fit among the ones before it (a
    key of its own, conditions on earlier yes/no questions); once applications exist,
    only changes that keep every existing answer meaningful are allowed."""
    if call.state in (CallState.CLOSED, CallState.ARCHIVED):
        raise InvalidTransition(_("The questions of a closed call cannot change."))
    cleaned = clean_questions([q.definition() for q in questions], call.languages)
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
    call.state = target
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
