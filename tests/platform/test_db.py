"""The aware-UTC datetime type on both databases, and database URL normalisation."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from grantpool.funds.models import Fund
from grantpool.platform.db import UTCDateTime, normalise_url
from tests.factories import make_fund

NAIROBI = dt.timezone(dt.timedelta(hours=3), "EAT")


def test_created_at_comes_back_aware_utc(session: Session) -> None:
    fund = make_fund(session)
    fund_id = fund.id
    session.expunge_all()
    created = session.scalar(select(Fund.created_at).where(Fund.id == fund_id))
    assert created is not None
    assert created.tzinfo is not None
    assert created.utcoffset() == dt.timedelta(0)
    assert abs(dt.datetime.now(dt.UTC) - created) < dt.timedelta(minutes=5)


def test_aware_non_utc_value_is_stored_as_the_same_instant(session: Session) -> None:
    fund = make_fund(session)
    local = dt.datetime(2026, 6, 30, 23, 30, 15, 123456, tzinfo=NAIROBI)
    fund.created_at = local
    session.flush()
    fund_id = fund.id
    session.expunge_all()
    loaded = session.get(Fund, fund_id)
    assert loaded is not None
    assert loaded.created_at == local  # same instant
    assert loaded.created_at.utcoffset() == dt.timedelta(0)
    assert loaded.created_at == dt.datetime(2026, 6, 30, 20, 30, 15, 123456, tzinfo=dt.UTC)
    # Comparisons in SQL use the instant too.
    found = session.scalar(
        select(Fund.id).where(
            Fund.id == fund_id,
            Fund.created_at == dt.datetime(2026, 6, 30, 20, 30, 15, 123456, tzinfo=dt.UTC),
        )
    )
    assert found == fund_id


def test_naive_datetime_is_refused(session: Session) -> None:
    fund = make_fund(session)
    with pytest.raises(StatementError, match="naive datetime"), session.begin_nested():
        fund.created_at = dt.datetime(2026, 1, 1, 12, 0)  # noqa: DTZ001
        session.flush()
    with pytest.raises(StatementError, match="naive datetime"):
        session.scalar(
            select(Fund.id).where(Fund.created_at > dt.datetime(2026, 1, 1))  # noqa: DTZ001
        )


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.psycopg.dialect()])
def test_type_converts_both_ways(dialect: object) -> None:
    column_type = UTCDateTime()
    aware = dt.datetime(2026, 1, 1, 15, 0, tzinfo=NAIROBI)
    bound = column_type.process_bind_param(aware, dialect)  # type: ignore[arg-type]
    if isinstance(dialect, sqlite.dialect):
        assert bound == dt.datetime(2026, 1, 1, 12, 0)  # noqa: DTZ001  (naive UTC on SQLite)
    else:
        assert bound == aware and bound.tzinfo == dt.UTC
    assert column_type.process_bind_param(None, dialect) is None  # type: ignore[arg-type]
    naive_result = column_type.process_result_value(
        dt.datetime(2026, 1, 1, 12, 0),  # noqa: DTZ001
        dialect,  # type: ignore[arg-type]
    )
    assert naive_result == dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
    shifted = column_type.process_result_value(aware, dialect)  # type: ignore[arg-type]
    assert shifted is not None and shifted.tzinfo == dt.UTC and shifted == aware
    with pytest.raises(ValueError, match="naive"):
        column_type.process_bind_param(dt.datetime(2026, 1, 1), dialect)  # type: ignore[arg-type]  # noqa: DTZ001


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u:p@db:5432/gp", "postgresql+psycopg://u:p@db:5432/gp"),
        (
            "postgresql://u:p@db/gp?sslmode=require",
            "postgresql+psycopg://u:p@db/gp?sslmode=require",
        ),
        ("postgresql+psycopg://u@db/gp", "postgresql+psycopg://u@db/gp"),
        ("sqlite:///instance/grantpool.sqlite3", "sqlite:///instance/grantpool.sqlite3"),
        ("sqlite://", "sqlite://"),
    ],
)
def test_normalise_url(url: str, expected: str) -> None:
    assert normalise_url(url) == expected
