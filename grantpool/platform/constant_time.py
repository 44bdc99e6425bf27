"""Work whose duration must not tell what it found.

"If this address has an account, a sign-in link is on its way" must take the same time
whether or not it has. The lookup and the mail run inside `lasting_at_least`, which pads
the block to a fixed duration; the mail is committed inside the block too, so the
request's own commit afterwards costs the same either way.

This runs inside the request, not after the response: a server's close hook is not
called when the client drops the connection first (Werkzeug's development server skips
it on a reset), and the mail must never depend on that.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ..extensions import db

log = logging.getLogger("grantpool.constant_time")

# Looking an account up and queueing its mail takes a few milliseconds (one insert and a
# commit); work that may reveal whether an account exists lasts this long either way.
ACCOUNT_LOOKUP_SECONDS = 0.05
# Registering creates an account, an organisation and a membership, or finds the account:
# longer, so the padding covers both.
REGISTRATION_SECONDS = 0.25


@contextmanager
def lasting_at_least(seconds: float) -> Iterator[None]:
    """The block takes at least `seconds`, whatever it did (also when it raises)."""
    started = time.monotonic()
    try:
        yield
    finally:
        rest = seconds - (time.monotonic() - started)
        if rest > 0:
            time.sleep(rest)


def quietly_committed(work: Callable[[], object]) -> None:
    """Run `work` in a savepoint (whatever it returns is not used) and commit it with
    what the request wrote before. A failure of `work` is logged and undone alone: the
    answer must not change with it."""
    try:
        with db.session.begin_nested():
            work()
    except Exception:
        log.exception("work whose answer must not show failed")
    db.session.commit()
