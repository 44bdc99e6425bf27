"""What each fund received, committed and paid, from the ledger's own tables, for the
fund's activity in the IATI file (incoming funds per donor; withheld grants as one
aggregate). Three statements whatever the number of grants, contributions or funds."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..attribution.models import AttributionRecord
from ..funds.models import Donor, Fund
from ..grants.models import Disbursement, Grant
from ..ledger.models import Contribution


@dataclass(frozen=True)
class Incoming:
    """Money received from one donor (or, for people giving alone, from all of them)."""

    donor_id: int | None
    name: str
    org_id: str | None
    donor_type: str
    received_on: dt.date
    amount_minor: int


@dataclass
class FundTotals:
    fund_id: int
    name: str
    currency: str
    created_at: dt.datetime
    grants: int = 0
    committed_minor: int = 0
    last_awarded_at: dt.datetime | None = None
    last_consent_change_at: dt.datetime | None = None
    # Grants with at least one paid disbursement, and what was paid.
    paid_grants: int = 0
    paid_minor: int = 0
    last_paid_on: dt.date | None = None
    incoming: list[Incoming] = field(default_factory=list)


def _aware(instant: dt.datetime | None) -> dt.datetime | None:
    # SQLite hands aggregates (max) back as naive values; they are UTC.
    if instant is not None and instant.tzinfo is None:
        return instant.replace(tzinfo=dt.UTC)
    return instant


def _day(value: dt.date | str | None) -> dt.date | None:
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    return value


def fund_totals(session: Session) -> Iterator[FundTotals]:
    """Every fund, with its grants' commitments and paid disbursements summed in SQL and
    its contributions: institutional donors one by one, people giving alone together."""
    grants = (
        select(
            Grant.fund_id,
            func.count(Grant.id).label("grants"),
            func.coalesce(func.sum(Grant.amount_minor), 0).label("committed"),
            func.max(Grant.awarded_at).label("last_awarded_at"),
            func.max(AttributionRecord.consent_changed_at).label("last_consent_change_at"),
        )
        .outerjoin(AttributionRecord, AttributionRecord.grant_id == Grant.id)
        .group_by(Grant.fund_id)
        .subquery()
    )
    paid = (
        select(
            Grant.fund_id,
            func.count(Disbursement.grant_id.distinct()).label("paid_grants"),
            func.coalesce(func.sum(Disbursement.amount_minor), 0).label("paid"),
            func.max(Disbursement.paid_on).label("last_paid_on"),
        )
        .join(Grant, Grant.id == Disbursement.grant_id)
        .where(Disbursement.state == "paid")
        .group_by(Grant.fund_id)
        .subquery()
    )
    funds: dict[int, FundTotals] = {}
    for row in session.execute(
        select(
            Fund.id,
            Fund.name,
            Fund.base_currency,
            Fund.created_at,
            grants.c.grants,
            grants.c.committed,
            grants.c.last_awarded_at,
            grants.c.last_consent_change_at,
            paid.c.paid_grants,
            paid.c.paid,
            paid.c.last_paid_on,
        )
        .outerjoin(grants, grants.c.fund_id == Fund.id)
        .outerjoin(paid, paid.c.fund_id == Fund.id)
        .order_by(Fund.id)
    ):
        funds[row.id] = FundTotals(
            fund_id=row.id,
            name=row.name,
            currency=row.base_currency,
            created_at=_aware(row.created_at) or row.created_at,
            grants=int(row.grants or 0),
            committed_minor=int(row.committed or 0),
            last_awarded_at=_aware(row.last_awarded_at),
            last_consent_change_at=_aware(row.last_consent_change_at),
            paid_grants=int(row.paid_grants or 0),
            paid_minor=int(row.paid or 0),
            last_paid_on=_day(row.last_paid_on),
        )
    individuals: dict[int, tuple[int, dt.date]] = {}
    for row in session.execute(
        select(
            Contribution.fund_id,
            Contribution.donor_id,
            Contribution.base_amount_minor,
            Contribution.received_at,
            Donor.name,
            Donor.org_id,
            Donor.donor_type,
        )
        .join(Donor, Donor.id == Contribution.donor_id)
        .order_by(Contribution.fund_id, Contribution.received_at, Contribution.id)
    ):
        fund = funds.get(row.fund_id)
        if fund is None:
            continue
        received_on = (_aware(row.received_at) or row.received_at).date()
        if row.donor_type == "individual":
            # People are never named, nor one person's gift shown on its own.
            total, last = individuals.get(row.fund_id, (0, received_on))
            individuals[row.fund_id] = (
                total + int(row.base_amount_minor),
                max(last, received_on),
            )
            continue
        fund.incoming.append(
            Incoming(
                row.donor_id,
                row.name,
                row.org_id,
                row.donor_type,
                received_on,
                int(row.base_amount_minor),
            )
        )
    for fund_id, (total, last) in individuals.items():
        funds[fund_id].incoming.append(Incoming(None, "", None, "individual", last, total))
    yield from funds.values()
