"""Public and donor aggregates never single a partner out: small cells are merged or
withheld, locations follow each partner's precision, and grants that are withdrawn,
embargoed, flagged or not to be published count only in totals."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from flask import Flask
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from grantpool.accounts.models import Role
from grantpool.attribution import services as attribution
from grantpool.attribution.commands import CreditSettings, SafetyFlag
from grantpool.attribution.rules import LocationPrecision, Naming
from grantpool.dashboard import queries
from grantpool.dashboard.cells import WITHHELD, Slice, protect_breakdown, protect_total
from grantpool.dashboard.queries import Filters
from tests.conftest import signed_in_client
from tests.factories import make_organisation, make_user
from tests.grants.helpers import make_world

from .helpers import award


def test_small_rows_are_merged_and_the_merged_row_is_never_small() -> None:
    rows = [Slice("KE", 900, 0, 10), Slice("UG", 500, 0, 4), Slice("TZ", 100, 0, 1)]
    safe = protect_breakdown(rows, 3)
    # TZ alone would be one grant; with UG it is five.
    assert [s.key for s in safe] == ["KE", WITHHELD]
    assert safe[1] == Slice(WITHHELD, 600, 0, 5)
    assert protect_breakdown([Slice("KE", 10, 0, 2)], 3) == [Slice(WITHHELD, 10, 0, 2, True)]
    assert protect_total(Slice("", 10, 0, 2), 3).withheld
    assert not protect_total(Slice("", 0, 0, 0), 3).withheld
    # Overlapping breakdowns (leadership) drop small rows rather than merge them.
    assert protect_breakdown(
        [Slice("women_led", 5, 0, 2), Slice("youth_led", 9, 0, 3)], 3, overlapping=True
    ) == [Slice("youth_led", 9, 0, 3)]


@given(
    st.lists(st.tuples(st.sampled_from("ABCDEFGH"), st.integers(1, 5)), max_size=12),
    st.integers(1, 5),
)
def test_no_published_row_and_no_difference_stands_for_too_few_grants(
    cells: list[tuple[str, int]], threshold: int
) -> None:
    counts: dict[str, int] = {}
    for key, grants in cells:
        counts[key] = counts.get(key, 0) + grants
    rows = [Slice(k, n * 100, 0, n) for k, n in counts.items()]
    safe = protect_breakdown(rows, threshold)
    shown = [s for s in safe if not s.withheld]
    assert all(s.grants >= threshold for s in shown)
    # Nothing lost: the published rows add up to the whole, or all of it is withheld.
    assert sum(s.grants for s in safe) == sum(counts.values())
    for s in shown:
        if s.key != WITHHELD:
            assert s.grants == counts[s.key]


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"PUBLIC_DASHBOARD": True}


def _partner(session: Session, world: Any, precision: str, **fields: Any) -> Any:
    organisation = make_organisation(session, **fields)
    member = make_user(session, Role.APPLICANT.value, organisations=[organisation])
    attribution.save_organisation_settings(
        session,
        member,
        organisation,
        CreditSettings(Naming.ANONYMISED, LocationPrecision(precision)),
    )
    return organisation, member


def test_the_transparency_page_and_exports_protect_small_cells_and_precision(
    app: Flask, session: Session
) -> None:
    world = make_world(session, available="500000.00")
    kenyans = [_partner(session, world, "area", country="KE", area="KE-47") for _ in range(3)]
    # Country only: never counted under its area, although it is in KE-47 too.
    country_only = _partner(session, world, "country", country="KE", area="KE-47")
    # Two Ugandan partners: a cell too small to show on its own.
    ugandans = [_partner(session, world, "area", country="UG", area="UG-102") for _ in range(2)]
    # A partner that hides its location entirely.
    hidden = _partner(session, world, "hidden", country="TZ", area="TZ-01")
    grants = {}
    for organisation, _member in [*kenyans, country_only, *ugandans, hidden]:
        grants[organisation.id] = award(session, world, organisation, 100_000)
    session.commit()

    board = queries.dashboard(session, world.fund, Filters())
    area = {s.key: s.grants for s in board.allocation.dimensions["area"]}
    assert area == {"KE-47": 3, WITHHELD: 4}  # UG-102 merged; no TZ, no fourth KE-47
    country = {s.key: s.grants for s in board.allocation.dimensions["country"]}
    assert country == {"KE": 4, WITHHELD: 3}  # UG (2) merged with the hidden one
    assert "TZ" not in board.countries and "UG" not in board.countries
    assert board.allocation.total().grants == 7

    client = app.test_client()
    page = client.get(f"/transparency/funds/{world.fund.id}").get_data(as_text=True)
    assert "Tanzania" not in page and "Uganda" not in page
    assert "Other or withheld" in page
    narrowed = client.get(f"/transparency/funds/{world.fund.id}?country=UG").get_data(as_text=True)
    assert (
        "their figures are withheld" in narrowed
        and "Uganda" not in narrowed.split("Narrow the figures", 1)[1].split("</form>", 1)[1]
    )

    manager = signed_in_client(app, world.manager)
    body = manager.get(f"/dashboard/funds/{world.fund.id}/export/allocation-area.csv").get_data(
        as_text=True
    )
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    labels = [r[0] for r in rows[1:]]
    assert len(labels) == 2 and "Uganda" not in body and "UG-102" not in body

    # A safety flag on one Kenyan partner moves it out of every finer cell: the area row
    # would stand for two grants, so it is merged too; the country total still counts it.
    organisation = kenyans[0][0]
    attribution.set_safety_flag(
        session, world.manager, grants[organisation.id], SafetyFlag(True, "Threatened")
    )
    session.commit()
    board = queries.dashboard(session, world.fund, Filters())
    assert {s.key: s.grants for s in board.allocation.dimensions["area"]} == {WITHHELD: 7}
    # One grant out of seven could be found by subtraction: the breakdown is merged whole.
    assert {s.key: s.grants for s in board.allocation.dimensions["org_type"]} == {WITHHELD: 7}
    assert {s.key: s.grants for s in board.allocation.dimensions["country"]}["KE"] == 4
