"""Registering and signing in from a cheap phone: one sign-in page, back to the page the
person was on, no account revealed, and throttling that a shared connection survives."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, quote, urlsplit

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grantpool.accounts.models import User
from grantpool.intake.services import start_application
from grantpool.organisations.models import Organisation
from grantpool.platform.mail import OutboxMessage
from tests.calls.test_views import token_from
from tests.conftest import csrf_token, without_csrf
from tests.factories import make_call, make_organisation, make_user
from tests.intake.test_views import soon


def _mails_to(session: Session, email: str) -> list[OutboxMessage]:
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.to_address == email)
            .order_by(OutboxMessage.id)
        )
    )


def _link_in(message: OutboxMessage) -> str:
    """The sign-in link of a message, as a path with its query."""
    url = re.search(r"http://localhost(/sign-in/\S+)", message.body_text)
    assert url, message.body_text
    return url.group(1)


def _code_in(message: OutboxMessage) -> str:
    return re.search(r"code on the sign-in page: (\d{6})", message.body_text).group(1)


def _registration(email: str, organisation: str = "Mama Salama", **more: str) -> dict[str, str]:
    return {
        "organisation_name": organisation,
        "org_type": "community_based",
        "country": "KE",
        "contact_name": "Amina",
        "email": email,
        **more,
    }


def _draft_page(session: Session) -> tuple[User, str]:
    """An applicant with a draft, and the address of its second section."""
    organisation = make_organisation(session)
    person = make_user(session, organisations=[organisation], password=None)
    call = make_call(session, open_until=soon())
    draft = start_application(session, person, call, organisation, language="en")
    return person, f"/applications/{draft.id}/page/1"


# One sign-in page ---------------------------------------------------------------------------


def test_the_sign_in_page_offers_a_link_a_code_and_a_password(client: FlaskClient) -> None:
    page = client.get("/login").get_data(as_text=True)
    assert 'action="/sign-in-link"' in page and 'id="link-email"' in page
    assert 'href="/sign-in/code"' in page
    assert 'action="/login"' in page and 'name="password"' in page
    assert 'href="/register"' in page
    # The home page and the header send people there.
    home = client.get("/").get_data(as_text=True)
    assert 'href="/login"' in home


def test_the_old_link_address_leads_to_the_one_sign_in_page(client: FlaskClient) -> None:
    response = client.get("/sign-in-link?next=/calls/7")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/calls/7"


def test_an_expired_session_comes_back_to_the_page_by_link(
    client: FlaskClient, session: Session
) -> None:
    person, page = _draft_page(session)
    bounced = client.get(page)
    assert bounced.status_code == 302
    assert urlsplit(bounced.headers["Location"]).path == "/login"
    assert parse_qs(urlsplit(bounced.headers["Location"]).query)["next"] == [page]

    sign_in = client.get(bounced.headers["Location"]).get_data(as_text=True)
    assert f'name="next" value="{page}"' in sign_in
    token = csrf_token(client)
    sent = client.post(
        "/sign-in-link", data={"email": person.email, "next": page, "csrf_token": token}
    )
    assert sent.status_code == 200
    assert f'name="next" type="hidden" value="{page}"' in sent.get_data(as_text=True)
    sent.close()

    link = _link_in(_mails_to(session, person.email)[-1])
    assert link.endswith(f"?next={quote(page, safe='')}")
    opened = client.get(link).get_data(as_text=True)  # a mail scanner uses nothing
    assert f'name="next" value="{page}"' in opened
    signed_in = client.post(
        urlsplit(link).path, data={"next": page, "csrf_token": token_from(client, "/")}
    )
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == page
    assert client.get(page).status_code == 200


def test_the_code_brings_the_person_back_to_the_page_too(
    client: FlaskClient, session: Session
) -> None:
    person, page = _draft_page(session)
    token = csrf_token(client)
    client.post(
        "/sign-in-link", data={"email": person.email, "next": page, "csrf_token": token}
    ).close()
    code = _code_in(_mails_to(session, person.email)[-1])
    # The code form can also be reached straight from the sign-in page.
    assert f'value="{page}"' in client.get(f"/sign-in/code?next={quote(page)}").get_data(
        as_text=True
    )
    response = client.post(
        "/sign-in/code",
        data={"email": person.email, "code": code, "next": page, "csrf_token": token},
    )
    assert response.status_code == 302 and response.headers["Location"] == page


def test_a_wrong_code_keeps_the_page_to_come_back_to(client: FlaskClient, session: Session) -> None:
    person, page = _draft_page(session)
    response = client.post(
        "/sign-in/code",
        data={
            "email": person.email,
            "code": "000000",
            "next": page,
            "csrf_token": csrf_token(client),
        },
    )
    assert response.status_code == 401
    assert f'value="{page}"' in response.get_data(as_text=True)


def test_next_is_only_ever_a_path_on_this_site(client: FlaskClient, session: Session) -> None:
    for hostile in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "/a\r\nX: y"):
        page = client.get("/login", query_string={"next": hostile}).get_data(as_text=True)
        main = page.split("<main", 1)[1]  # the header's language form says where it is
        assert "evil" not in main and "X: y" not in main
    person = make_user(session, organisations=[make_organisation(session)], password=None)
    token = csrf_token(client)
    client.post(
        "/sign-in-link",
        data={"email": person.email, "next": "//evil.example/x", "csrf_token": token},
    ).close()
    message = _mails_to(session, person.email)[-1]
    assert "evil" not in message.body_text and "next=" not in message.body_text
    response = client.post(
        "/sign-in/code",
        data={
            "email": person.email,
            "code": _code_in(message),
            "next": "https://evil.example/",
            "csrf_token": token,
        },
    )
    assert response.headers["Location"] == "/my-applications"


# Registering with an address that already has an account -------------------------------------


def test_registering_an_address_with_an_account_answers_as_for_a_new_one(
    app, session: Session
) -> None:
    call = make_call(session, open_until=soon())
    known = make_user(session, organisations=[make_organisation(session)], password=None)
    nxt = f"/calls/{call.id}/apply"

    newcomer, returning = app.test_client(), app.test_client()
    new = newcomer.post(
        "/register",
        data={
            **_registration("new@example.org", "Lake Youth", next=nxt),
            "csrf_token": csrf_token(newcomer),
        },
    )
    old = returning.post(
        "/register",
        data={
            **_registration(known.email.upper(), "Hill Women", next=nxt),
            "csrf_token": csrf_token(returning),
        },
    )
    # The same page, asking for the code just mailed, with only the address typed changed.
    assert new.status_code == old.status_code == 200
    new_page = without_csrf(new).replace("new@example.org", "E")
    old_page = without_csrf(old).replace(known.email.upper(), "E")
    assert new_page == old_page
    assert ("Set-Cookie" in new.headers) == ("Set-Cookie" in old.headers)
    assert "We have emailed a sign-in link and a six-digit code to" in new_page
    assert f'name="next" type="hidden" value="{nxt}"' in new_page
    # Neither is signed in yet: the code shows the address is theirs.
    for phone in (newcomer, returning):
        assert phone.get("/my-applications").status_code == 302

    # Nothing was added to the existing account; its mail says so and carries a code.
    assert session.scalar(select(Organisation).where(Organisation.name == "Hill Women")) is None
    assert (
        session.scalar(select(func.count()).select_from(User).where(User.email == known.email)) == 1
    )
    (message,) = _mails_to(session, known.email)
    assert "already has an account" in message.body_text
    assert _link_in(message).endswith(f"?next={quote(nxt, safe='')}")
    (welcome,) = _mails_to(session, "new@example.org")
    assert "Lake Youth is registered" in welcome.body_text
    # ... so each goes on from where they were, with the code, on the page they got.
    for phone, mail, email in (
        (returning, message, known.email),
        (newcomer, welcome, "new@example.org"),
    ):
        signed_in = phone.post(
            "/sign-in/code",
            data={
                "email": email,
                "code": _code_in(mail),
                "next": nxt,
                "csrf_token": token_from(phone, "/sign-in/code"),
            },
        )
        assert signed_in.headers["Location"] == nxt
        assert phone.get("/my-applications").status_code == 200


def test_registering_takes_as_long_whether_or_not_the_address_has_an_account(
    app, session: Session
) -> None:
    """Both answers are padded to the same duration (the lower bound is what holds on a
    loaded machine; the spread between the two is measured in the closing figures)."""
    from grantpool.platform.constant_time import REGISTRATION_SECONDS

    known = make_user(session, password=None)
    durations = []
    for email, name in ((known.email, "Old Group"), ("fresh@example.org", "Fresh Group")):
        phone = app.test_client()
        token = csrf_token(phone)
        started = time.monotonic()
        answer = phone.post("/register", data={**_registration(email, name), "csrf_token": token})
        durations.append(time.monotonic() - started)
        assert answer.status_code == 200
    assert min(durations) >= REGISTRATION_SECONDS


def test_a_mistake_is_answered_the_same_with_or_without_an_account(
    client: FlaskClient, session: Session
) -> None:
    known = make_user(session, password=None)
    token = csrf_token(client)
    answers = [
        client.post(
            "/register",
            data={**_registration(email, org_type=""), "csrf_token": token},
        )
        for email in (known.email, "nobody@example.org")
    ]
    assert [a.status_code for a in answers] == [422, 422]
    known_page, new_page = (
        without_csrf(a).replace(e, "E")
        for a, e in zip(answers, (known.email, "nobody@example.org"), strict=True)
    )
    assert known_page == new_page
    assert "already" not in known_page


# Throttling -------------------------------------------------------------------------------------


def test_twenty_groups_on_one_connection_all_register(app) -> None:
    for n in range(20):
        group = app.test_client()
        response = group.post(
            "/register",
            data={
                **_registration(f"group{n}@example.org", f"Group number {n}"),
                "csrf_token": csrf_token(group),
            },
        )
        assert response.status_code == 200, (n, response.get_data(as_text=True)[:500])


def test_the_sixth_registration_from_one_address_waits_with_what_was_typed(app) -> None:
    def register(**typed: str):
        phone = app.test_client()  # signed out each time, as on a shared phone
        return phone.post("/register", data={**typed, "csrf_token": csrf_token(phone)})

    typo = register(**_registration("amina@example.org", org_type=""))
    assert typo.status_code == 422  # sent back to fix a field: not counted
    for n in range(5):
        assert register(**_registration("Amina@Example.org ", f"Group {n}")).status_code == 200
    refused = register(**_registration("amina@example.org", "Sixth Group", phone="+254 700 1"))
    assert refused.status_code == 429
    page = refused.get_data(as_text=True)
    assert "Too many tries in a short time" in page and "send it again in" in page
    assert 'value="Sixth Group"' in page and 'value="+254 700 1"' in page
    assert 'value="amina@example.org"' in page
    assert 0 < int(refused.headers["Retry-After"]) <= 3600


def test_one_organisation_name_is_throttled_whoever_types_it(app) -> None:
    answers = []
    for n in range(6):
        group = app.test_client()
        answers.append(
            group.post(
                "/register",
                data={
                    **_registration(f"member{n}@example.org", "  Same   GROUP "),
                    "csrf_token": csrf_token(group),
                },
            ).status_code
        )
    assert answers == [200] * 5 + [429]


def test_sign_in_links_are_throttled_per_address_typed(client: FlaskClient) -> None:
    token = csrf_token(client)
    for _ in range(5):
        client.post(
            "/sign-in-link", data={"email": "asha@example.org", "csrf_token": token}
        ).close()
    refused = client.post(
        "/sign-in-link", data={"email": "Asha@example.org", "next": "/calls", "csrf_token": token}
    )
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    page = refused.get_data(as_text=True)
    assert 'value="Asha@example.org"' in page and 'name="next" value="/calls"' in page
    # Another address from the same connection still gets its link.
    other = client.post("/sign-in-link", data={"email": "juma@example.org", "csrf_token": token})
    assert other.status_code == 200
    other.close()
