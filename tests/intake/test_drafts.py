"""Drafts on the web form hold whatever happens: files kept, two tabs, a lost session,
pressing "Start" twice, withdrawing and changing one's mind."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from grantpool.intake.models import Application, FormStash
from tests.calls.test_views import token_from
from tests.factories import make_call, make_organisation, make_user

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

QUESTIONS: list[dict[str, Any]] = [
    {
        "key": "summary",
        "kind": "long_text",
        "label": {"en": "What will you do?"},
        "required": True,
        "section": "Your project",
    },
    {
        "key": "photo",
        "kind": "file",
        "label": {"en": "A photo of the site"},
        "required": False,
        "file_kinds": ["document", "photo"],
        "section": "Pictures",
    },
    {
        "key": "plan",
        "kind": "file",
        "label": {"en": "Your work plan"},
        "required": True,
        "file_kinds": ["document"],
        "section": "Documents",
    },
    {"key": "budget", "kind": "budget_table", "label": {"en": "Budget"}, "required": True},
]


def soon() -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(days=10)


def sign_in(session: Session, client: FlaskClient, user: Any) -> None:
    from grantpool.accounts.services import request_sign_in_link

    token = request_sign_in_link(session, user.email, base_url="http://localhost", locale="en")
    assert token is not None
    response = client.post(f"/sign-in/{token}", data={"csrf_token": token_from(client, "/")})
    assert response.status_code == 302


def start(session: Session, client: FlaskClient, questions: Any = None) -> tuple:
    call = make_call(session, open_until=soon(), questions=questions or QUESTIONS)
    organisation = make_organisation(session)
    user = make_user(session, organisations=[organisation], password=None)  # type: ignore[arg-type]
    sign_in(session, client, user)
    response = client.post(f"/calls/{call.id}/apply", data={"csrf_token": token_from(client, "/")})
    assert response.status_code == 302
    application = session.scalar(select(Application).where(Application.call_id == call.id))
    assert application is not None
    return call, organisation, user, application


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', html)
    assert found, name
    return found.group(1)


def form_of(client: FlaskClient, url: str) -> dict[str, str]:
    html = client.get(url).get_data(as_text=True)
    return {name: hidden(html, name) for name in ("csrf_token", "version", "form_token")}


def test_optional_file_skipped_required_file_kept_across_visits(
    session: Session, client: FlaskClient
) -> None:
    _call, _org, _user, application = start(session, client)
    base = f"/applications/{application.id}/page"
    # Page 2 holds an optional photo: "Save and continue" with no file goes on.
    skipped = client.post(f"{base}/2", data=form_of(client, f"{base}/2"))
    assert skipped.status_code == 302 and skipped.headers["Location"].endswith(f"{base}/3")
    page = client.get(f"{base}/3").get_data(as_text=True)
    assert "One file: documents" in page and "up to 10 MB" in page  # limits before upload
    assert 'accept=".pdf' in page
    # The required plan: refused without a file, then uploaded.
    missing = client.post(f"{base}/3", data=form_of(client, f"{base}/3"))
    assert missing.status_code == 200 and "Choose a file to upload." in missing.get_data(
        as_text=True
    )
    uploaded = client.post(
        f"{base}/3", data={**form_of(client, f"{base}/3"), "plan": (io.BytesIO(PDF), "plan.pdf")}
    )
    assert uploaded.status_code == 302 and uploaded.headers["Location"].endswith(f"{base}/4")
    # Left, and resumed: the file is kept, named with its size, and counts as answered.
    again = client.get(f"{base}/3").get_data(as_text=True)
    assert "Kept with your draft: plan.pdf (1 KB)." in again
    assert 'name="remove_file" value="plan"' in again
    kept = client.post(f"{base}/3", data=form_of(client, f"{base}/3"))
    assert kept.status_code == 302 and kept.headers["Location"].endswith(f"{base}/4")
    session.expire_all()
    assert session.get(Application, application.id).answers["plan"]["name"] == "plan.pdf"
    # Removing it: the same page again, and now the question is unanswered.
    removed = client.post(f"{base}/3", data={**form_of(client, f"{base}/3"), "remove_file": "plan"})
    assert removed.status_code == 200
    assert "Kept with your draft" not in removed.get_data(as_text=True)
    session.expire_all()
    assert session.get(Application, application.id).answers["plan"] is None


def test_start_twice_opens_the_one_draft_and_the_database_allows_no_second(
    session: Session, client: FlaskClient
) -> None:
    call, organisation, user, application = start(session, client)
    again = client.get(f"/calls/{call.id}/apply")
    assert again.status_code == 302
    assert again.headers["Location"].endswith(f"/applications/{application.id}/continue")
    pressed = client.post(f"/calls/{call.id}/apply", data={"csrf_token": token_from(client, "/")})
    assert pressed.status_code == 302
    count = session.scalar(
        select(func.count()).select_from(Application).where(Application.call_id == call.id)
    )
    assert count == 1
    with pytest.raises(IntegrityError), session.begin_nested():
        session.add(
            Application(
                call_id=call.id,
                organisation_id=organisation.id,
                created_by_id=user.id,
                answers={},
                currency="USD",
                channel="web",
                language="en",
                state="draft",
            )
        )
        session.flush()


def test_continue_opens_the_first_section_still_to_answer(
    session: Session, client: FlaskClient
) -> None:
    _call, _org, _user, application = start(session, client)
    resume = f"/applications/{application.id}/continue"
    assert client.get(resume).headers["Location"].endswith("/page/0")
    base = f"/applications/{application.id}/page"
    client.post(f"{base}/0", data={**form_of(client, f"{base}/0"), "requested_amount": "2000"})
    client.post(f"{base}/1", data={**form_of(client, f"{base}/1"), "summary": "Wells"})
    assert client.get(resume).headers["Location"].endswith("/page/2")
    client.post(f"{base}/2", data=form_of(client, f"{base}/2"))  # the optional photo: skipped
    assert client.get(resume).headers["Location"].endswith("/page/3")


def test_budget_is_rows_of_fields_in_the_readers_numbers(
    session: Session, client: FlaskClient
) -> None:
    _call, _org, user, application = start(session, client)
    url = f"/applications/{application.id}/page/4"
    page = client.get(url).get_data(as_text=True)
    assert 'name="budget.line"' in page and 'name="budget.amount"' in page
    assert "item | amount" not in page.lower()
    # "Add a row" without JavaScript: saved, and the same page with one more empty row.
    form = form_of(client, url)
    more = client.post(
        url,
        data={
            **form,
            "budget.line": ["Seeds", ""],
            "budget.amount": ["300", ""],
            "add_row": "budget",
        },
    )
    assert more.status_code == 200
    html = more.get_data(as_text=True)
    assert html.count('name="budget.line"') == 3 and 'value="Seeds"' in html
    user.locale = "fr"  # amounts as a French reader writes them
    session.flush()
    done = client.post(
        url,
        data={
            **form_of(client, url),
            "budget.line": ["Seeds", "Tools", ""],
            "budget.amount": ["300", "1 250,50", ""],
        },
    )
    assert done.status_code == 302, done.get_data(as_text=True)
    session.expire_all()
    rows = session.get(Application, application.id).answers["budget"]
    assert rows == [{"line": "Seeds", "amount": "300"}, {"line": "Tools", "amount": "1 250,50"}]
    # A row without its amount is named by its number.
    user.locale = "en"
    session.flush()
    bad = client.post(
        url,
        data={
            **form_of(client, url),
            "budget.line": ["Seeds", "Tools"],
            "budget.amount": ["300", ""],
        },
    )
    assert bad.status_code == 200 and "Budget line 2 needs an amount" in bad.get_data(as_text=True)


def test_two_tabs_on_one_draft_show_both_texts_and_let_the_person_choose(
    session: Session, client: FlaskClient
) -> None:
    _call, _org, _user, application = start(session, client)
    url = f"/applications/{application.id}/page/1"
    tab_a = form_of(client, url)
    tab_b = form_of(client, url)
    assert client.post(url, data={**tab_b, "summary": "From the phone"}).status_code == 302
    clash = client.post(url, data={**tab_a, "summary": "From the laptop"})
    assert clash.status_code == 409
    html = clash.get_data(as_text=True)
    assert "From the phone" in html and "From the laptop" in html
    session.expire_all()
    assert session.get(Application, application.id).answers["summary"] == "From the phone"
    # Choosing the other tab's text keeps it; the page's version is now current.
    version = hidden(html, "version")
    chose = client.post(
        url,
        data={**tab_a, "version": version, "summary": "From the laptop", "keep.summary": "saved"},
    )
    assert chose.status_code == 302
    session.expire_all()
    assert session.get(Application, application.id).answers["summary"] == "From the phone"
    # The same answer sent from an old page is no conflict.
    same = client.post(url, data={**tab_a, "summary": "From the phone"})
    assert same.status_code == 302


def test_answers_posted_after_the_session_ended_are_there_after_signing_in(
    session: Session, app: Any, client: FlaskClient
) -> None:
    _call, _org, user, application = start(session, client)
    url = f"/applications/{application.id}/page/1"
    form = form_of(client, url)
    # Signed out elsewhere (or the cookie expired): this browser's session is gone.
    gone = app.test_client()
    posted = gone.post(url, data={**form, "summary": "Twenty minutes of typing"})
    assert posted.status_code == 302
    assert "next=" in posted.headers["Location"]
    assert "/page/1" in posted.headers["Location"].replace("%2F", "/")
    session.expire_all()
    assert "summary" not in session.get(Application, application.id).answers
    sign_in(session, gone, user)
    back = gone.get(url).get_data(as_text=True)
    assert "Twenty minutes of typing" in back and "is back on this page" in back
    assert "reload" not in back.lower()
    saved = gone.post(url, data={**form_of(gone, url), "summary": "Twenty minutes of typing"})
    assert saved.status_code == 302
    session.expire_all()
    assert session.get(Application, application.id).answers["summary"] == "Twenty minutes of typing"
    assert session.scalar(select(func.count()).select_from(FormStash)) == 0


def test_a_file_sent_after_the_session_ended_is_kept_until_the_page_is_saved(
    session: Session, app: Any, client: FlaskClient
) -> None:
    from grantpool.platform.uploads import StoredUpload

    _call, _org, user, application = start(session, client)
    url = f"/applications/{application.id}/page/3"
    form = form_of(client, url)
    gone = app.test_client()
    posted = gone.post(url, data={**form, "plan": (io.BytesIO(PDF), "plan-on-the-bus.pdf")})
    assert posted.status_code == 302 and "next=" in posted.headers["Location"]
    session.expire_all()
    assert "plan" not in session.get(Application, application.id).answers
    stored = session.scalars(select(StoredUpload)).one()
    assert stored.attached_at is None  # not the draft's until the page is saved

    sign_in(session, gone, user)
    back = gone.get(url).get_data(as_text=True)
    assert "plan-on-the-bus.pdf" in back and "is back on this page" in back
    # Saved without choosing the file again: the one sent earlier is the answer.
    saved = gone.post(url, data=form_of(gone, url))
    assert saved.status_code == 302
    session.expire_all()
    answer = session.get(Application, application.id).answers["plan"]
    assert answer["name"] == "plan-on-the-bus.pdf" and answer["key"] == stored.key
    assert session.get(StoredUpload, stored.id).attached_at is not None
    assert session.scalar(select(func.count()).select_from(FormStash)) == 0


def test_a_stale_form_token_with_a_live_session_keeps_what_was_typed(
    session: Session, client: FlaskClient
) -> None:
    _call, _org, _user, application = start(session, client)
    url = f"/applications/{application.id}/page/1"
    form = form_of(client, url)
    stale = client.post(url, data={**form, "csrf_token": "stale", "summary": "Kept anyway"})
    assert stale.status_code == 302 and stale.headers["Location"].endswith(url)
    back = client.get(url).get_data(as_text=True)
    assert "Kept anyway" in back and "reload" not in back.lower()


def test_a_page_token_is_its_own_persons_only(
    session: Session, app: Any, client: FlaskClient
) -> None:
    _call, _org, _user, application = start(session, client)
    url = f"/applications/{application.id}/page/1"
    form = form_of(client, url)
    other = app.test_client()
    sign_in(session, other, make_user(session, organisations=[make_organisation(session)]))
    refused = other.post(url, data={**form, "csrf_token": "x", "summary": "Not mine"})
    assert refused.status_code == 400
    forged = app.test_client().post(url, data={**form, "form_token": "forged", "summary": "x"})
    assert forged.status_code == 302 and "next=" in forged.headers["Location"]
    assert session.scalar(select(func.count()).select_from(FormStash)) == 0


def test_withdraw_asks_first_and_can_be_undone_while_the_call_is_open(
    session: Session, client: FlaskClient
) -> None:
    from grantpool.intake import services

    call, _org, user, application = start(session, client, questions=[QUESTIONS[0]])
    services.save_draft(
        session, user, application, {"summary": "Wells", "requested_amount": "2000"}, locale="en"
    )
    services.submit_draft(session, user, application, locale="en")
    show = client.get(f"/applications/{application.id}").get_data(as_text=True)
    assert f'href="/applications/{application.id}/withdraw"' in show
    confirm = client.get(f"/applications/{application.id}/withdraw")
    assert confirm.status_code == 200
    text = confirm.get_data(as_text=True)
    assert "Withdraw your application?" in text and "you can undo this" in text
    assert session.get(Application, application.id).state == "submitted"  # asked, not done
    done = client.post(
        f"/applications/{application.id}/withdraw", data={"csrf_token": token_from(client, "/")}
    )
    assert done.status_code == 302
    session.expire_all()
    assert session.get(Application, application.id).state == "withdrawn"
    show = client.get(f"/applications/{application.id}").get_data(as_text=True)
    assert "Undo the withdrawal" in show
    undone = client.post(
        f"/applications/{application.id}/undo-withdrawal",
        data={"csrf_token": token_from(client, "/")},
    )
    assert undone.status_code == 302
    session.expire_all()
    again = session.get(Application, application.id)
    assert again.state == "submitted" and again.withdrawn_at is None
    # Once the call has closed, a withdrawal stays.
    services.withdraw_application(session, user, again)
    from grantpool.calls.services import close_call

    close_call(session, None, call)  # type: ignore[arg-type]
    late = client.post(
        f"/applications/{application.id}/undo-withdrawal",
        data={"csrf_token": token_from(client, "/")},
    )
    assert late.status_code == 409
    session.expire_all()
    assert session.get(Application, application.id).state == "withdrawn"


def test_an_oversized_body_gets_the_page_back_with_a_message(
    session: Session, app: Any, client: FlaskClient
) -> None:
    _call, _org, _user, application = start(session, client)
    url = f"/applications/{application.id}/page/3"
    form = form_of(client, url)
    limit = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 4096
    try:
        big = client.post(url, data={**form, "plan": (io.BytesIO(PDF + b"0" * 8192), "plan.pdf")})
    finally:
        app.config["MAX_CONTENT_LENGTH"] = limit
    assert big.status_code == 413
    html = big.get_data(as_text=True)
    assert "This file made what you sent larger than 4 KB" in html and 'href="#q-plan"' in html
    assert 'name="plan"' in html and "There is a problem" in html


def test_a_file_too_large_for_the_body_loses_none_of_the_text_beside_it(
    session: Session, app: Any, client: FlaskClient
) -> None:
    together = [QUESTIONS[0], {**QUESTIONS[1], "section": "Your project"}]
    _call, _org, _user, application = start(session, client, questions=together)
    url = f"/applications/{application.id}/page/1"
    form = form_of(client, url)
    limit = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 4096
    try:
        photo = (io.BytesIO(PDF + b"0" * 8192), "site.jpg")
        big = client.post(url, data={**form, "summary": "Two wells, typed here", "photo": photo})
        # Far over the limit, the body is refused unread: the page says so.
        huge = (io.BytesIO(PDF + b"0" * 4096 * 9), "site.jpg")
        refused = client.post(url, data={**form, "summary": "Lost", "photo": huge})
    finally:
        app.config["MAX_CONTENT_LENGTH"] = limit
    assert big.status_code == 413
    html = big.get_data(as_text=True)
    assert "This file made what you sent larger than 4 KB" in html and 'href="#q-photo"' in html
    assert "Your other answers on this page are saved" in html
    assert "Two wells, typed here" in html
    session.expire_all()
    saved = session.get(Application, application.id)
    assert saved.answers["summary"] == "Two wells, typed here"
    assert not saved.answers.get("photo")
    assert refused.status_code == 413
    assert "larger than 4 KB in all, so nothing on this page was saved" in refused.get_data(
        as_text=True
    )
    session.expire_all()
    assert session.get(Application, application.id).answers["summary"] == "Two wells, typed here"


def test_switching_language_on_a_page_keeps_what_was_typed(
    session: Session, client: FlaskClient
) -> None:
    _call, _org, user, application = start(session, client)
    url = f"/applications/{application.id}/page/1"
    page = client.get(url).get_data(as_text=True)
    assert 'name="switch_language" value="fr" lang="fr"' in page
    switched = client.post(
        url, data={**form_of(client, url), "summary": "Typed in English", "switch_language": "fr"}
    )
    assert switched.status_code == 302 and switched.headers["Location"].endswith(url)
    again = client.get(url).get_data(as_text=True)
    assert '<html lang="fr"' in again and "Typed in English" in again
    session.expire_all()
    assert session.get(Application, application.id).answers["summary"] == "Typed in English"
    assert user.locale == "fr"
