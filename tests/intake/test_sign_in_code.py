"""Coming back without a password: a six-digit code from the email, guarded against guessing."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from grantpool.accounts import services as accounts
from grantpool.platform.mail import OutboxMessage
from tests.conftest import csrf_token
from tests.factories import make_organisation, make_user


def _code_for(session, email: str) -> str:
    message = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.to_address == email)
        .order_by(OutboxMessage.id.desc())
    ).first()
    return re.search(r"code on the sign-in page: (\d{6})", message.body_text).group(1)


def test_sign_in_with_the_code_from_the_email(client, session):
    person = make_user(
        session, "applicant", organisations=[make_organisation(session)], password=None
    )
    token = csrf_token(client)
    sent = client.post("/sign-in-link", data={"email": person.email, "csrf_token": token})
    assert sent.status_code == 200 and 'name="code"' in sent.get_data(as_text=True)
    code = _code_for(session, person.email)
    response = client.post(
        "/sign-in/code", data={"email": person.email, "code": code, "csrf_token": token}
    )
    assert response.status_code == 302
    assert client.get("/my-applications").status_code == 200
    # The code and the link are one: both are used up now.
    other = client.application.test_client()
    again = other.post(
        "/sign-in/code", data={"email": person.email, "code": code, "csrf_token": csrf_token(other)}
    )
    assert again.status_code == 401


def test_five_wrong_codes_use_the_message_up(client, session):
    person = make_user(session, "applicant", password=None)
    accounts.request_sign_in_link(session, person.email, base_url="http://x", locale="en")
    code = _code_for(session, person.email)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    token = csrf_token(client)
    for _ in range(accounts.SIGN_IN_CODE_ATTEMPTS):
        response = client.post(
            "/sign-in/code", data={"email": person.email, "code": wrong, "csrf_token": token}
        )
        assert response.status_code == 401
        assert "That code is not right" in response.get_data(as_text=True)
    # Even the right code no longer works: guessing a million codes is not possible.
    response = client.post(
        "/sign-in/code", data={"email": person.email, "code": code, "csrf_token": token}
    )
    assert response.status_code == 401


def test_unknown_address_answers_the_same(client, session):
    token = csrf_token(client)
    known = make_user(session, "applicant", password=None)
    a = client.post("/sign-in-link", data={"email": known.email, "csrf_token": token})
    b = client.post("/sign-in-link", data={"email": "nobody@example.org", "csrf_token": token})
    strip = lambda r: re.sub(r'value="[^"]*"', "", r.get_data(as_text=True))  # noqa: E731
    assert strip(a) == strip(b)
    # The known address was mailed, within the same padded time as the unknown one.
    assert (
        session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.to_address == known.email)
        )
        == 1
    )
