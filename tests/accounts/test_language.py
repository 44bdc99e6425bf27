"""The language a person chose stays with them: past signing out, on the sign-in pages,
in every message sent to them, and in the middle of an application."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from grantpool.accounts import services
from grantpool.intake.models import Application
from grantpool.platform.i18n import LOCALE_COOKIE
from grantpool.platform.mail import OutboxMessage
from tests.calls.test_views import token_from
from tests.conftest import csrf_token, login
from tests.factories import PASSWORD, make_call, make_user
from tests.intake.test_views import sign_in_as_member, soon


def _choose(client: FlaskClient, locale: str, next_path: str = "/login") -> str:
    response = client.post(
        "/language",
        data={"locale": locale, "next": next_path, "csrf_token": token_from(client, next_path)},
    )
    assert response.status_code == 302
    return response.headers["Location"]


def _lang(client: FlaskClient, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    return page.split('<html lang="', 1)[1].split('"', 1)[0]


def test_a_language_chosen_signed_out_stays_for_the_sign_in_pages(client: FlaskClient) -> None:
    _choose(client, "fr")
    cookie = client.get_cookie(LOCALE_COOKIE)
    assert cookie is not None and cookie.value == "fr"
    assert _lang(client, "/login") == "fr"
    assert _lang(client, "/sign-in/code") == "fr"
    assert _lang(client, "/register") == "fr"
    assert "Se connecter" in client.get("/login").get_data(as_text=True)


def test_the_language_survives_signing_out(client: FlaskClient, session: Session) -> None:
    user = make_user(session)
    login(client, user.email, PASSWORD)
    _choose(client, "fr", "/")
    assert user.locale == "fr"
    signed_out = client.post("/logout", data={"csrf_token": token_from(client, "/")})
    assert signed_out.status_code == 302
    assert _lang(client, "/login") == "fr"


def test_signing_out_keeps_the_saved_language_of_the_account(app, session: Session) -> None:
    # Chosen on another device: this browser has no cookie yet.
    user = make_user(session, locale="fr")
    client = app.test_client()
    login(client, user.email, PASSWORD)
    client.post("/logout", data={"csrf_token": token_from(client, "/")})
    assert client.get_cookie(LOCALE_COOKIE).value == "fr"
    assert _lang(client, "/login") == "fr"


def test_a_sign_in_message_is_in_the_account_language(
    client: FlaskClient, session: Session
) -> None:
    person = make_user(session, password=None, locale="fr")
    client.post(
        "/sign-in-link", data={"email": person.email, "csrf_token": csrf_token(client)}
    ).close()  # asked from an English page
    message = session.scalars(
        select(OutboxMessage).where(OutboxMessage.to_address == person.email)
    ).one()
    assert message.locale == "fr"


def test_someone_without_an_account_is_written_to_in_the_language_they_chose(
    client: FlaskClient, session: Session
) -> None:
    _choose(client, "fr", "/register")
    registered = client.post(
        "/register",
        data={
            "organisation_name": "Groupement des femmes de Thiès",
            "org_type": "community_based",
            "country": "SN",
            "contact_name": "Awa",
            "email": "awa@example.org",
            "csrf_token": token_from(client, "/register"),
        },
    )
    assert registered.status_code == 200
    assert 'lang="fr"' in registered.get_data(as_text=True)
    person = services.get_user_by_email(session, "awa@example.org")
    assert person is not None and person.locale == "fr"
    message = session.scalars(
        select(OutboxMessage).where(OutboxMessage.to_address == "awa@example.org")
    ).one()
    assert message.locale == "fr"


def test_changing_language_mid_application_comes_back_to_the_same_page(
    client: FlaskClient, session: Session
) -> None:
    call = make_call(session, open_until=soon())
    sign_in_as_member(session, client)
    token = token_from(client, "/")
    client.post(f"/calls/{call.id}/apply", data={"csrf_token": token})
    application = session.scalar(select(Application).where(Application.call_id == call.id))
    assert application is not None
    section = f"/applications/{application.id}/page/1"
    saved = client.post(section, data={"csrf_token": token, "summary": "Plant 500 trees"})
    assert saved.status_code == 302
    # The header's language form names the page it is on; choosing comes back to it.
    page = client.get(section).get_data(as_text=True)
    assert f'name="next" value="{section}' in page
    back = client.post(
        "/language", data={"locale": "fr", "next": f"{section}?", "csrf_token": token}
    )
    assert back.headers["Location"].rstrip("?") == section
    again = client.get(section).get_data(as_text=True)
    assert '<html lang="fr"' in again and "Plant 500 trees" in again


def test_without_next_the_language_form_comes_back_by_the_referrer(client: FlaskClient) -> None:
    # A page shown after a POST (a section sent back with an error) does not fill `next`.
    back = client.post(
        "/language",
        data={"locale": "fr", "csrf_token": csrf_token(client)},
        headers={"Referer": "http://localhost/calls?x=1"},
    )
    assert back.headers["Location"] == "/calls?x=1"
