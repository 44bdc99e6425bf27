"""OpenRosa responses carry exactly one Date header behind the real servers too.

Werkzeug's development server writes a Date of its own on every response and passes the
application's through as well (two, before openrosa.py left the header to it); gunicorn
drops the application's Date and writes its own. Each server here runs on loopback over
a migrated SQLite file and is asked over plain HTTP, where a duplicate header would show.
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from grantpool.platform import migrations
from tests.conftest import make_app

ROOT = Path(__file__).resolve().parents[2]
PATHS = [
    "/odk/formList",  # no X-OpenRosa-Version: refused by the OpenRosa blueprint (400)
    "/odk/forms/999999/form.xml",  # no such call (404)
    "/odk/submission",  # not signed in (401)
]


def dates_of(port: int, path: str) -> tuple[int, list[str], str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        headers = {"X-OpenRosa-Version": "1.0"} if path.endswith("submission") else {}
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        return (
            response.status,
            response.msg.get_all("Date") or [],
            response.getheader("X-OpenRosa-Version") or "",
        )
    finally:
        connection.close()


@pytest.fixture
def database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'server.sqlite3'}"
    migrations.upgrade(url)
    return url


@pytest.fixture
def werkzeug_port(database: str, tmp_path: Path) -> Iterator[int]:
    app = make_app(database, tmp_path, SERVER_NAME=None, RATELIMIT_ENABLED=False)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()
    app.extensions["grantpool.db"].dispose()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def gunicorn_port(database: str, tmp_path: Path) -> Iterator[int]:
    pytest.importorskip("gunicorn")
    (tmp_path / "served.py").write_text(
        "from pathlib import Path\n"
        "from tests.conftest import make_app\n"
        f"app = make_app({database!r}, Path({str(tmp_path)!r}), SERVER_NAME=None,"
        " RATELIMIT_ENABLED=False)\n"
    )
    port = _free_port()
    env = {
        **os.environ,
        "GRANTPOOL_ENV": "testing",
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]),
    }
    server = subprocess.Popen(
        [
            # --preload: the app is loaded before the port opens, so an open port means
            # a server ready to answer.
            *(sys.executable, "-m", "gunicorn", "--workers", "1", "--preload"),
            *("--bind", f"127.0.0.1:{port}", "--log-level", "warning", "served:app"),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    errors = server.stderr.read().decode() if server.stderr else ""
                    pytest.fail(f"gunicorn did not start: {errors[-2000:]}")
                time.sleep(0.1)
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if server.stderr:
            server.stderr.close()


@pytest.mark.parametrize("path", PATHS)
def test_one_date_behind_werkzeug(werkzeug_port: int, path: str) -> None:
    status, dates, version = dates_of(werkzeug_port, path)
    assert status in (400, 401, 404)
    assert version == "1.0"  # answered by the OpenRosa blueprint
    assert len(dates) == 1, dates


def test_one_date_behind_gunicorn(gunicorn_port: int) -> None:
    for path in PATHS:
        status, dates, version = dates_of(gunicorn_port, path)
        assert status in (400, 401, 404), path
        assert version == "1.0", path
        assert len(dates) == 1, (path, dates)
