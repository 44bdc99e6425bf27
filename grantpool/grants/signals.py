"""What grants tell other capabilities (blinker signals).

Sent inside the operation, after its rows are flushed and before the caller commits. A
receiver writes with the `session` it is given, so what it writes commits or rolls back
with the operation; a receiver that raises makes the operation fail.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

grant_created = _signals.signal(
    "grants.grant-created",
    doc="""A grant was made (its commitment is already posted to the ledger). Sender: the
    Grant. Keyword argument: `session`.""",
)

disbursement_paid = _signals.signal(
    "grants.disbursement-paid",
    doc="""A disbursement was paid. Sender: the Disbursement. Keyword arguments: `session`,
    `grant`, and `first_payment_days_before`, the grant's days from award to first payment
    before this payment (None when it is the first; unchanged when an earlier payment
    stays the first).""",
)
