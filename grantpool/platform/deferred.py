"""Work done after the response has been sent.

Some answers must not depend on what the work finds: "if this address has an account, a
reset link is on its way" must take the same time whether or not it has. The request
then only answers, and the lookup and the mail happen once the response is out, in their
own transaction: the server calls the response's close hook after the last byte is
written (gunicorn and werkzeug both do).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from flask import Response, current_app

from ..extensions import db

log = logging.getLogger("grantpool.deferred")

# Looking an account up and queueing its mail takes a few milliseconds (one insert and a
# commit); work that may reveal whether an account exists lasts this long either way.
ACCOUNT_LOOKUP_SECONDS = 0.05


def after_response(
    response: Response, work: Callable[[], None], *, lasting: float = 0.0
) -> Response:
    """Run `work` in a fresh app context once `response` has been sent, and commit what
    it wrote. A failure is logged and rolled back: the answer has already been given.

    With `lasting`, the work takes at least that many seconds: the worker is then busy
    as long whatever the work found, so the time the *next* request waits does not tell
    either (a sync worker serves one request at a time)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def run() -> None:
        started = time.monotonic()
        with app.app_context():
            try:
                work()
                db.session.commit()
            except Exception:
                db.session.rollback()
                log.exception("work after the response failed")
        rest = lasting - (time.monotonic() - started)
        if rest > 0:
            time.sleep(rest)

    response.call_on_close(run)
    return response
