"""The outbox when things go wrong: a connection that drops after the server took the
message, and a sender stopped mid-send. Delivery is at least once, and every attempt at one
message carries the same Message-ID, so the receiving side can recognise a repeat."""

from __future__ import annotations

import datetime as dt
import email
import logging
import time
from collections.abc import Iterator
from email.message import Message
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import update
from sqlalchemy.orm import Session

from grantpool.platform.mail import (
    OutboxMessage,
    SMTPBackend,
    outbox_message_id,
    queue_mail,
    send_pending,
)
from grantpool.platform.time import now_utc
from tests.platform.conftest import free_port

SENDER = "Community Fund <mail@fund.example.org>"


class SMTPServer:
    """A real SMTP server on loopback (aiosmtpd) that keeps every message it receives and
    can cut the connection after DATA instead of answering 250, as a server that dies (or
    a network that drops) just after taking a message does."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.received: list[Message] = []
        self.drops_left = 0
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, _session: Any, envelope: Any) -> str:
        self.received.append(email.message_from_bytes(envelope.content))
        if self.drops_left:
            self.drops_left -= 1
            server.transport.abort()  # no reply: the client cannot know it was received
        return "250 Message accepted for delivery"

    def backend(self) -> SMTPBackend:
        return SMTPBackend("127.0.0.1", self.port, None, None, False, timeout=5)

    def wait_for(self, count: int) -> list[Message]:
        deadline = time.monotonic() + 5
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.received


@pytest.fixture
def smtp() -> Iterator[SMTPServer]:
    pytest.importorskip("aiosmtpd.controller")
    server = SMTPServer()
    server.controller.start()
    yield server
    server.controller.stop()


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"MAIL_FROM": SENDER, "MAIL_SENDING_TIMEOUT": 15}


def _queue(session: Session, to: str = "awa@example.org") -> OutboxMessage:
    return queue_mail(
        session, to, "password_reset", "en", name="Awa", url="http://x/reset/abc", minutes=60
    )


def _left_sending(session: Session, message: OutboxMessage, claimed_ago: dt.timedelta) -> None:
    """As a sender killed after claiming the message leaves it."""
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message.id)
        .values(status="sending", attempts=1, next_attempt_at=now_utc() - claimed_ago)
    )
    session.commit()


def test_every_attempt_at_a_message_carries_the_same_message_id(
    app: Flask, session: Session, smtp: SMTPServer
) -> None:
    message = _queue(session)
    session.commit()
    smtp.drops_left = 1
    assert send_pending(session, smtp.backend()) == (0, 1)
    session.refresh(message)
    assert message.status == "pending" and message.attempts == 1
    assert "SMTPServerDisconnected" in (message.last_error or "")
    # The server had it all the same: the retry delivers it a second time.
    later = message.next_attempt_at + dt.timedelta(seconds=1)
    assert send_pending(session, smtp.backend(), now=later) == (1, 0)
    first, second = smtp.wait_for(2)
    assert first["Message-ID"] == second["Message-ID"] == outbox_message_id(message, SENDER)
    created = int(message.created_at.timestamp())
    assert first["Message-ID"] == f"<outbox-{message.id}.{created}@fund.example.org>"
    assert first.get_payload() == second.get_payload()
    session.refresh(message)
    assert message.status == "sent" and message.attempts == 2


def test_messages_have_different_ids(app: Flask, session: Session, smtp: SMTPServer) -> None:
    _queue(session, "a@example.org")
    _queue(session, "b@example.org")
    assert send_pending(session, smtp.backend()) == (2, 0)
    ids = {m["Message-ID"] for m in smtp.wait_for(2)}
    assert len(ids) == 2


def test_a_message_left_sending_by_a_stopped_sender_is_sent_by_the_next_run(
    app: Flask, session: Session, smtp: SMTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    stuck = _queue(session, "stuck@example.org")
    _left_sending(session, stuck, claimed_ago=dt.timedelta(minutes=16))
    with caplog.at_level(logging.WARNING, logger="grantpool.mail"):
        assert send_pending(session, smtp.backend()) == (1, 0)
    (received,) = smtp.wait_for(1)
    assert received["To"] == "stuck@example.org"
    assert received["Message-ID"] == outbox_message_id(stuck, SENDER)
    session.refresh(stuck)
    assert stuck.status == "sent" and stuck.attempts == 2
    assert any(
        "released 1 message(s) left 'sending'" in r.getMessage() and str(stuck.id) in r.message
        for r in caplog.records
    )


def test_a_message_being_sent_right_now_is_left_to_its_sender(
    app: Flask, session: Session, smtp: SMTPServer
) -> None:
    busy = _queue(session, "busy@example.org")
    _left_sending(session, busy, claimed_ago=dt.timedelta(minutes=1))
    assert send_pending(session, smtp.backend()) == (0, 0)
    assert smtp.received == []
    session.refresh(busy)
    assert busy.status == "sending" and busy.attempts == 1
    # Once the timeout has passed since its claim, it is released.
    later = now_utc() + dt.timedelta(minutes=15)
    assert send_pending(session, smtp.backend(), now=later) == (1, 0)


def test_the_timeout_is_a_setting(app: Flask, session: Session, smtp: SMTPServer) -> None:
    app.config["MAIL_SENDING_TIMEOUT"] = 2
    message = _queue(session)
    _left_sending(session, message, claimed_ago=dt.timedelta(minutes=3))
    assert send_pending(session, smtp.backend()) == (1, 0)


def test_a_claim_records_when_it_was_made(app: Flask, session: Session) -> None:
    """A message's claim time (next_attempt_at while 'sending') is the claim's, not the
    time it was first due: a message due long ago is not taken for stuck as soon as it is
    claimed."""

    class Observer:
        def __init__(self) -> None:
            self.seen: list[tuple[str, dt.datetime]] = []

        def send(self, _email: Any) -> None:
            row = session.get(OutboxMessage, message.id, populate_existing=True)
            assert row is not None
            self.seen.append((row.status, row.next_attempt_at))

    message = _queue(session)
    message.next_attempt_at = now_utc() - dt.timedelta(days=2)
    session.commit()
    observer = Observer()
    before = now_utc()
    assert send_pending(session, observer) == (1, 0)
    ((status, claimed_at),) = observer.seen
    assert status == "sending"
    assert before - dt.timedelta(seconds=1) <= claimed_at <= now_utc()


def test_send_mail_command_releases_and_sends(app: Flask, session: Session, smtp: SMTPServer):
    app.config.update(MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=smtp.port)
    stuck = _queue(session, "stuck@example.org")
    _left_sending(session, stuck, claimed_ago=dt.timedelta(hours=2))
    _queue(session, "new@example.org")
    session.commit()
    result = app.test_cli_runner().invoke(args=["grantpool", "send-mail"])
    assert result.exit_code == 0, result.output
    assert "sent 2, failed 0" in result.output
    assert sorted(m["To"] for m in smtp.wait_for(2)) == ["new@example.org", "stuck@example.org"]
