"""Links: a lower capability's questions answered by the capabilities built on it, in one
statement, without the lower one importing them."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import literal, select
from sqlalchemy.orm import Session

from grantpool.accounts.models import Role
from grantpool.calls.services import APPLICATIONS, has_applications
from grantpool.funds.services import DONATIONS
from grantpool.ledger.models import Contribution
from grantpool.organisations.services import FUND_LINKS, fund_ids, list_organisations
from grantpool.platform.links import Link, provide, queries, rows
from tests.factories import make_organisation, make_user
from tests.grants.helpers import make_application, make_grant, make_world

NOBODY = Link("test.nobody", ("left_id", "right_id"))


def test_each_capability_provides_its_rows(app: Flask) -> None:
    assert len(queries(FUND_LINKS)) == 2  # intake's applications, grants' grants
    assert len(queries(APPLICATIONS)) == 1
    assert len(queries(DONATIONS)) == 2  # the ledger's contributions and pledges


def test_a_link_nobody_provides_answers_nothing(app: Flask, session: Session) -> None:
    nothing = rows(NOBODY)
    assert list(session.execute(select(nothing.c.left_id, nothing.c.right_id))) == []


def test_a_provider_must_select_the_links_two_columns(app: Flask) -> None:
    odd = Link("test.odd", ("a_id", "b_id"))
    provide(app, odd, lambda: select(literal(1), literal(2), literal(3)))  # type: ignore[arg-type, return-value]
    with pytest.raises(ValueError, match="two columns"):
        rows(odd)


def test_providers_rows_are_unioned_under_the_links_names(app: Flask, session: Session) -> None:
    pairs = Link("test.pairs", ("x_id", "y_id"))
    provide(app, pairs, lambda: select(literal(1), literal(2)))
    provide(app, pairs, lambda: select(literal(3), literal(4)))
    both = rows(pairs)
    assert sorted(tuple(row) for row in session.execute(select(both.c.x_id, both.c.y_id))) == [
        (1, 2),
        (3, 4),
    ]


def test_organisations_see_their_funds_through_applications_and_grants(
    app: Flask, session: Session
) -> None:
    applied = make_world(session)
    granted = make_world(session)
    make_application(session, applied)
    make_grant(session, granted)
    assert fund_ids(session, applied.organisation.id) == {applied.fund.id}
    assert fund_ids(session, granted.organisation.id) == {granted.fund.id}
    assert has_applications(session, applied.call)
    loose = make_organisation(session, name="Not yet applying")
    assert fund_ids(session, loose.id) == frozenset()

    # A manager of the second fund finds its grantee and the unlinked organisation,
    # not the organisation that only applied to the first fund.
    seen = {o.id for o in list_organisations(session, granted.manager, limit=500)}
    assert granted.organisation.id in seen
    assert loose.id in seen
    assert applied.organisation.id not in seen
    everyone = make_user(session, Role.FUND_MANAGER.value)
    assert {applied.organisation.id, granted.organisation.id, loose.id} <= {
        o.id for o in list_organisations(session, everyone, limit=500)
    }


def test_a_donor_that_has_given_is_linked_to_the_fund(app: Flask, session: Session) -> None:
    world = make_world(session)
    gifts = rows(DONATIONS)
    donor_id = session.scalar(
        select(Contribution.donor_id).where(Contribution.fund_id == world.fund.id)
    )
    funds = set(session.scalars(select(gifts.c.fund_id).where(gifts.c.donor_id == donor_id)))
    assert funds == {world.fund.id}
