"""What the ledger tells other capabilities (blinker signals).

Sent inside the operation, after its rows are flushed and before the caller commits. A
receiver writes with the `session` it is given, so what it writes commits or rolls back
with the operation; a receiver that raises makes the operation fail.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

transaction_posted = _signals.signal(
    "ledger.transaction-posted",
    doc="""A balanced transaction's entries were written (not sent for an idempotent
    replay, which writes nothing). Sender: the LedgerTransaction. Keyword arguments:
    `session`, and `lines`, the (account code, signed base-currency minor units) posted.""",
)
