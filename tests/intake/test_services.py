"""submit_application and friends, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grantpool.intake import services
from grantpool.intake.models import Application
from grantpool.platform.audit import AuditEvent
from grantpool.platform.errors import InvalidTransition, ValidationFailed
from grantpool.platform.mail import OutboxMessage
from grantpool.platform.money import Money
from tests.factories import make_call, make_organisation, make_user

NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)
CLOSES = NOW + dt.timedelta(days=5)
ANSWERS = {"summary": "We will plant trees", "has_partner": "yes", "partner_name": "Youth club"}


def count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def setup(session: Session) -> tuple:
    call = make_call(session, open_until=CLOSES)
    organisation = make_organisation(session, country="KE")
    applicant = make_user(session, organisations=[organisation], email="amina@example.org")
    return call, organisation, applicant


def test_submit_records_reference_audit_and_mail(session: Session, setup: tuple) -> None:
    call, organisation, applicant = setup
    application = services.submit_application(
        session, applicant, call, organisation, ANSWERS, Money(250000, "USD"), "api", "en", NOW
    )
    assert application.state == "submitted"
    assert application.reference == f"GP-2026-{application.id:05d}"
    assert application.submitted_at == NOW
    assert application.answers["partner_name"] == "Youth club"
    assert application.channel == "api"
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "application.submit"))
    assert event is not None and event.after["reference"] == application.reference
    mail = session.scalar(select(OutboxMessage).order_by(OutboxMessage.id.desc()))
    assert mail is not None and mail.to_address == "amina@example.org"
    assert application.reference in mail.subject


def test_the_receipt_is_in_the_language_saved_on_the_senders_account(
    session: Session, setup: tuple
) -> None:
    call, organisation, applicant = setup
    applicant.locale = "fr"
    session.flush()
    services.submit_application(
        session, applicant, call, organisation, ANSWERS, Money(250000, "USD"), "api", "en", NOW
    )
    mail = session.scalar(select(OutboxMessage).order_by(OutboxMessage.id.desc()))
    assert mail is not None and mail.locale == "fr"
    # Mailed to the organisation's address instead: the application's language.
    services.submit_application(
        session, applicant, call, organisation, ANSWERS, Money(250000, "USD"), "api", "en", NOW,
        notify="office@example.org",
    )  # fmt: skip
    mail = session.scalar(select(OutboxMessage).order_by(OutboxMessage.id.desc()))
    assert mail is not None and mail.locale == "en" and mail.to_address == "office@example.org"


def test_after_the_close_instant_nothing_is_written(session: Session, setup: tuple) -> None:
    call, organisation, applicant = setup
    before = count(session, Application)
    with pytest.raises(InvalidTransition, match="closed"):
        services.submit_application(
            session,
            applicant,
            call,
            organisation,
            ANSWERS,
            Money(250000, "USD"),
            "web",
            "en",
            CLOSES,
        )
    assert count(session, Application) == before


def test_amount_outside_bounds_is_refused_with_the_bounds(session: Session, setup: tuple) -> None:
    call, organisation, applicant = setup
    for cents in (99999, 500001):
        with pytest.raises(ValidationFailed) as info:
            services.submit_application(
                session,
                applicant,
                call,
                organisation,
                ANSWERS,
                Money(cents, "USD"),
                "web",
                "en",
                NOW,
            )
        assert info.value.errors["requested"] == ["Ask for between $1,000.00 and $5,000.00."]
    assert count(session, Application) == 0


def test_invalid_answers_and_ineligible_organisations(session: Session, setup: tuple) -> None:
    call, organisation, applicant = setup
    with pytest.raises(ValidationFailed) as info:
        services.submit_application(
            session,
            applicant,
            call,
            organisation,
            {"has_partner": "yes"},
            Money(250000, "USD"),
            "web",
            "en",
            NOW,
        )
    assert set(info.value.errors) == {"summary", "partner_name"}
    call.eligibility = {"countries": ["UG"], "org_types": [], "areas": [], "registered_only": False}
    with pytest.raises(ValidationFailed) as info:
        services.submit_application(
            session,
            applicant,
            call,
            organisation,
            ANSWERS,
            Money(250000, "USD"),
            "web",
            "en",
            NOW,
        )
    assert "Uganda" in info.value.errors[""][0]


def test_a_channel_the_call_does_not_offer_is_refused(session: Session, setup: tuple) -> None:
    call, organisation, applicant = setup
    with pytest.raises(InvalidTransition):
        services.submit_application(
            session,
            applicant,
            call,
            organisation,
            ANSWERS,
            Money(250000, "USD"),
            "odk",
            "en",
            NOW,
        )


def test_draft_keeps_what_was_typed_then_submits(session: Session, setup: tuple) -> None:
    call, organisation, applicant = setup
    draft = services.start_application(
        session, applicant, call, organisation, language="en", now=NOW
    )
    errors = services.save_draft(
        session, applicant, draft, {"requested_amount": "9,000,000"}, locale="en"
    )
    assert errors == {"requested_amount": "Ask for between $1,000.00 and $5,000.00."}
    assert draft.answers["requested_amount"] == "9,000,000"
    errors = services.save_draft(
        session, applicant, draft, {"summary": " ".join(["word"] * 60)}, locale="en"
    )
    assert "at most 50 words" in errors["summary"]
    with pytest.raises(ValidationFailed) as info:
        services.submit_draft(session, applicant, draft, locale="en", now=NOW)
    assert {"summary", "has_partner", "requested_amount"} <= set(info.value.errors)
    assert draft.state == "draft"
    services.save_draft(
        session, applicant, draft, {"requested_amount": "1,500", **ANSWERS}, locale="en"
    )
    submitted = services.submit_draft(session, applicant, draft, locale="en", now=NOW)
    assert submitted is draft and draft.state == "submitted"
    assert draft.requested == Money(150000, "USD")
    assert "requested_amount" not in draft.answers


def test_withdraw_before_a_decision_only(session: Session, setup: tuple) -> None:
    call, organisation, applicant = setup
    application = services.submit_application(
        session, applicant, call, organisation, ANSWERS, Money(250000, "USD"), "web", "en", NOW
    )
    services.withdraw_application(session, applicant, application, NOW)
    assert application.state == "withdrawn" and application.withdrawn_at == NOW
    with pytest.raises(InvalidTransition):
        services.withdraw_application(session, applicant, application, NOW)
    assert services.applications_of(session, applicant) == [application]
