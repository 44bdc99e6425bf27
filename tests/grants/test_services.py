"""Grants through their services: award, conditions, waivers, reports, maker-checker,
amendments and closure keep the ledger balanced."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from pypdf import PdfReader
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from grantpool.grants import queries, services
from grantpool.grants.commands import (
    AmendmentRequest,
    TrancheSpec,
    payment_details,
    report_details,
    template_details,
)
from grantpool.grants.models import ConditionWaiver, Disbursement, Grant, Tranche
from grantpool.grants.rules import RiskLevel
from grantpool.ledger import rules as ledger_rules
from grantpool.ledger.services import balance_of
from grantpool.platform.audit import AuditEvent
from grantpool.platform.errors import (
    InsufficientFunds,
    InvalidTransition,
    NotFound,
    NotPermitted,
    ValidationFailed,
)
from grantpool.platform.money import Money
from tests.factories import make_organisation, make_user

from .helpers import (
    AWARDED_AT,
    assert_ledger_sound,
    make_application,
    make_grant,
    make_world,
)

PAYMENT = {"reference": "TRX-1", "method": "mobile_money", "paid_on": dt.date(2026, 1, 9)}
LATER = dt.datetime(2026, 8, 1, 9, 0, tzinfo=dt.UTC)


def usd(minor: int) -> Money:
    return Money(minor, "USD")


def test_award_commits_the_amount_and_plans_tranches_that_add_up(session: Session) -> None:
    world = make_world(session)
    grant = make_grant(session, world, 1_000_001, risk_level="low")
    tranches = queries.tranches_of(session, grant)
    assert [t.amount_minor for t in tranches] == [600_001, 400_000]
    committed = ledger_rules.grant_committed_account(grant.id)
    assert balance_of(session, world.fund, committed) == usd(1_000_001)
    assert balance_of(session, world.fund, ledger_rules.FUND_AVAILABLE) == usd(
        10_000_000 - 1_000_001
    )
    assert len(queries.agreements_of(session, grant)) == 1
    assert_ledger_sound(session)


def test_award_beyond_available_money_is_refused_and_writes_nothing(session: Session) -> None:
    world = make_world(session, available="1000.00")
    application = make_application(session, world)
    with pytest.raises(InsufficientFunds):
        services.create_grant(session, world.manager, application, usd(100_001))
    assert session.scalar(select(Grant.id)) is None
    assert balance_of(session, world.fund, ledger_rules.FUND_AVAILABLE) == usd(100_000)


def test_only_the_funds_managers_award(session: Session) -> None:
    world = make_world(session)
    other = make_world(session)
    application = make_application(session, world)
    for outsider in (world.officer, other.manager, world.grantee):
        with pytest.raises((NotPermitted, NotFound)):
            services.create_grant(session, outsider, application, usd(1000))


def test_a_fund_managers_template_is_used_for_its_risk_level(session: Session) -> None:
    world = make_world(session)
    services.save_template(
        session,
        world.manager,
        world.fund,
        template_details(
            risk_level="medium",
            tranches=[
                {"percent": 50},
                {"percent": 25, "offset_days": 30},
                {"percent": 25, "offset_days": 60},
            ],
        ),
    )
    grant = make_grant(session, world, 1000, risk_level="medium")
    assert [t.amount_minor for t in queries.tranches_of(session, grant)] == [500, 250, 250]
    whole = template_details(risk_level="low", tranches=[{"percent": 100}])
    with pytest.raises(NotPermitted):
        services.save_template(session, world.officer, world.fund, whole)


def test_a_template_is_read_whole_before_it_reaches_the_service() -> None:
    with pytest.raises(ValidationFailed) as refused:
        template_details(risk_level="extreme", tranches=[{"percent": 99}])
    assert set(refused.value.errors) == {"risk_level", "tranches"}
    assert refused.value.errors["tranches"] == ["The tranches' shares must add up to 100%."]
    details = template_details(risk_level="high", tranches=[{"percent": 100}], name="  Pilot ")
    assert details.risk_level is RiskLevel.HIGH
    assert details.name == "Pilot"
    assert [t.as_data() for t in details.tranches] == [
        {"percent": 100, "offset_days": 0, "conditions": {"all": []}}
    ]


def release_and_pay(session: Session, world, tranche: Tranche, **payment) -> Disbursement:
    disbursement = services.request_release(session, world.officer, tranche, now=AWARDED_AT)
    services.approve_release(session, world.officer2, disbursement, now=AWARDED_AT)
    return services.record_payment(
        session,
        world.officer2,
        disbursement,
        payment_details(**{**PAYMENT, **payment}),
        now=AWARDED_AT,
    )


def test_maker_checker_release_and_payment_post_to_the_ledger(session: Session) -> None:
    world = make_world(session)
    grant = make_grant(session, world, 1_000_000, risk_level="low")
    first, _second = queries.tranches_of(session, grant)
    disbursement = services.request_release(session, world.officer, first, now=AWARDED_AT)
    with pytest.raises(NotPermitted):
        services.approve_release(session, world.officer, disbursement)
    with pytest.raises(NotPermitted):  # the grantee may see the grant, not approve
        services.approve_release(session, world.grantee, disbursement)
    services.approve_release(session, world.manager, disbursement, now=AWARDED_AT)
    paid = services.record_payment(
        session,
        world.officer,
        disbursement,
        payment_details(
            **{**PAYMENT, "currency": "KES", "amount": "774000", "exchange_rate": "0.00775194"}
        ),
        now=AWARDED_AT,
    )
    assert paid.state == "paid" and paid.exchange_rate is not None
    assert paid.days_award_to_payment == 4 and paid.days_conditions_to_payment == 4
    assert grant.days_award_to_first_payment == 4
    assert balance_of(session, world.fund, ledger_rules.grant_paid_account(grant.id)) == usd(
        600_000
    )
    # The same payment recorded again (a double click) changes nothing.
    again = services.record_payment(
        session,
        world.officer,
        disbursement,
        payment_details(
            **{**PAYMENT, "currency": "KES", "amount": "774000", "exchange_rate": "0.00775194"}
        ),
    )
    assert again.id == paid.id
    assert balance_of(session, world.fund, ledger_rules.grant_paid_account(grant.id)) == usd(
        600_000
    )
    assert_ledger_sound(session)


def test_the_database_refuses_an_approver_who_requested(session: Session) -> None:
    world = make_world(session)
    grant = make_grant(session, world)
    first = queries.tranches_of(session, grant)[0]
    disbursement = services.request_release(session, world.officer, first, now=AWARDED_AT)
    with pytest.raises(IntegrityError), session.begin_nested():
        session.execute(
            text(
                "UPDATE disbursements SET approved_by_id = requested_by_id, "
                "approved_at = requested_at WHERE id = :id"
            ),
            {"id": disbursement.id},
        )


def test_a_tranche_waits_for_its_conditions_then_a_waiver_lets_it_go(session: Session) -> None:
    world = make_world(session)
    grant = make_grant(session, world, risk_level="low")
    first, second = queries.tranches_of(session, grant)
    release_and_pay(session, world, first)
    with pytest.raises(InvalidTransition) as refused:
        services.request_release(session, world.officer, second, now=LATER)
    assert "Waiting for: narrative report for tranche 1 accepted" in str(refused.value.message)
    report_leaf = second.conditions["all"][1]["id"]
    with pytest.raises(ValidationFailed):
        services.waive_condition(session, world.manager, second, report_leaf, "  ")
    with pytest.raises(NotPermitted):
        services.waive_condition(session, world.officer, second, report_leaf, "urgent")
    services.waive_condition(
        session, world.manager, second, report_leaf, "Floods: the report can follow"
    )
    evaluation = services.evaluate_tranche(session, second, now=LATER)
    assert evaluation.met and "(waived)" in evaluation.summary
    assert services.request_release(session, world.officer, second, now=LATER).state == "requested"
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "tranche.waive_condition"))
    assert event is not None and event.after["reason"] == "Floods: the report can follow"
    assert session.scalar(select(ConditionWaiver.reason)) == "Floods: the report can follow"


def test_reports_accepted_and_returned_meet_conditions(session: Session) -> None:
    world = make_world(session)
    grant = make_grant(session, world, risk_level="low")
    first, second = queries.tranches_of(session, grant)
    release_and_pay(session, world, first)
    report = services.submit_report(
        session,
        world.grantee,
        grant,
        report_details(kind="narrative", tranche_number=1, text="We trained 40 people."),
        [services.Upload(io.BytesIO(b"\xff\xd8\xff\xe0" + b"\x00" * 64), "photo")],
        now=LATER,
    )
    assert report.files[0]["content_type"] == "image/jpeg"
    with pytest.raises(ValidationFailed):
        services.review_report(session, world.manager, report, accept=False)
    services.review_report(session, world.manager, report, accept=False, comment="Add numbers")
    with pytest.raises(NotFound):  # another organisation's member cannot even see it
        outsider = make_user(session, organisations=[make_organisation(session)])
        services.resubmit_report(
            session, outsider, report, report_details(kind="narrative", tranche_number=1, text="x")
        )
    services.resubmit_report(
        session,
        world.grantee,
        report,
        report_details(kind="narrative", tranche_number=1, text="We trained 40 people, 25 women."),
    )
    services.review_report(session, world.manager, report, accept=True, now=LATER)
    assert services.evaluate_tranche(session, second, now=LATER).met


def test_financial_report_feeds_previous_spent_condition(session: Session) -> None:
    world = make_world(session)
    grant = make_grant(session, world, 1_000_000, risk_level="high")
    tranches = queries.tranches_of(session, grant)
    services.record_evidence(session, world.manager, grant, "document", "bank account letter")
    release_and_pay(session, world, tranches[0])
    with pytest.raises(ValidationFailed):
        services.submit_report(
            session, world.grantee, grant, report_details(kind="financial", tranche_number=1)
        )
    financial = services.submit_report(
        session,
        world.grantee,
        grant,
        report_details(
            kind="financial",
            tranche_number=1,
            spent_lines=[
                {"line": "Seeds", "amount": "1000"},
                {"line": "Tools", "amount": "750"},
            ],
        ),
    )
    assert financial.spent_minor == 175_000  # 70 % of 2,500.00
    narrative = services.submit_report(
        session,
        world.grantee,
        grant,
        report_details(kind="narrative", tranche_number=1, text="Done"),
    )
    for report in (financial, narrative):
        services.review_report(session, world.manager, report, accept=True, now=LATER)
    evaluation = services.evaluate_tranche(session, tranches[1], now=LATER)
    assert evaluation.met, evaluation.summary


def test_idempotent_release_and_key_reuse_with_another_body(session: Session) -> None:
    world = make_world(session)
    grant = make_grant(session, world)
    first, second = queries.tranches_of(session, grant)
    one = services.request_release(
        session, world.officer, first, idempotency_key="k1", fingerprint="a", now=AWARDED_AT
    )
    again = services.request_release(
        session, world.officer, first, idempotency_key="k1", fingerprint="a", now=AWARDED_AT
    )
    assert again.id == one.id
    with pytest.raises(ValidationFailed):
        services.request_release(
            session, world.officer, first, idempotency_key="k1", fingerprint="b"
        )
    with pytest.raises(InvalidTransition):  # a second live request for the tranche
        services.request_release(session, world.officer2, first, now=AWARDED_AT)
    assert len(queries.disbursements_of(session, grant)) == 1
    # A refused request puts the tranche back; it may be requested again.
    services.reject_release(session, world.manager, one, "Wrong account")
    assert services.request_release(session, world.officer2, first, now=AWARDED_AT)
    assert second.state == "scheduled"


def test_amendments_move_commitment_and_keep_the_ledger_balanced(session: Session) -> None:
    world = make_world(session)
    grant = make_grant(session, world, 1_000_000, risk_level="low")
    first, second = queries.tranches_of(session, grant)
    release_and_pay(session, world, first)
    committed = ledger_rules.grant_committed_account(grant.id)

    services.amend_grant(
        session,
        world.manager,
        grant,
        AmendmentRequest(reason="More families", amount=usd(1_200_000)),
    )
    assert second.amount_minor == 600_000
    assert balance_of(session, world.fund, committed) == usd(600_000)

    services.amend_grant(
        session, world.manager, grant, AmendmentRequest(reason="Smaller scope", amount=usd(700_000))
    )
    assert balance_of(session, world.fund, committed) == usd(100_000)
    with pytest.raises(ValidationFailed):  # the paid tranche cannot shrink below itself
        services.amend_grant(
            session, world.manager, grant, AmendmentRequest(reason="x", amount=usd(500_000))
        )

    amendment = services.amend_grant(
        session,
        world.manager,
        grant,
        AmendmentRequest(
            reason="Split the last tranche",
            end_on=dt.date(2027, 6, 30),
            tranches=(
                TrancheSpec(
                    number=1, amount=usd(600_000), due_on=first.due_on, conditions=first.conditions
                ),
                TrancheSpec(
                    number=2,
                    amount=usd(50_000),
                    due_on=dt.date(2026, 9, 1),
                    conditions={"all": [{"type": "manual_approval"}]},
                ),
                TrancheSpec(
                    number=3,
                    amount=usd(50_000),
                    due_on=dt.date(2026, 12, 1),
                    conditions={"all": []},
                ),
            ),
        ),
    )
    assert amendment.number == 3 and amendment.before["end_on"] != amendment.after["end_on"]
    with pytest.raises(InsufficientFunds):
        services.amend_grant(
            session,
            world.manager,
            grant,
            AmendmentRequest(reason="Too much", amount=usd(100_000_000)),
        )
    assert len(queries.agreements_of(session, grant)) == 4
    assert balance_of(session, world.fund, ledger_rules.FUND_AVAILABLE) == usd(10_000_000 - 700_000)
    assert_ledger_sound(session)


def test_closure_releases_the_unpaid_commitment_and_takes_back_returns(session: Session) -> None:
    world = make_world(session)
    grant = make_grant(session, world, 1_000_000, risk_level="low")
    first = queries.tranches_of(session, grant)[0]
    release_and_pay(session, world, first)
    services.change_state(session, world.manager, grant, "closing", "Project finished early")
    with pytest.raises(InvalidTransition):
        services.close_grant(session, world.manager, grant)
    for kind, extra in (("narrative", {"text": "All done"}), ("financial", {"spent": "5000"})):
        report = services.submit_report(
            session,
            world.grantee,
            grant,
            report_details(**{"kind": kind, "tranche_number": 1, "final": True, **extra}),
        )
        services.review_report(session, world.manager, report, accept=True)
    services.close_grant(session, world.manager, grant, returned=usd(100_000))
    assert grant.state == "closed"
    fund = world.fund
    assert balance_of(session, fund, ledger_rules.grant_committed_account(grant.id)) == usd(0)
    assert balance_of(session, fund, ledger_rules.grant_paid_account(grant.id)) == usd(500_000)
    assert balance_of(session, fund, ledger_rules.FUND_AVAILABLE) == usd(10_000_000 - 500_000)
    assert [t.state for t in queries.tranches_of(session, grant)] == ["paid", "cancelled"]
    assert_ledger_sound(session)


def test_agreement_pdf_reads_back_amounts_and_conditions(session: Session) -> None:
    world = make_world(session)
    grant = make_grant(session, world, 1_234_500, risk_level="low")
    agreement = queries.agreements_of(session, grant)[-1]
    pdf_text = "".join(
        page.extract_text()
        for page in PdfReader(io.BytesIO(services.agreement_bytes(agreement))).pages
    )
    assert "$12,345.00" in pdf_text
    assert "$7,407.00" in pdf_text and "$4,938.00" in pdf_text
    flat = " ".join(pdf_text.split())
    assert "narrative report for tranche 1 accepted" in flat, flat
    assert world.organisation.name in pdf_text and world.fund.name in pdf_text
    assert "Signature" in pdf_text
    services.amend_grant(
        session,
        world.manager,
        grant,
        AmendmentRequest(reason="Longer project", end_on=dt.date(2027, 12, 31)),
    )
    versions = queries.agreements_of(session, grant)
    assert [v.version for v in versions] == [1, 2]
    amended = "".join(
        page.extract_text()
        for page in PdfReader(io.BytesIO(services.agreement_bytes(versions[-1]))).pages
    )
    assert "Longer project" in amended and "31 December 2027" in amended


def test_grantees_see_only_their_own_grants(session: Session) -> None:
    world = make_world(session)
    grant = make_grant(session, world)
    other_org = make_organisation(session)
    other_grant = services.create_grant(
        session,
        world.manager,
        make_application(session, world, other_org),
        usd(1000),
        now=AWARDED_AT,
    )
    assert [g.id for g in queries.grants_visible_to(session, world.grantee)] == [grant.id]
    with pytest.raises(NotFound):
        services.submit_report(
            session,
            world.grantee,
            other_grant,
            report_details(kind="narrative", tranche_number=1, text="x"),
        )
    other_fund = make_world(session)
    assert queries.grants_visible_to(session, other_fund.officer) == []
    with pytest.raises(NotFound):
        services.request_release(
            session, other_fund.officer, queries.tranches_of(session, grant)[0]
        )


def test_the_database_allows_one_live_disbursement_per_tranche(session: Session) -> None:
    world = make_world(session)
    grant = make_grant(session, world)
    first = queries.tranches_of(session, grant)[0]
    one = services.request_release(session, world.officer, first, now=AWARDED_AT)
    with pytest.raises(IntegrityError), session.begin_nested():
        session.add(
            Disbursement(
                grant_id=grant.id,
                tranche_id=first.id,
                amount_minor=one.amount_minor,
                currency="USD",
                requested_by_id=world.officer2.id,
                requested_at=AWARDED_AT,
            )
        )
        session.flush()


def test_a_stale_tranche_write_loses(session: Session) -> None:
    from sqlalchemy.orm.exc import StaleDataError

    world = make_world(session)
    grant = make_grant(session, world)
    first = queries.tranches_of(session, grant)[0]
    session.execute(
        text("UPDATE tranches SET version = version + 1 WHERE id = :id"), {"id": first.id}
    )
    first.due_on = dt.date(2026, 2, 1)
    with pytest.raises(StaleDataError), session.begin_nested():
        session.flush()


def test_termination_gives_the_unpaid_commitment_back(session: Session) -> None:
    world = make_world(session)
    grant = make_grant(session, world, 1_000_000, risk_level="low")
    release_and_pay(session, world, queries.tranches_of(session, grant)[0])
    with pytest.raises(ValidationFailed):
        services.change_state(session, world.manager, grant, "suspended", "")
    services.change_state(session, world.manager, grant, "suspended", "Audit questions")
    with pytest.raises(InvalidTransition):  # a suspended grant releases nothing
        services.request_release(session, world.officer, queries.tranches_of(session, grant)[1])
    services.change_state(session, world.manager, grant, "terminated", "Funds misused")
    assert grant.state == "terminated" and grant.closed_at is not None
    committed = ledger_rules.grant_committed_account(grant.id)
    assert balance_of(session, world.fund, committed) == usd(0)
    assert balance_of(session, world.fund, ledger_rules.FUND_AVAILABLE) == usd(10_000_000 - 600_000)
    assert_ledger_sound(session)


def test_the_agreement_is_written_in_the_grants_language(session: Session) -> None:
    world = make_world(session)
    grant = make_grant(session, world, 1_234_500, language="fr", end_on=dt.date(2027, 3, 31))
    agreement = queries.agreements_of(session, grant)[-1]
    reader = PdfReader(io.BytesIO(services.agreement_bytes(agreement)))
    flat = " ".join("".join(page.extract_text() for page in reader.pages).split())
    assert "31 mars 2027" in flat
    assert "12 345,00" in flat
