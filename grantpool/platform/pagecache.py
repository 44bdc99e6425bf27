"""Rendered fragments kept in each worker process, for pages whose figures are costly to
compute and change only when something is recorded.

Every state change in grantpool writes an audit event in its own transaction (audit
writes are serialised: on PostgreSQL by the chain's advisory lock, on SQLite by its one
writer), so the newest audit event id is a version of everything the database holds: a
fragment rendered at version N is good while the newest id is still N. One indexed
statement checks it. Entries also expire after a time-to-live, which bounds staleness
for anything that changes by time alone (an embargo ending is keyed by the day, too).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .audit import AuditEvent


def data_version(session: Session) -> int:
    """The newest audit event's id (0 before the first)."""
    return int(session.scalar(select(func.max(AuditEvent.id))) or 0)


class FragmentCache:
    """A small least-recently-used map of rendered HTML, safe across threads."""

    def __init__(self, size: int = 64, ttl: float = 60.0) -> None:
        self.size = size
        self.ttl = ttl
        self._entries: OrderedDict[Hashable, tuple[float, str]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get_or_render(self, key: Hashable, render: Callable[[], str]) -> str:
        now = time.monotonic()
        with self._lock:
            found = self._entries.get(key)
            if found is not None and now - found[0] < self.ttl:
                self._entries.move_to_end(key)
                self.hits += 1
                return found[1]
        html = render()  # outside the lock: two threads may both render once; both right
        with self._lock:
            self.misses += 1
            self._entries[key] = (now, html)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return html

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
