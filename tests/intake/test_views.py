"""The applicant's path through the pages."""

from __future__ import annotations

import datetime as dt
import re

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from grantpool.intake.models import Application
from grantpool.platform.mail import OutboxMessage
from tests.calls.test_views import token_from
from tests.conftest import sign_in_with_mailed_code
from tests.factories import make_call, make_organisation, make_user

PAGE_LIMIT = 60 * 1024


def soon() -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(days=10)


def sign_in_as_member(session: Session, client: FlaskClient, **org: object) -> tuple:
    """A password-free applicant signs in by a one-time link, as the page offers."""
    from grantpool.accounts.services import request_sign_in_link

    organisation = make_organisation(session, **org)
    user = make_user(session, organisations=[organisation], password=None)  # type: ignore[arg-type]
    token = request_sign_in_link(session, user.email, base_url="http://localhost", locale="en")
    assert token is not None
    response = client.post(f"/sign-in/{token}", data={"csrf_token": token_from(client, "/")})
    assert response.status_code == 302
    return organisation, user


def test_public_list_and_call_pages(session: Session, client: FlaskClient) -> None:
    open_call = make_call(session, open_until=soon())
    closed = make_call(session, open_until=soon())
    from grantpool.calls.services import close_call

    close_call(session, None, closed)  # type: ignore[arg-type]
    draft = make_call(session)
    listing = client.get("/calls").get_data(as_text=True)
    assert open_call.title["en"] in listing and closed.title["en"] in listing
    assert draft.title["en"] not in listing
    page = client.get(f"/calls/{closed.id}").get_data(as_text=True)
    assert "This call closed on" in page and "Start your application" not in page
    assert client.get(f"/calls/{draft.id}").status_code == 404


def test_register_without_password_then_apply_start_to_finish(
    session: Session, client: FlaskClient
) -> None:
    call = make_call(session, open_until=soon())
    start = client.get(f"/calls/{call.id}/apply")
    assert start.status_code == 302 and "/register" in start.headers["Location"]
    token = token_from(client, "/register")
    bad = client.post(
        "/register",
        data={
            "csrf_token": token,
            "organisation_name": "Mama Salama",
            "org_type": "",
            "country": "KE",
            "contact_name": "Amina",
            "email": "amina@example.org",
        },
    )
    assert bad.status_code == 422
    assert 'value="Mama Salama"' in bad.get_data(as_text=True)
    registered = client.post(
        "/register",
        data={
            "csrf_token": token,
            "organisation_name": "Mama Salama",
            "org_type": "community_based",
            "country": "KE",
            "contact_name": "Amina",
            "email": "amina@example.org",
            "next": f"/calls/{call.id}/apply",
        },
    )
    assert registered.status_code == 200  # the code page
    signed_in = sign_in_with_mailed_code(
        client, session, "amina@example.org", f"/calls/{call.id}/apply"
    )
    assert signed_in.headers["Location"] == f"/calls/{call.id}/apply"
    token = token_from(client, f"/calls/{call.id}/apply")
    started = client.post(f"/calls/{call.id}/apply", data={"csrf_token": token})
    assert started.status_code == 302
    application = session.scalar(select(Application).where(Application.call_id == call.id))
    assert application is not None and application.state == "draft"
    base = f"/applications/{application.id}"

    # Step 0: an amount outside the bounds is refused with the bounds shown, and kept.
    page = client.post(f"{base}/page/0", data={"csrf_token": token, "requested_amount": "9000"})
    text = page.get_data(as_text=True)
    assert "Ask for between $1,000.00 and $5,000.00." in text
    assert 'value="9000"' in text
    assert len(page.data) < PAGE_LIMIT
    assert (
        client.post(f"{base}/page/0", data={"csrf_token": token, "requested_amount": "2,500"})
        .headers["Location"]
        .endswith(f"{base}/page/1")
    )

    # A validation error keeps everything typed.
    long = " ".join(["word"] * 51)
    page = client.post(f"{base}/page/1", data={"csrf_token": token, "summary": long})
    text = page.get_data(as_text=True)
    assert "Use at most 50 words; you have 51." in text
    assert long in text and 'href="#q-summary"' in text
    session.refresh(application)
    assert application.answers["summary"] == long  # the draft was saved all the same
    client.post(f"{base}/page/1", data={"csrf_token": token, "summary": "Plant 500 trees"})
    # "no" skips the partner's page.
    nxt = client.post(f"{base}/page/2", data={"csrf_token": token, "has_partner": "no"})
    assert nxt.headers["Location"].endswith(f"{base}/page/4")
    later = client.post(
        f"{base}/page/4",
        data={"csrf_token": token, "later": "1", "capacity_strengthening": "Bookkeeping"},
    )
    assert later.headers["Location"].endswith("/my-applications")
    mine = client.get("/my-applications").get_data(as_text=True)
    assert "Draft" in mine

    check = client.get(f"{base}/check")
    text = check.get_data(as_text=True)
    assert "Plant 500 trees" in text and "Bookkeeping" in text and "2,500" in text
    assert len(check.data) < PAGE_LIMIT
    sent = client.post(f"{base}/check", data={"csrf_token": token})
    assert sent.status_code == 302
    session.refresh(application)
    assert application.state == "submitted" and application.channel == "web"
    assert application.requested_minor == 250000
    confirmation = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert application.reference in confirmation
    assert re.fullmatch(r"GP-\d{4}-\d{5}", application.reference or "")
    mail = session.scalar(
        select(OutboxMessage)
        .where(OutboxMessage.to_address == "amina@example.org")
        .order_by(OutboxMessage.id.desc())
    )
    assert mail is not None and application.reference in mail.subject

    receipt = client.get(f"{base}/receipt.pdf")
    assert receipt.status_code == 200 and receipt.mimetype == "application/pdf"
    assert receipt.data.startswith(b"%PDF")
    assert application.reference in receipt.headers["Content-Disposition"]

    withdrawn = client.post(f"{base}/withdraw", data={"csrf_token": token})
    assert withdrawn.status_code == 302
    session.refresh(application)
    assert application.state == "withdrawn"


def test_form_pages_stay_light(session: Session, client: FlaskClient) -> None:
    questions = [
        {"key": "where", "kind": "location", "label": {"en": "Where?"}, "required": True},
        {
            "key": "kinds",
            "kind": "multiple_choice",
            "label": {"en": "Which?"},
            "choices": ["a", "b", "c"],
        },
        {"key": "budget", "kind": "budget_table", "label": {"en": "Budget"}},
        {"key": "photo", "kind": "file", "label": {"en": "A photo"}},
    ]
    call = make_call(session, open_until=soon(), questions=questions)
    _organisation, _user = sign_in_as_member(session, client)
    token = token_from(client, "/")
    client.post(f"/calls/{call.id}/apply", data={"csrf_token": token})
    application = session.scalar(select(Application).where(Application.call_id == call.id))
    assert application is not None
    for number in range(0, 6):
        page = client.get(f"/applications/{application.id}/page/{number}")
        assert page.status_code == 200
        assert len(page.data) < PAGE_LIMIT, (number, len(page.data))
    bad = client.post(
        f"/applications/{application.id}/page/1",
        data={"csrf_token": token, "where.country": "UG", "where.area": "KE-47"},
    )
    assert "Choose an area in the selected country." in bad.get_data(as_text=True)
    assert 'value="UG" selected' in bad.get_data(as_text=True)


def test_closed_call_refuses_applications(session: Session, client: FlaskClient) -> None:
    call = make_call(session, open_until=soon())
    _organisation, _user = sign_in_as_member(session, client)
    token = token_from(client, "/")
    client.post(f"/calls/{call.id}/apply", data={"csrf_token": token})
    application = session.scalar(select(Application).where(Application.call_id == call.id))
    assert application is not None
    base = f"/applications/{application.id}"
    client.post(f"{base}/page/0", data={"csrf_token": token, "requested_amount": "1000"})
    client.post(f"{base}/page/1", data={"csrf_token": token, "summary": "Trees"})
    client.post(f"{base}/page/2", data={"csrf_token": token, "has_partner": "no"})
    # The close instant passes while the applicant is on the check page.
    call.closes_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    session.commit()  # releases the test's savepoint; the outer transaction still rolls back
    refused = client.post(f"{base}/check", data={"csrf_token": token})
    assert refused.status_code == 409
    assert "This call has closed" in refused.get_data(as_text=True)
    session.refresh(application)
    assert application.state == "draft"
    assert client.get(f"/calls/{call.id}/apply").status_code == 409


def test_ineligible_organisation_is_told_why(session: Session, client: FlaskClient) -> None:
    call = make_call(session, open_until=soon(), eligibility={"registered_only": True})
    sign_in_as_member(session, client, registered=False)
    page = client.get(f"/calls/{call.id}/apply").get_data(as_text=True)
    assert "only for registered organisations" in page


def test_someone_elses_application_is_not_found(session: Session, client: FlaskClient) -> None:
    from grantpool.intake.services import start_application

    call = make_call(session, open_until=soon())
    owner_org = make_organisation(session)
    owner = make_user(session, organisations=[owner_org])
    draft = start_application(session, owner, call, owner_org, language="en")
    sign_in_as_member(session, client)
    assert client.get(f"/applications/{draft.id}").status_code == 404
    assert client.get(f"/applications/{draft.id}/page/0").status_code == 404


def test_a_follow_up_on_the_same_page_is_asked_before_moving_on(
    session: Session, client: FlaskClient
) -> None:
    questions = [
        {
            "key": "partner",
            "kind": "yes_no",
            "label": {"en": "Partner?"},
            "required": True,
            "section": "Partners",
        },
        {
            "key": "partner_name",
            "kind": "short_text",
            "label": {"en": "Partner's name"},
            "required": True,
            "show_if": {"partner": "yes"},
            "section": "Partners",
        },
    ]
    call = make_call(session, open_until=soon(), questions=questions)
    sign_in_as_member(session, client)
    token = token_from(client, "/")
    client.post(f"/calls/{call.id}/apply", data={"csrf_token": token})
    application = session.scalar(select(Application).where(Application.call_id == call.id))
    assert application is not None
    page = f"/applications/{application.id}/page/1"
    assert "Partner&#39;s name" not in client.get(page).get_data(as_text=True)
    again = client.post(page, data={"csrf_token": token, "partner": "yes"})
    assert again.headers["Location"].endswith(page)
    assert "Partner&#39;s name" in client.get(page).get_data(as_text=True)
    onward = client.post(
        page, data={"csrf_token": token, "partner": "yes", "partner_name": "Town hall"}
    )
    assert onward.headers["Location"].endswith(f"/applications/{application.id}/page/2")


def test_file_question_accepts_only_its_kinds_by_content(
    session: Session, client: FlaskClient
) -> None:
    import io
    import struct
    import zlib

    questions = [
        {
            "key": "photo",
            "kind": "file",
            "label": {"en": "A photo of the site"},
            "file_kinds": ["photo"],
            "max_bytes": 200_000,
        }
    ]
    call = make_call(session, open_until=soon(), questions=questions)
    _organisation, _user = sign_in_as_member(session, client)
    token = token_from(client, "/")
    client.post(f"/calls/{call.id}/apply", data={"csrf_token": token})
    application = session.scalar(select(Application).where(Application.call_id == call.id))
    page = f"/applications/{application.id}/page/1"
    assert 'accept="image/*"' in client.get(page).get_data(as_text=True)

    # A PDF named like a photo is refused, and nothing is saved as the answer.
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    refused = client.post(
        page,
        data={"csrf_token": token, "photo": (io.BytesIO(pdf), "site.jpg")},
        content_type="multipart/form-data",
    )
    assert "This kind of file is not accepted here." in refused.get_data(as_text=True)
    session.refresh(application)
    assert not (application.answers or {}).get("photo")

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )
    accepted = client.post(
        page,
        data={"csrf_token": token, "photo": (io.BytesIO(png), "anything.pdf")},
        content_type="multipart/form-data",
    )
    assert accepted.status_code == 302
    session.refresh(application)
    stored = application.answers["photo"]
    assert stored["content_type"] == "image/png"
    assert "anything" not in stored["key"]
