"""Mail goes through an outbox table written in the same transaction as the change that
caused it, and is sent later by `flask grantpool send-mail`: a rolled-back change sends
nothing, and a message is claimed before it is sent, so two senders never both send it.

Delivery is at least once, not exactly once. When the connection drops after the server
has the message but before it confirms, the sender cannot know whether it was accepted
and sends it again later; a sender stopped mid-send leaves its message 'sending', and the
next run sends it again after MAIL_SENDING_TIMEOUT. Every attempt at one message carries
the same Message-ID (`outbox_message_id`), so mail servers and clients can recognise a
repeat and drop it.

While a message is 'sending', next_attempt_at holds when it was claimed.

In development (MAIL_SEND_ON_COMMIT, on there by default) the messages a transaction
queued are sent right after it commits, without waiting for `send-mail`; with the
console backend each is printed to standard output, so whoever runs `make run` reads
the sign-in link and code in that terminal.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
import sys
from collections.abc import Collection
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any, Protocol, TextIO

from flask import Flask, current_app, has_app_context, render_template
from flask_babel import force_locale
from sqlalchemy import (
    CheckConstraint,
    Index,
    Integer,
    String,
    Text,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from .db import Base, IdPK, rows_affected
from .time import now_utc

log = logging.getLogger("grantpool.mail")

MAX_ATTEMPTS = 8


class OutboxMessage(Base):
    __tablename__ = "outbox_messages"

    id: Mapped[IdPK]
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    locale: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=now_utc)
    sent_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sending', 'sent', 'failed')", name="status_known"),
        CheckConstraint("(status = 'sent') = (sent_at IS NOT NULL)", name="sent_iff_sent_at"),
        Index("ix_outbox_messages_due", "status", "next_attempt_at"),
    )


def _message_fields(to: str, template: str, locale: str, context: dict[str, Any]) -> dict[str, str]:
    """Render templates/mail/<template>.txt in `locale` (first line is the subject)."""
    with force_locale(locale):
        rendered = render_template(f"mail/{template}.txt", **context).strip()
    subject, _, body = rendered.partition("\n")
    return {
        "to_address": to,
        "subject": subject.strip(),
        "body_text": body.strip() + "\n",
        "locale": locale,
    }


def queue_mail(
    session: Session, to: str, template: str, locale: str, **context: Any
) -> OutboxMessage:
    """Queue one message, rendered now in `locale`."""
    message = OutboxMessage(**_message_fields(to, template, locale, context))
    session.add(message)
    session.flush()
    _note_queued(session, [message.id])
    return message


def queue_mails(session: Session, mails: list[tuple[str, str, str, dict[str, Any]]]) -> None:
    """queue_mail for many (to, template, locale, context) at once: one statement."""
    rows = [_message_fields(*mail) for mail in mails]
    if rows:
        ids = session.scalars(insert(OutboxMessage).returning(OutboxMessage.id), rows).all()
        _note_queued(session, ids)


QUEUED = "grantpool.mail_queued"


def _note_queued(session: Session, ids: Collection[int]) -> None:
    """Remember which messages this session's transaction queued (send_on_commit)."""
    session.info.setdefault(QUEUED, set()).update(ids)


class MailBackend(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class ConsoleBackend:
    """Development mail: each message printed whole to standard output (the terminal of
    `flask run`), where its links can be read and opened."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def send(self, message: EmailMessage) -> None:
        stream = self.stream or sys.stdout
        rule = "-" * 72
        stream.write(
            f"{rule}\n"
            f"Mail to: {message['To']}\n"
            f"From: {message['From']}\n"
            f"Subject: {message['Subject']}\n"
            f"Message-ID: {message['Message-ID']}\n\n"
            f"{message.get_content().rstrip()}\n"
            f"{rule}\n"
        )
        stream.flush()
        log.info("mail to %s printed: %s", message["To"], message["Subject"])


class SMTPBackend:
    def __init__(
        self,
        host: str,
        port: int,
        username: str | None,
        password: str | None,
        starttls: bool,
        timeout: float = 30,
    ) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.username, self.password, self.starttls = username, password, starttls

    def send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)


def backend_from_config(config: Any) -> MailBackend:
    if config["MAIL_BACKEND"] == "smtp":
        return SMTPBackend(
            config["SMTP_HOST"],
            int(config["SMTP_PORT"]),
            config["SMTP_USERNAME"],
            config["SMTP_PASSWORD"],
            bool(config["SMTP_STARTTLS"]),
            timeout=float(config.get("SMTP_TIMEOUT") or 30),
        )
    return ConsoleBackend()


def outbox_message_id(message: OutboxMessage, sender: str) -> str:
    """The same Message-ID for every attempt at one outbox row: its id and creation time
    (a database rebuilt from empty reuses ids, not their times) at the sender's domain."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "grantpool.localhost"
    return f"<outbox-{message.id}.{int(message.created_at.timestamp())}@{domain}>"


def _email(message: OutboxMessage, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to_address
    email["Subject"] = message.subject
    email["Message-ID"] = outbox_message_id(message, sender)
    email.set_content(message.body_text)
    email["Content-Language"] = message.locale  # after set_content, which resets Content-*
    return email


def send_pending(
    session: Session,
    backend: MailBackend | None = None,
    *,
    now: dt.datetime | None = None,
    limit: int = 100,
    only: Collection[int] | None = None,
) -> tuple[int, int]:
    """Send due messages; commits after each claim and each outcome, so a crash loses
    nothing and two senders never send the same message at once. Messages left 'sending'
    for longer than MAIL_SENDING_TIMEOUT minutes (their sender was stopped) are released
    first and sent again (at least once: see the module's docstring).

    `only` limits the run to those messages (ids).

    Returns (sent, failed attempts).
    """
    backend = backend or backend_from_config(current_app.config)
    sender = current_app.config["MAIL_FROM"]
    timeout = dt.timedelta(minutes=int(current_app.config.get("MAIL_SENDING_TIMEOUT") or 15))
    reset_stuck(session, timeout, now=now)
    session.commit()
    sent = failed = 0
    for _ in range(limit):
        now_ = now or now_utc()
        query = (
            select(OutboxMessage)
            .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now_)
            .order_by(OutboxMessage.id)
            .limit(1)
        )
        if only is not None:
            query = query.where(OutboxMessage.id.in_(only))
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        message = session.scalars(query).first()
        if message is None:
            break
        # Claim it: another sender sees 'sending' and leaves it alone. The claim's time
        # tells a later run how long it has been 'sending'.
        claimed = rows_affected(
            session,
            update(OutboxMessage)
            .where(OutboxMessage.id == message.id, OutboxMessage.status == "pending")
            .values(status="sending", attempts=OutboxMessage.attempts + 1, next_attempt_at=now_),
        )
        session.commit()
        if not claimed:
            continue
        session.refresh(message)
        try:
            backend.send(_email(message, sender))
        except Exception as exc:
            failed += 1
            message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if message.attempts >= MAX_ATTEMPTS:
                message.status = "failed"
            else:
                message.status = "pending"
                message.next_attempt_at = now_utc() + dt.timedelta(minutes=2**message.attempts)
        else:
            sent += 1
            message.status = "sent"
            message.sent_at = now_utc()
        session.commit()
    return sent, failed


def reset_stuck(
    session: Session, older_than: dt.timedelta, *, now: dt.datetime | None = None
) -> int:
    """Release messages claimed longer ago than `older_than` and still 'sending': their
    sender was stopped mid-send. They become due at once and are sent again (with the same
    Message-ID), although the server may already have had them. `older_than` must be far
    longer than a send takes (SMTP_TIMEOUT per step), or a slow sender's message would be
    sent twice while it is still at it. Flushes; the caller commits."""
    cutoff = (now or now_utc()) - older_than
    stuck = session.scalars(
        select(OutboxMessage.id).where(
            OutboxMessage.status == "sending", OutboxMessage.next_attempt_at < cutoff
        )
    ).all()
    if not stuck:
        return 0
    count = rows_affected(
        session,
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(stuck),
            OutboxMessage.status == "sending",
            OutboxMessage.next_attempt_at < cutoff,
        )
        .values(status="pending", next_attempt_at=now or now_utc()),
    )
    log.warning(
        "released %d message(s) left 'sending' for more than %s: %s",
        count,
        older_than,
        ", ".join(str(i) for i in stuck),
    )
    return count


def _send_on_commit(session: Session) -> None:
    """After a transaction that queued mail has committed: send those messages now, from
    a session of their own (the committed one can run no more SQL in this hook). For
    development (MAIL_SEND_ON_COMMIT); whatever fails is logged and the message stays in
    the outbox for `flask grantpool send-mail`, and the commit stands."""
    queued = session.info.pop(QUEUED, None)
    if not queued or not has_app_context() or not current_app.config.get("MAIL_SEND_ON_COMMIT"):
        return
    # On the same engine, or (under tests) inside the same outer connection's transaction.
    sender = Session(bind=session.get_bind(), join_transaction_mode="create_savepoint")
    try:
        send_pending(sender, only=sorted(queued))
    except Exception:
        log.exception("sending mail after the commit failed; it is kept for send-mail")
        sender.rollback()
    finally:
        sender.close()


def _forget_on_rollback(session: Session, previous: Any) -> None:
    if previous.parent is None:  # the session's outermost transaction: nothing was kept
        session.info.pop(QUEUED, None)


def init_app(app: Flask) -> None:
    """With MAIL_SEND_ON_COMMIT (development), mail is sent as soon as the transaction
    that queued it commits: a request's, the padded account lookups (platform.constant_time),
    a command's."""
    if app.config.get("MAIL_SEND_ON_COMMIT") and not event.contains(
        Session, "after_commit", _send_on_commit
    ):
        event.listen(Session, "after_commit", _send_on_commit)
        event.listen(Session, "after_soft_rollback", _forget_on_rollback)
