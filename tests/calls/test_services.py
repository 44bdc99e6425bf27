"""Calls through their services, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from grantpool.calls import services
from grantpool.calls.commands import read_call_details, read_questions
from grantpool.platform.audit import AuditEvent
from grantpool.platform.errors import InvalidTransition, ValidationFailed
from grantpool.platform.money import Money
from tests.factories import make_call, make_fund, make_organisation, make_user, sample_questions

NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)


def actions(session: Session, call_id: int) -> list[str]:
    return list(
        session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.object_type == "call", AuditEvent.object_id == str(call_id))
            .order_by(AuditEvent.id)
        )
    )


def test_create_reads_amounts_and_local_times_in_the_fund(session: Session) -> None:
    manager = make_user(session, "fund_manager")
    fund = make_fund(session, manager, timezone="Africa/Nairobi")
    call = services.create_call(
        session,
        manager,
        fund,
        read_call_details(
            fund,
            {
                "title": {"en": "Seeds", "fr": "Semences"},
                "budget": "20,000",
                "min_request": "500",
                "max_request": "2,500.50",
                "closes_at": "2026-12-31T17:00",
                "eligibility": {"countries": ["ke"], "registered_only": True},
            },
        ),
    )
    assert call.state == "draft"
    assert call.max_request == Money(250050, "USD")
    assert call.closes_at == dt.datetime(2026, 12, 31, 14, 0, tzinfo=dt.UTC)  # UTC+3
    assert call.eligibility["countries"] == ["KE"]
    assert call.title_in("fr") == "Semences" and call.title_in("sw") == "Seeds"
    assert actions(session, call.id) == ["call.create"]


def test_bad_call_data_names_every_field(session: Session) -> None:
    manager = make_user(session, "fund_manager")
    fund = make_fund(session, manager)
    with pytest.raises(ValidationFailed) as info:
        services.create_call(
            session,
            manager,
            fund,
            read_call_details(
                fund,
                {
                    "title": {},
                    "budget": "1000",
                    "min_request": "900",
                    "max_request": "2000",
                    "closes_at": "tomorrow",
                },
            ),
        )
    assert set(info.value.errors) == {"title", "max_request", "closes_at"}


def test_open_needs_questions_and_a_future_close(session: Session) -> None:
    call = make_call(session, questions=[])
    manager = make_user(session, "admin")
    with pytest.raises(ValidationFailed) as info:
        services.open_call(session, manager, call, now=NOW)
    assert len(info.value.errors[""]) == 2
    services.update_call(
        session,
        manager,
        call,
        read_call_details(
            call.fund,
            {
                "title": call.title,
                "budget": call.budget_minor,
                "min_request": call.min_request_minor,
                "max_request": call.max_request_minor,
                "closes_at": NOW + dt.timedelta(days=1),
            },
        ),
    )
    services.set_questions(session, manager, call, read_questions(sample_questions()))
    services.open_call(session, manager, call, now=NOW)
    assert call.state == "open" and call.is_accepting(NOW)
    assert not call.is_accepting(NOW + dt.timedelta(days=1))
    services.close_call(session, manager, call, now=NOW + dt.timedelta(hours=1))
    assert call.closes_at == NOW + dt.timedelta(hours=1)  # closed early
    with pytest.raises(InvalidTransition):
        services.open_call(session, manager, call, now=NOW)
    services.archive_call(session, manager, call, now=NOW + dt.timedelta(days=3))
    assert actions(session, call.id)[-3:] == ["call.open", "call.closed", "call.archived"]


def test_questions_cannot_change_in_ways_that_orphan_answers(session: Session) -> None:
    from grantpool.intake import services as intake

    manager = make_user(session, "fund_manager")
    call = make_call(session, manager=manager, open_until=NOW + dt.timedelta(days=5))
    organisation = make_organisation(session)
    applicant = make_user(session, organisations=[organisation])
    intake.submit_application(
        session,
        applicant,
        call,
        organisation,
        {"summary": "Plant trees", "has_partner": "no"},
        Money(200000, "USD"),
        "web",
        "en",
        NOW,
    )
    questions = sample_questions()
    with pytest.raises(ValidationFailed) as info:
        services.set_questions(session, manager, call, read_questions(questions[:2]))
    assert "cannot be removed" in info.value.errors[""][0]
    added = [*questions, {"key": "extra", "kind": "number", "label": {"en": "People"}}]
    services.set_questions(session, manager, call, read_questions(added))
    assert [q["key"] for q in call.questions][-1] == "extra"
    with pytest.raises(ValidationFailed):
        services.set_questions(
            session,
            manager,
            call,
            read_questions(
                [*added, {"key": "more", "kind": "number", "label": {"en": "x"}, "required": True}]
            ),
        )


def test_public_calls_lists_open_and_closed_but_not_drafts(session: Session) -> None:
    far = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    open_call = make_call(session, open_until=far)
    draft = make_call(session)
    listed = services.public_calls(session)
    assert open_call in listed and draft not in listed


def test_a_call_in_another_currency_states_its_rate(session):
    from decimal import Decimal

    import pytest

    from grantpool.calls import services as calls
    from grantpool.platform.errors import ValidationFailed
    from grantpool.platform.money import Money
    from tests.factories import make_fund, make_user

    manager = make_user(session, "fund_manager")
    fund = make_fund(session, manager, base_currency="USD")
    data = {
        "title": {"en": "Sahel micro-grants"},
        "currency": "XOF",
        "budget": "30000000",
        "min_request": "500000",
        "max_request": "3000000",
        "channels": ["web"],
    }
    with pytest.raises(ValidationFailed) as failure:
        calls.create_call(session, manager, fund, read_call_details(fund, data))
    assert "exchange_rate" in failure.value.errors
    call = calls.create_call(
        session, manager, fund, read_call_details(fund, {**data, "exchange_rate": "0,0017"})
    )
    assert call.rate_to_base == Decimal("0.0017")
    assert call.in_base_currency(Money(3_000_000, "XOF")) == Money(510_000, "USD")
    same = calls.create_call(
        session,
        manager,
        fund,
        read_call_details(
            fund,
            {
                **data,
                "currency": "USD",
                "budget": "50000",
                "min_request": "1000",
                "max_request": "5000",
            },
        ),
    )
    assert same.exchange_rate is None
