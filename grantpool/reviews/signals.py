"""What reviews tell other capabilities (blinker signals).

Sent inside the operation, after its rows are flushed and before the caller commits. A
receiver writes with the `session` it is given, so what it writes commits or rolls back
with the operation; a receiver that raises makes the operation fail.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

decision_confirmed = _signals.signal(
    "reviews.decision-confirmed",
    doc="""A second manager confirmed a decision (award or decline). Sender: the Decision,
    now confirmed with its `decided_at`. Keyword argument: `session`.""",
)
