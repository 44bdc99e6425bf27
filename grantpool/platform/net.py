"""The client's address, as ProxyFix has already resolved it from trusted proxies only."""

from __future__ import annotations

from flask import has_request_context, request


def client_address() -> str:
    if not has_request_context():
        return "cli"
    return request.remote_addr or "unknown"
