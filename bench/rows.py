"""What the benchmark's generators share: the scale, what has been generated so far, and
bulk inserts (the services would take hours)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Table, insert, select

from grantpool.models import metadata

BATCH = 5_000


@dataclass
class Scale:
    organisations: int = 2_000
    applications: int = 100_000
    grants: int = 20_000
    tranches_per_grant: int = 3
    donors: int = 30
    calls: int = 40

    @classmethod
    def small(cls) -> Scale:
        return cls(organisations=200, applications=5_000, grants=1_000, donors=10, calls=8)


@dataclass
class Generated:
    fund_id: int
    open_call_id: int
    applicant_token: str
    applicant_organisation_id: int
    counts: dict[str, int]


def table(name: str) -> Table:
    return metadata.tables[name]


def batched(rows: Iterator[dict[str, Any]], size: int = BATCH) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def insert_rows(engine: Engine, name: str, rows: Iterator[dict[str, Any]]) -> int:
    """Insert in batches, in one transaction; returns how many rows were written."""
    target = table(name)
    total = 0
    with engine.begin() as conn:
        for batch in batched(rows):
            conn.execute(insert(target), batch)
            total += len(batch)
    return total


def insert_returning_ids(engine: Engine, name: str, rows: list[dict[str, Any]]) -> list[int]:
    """Insert in batches; returns the new rows' ids in the order of `rows`."""
    target = table(name)
    ids: list[int] = []
    with engine.begin() as conn:
        for batch in batched(iter(rows)):
            result = conn.execute(
                insert(target).returning(target.c.id, sort_by_parameter_order=True), batch
            )
            ids.extend(result.scalars())
    return ids


def ids_of(engine: Engine, name: str) -> list[int]:
    with engine.connect() as conn:
        return list(conn.scalars(select(table(name).c.id).order_by(table(name).c.id)))
