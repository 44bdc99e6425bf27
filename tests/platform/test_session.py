"""db.session: the Session services take, one per thread, replaced after remove_session();
rows_affected: the row count of an UPDATE or DELETE."""

from __future__ import annotations

import threading

import pytest
from flask import Flask
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from grantpool.extensions import db
from grantpool.funds.models import Fund
from grantpool.platform.db import rows_affected
from tests.factories import make_fund


def test_db_session_is_one_session_per_thread(app: Flask) -> None:
    mine = db.session
    assert isinstance(mine, Session)
    assert db.session is mine  # the same one for the whole request

    theirs: list[Session] = []

    def other_thread() -> None:
        theirs.append(db.session)
        db.remove_session()

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join(timeout=30)
    assert len(theirs) == 1 and isinstance(theirs[0], Session)
    assert theirs[0] is not mine
    assert db.session is mine  # the other thread's removal left this one alone


def test_remove_session_closes_it_and_the_next_use_opens_another(app: Flask) -> None:
    fund = make_fund(db.session)
    first = db.session
    assert fund in first
    db.remove_session()
    assert fund not in first  # closed: it holds nothing any more
    second = db.session
    assert second is not first
    assert db.session is second
    db.remove_session()
    db.remove_session()  # nothing to remove: no error


def test_rows_affected_counts_the_rows_an_update_or_delete_matched(session: Session) -> None:
    funds = [make_fund(session) for _ in range(3)]
    ids = [fund.id for fund in funds]
    described = update(Fund).where(Fund.id.in_(ids[:2])).values(description="pooled")
    assert rows_affected(session, described) == 2
    assert rows_affected(session, update(Fund).where(Fund.id == -1).values(description="-")) == 0
    assert rows_affected(session, delete(Fund).where(Fund.id == -1)) == 0
    descriptions = session.scalars(
        select(Fund.description).where(Fund.id.in_(ids)).order_by(Fund.id)
    ).all()
    assert descriptions == ["pooled", "pooled", None]


def test_rows_affected_refuses_a_statement_that_returns_rows(session: Session) -> None:
    fund = make_fund(session)
    statement = update(Fund).where(Fund.id == fund.id).values(description="d").returning(Fund.id)
    if not session.get_bind().dialect.update_returning:
        pytest.skip("this database cannot UPDATE … RETURNING")
    with pytest.raises(TypeError, match="RETURNING"):
        rows_affected(session, statement)
