"""Work whose duration must not tell what it found: padded, committed, and never lost."""

from __future__ import annotations

import time

from flask import Flask
from sqlalchemy import func, select

from grantpool.extensions import db
from grantpool.organisations.models import Organisation
from grantpool.platform.constant_time import lasting_at_least, quietly_committed
from tests.factories import make_organisation


def _count(name: str) -> int:
    query = select(func.count()).select_from(Organisation).where(Organisation.name == name)
    return int(db.session.scalar(query) or 0)


def test_the_work_is_committed_before_the_answer_and_lasts_as_long_either_way(
    app: Flask,
) -> None:
    def found() -> None:
        make_organisation(db.session, name="Found in time")

    @app.get("/test-only/constant-time/<kind>")
    def padded(kind: str) -> str:
        with lasting_at_least(0.05):
            quietly_committed(found if kind == "found" else lambda: None)
        return "same answer"

    client = app.test_client()
    for kind in ("found", "none"):
        started = time.monotonic()
        response = client.get(f"/test-only/constant-time/{kind}")
        assert time.monotonic() - started >= 0.05
        assert response.get_data(as_text=True) == "same answer"
        # Already there when the answer arrives: nothing waits on the connection's close.
        assert _count("Found in time") == 1


def test_a_failing_piece_of_work_is_undone_alone(app: Flask) -> None:
    with app.test_request_context():
        make_organisation(db.session, name="Written before")

        def fails() -> None:
            make_organisation(db.session, name="Half written")
            raise RuntimeError("the mail could not be queued")

        quietly_committed(fails)
        db.session.rollback()  # what was committed stays
        assert _count("Written before") == 1
        assert _count("Half written") == 0


def test_the_padding_holds_when_the_block_raises() -> None:
    started = time.monotonic()
    try:
        with lasting_at_least(0.03):
            raise ValueError("refused")
    except ValueError:
        pass
    assert time.monotonic() - started >= 0.03
