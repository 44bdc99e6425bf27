"""The demo's grants: every risk level, tranches paid,
eligible and waiting, reports in each state, and one amendment."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..accounts.models import User
from ..calls.models import Call
from ..funds.models import Fund
from ..grants import queries, rules, services
from ..grants.commands import AmendmentRequest, payment_details, report_details
from ..grants.models import Grant
from ..intake import services as intake
from ..intake.models import Application
from ..organisations.models import Organisation
from ..platform.money import Money
from ..platform.time import now_utc

ANSWERS = {"summary": "Seed banks and a water committee.", "people": "120", "has_partner": "no"}


def submitted_application(
    session: Session, fund: Fund, organisation: Organisation, now: dt.datetime
) -> Application:
    """The organisation's submitted application in the fund, or a new one in an open call."""
    found = session.scalar(
        select(Application)
        .join(Call, Call.id == Application.call_id)
        .where(
            Call.fund_id == fund.id,
            Application.organisation_id == organisation.id,
            Application.state == "submitted",
        )
        .order_by(Application.id)
    )
    if found is not None:
        return found
    call = next(
        c
        for c in session.scalars(select(Call).where(Call.fund_id == fund.id).order_by(Call.id))
        if c.is_accepting(now)
    )
    return intake.submit_application(
        session,
        None,
        call,
        organisation,
        dict(ANSWERS),
        Money(1_000_000, call.currency),
        "web",
        "en",
        now,
        notify="",
    )


def _pay_first(
    session: Session,
    grant: Grant,
    requester: User,
    approver: User,
    at: dt.datetime,
    reference: str,
    method: str = "bank_transfer",
) -> None:
    first = queries.tranches_of(session, grant)[0]
    disbursement = services.request_release(session, requester, first, now=at)
    services.approve_release(session, approver, disbursement, now=at + dt.timedelta(hours=3))
    services.record_payment(
        session,
        requester,
        disbursement,
        payment_details(
            reference=reference, method=method, paid_on=(at + dt.timedelta(days=2)).date()
        ),
        now=at + dt.timedelta(days=2),
    )


def seed_grants(
    session: Session,
    manager: User,
    fund: Fund,
    organisations: list[Organisation],
    now: dt.datetime | None = None,
) -> list[Grant]:
    now = now or now_utc()
    finance, finance2 = session.scalars(
        select(User).where(User.email.like("finance%@%")).order_by(User.email)
    ).all()[:2]
    days = dt.timedelta(days=1)

    def award(org: Organisation, amount: int, risk: str, ago: int, language: str = "en") -> Grant:
        at = now - ago * days
        return services.create_grant(
            session,
            manager,
            submitted_application(session, fund, org, at - dt.timedelta(hours=12)),
            Money(amount, fund.base_currency),
            risk_level=risk,
            language=language,
            now=at,
        )

    # Low risk, paid once; its second tranche waits for a date and a narrative report,
    # whose first version was returned and then accepted.
    kwsc = award(organisations[0], 400_000, "low", 30)
    _pay_first(session, kwsc, finance, finance2, now - 28 * days, "KCB-2026-00412", "mobile_money")
    grantee = organisations[0]
    member = session.scalar(select(User).where(User.email.like("applicant@%")))
    assert member is not None and member.belongs_to(grantee.id)
    report = services.submit_report(
        session,
        member,
        kwsc,
        report_details(
            kind="narrative", tranche_number=1, text="Thirty women joined the savings groups."
        ),
        now=now - 20 * days,
    )
    services.review_report(
        session,
        manager,
        report,
        accept=False,
        comment="Please say how many loans were made.",
        now=now - 18 * days,
    )
    services.resubmit_report(
        session,
        member,
        report,
        report_details(
            kind="narrative",
            tranche_number=1,
            text=f"Thirty women joined the savings groups of {grantee.name}; 42 loans were made.",
        ),
        now=now - 15 * days,
    )
    services.review_report(session, manager, report, accept=True, now=now - 14 * days)

    # Medium risk, in French: first tranche paid, financial report accepted, the second
    # tranche's date waived so it is eligible now; the third waits.
    ajsb = award(organisations[1], 500_000, "medium", 32, language="fr")
    _pay_first(session, ajsb, finance2, finance, now - 30 * days, "SGCI-77812")
    candidat = session.scalar(select(User).where(User.email.like("candidat@%")))
    assert candidat is not None
    financial = services.submit_report(
        session,
        candidat,
        ajsb,
        report_details(
            kind="financial",
            tranche_number=1,
            spent_lines=[
                {"line": "Formation des jeunes", "amount": "1200"},
                {"line": "Matériel", "amount": "650.50"},
            ],
            locale="en",
        ),
        now=now - 10 * days,
    )
    services.review_report(session, manager, financial, accept=True, now=now - 8 * days)
    second = queries.tranches_of(session, ajsb)[1]
    date_leaf = next(
        leaf for leaf in rules.iter_leaves(second.conditions) if leaf["type"] == "date_reached"
    )
    services.waive_condition(
        session,
        manager,
        second,
        date_leaf["id"],
        "The rains came early: the second tranche is brought forward.",
        now=now - 7 * days,
    )

    # High risk: the bank letter is on file, so the first tranche's release has been
    # requested and waits for a second person's approval.
    gulu = award(organisations[2], 1_200_000, "high", 5)
    services.record_evidence(
        session, manager, gulu, "document", "bank account letter", now=now - 4 * days
    )
    services.request_release(session, finance, queries.tranches_of(session, gulu)[0], now=now)

    # Low risk, amended: more money and a later end date; a narrative report waits for review.
    sdrf = award(organisations[4], 800_000, "low", 6)
    _pay_first(session, sdrf, finance, finance2, now - 5 * days, "HBL-TRX-5520")
    services.amend_grant(
        session,
        manager,
        sdrf,
        AmendmentRequest(
            reason="Floods doubled the number of families to reach.",
            end_on=sdrf.end_on + 90 * days,
            amount=Money(900_000, fund.base_currency),
        ),
        now=now - 2 * days,
    )
    # A financial report waiting for the fund manager's review.
    services.submit_report(
        session,
        member,
        kwsc,
        report_details(kind="financial", tranche_number=1, spent="2400"),
        now=now - 2 * days,
    )
    return [kwsc, ajsb, gulu, sdrf]
