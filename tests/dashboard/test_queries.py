"""The dashboard's figures, against figures worked out by hand (see helpers.make_pool)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from grantpool.dashboard import queries, totals
from grantpool.dashboard.queries import Filters, Slice
from grantpool.grants import services as grants
from grantpool.ledger.services import check_ledger
from grantpool.organisations.commands import organisation_details
from grantpool.organisations.services import FIELDS, update_organisation

from .helpers import make_pool

# received 1,100.00 + 900.00; costs 100.00; refund 50.00; committed 1,000.00 + 500.00;
# paid 60 % of each grant (600.00 on 9 January, 300.00 on 15 January).
RECEIVED, COSTS, REFUNDED, COMMITTED, DISBURSED = 200_000, 10_000, 5_000, 150_000, 90_000


def test_money_in_the_fund_and_per_donor(session: Session) -> None:
    pool = make_pool(session)
    assert list(check_ledger(session)) == []
    board = queries.dashboard(session, pool.world.fund, Filters())
    money = board.money
    assert (money.received, money.costs, money.refunded) == (RECEIVED, COSTS, REFUNDED)
    assert (money.committed, money.disbursed) == (COMMITTED, DISBURSED)
    assert money.outstanding == COMMITTED - DISBURSED
    assert money.available == RECEIVED - COSTS - REFUNDED - COMMITTED  # 35,000
    assert money.pledged == [("EUR", 200_000)]
    a, b = board.donors
    assert (a.donor_id, a.received_base, a.received_own, a.pledged) == (
        pool.donor_a.id,
        110_000,
        {"EUR": 100_000},
        {"EUR": 200_000},
    )
    assert (b.donor_id, b.received_base, b.refunded_base) == (pool.donor_b.id, 90_000, 5_000)
    assert a.share == pytest.approx(0.55)
    assert a.pro_rata(DISBURSED) == 49_500
    assert board.earmarks == [("", "", 90_000), ("water", "KE", 110_000)]


def test_allocation_localisation_and_credit(session: Session) -> None:
    pool = make_pool(session)
    board = queries.dashboard(session, pool.world.fund, Filters())
    allocation = board.allocation
    assert allocation.total() == Slice("", COMMITTED, DISBURSED, 2)
    assert allocation.dimensions["country"] == [
        Slice("KE", 100_000, 60_000, 1),
        Slice("UG", 50_000, 30_000, 1),
    ]
    assert allocation.dimensions["area"] == [
        Slice("KE-47", 100_000, 60_000, 1),
        Slice("", 50_000, 30_000, 1),
    ]
    assert allocation.dimensions["call"] == [
        Slice(str(pool.world.call.id), COMMITTED, DISBURSED, 2)
    ]
    assert allocation.dimensions["leadership"] == [Slice("women_led", 100_000, 60_000, 1)]
    assert allocation.get("org_type", "international_ngo") == Slice(
        "international_ngo", 50_000, 30_000, 1
    )
    assert allocation.get("budget", "small").committed == 100_000
    assert allocation.get("budget", "unknown").committed == 50_000
    loc = board.localisation
    assert loc.committed_local == pytest.approx(100_000 / 150_000)
    assert loc.disbursed_local == pytest.approx(60_000 / 90_000)
    assert loc.committed_small == pytest.approx(1.0)
    assert loc.small_budget_known == pytest.approx(100_000 / 150_000)
    assert loc.pass_through == pytest.approx(0.45)
    assert loc.retained_for_costs == pytest.approx(0.05)
    assert loc.overhead_covered is None
    assert board.credit == queries.CreditList(organisations=2, countries=2, grants=2)


def test_speed_medians_and_90th_percentiles(session: Session) -> None:
    pool = make_pool(session)
    speed = {s.measure: s for s in queries.speed(session, pool.world.fund, Filters())}
    assert (
        speed["close_to_decision"].count,
        speed["close_to_decision"].median,
        speed["close_to_decision"].p90,
    ) == (2, 4.0, 5.6)  # 2 and 6 days
    assert (speed["award_to_first_payment"].median, speed["award_to_first_payment"].p90) == (
        7.0,
        9.4,
    )  # 4 and 10 days
    assert speed["conditions_to_payment"].count == 2


def test_filters_narrow_grants_by_country_and_period(session: Session) -> None:
    pool = make_pool(session)
    fund = pool.world.fund
    kenya = queries.dashboard(session, fund, Filters(country="KE"))
    assert kenya.allocation.total() == Slice("", 100_000, 60_000, 1)
    assert [s.count for s in kenya.speed] == [1, 1, 1]
    assert kenya.speed[1].median == 4.0
    january = queries.dashboard(
        session, fund, Filters(start=dt.date(2026, 1, 1), end=dt.date(2026, 1, 31))
    )
    assert january.allocation.total().committed == COMMITTED
    assert january.money.received == 0  # the contributions came in November
    later = queries.dashboard(session, fund, Filters(start=dt.date(2026, 2, 1)))
    assert later.allocation.total() == Slice("", 0, 0, 0)
    assert queries.dashboard(session, fund, Filters(call_id=-1)).credit.grants == 0


def test_a_donor_viewer_sees_only_its_own_donor_row(session: Session) -> None:
    pool = make_pool(session)
    board = queries.dashboard(session, pool.world.fund, Filters(), donor_ids={pool.donor_a.id})
    assert [d.donor_id for d in board.donors] == [pool.donor_a.id]
    assert board.money.received == RECEIVED  # the pool's figures stay whole


def _live(session, fund, filters=None):
    filters = filters or Filters()
    return (
        queries.allocation(session, fund, filters, protect=False),
        queries.speed(session, fund, filters, use_totals=False),
    )


def test_kept_figures_follow_every_posting_and_match_the_source_rows(session: Session) -> None:
    pool = make_pool(session)
    fund = pool.world.fund
    assert totals.check_totals(session, fund) == []
    kept = queries.read_kept(session, fund)
    assert kept is not None
    live_allocation, live_speed = _live(session, fund)
    for name, rows in live_allocation.dimensions.items():
        assert sorted(kept.slices(name), key=lambda r: (-r.committed, r.key)) == rows, name
    assert queries.speed(session, fund, Filters()) == live_speed
    assert kept.ledger() == queries.ledger_categories(session, fund)
    assert kept.refunds() == {pool.donor_b.id: REFUNDED}
    # Terminating a grant gives its unpaid commitment back: kept figures follow.
    grants.change_state(
        session, pool.world.manager, pool.other_grant, "terminated", "The group dissolved."
    )
    session.flush()
    assert totals.check_totals(session, fund) == []
    assert queries.allocation(session, fund, Filters()).total().committed == COMMITTED - 20_000


def test_an_organisation_changing_type_moves_its_grants_between_categories(session) -> None:
    pool = make_pool(session)
    fund = pool.world.fund
    update_organisation(
        session,
        None,
        pool.other_grant.organisation,
        organisation_details(
            **{
                **{f: getattr(pool.other_grant.organisation, f) for f in FIELDS},
                "org_type": "national_ngo",
            }
        ),
    )
    session.flush()
    assert totals.check_totals(session, fund) == []
    assert queries.dashboard(session, fund, Filters()).localisation.committed_local == 1.0


def test_rebuilding_gives_the_same_figures(session: Session) -> None:
    pool = make_pool(session)
    fund = pool.world.fund
    before = queries.dashboard(session, fund, Filters())
    totals.rebuild_totals(session, fund)
    after = queries.dashboard(session, fund, Filters())
    assert (after.allocation, after.speed, after.money, after.credit) == (
        before.allocation,
        before.speed,
        before.money,
        before.credit,
    )
