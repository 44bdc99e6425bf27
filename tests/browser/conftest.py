"""A real browser against a real server: Debian's Chromium driven by Playwright.

The app is served by Werkzeug on loopback from a migrated SQLite file (the server runs in
another thread, so these tests commit for real). Where Chromium is missing the tests skip
with the reason; CI installs it (`.ci/run`) and sets GRANTPOOL_REQUIRE_ALL_BACKENDS so that
nothing skips there.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from grantpool.extensions import db
from grantpool.platform import migrations
from tests.conftest import make_app

CHROMIUM = os.environ.get("GRANTPOOL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("GRANTPOOL_REQUIRE_ALL_BACKENDS"):
            pytest.fail(f"Chromium not found at {CHROMIUM}, but CI requires browser tests")
        pytest.skip(f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


class LiveServer:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)
        self.server.server_close()


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    url = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    migrations.upgrade(url)
    app = make_app(url, tmp_path, SERVER_NAME=None, RATELIMIT_ENABLED=False)
    with LiveServer(app) as server:
        app.config["BASE_URL"] = server.url
        yield server
    app.extensions["grantpool.db"].dispose()


def run_in_app(server: LiveServer, fn: Any) -> Any:
    """Set up data directly, committed, before the browser looks at it."""
    with server.app.app_context():
        result = fn(db.session)
        db.session.commit()
        db.remove_session()
        return result


def newest_mail(server: LiveServer, email: str) -> str:
    """The newest message to `email` (queued before the page was answered; polled a
    little in case the page that queues it is still being answered)."""
    import time

    from sqlalchemy import select

    from grantpool.platform.mail import OutboxMessage

    # Polled gently: on SQLite a reader asking again and again can hold up a writer.
    time.sleep(0.5)
    for _ in range(60):
        body = run_in_app(
            server,
            lambda s: s.scalars(
                select(OutboxMessage.body_text)
                .where(OutboxMessage.to_address == email)
                .order_by(OutboxMessage.id.desc())
            ).first(),
        )
        if body:
            return str(body)
        time.sleep(0.25)
    raise AssertionError(f"no mail to {email}")
