"""Development mail: whoever runs `make run` reads each message, its sign-in link and code
included, in the terminal, as soon as the change that wrote it has committed."""

from __future__ import annotations

import io
import re
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from grantpool import ConfigurationError
from grantpool.platform.mail import ConsoleBackend, OutboxMessage, queue_mail
from tests.conftest import csrf_token, make_app
from tests.factories import make_user


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"MAIL_SEND_ON_COMMIT": True}


def _outbox(session: Session, to: str) -> list[OutboxMessage]:
    return list(session.scalars(select(OutboxMessage).where(OutboxMessage.to_address == to)).all())


def test_the_sign_in_link_and_code_are_printed_once_the_request_commits(
    client: FlaskClient, session: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    person = make_user(session, password=None)  # type: ignore[arg-type]
    token = csrf_token(client)
    capsys.readouterr()
    # The link is looked up and mailed after the answer is sent (platform.deferred).
    with client.post("/sign-in-link", data={"email": person.email, "csrf_token": token}) as sent:
        assert sent.status_code == 200
    printed = capsys.readouterr().out
    assert f"Mail to: {person.email}\n" in printed
    assert "Subject: Your grantpool sign-in link\n" in printed
    link = re.search(r"http://localhost/sign-in/\S+", printed)
    assert link is not None, printed
    assert re.search(r"code on the sign-in page: \d{6}\b", printed), printed
    (message,) = _outbox(session, person.email)
    assert message.status == "sent" and message.sent_at is not None
    # Printed once: the next commit sends nothing again.
    session.commit()
    assert capsys.readouterr().out == ""


def test_mail_of_a_rolled_back_change_is_never_printed(
    session: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    queue_mail(
        session,
        "rolled.back@example.org",
        "sign_in_link",
        "en",
        name="Amina",
        url="http://localhost/sign-in/x",
        code="123456",
        hours=24,
    )
    session.rollback()
    session.commit()
    assert capsys.readouterr().out == ""
    assert _outbox(session, "rolled.back@example.org") == []

    queue_mail(
        session,
        "kept@example.org",
        "sign_in_link",
        "en",
        name="Amina",
        url="http://localhost/sign-in/y",
        code="654321",
        hours=24,
    )
    assert capsys.readouterr().out == ""  # queued, not yet committed
    session.commit()
    assert "Mail to: kept@example.org" in capsys.readouterr().out


def test_the_console_prints_recipient_subject_and_body() -> None:
    message = EmailMessage()
    message["From"] = "grantpool <no-reply@grantpool.localhost>"
    message["To"] = "amina@example.org"
    message["Subject"] = "Your grantpool sign-in link"
    message["Message-ID"] = "<outbox-1.0@grantpool.localhost>"
    message.set_content("Hello Amina,\n\nhttp://127.0.0.1:5000/sign-in/abc\n")
    stream = io.StringIO()
    ConsoleBackend(stream).send(message)
    printed = stream.getvalue()
    assert "Mail to: amina@example.org\n" in printed
    assert "Subject: Your grantpool sign-in link\n" in printed
    assert "\nHello Amina,\n\nhttp://127.0.0.1:5000/sign-in/abc\n" in printed


@pytest.mark.parametrize(("env", "expected"), [("development", True), ("testing", False)])
def test_on_by_default_in_development_only(
    database_url: str, tmp_path: Path, env: str, expected: bool
) -> None:
    app = make_app(database_url, tmp_path, ENV=env)
    assert app.config["MAIL_SEND_ON_COMMIT"] is expected
    app.extensions["grantpool.db"].dispose()


def test_refused_in_production(database_url: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="MAIL_SEND_ON_COMMIT"):
        make_app(database_url, tmp_path, ENV="production", MAIL_SEND_ON_COMMIT=True)


def test_off_the_outbox_waits_for_send_mail(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from grantpool.extensions import db

    app = make_app(database_url, tmp_path)
    engine = app.extensions["grantpool.db"]
    connection = engine.connect()
    outer = connection.begin()
    try:
        with app.app_context(), db.bound_to(connection):
            queue_mail(
                db.session,
                "later@example.org",
                "sign_in_link",
                "en",
                name="Amina",
                url="http://localhost/sign-in/z",
                code="111111",
                hours=24,
            )
            db.session.commit()
            assert capsys.readouterr().out == ""
            (message,) = _outbox(db.session, "later@example.org")
            assert message.status == "pending"
    finally:
        outer.rollback()
        connection.close()
        engine.dispose()
