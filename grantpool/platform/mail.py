"""Mail goes through an outbox table written in the same transaction as the change that
caused it, and is sent later by `flask grantpool send-mail`: a rolled-back change sends
nothing, and a message is claimed before it is sent, so it is never sent twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from email.message import EmailMessage
from typing import Any, Protocol

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import CheckConstraint, Index, Integer, String, Text, insert, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from .db import Base, IdPK
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
    return message


def queue_mails(session: Session, mails: list[tuple[str, str, str, dict[str, Any]]]) -> None:
    """queue_mail for many (to, template, locale, context) at once: one statement."""
    rows = [_message_fields(*mail) for mail in mails]
    if rows:
        session.execute(insert(OutboxMessage), rows)


class MailBackend(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class ConsoleBackend:
    def send(self, message: EmailMessage) -> None:
        log.warning("mail to %s: %s\n%s", message["To"], message["Subject"], message.get_content())


class SMTPBackend:
    def __init__(
        self, host: str, port: int, username: str | None, password: str | None, starttls: bool
    ) -> None:
        self.host, self.port = host, port
        self.username, self.password, self.starttls = username, password, starttls

    def send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=30) as smtp:
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
        )
    return ConsoleBackend()


def send_pending(
    session: Session,
    backend: MailBackend | None = None,
    *,
    now: dt.datetime | None = None,
    limit: int = 100,
) -> tuple[int, int]:
    """Send due messages; commits after each so a crash never causes a second send.

    Returns (sent, failed attempts).
    """
    backend = backend or backend_from_config(current_app.config)
    sender = current_app.config["MAIL_FROM"]
    sent = failed = 0
    for _ in range(limit):
        now_ = now or now_utc()
        query = (
            select(OutboxMessage)
            .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now_)
            .order_by(OutboxMessage.id)
            .limit(1)
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        message = session.scalars(query).first()
        if message is None:
            break
        # Claim it: another sender sees 'sending' and leaves it alone.
        claimed = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message.id, OutboxMessage.status == "pending")
            .values(status="sending", attempts=OutboxMessage.attempts + 1)
        ).rowcount
        session.commit()
        if not claimed:
            continue
        session.refresh(message)
        email = EmailMessage()
        email["From"] = sender
        email["To"] = message.to_address
        email["Subject"] = message.subject
        email.set_content(message.body_text)
        email["Content-Language"] = message.locale  # after set_content, which resets Content-*
        try:
            backend.send(email)
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


def reset_stuck(session: Session, older_than: dt.timedelta) -> int:
    """Messages left 'sending' by a crash are not retried automatically (that could send
    twice); an operator may release them after checking the mail server's log."""
    cutoff = now_utc() - older_than
    count = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == "sending", OutboxMessage.next_attempt_at < cutoff)
        .values(status="pending")
    ).rowcount
    return int(count or 0)
