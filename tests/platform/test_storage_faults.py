"""S3 that stops answering: the upload fails within seconds with "try again" (503), and an
upload cut off half-way leaves neither an object nor an unfinished multipart upload.

The faults are real servers on loopback: one that accepts connections and never answers,
and a proxy in front of moto's S3 that drops chosen requests.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from grantpool.platform.errors import StorageUnavailable
from grantpool.platform.storage import S3Storage, storage_from_config
from tests.factories import make_organisation, make_user
from tests.intake.test_api import bearer
from tests.platform.conftest import BUCKET
from tests.platform.test_storage import make_pdf, make_png

PREFIX = "uploads/faults"
# Short enough that the tests stay quick; production defaults are in config/settings.py.
FAST = {"connect_timeout": 0.5, "read_timeout": 0.5, "max_attempts": 2}


def _stop_listening(listener: socket.socket) -> None:
    with contextlib.suppress(OSError):
        listener.shutdown(socket.SHUT_RDWR)  # wakes the thread waiting in accept()
    listener.close()


class FrozenServer:
    """Accepts TCP connections and never says a word, like an S3 endpoint that hangs."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _address = self.listener.accept()
            except OSError:
                return  # closed
            self.accepted.append(connection)

    def close(self) -> None:
        _stop_listening(self.listener)
        self._thread.join(timeout=5)
        for connection in self.accepted:
            connection.close()


class DroppingProxy:
    """Forwards HTTP requests to an upstream server, one connection per request, and drops
    (resets) those whose request line `drop` picks: a connection cut mid-upload."""

    def __init__(self, upstream_port: int, drop: Callable[[str], bool]) -> None:
        self.upstream_port = upstream_port
        self.drop = drop
        self.dropped: list[str] = []
        self.forwarded: list[str] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._threads: list[threading.Thread] = []
        accept = threading.Thread(target=self._accept, daemon=True)
        accept.start()
        self._threads.append(accept)

    def _accept(self) -> None:
        while True:
            try:
                client, _address = self.listener.accept()
            except OSError:
                return
            worker = threading.Thread(target=self._serve, args=(client,), daemon=True)
            worker.start()
            self._threads.append(worker)

    def _serve(self, client: socket.socket) -> None:
        with contextlib.closing(client):
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = client.recv(65536)
                if not chunk:
                    return
                head += chunk
            head, _sep, rest = head.partition(b"\r\n\r\n")
            request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
            if self.drop(request_line):
                self.dropped.append(request_line)
                # Reset, not a polite close: the client sees its connection cut.
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            self.forwarded.append(request_line)
            # One request per connection, so that every request line passes through here.
            head = re.sub(rb"\r\nConnection:[^\r]*", b"", head, flags=re.IGNORECASE)
            head += b"\r\nConnection: close\r\n\r\n"
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            with contextlib.closing(upstream):
                upstream.sendall(head + rest)
                pump = threading.Thread(target=self._pump, args=(client, upstream), daemon=True)
                pump.start()
                self._pump(upstream, client)
                with contextlib.suppress(OSError):
                    client.shutdown(socket.SHUT_RDWR)
                pump.join(timeout=5)

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while chunk := source.recv(65536):
                target.sendall(chunk)

    def close(self) -> None:
        _stop_listening(self.listener)
        for thread in self._threads:
            thread.join(timeout=5)


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def frozen_s3(aws_credentials: None) -> Iterator[str]:
    server = FrozenServer()
    yield f"http://127.0.0.1:{server.port}"
    server.close()


def _leftovers(s3_client: Any) -> tuple[list[str], list[str]]:
    objects = s3_client.list_objects_v2(Bucket=BUCKET, Prefix=PREFIX).get("Contents", [])
    uploads = s3_client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])
    return [o["Key"] for o in objects], [u["Key"] for u in uploads]


def test_frozen_s3_fails_the_upload_within_seconds(frozen_s3: str, babel_app: Flask) -> None:
    storage = S3Storage(BUCKET, PREFIX, 1024 * 1024, endpoint_url=frozen_s3, **FAST)
    started = time.monotonic()
    with pytest.raises(StorageUnavailable) as failure:
        storage.save(io.BytesIO(make_pdf()))
    elapsed = time.monotonic() - started
    # Two attempts (each: up to 1 s for "100 Continue", then the read timeout), a backoff
    # of at most a second, one attempt at cleaning up: a few seconds, not minutes.
    assert elapsed < 6, f"a frozen store held the upload for {elapsed:.1f} s"
    assert failure.value.status_code == 503
    assert failure.value.errors == {
        "file": ["The file store is not answering. Try again in a minute; your answers are kept."]
    }


def test_frozen_s3_fails_reads_and_checks_too(frozen_s3: str, babel_app: Flask) -> None:
    storage = S3Storage(BUCKET, PREFIX, 1024 * 1024, endpoint_url=frozen_s3, **FAST)
    for attempt in (
        lambda: storage.open("2026/01/" + "0" * 32),
        lambda: storage.exists("2026/01/" + "0" * 32),
        lambda: storage.delete("2026/01/" + "0" * 32),
    ):
        started = time.monotonic()
        with pytest.raises(StorageUnavailable):
            attempt()
        assert time.monotonic() - started < 5


def test_timeouts_and_attempts_come_from_the_settings(frozen_s3: str) -> None:
    storage = storage_from_config(
        {
            "STORAGE_URL": f"s3://{BUCKET}/{PREFIX}",
            "UPLOAD_MAX_BYTES": 1024,
            "S3_ENDPOINT_URL": frozen_s3,
            "S3_REGION": "us-east-1",
            "S3_CONNECT_TIMEOUT": 2,
            "S3_READ_TIMEOUT": 4,
            "S3_MAX_ATTEMPTS": 3,
        }
    )
    assert isinstance(storage, S3Storage)
    config = storage.client.meta.config
    assert (config.connect_timeout, config.read_timeout) == (2, 4)
    assert config.retries == {"mode": "standard", "total_max_attempts": 3}


def test_multipart_upload_cut_off_half_way_is_aborted(
    moto_endpoint: str, s3_client: Any, babel_app: Flask
) -> None:
    """Above 8 MB the upload goes in parts; the second part's connection is reset at every
    attempt. The person is asked to try again, and S3 keeps no object and no parts."""
    moto_port = int(moto_endpoint.rsplit(":", 1)[1])
    proxy = DroppingProxy(moto_port, drop=lambda line: "partNumber=2" in line)
    try:
        storage = S3Storage(
            BUCKET,
            PREFIX,
            20 * 1024 * 1024,
            endpoint_url=f"http://127.0.0.1:{proxy.port}",
            region="us-east-1",
            **FAST,
        )
        data = make_pdf() + b"\n%" + os.urandom(9 * 1024 * 1024)
        with pytest.raises(StorageUnavailable):
            storage.save(io.BytesIO(data))
    finally:
        proxy.close()
    assert len(proxy.dropped) == FAST["max_attempts"]
    assert any("uploads" in line and "POST" in line for line in proxy.forwarded)  # started
    assert any(line.startswith("DELETE") and "uploadId=" in line for line in proxy.forwarded)
    assert _leftovers(s3_client) == ([], [])


@pytest.fixture
def app_config(frozen_s3: str) -> dict[str, Any]:
    """The app of this module's web tests stores its files in the frozen S3."""
    return {
        "STORAGE_URL": f"s3://{BUCKET}/{PREFIX}",
        "S3_ENDPOINT_URL": frozen_s3,
        "S3_CONNECT_TIMEOUT": 0.5,
        "S3_READ_TIMEOUT": 0.5,
    }


def test_the_api_answers_503_when_the_store_is_frozen(
    session: Session, client: FlaskClient
) -> None:
    organisation = make_organisation(session)
    headers = bearer(session, make_user(session, organisations=[organisation]))
    response = client.post(
        "/api/v1/uploads",
        headers=headers,
        data={"file": (io.BytesIO(make_png()), "site.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 503
    body = response.get_json()
    assert body["code"] == "storage_unavailable"
    assert body["errors"] == {
        "file": ["The file store is not answering. Try again in a minute; your answers are kept."]
    }


def test_the_application_page_answers_503_and_keeps_what_was_typed(
    session: Session, client: FlaskClient
) -> None:
    """A page with a file and a text question: the store is frozen, so the answer is "try
    again" (503) beside the file question, and the words typed on the page are saved."""
    import datetime as dt

    from sqlalchemy import select

    from grantpool.intake.models import Application
    from tests.factories import make_call
    from tests.platform.test_uploads import _draft

    questions = [
        {"key": "story", "kind": "short_text", "label": {"en": "What changed?"}, "section": "s"},
        {
            "key": "photo",
            "kind": "file",
            "label": {"en": "A photo"},
            "file_kinds": ["photo"],
            "section": "s",
        },
    ]
    call = make_call(
        session, open_until=dt.datetime.now(dt.UTC) + dt.timedelta(days=10), questions=questions
    )
    page, application = _draft(session, client, call)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get(page).get_data(as_text=True))
    assert token is not None
    response = client.post(
        page,
        data={
            "csrf_token": token.group(1),
            "story": "The well is dug",
            "photo": (io.BytesIO(make_png()), "well.png"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 503, response.headers.get("Location")
    assert response.headers["Retry-After"] == "30"
    text = response.get_data(as_text=True)
    assert "The file store is not answering" in text and "The well is dug" in text
    session.expire_all()
    kept = session.scalar(select(Application).where(Application.id == application.id))
    assert kept is not None and kept.answers.get("story") == "The well is dug"
    assert not kept.answers.get("photo")
