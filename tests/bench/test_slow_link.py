"""The slow-link bench counts what crosses the network, not what the cache answers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.browser import Measured, Transfers, print_slow_link_table


class FakeDevTools:
    def __init__(self) -> None:
        self.handlers: dict[str, Callable[[dict[str, Any]], None]] = {}

    def on(self, event: str, handler: Callable[[dict[str, Any]], None]) -> None:
        self.handlers[event] = handler

    def emit(self, event: str, **fields: Any) -> None:
        self.handlers[event](fields)


def _request(cdp: FakeDevTools, rid: str, url: str, size: int, *, disk: bool = False) -> None:
    cdp.emit("Network.requestWillBeSent", requestId=rid, request={"url": url})
    cdp.emit("Network.responseReceived", requestId=rid, response={"fromDiskCache": disk})
    cdp.emit("Network.loadingFinished", requestId=rid, encodedDataLength=size)


def test_bytes_and_requests_leave_out_the_cache() -> None:
    cdp = FakeDevTools()
    transfers = Transfers(cdp)
    _request(cdp, "1", "http://127.0.0.1/calls/3", 2000)
    _request(cdp, "2", "http://127.0.0.1/static/grantpool.css?v=abc", 1500)
    assert (transfers.bytes, transfers.requests) == (3500, 2)
    assert transfers.fetched == ["3", "grantpool.css"]

    transfers.reset()
    _request(cdp, "3", "http://127.0.0.1/calls", 1800)
    cdp.emit("Network.requestWillBeSent", requestId="4", request={"url": "http://x/static/a.css"})
    cdp.emit("Network.requestServedFromCache", requestId="4")
    cdp.emit("Network.loadingFinished", requestId="4", encodedDataLength=0)
    _request(cdp, "5", "http://127.0.0.1/favicon.ico", 300, disk=True)
    assert (transfers.bytes, transfers.requests) == (1800, 1)
    assert transfers.cached == ["a.css", "favicon.ico"]


def test_the_table_names_the_heaviest_page(capsys: Any) -> None:
    print_slow_link_table(
        [
            Measured("open calls", 0.8, 4000, 2, "calls, grantpool.css"),
            Measured("register", 1.9, 7000, 2, "apply"),
            Measured("submit (POST)", 2.5, 9000, 1, "19"),
        ]
    )
    out = capsys.readouterr().out
    assert "| register | 1.90 | 7,000 | 2 | apply |" in out
    assert "heaviest page: register (7,000 bytes); slowest: register (1.90 s)" in out
