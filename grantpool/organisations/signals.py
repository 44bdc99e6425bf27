"""What organisations tell other capabilities (blinker signals).

Sent inside the operation, after its rows are flushed and before the caller commits. A
receiver writes with the `session` it is given, so what it writes commits or rolls back
with the operation; a receiver that raises makes the operation fail.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

organisation_updated = _signals.signal(
    "organisations.organisation-updated",
    doc="""An organisation's details changed. Sender: the Organisation. Keyword arguments:
    `session`, and `changed`, the names of the fields whose values changed (never empty).""",
)
