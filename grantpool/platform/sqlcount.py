"""Count the SQL statements each request issues (for tests and the benchmark harness).

Enabled by the SQL_COUNT_HEADER setting: every response then carries X-SQL-Statements.
Pages must issue a bounded number of statements whatever the data size; tests and
`make bench` read this header to prove it.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from flask import Flask, Response
from sqlalchemy import event

HEADER = "X-SQL-Statements"
_count: ContextVar[int | None] = ContextVar("grantpool_sql_count", default=None)


def _before_execute(*_args: Any, **_kwargs: Any) -> None:
    current = _count.get()
    if current is not None:
        _count.set(current + 1)


def init_app(app: Flask) -> None:
    if not app.config.get("SQL_COUNT_HEADER"):
        return
    engine = app.extensions["grantpool.db"]
    event.listen(engine, "before_cursor_execute", _before_execute)

    @app.before_request
    def _start() -> None:
        _count.set(0)

    @app.after_request
    def _report(response: Response) -> Response:
        response.headers[HEADER] = str(_count.get() or 0)
        return response


def count_statements() -> int | None:
    return _count.get()
