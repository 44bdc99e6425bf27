"""The outbox: mail leaves only after the change commits, is retried, and never sent twice."""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time

import pytest
from sqlalchemy import select

from grantpool.platform.mail import OutboxMessage, SMTPBackend, queue_mail, send_pending
from grantpool.platform.time import now_utc


class RecordingBackend:
    def __init__(self, fail_times: int = 0) -> None:
        self.sent: list = []
        self.fail_times = fail_times

    def send(self, message) -> None:
        if self.fail_times:
            self.fail_times -= 1
            raise ConnectionRefusedError("mail server down")
        self.sent.append(message)


def test_queued_mail_is_rendered_in_the_recipients_language(session):
    message = queue_mail(
        session,
        "a@example.org",
        "password_reset",
        "fr",
        name="Awa",
        url="http://x/reset/abc",
        minutes=60,
    )
    assert message.locale == "fr" and message.status == "pending"
    assert "http://x/reset/abc" in message.body_text
    english = queue_mail(
        session,
        "b@example.org",
        "password_reset",
        "en",
        name="Bo",
        url="http://x/reset/def",
        minutes=60,
    )
    assert english.subject == "Choose a new grantpool password"
    assert message.subject != english.subject


def test_failed_send_is_retried_later_and_sent_once(session):
    message = queue_mail(
        session, "a@example.org", "password_reset", "en", name="A", url="http://x", minutes=5
    )
    backend = RecordingBackend(fail_times=1)
    assert send_pending(session, backend) == (0, 1)
    session.refresh(message)
    assert message.status == "pending" and message.attempts == 1
    assert message.next_attempt_at > now_utc()
    assert "mail server down" in message.last_error
    # Not due yet: nothing happens.
    assert send_pending(session, backend) == (0, 0)
    later = message.next_attempt_at + dt.timedelta(seconds=1)
    assert send_pending(session, backend, now=later) == (1, 0)
    assert send_pending(session, backend, now=later + dt.timedelta(hours=1)) == (0, 0)
    assert len(backend.sent) == 1
    session.refresh(message)
    assert message.status == "sent" and message.sent_at is not None


def test_gives_up_after_many_attempts(session):
    message = queue_mail(
        session, "a@example.org", "password_reset", "en", name="A", url="http://x", minutes=5
    )
    backend = RecordingBackend(fail_times=100)
    when = now_utc()
    for _ in range(10):
        send_pending(session, backend, now=when)
        when += dt.timedelta(days=1)
    session.refresh(message)
    assert message.status == "failed" and message.attempts == 8
    assert backend.sent == []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp_server():
    aiosmtpd = pytest.importorskip("aiosmtpd.controller")
    from aiosmtpd.handlers import Message

    received = []

    class Collect(Message):
        def handle_message(self, message) -> None:
            received.append(message)

    port = _free_port()
    controller = aiosmtpd.Controller(Collect(), hostname="127.0.0.1", port=port)
    controller.start()
    yield port, received
    controller.stop()


def test_sends_through_a_real_smtp_server(session, smtp_server):
    port, received = smtp_server
    queue_mail(
        session,
        "awa@example.org",
        "invitation",
        "fr",
        name="Awa",
        url="http://x/invitations/abc",
        days=7,
        inviter="Mariam",
    )
    sent, failed = send_pending(session, SMTPBackend("127.0.0.1", port, None, None, False))
    assert (sent, failed) == (1, 0)
    for _ in range(50):
        if received:
            break
        time.sleep(0.05)
    assert len(received) == 1
    mail = received[0]
    assert mail["To"] == "awa@example.org"
    assert mail["Content-Language"] == "fr"
    assert "http://x/invitations/abc" in mail.get_payload(decode=True).decode()
    outbox = session.scalars(select(OutboxMessage)).all()
    assert [m.status for m in outbox] == ["sent"]


def test_two_senders_never_send_the_same_message_twice(real_database):
    """Two send-mail processes running at once share the outbox without double sends."""
    from grantpool.extensions import db

    app = real_database
    with app.app_context():
        for i in range(20):
            queue_mail(
                db.session,
                f"p{i}@example.org",
                "password_reset",
                "en",
                name="P",
                url="http://x",
                minutes=5,
            )
        db.session.commit()

    backend = RecordingBackend()
    lock = threading.Lock()

    class Shared:
        def send(self, message) -> None:
            with lock:
                backend.send(message)

    def worker() -> None:
        with app.app_context():
            send_pending(db.session, Shared())
            db.remove_session()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    recipients = [m["To"] for m in backend.sent]
    assert sorted(recipients) == sorted(f"p{i}@example.org" for i in range(20))
