"""Work done after the response has been sent.

Some answers must not depend on what the work finds: "if this address has an account, a
reset link is on its way" must take the same time whether or not it has. The request
then only answers, and the lookup and the mail happen once the response is out, in their
own transaction: the server calls the response's close hook after the last byte is
written (gunicorn and werkzeug both do).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Response, current_app

from ..extensions import db

log = logging.getLogger("grantpool.deferred")


def after_response(response: Response, work: Callable[[], None]) -> Response:
    """Run `work` in a fresh app context once `response` has been sent, and commit what
    it wrote. A failure is logged and rolled back: the answer has already been given."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def run() -> None:
        with app.app_context():
            try:
                work()
                db.session.commit()
            except Exception:
                db.session.rollback()
                log.exception("work after the response failed")

    response.call_on_close(run)
    return response
