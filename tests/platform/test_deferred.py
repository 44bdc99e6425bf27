"""Work after the response: run once the answer is out, committed, and as long as asked."""

from __future__ import annotations

import time

from flask import Flask, make_response
from sqlalchemy import func, select

from grantpool.extensions import db
from grantpool.organisations.models import Organisation
from grantpool.platform.deferred import after_response
from tests.factories import make_organisation


def test_work_runs_after_the_answer_and_lasts_as_long_either_way(app: Flask) -> None:
    done: list[str] = []

    def found() -> None:
        make_organisation(db.session, name="Made after the answer")
        done.append("found")

    @app.get("/test-only/deferred/<kind>")
    def deferred(kind: str) -> object:
        work = found if kind == "found" else lambda: done.append("none")
        return after_response(make_response("same answer"), work, lasting=0.05)

    client = app.test_client()
    durations = {}
    for kind in ("found", "none"):
        response = client.get(f"/test-only/deferred/{kind}")
        assert response.get_data(as_text=True) == "same answer"
        assert done == (["found"] if kind == "none" else [])  # not before the answer
        started = time.monotonic()
        response.close()
        durations[kind] = time.monotonic() - started
    assert done == ["found", "none"]
    assert min(durations.values()) >= 0.05  # the worker is busy as long either way
    made = (
        select(func.count())
        .select_from(Organisation)
        .where(Organisation.name == "Made after the answer")
    )
    assert db.session.scalar(made) == 1
