"""Idempotency keys: a retried request returns the first result; a reused key with a
different body is refused."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def request_fingerprint(payload: Any) -> str:
    """A stable digest of a request body, to tell a retry from a different request."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
