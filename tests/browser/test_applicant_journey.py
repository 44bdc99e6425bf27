"""The whole applicant path on a cheap phone (360×640, JavaScript off), in each language:
a visitor reads who may apply and what is asked, registers, skips an optional file,
uploads a required one, leaves and comes back without sending it again, loses the
session mid-section and signs in by code with the typed answer still there, meets the
same draft open in two tabs, sends, and gets the receipt."""

from __future__ import annotations

import datetime as dt
import re
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from grantpool.intake.models import Application
from grantpool.platform.mail import OutboxMessage
from grantpool.platform.time import now_utc
from tests.browser.conftest import run_in_app
from tests.factories import make_call

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

QUESTIONS = [
    {
        "key": "summary",
        "kind": "long_text",
        "label": {"en": "What will you do?", "fr": "Que ferez-vous ?"},
        "required": True,
        "word_limit": 80,
        "section": "Project",
    },
    {
        "key": "photo",
        "kind": "file",
        "label": {"en": "A photo of the site", "fr": "Une photo du lieu"},
        "required": False,
        "file_kinds": ["photo"],
        "section": "Photo",
    },
    {
        "key": "plan",
        "kind": "file",
        "label": {"en": "Your work plan", "fr": "Votre plan de travail"},
        "required": True,
        "file_kinds": ["document"],
        "section": "Plan",
    },
    {
        "key": "budget",
        "kind": "budget_table",
        "label": {"en": "Main costs", "fr": "Principales dépenses"},
        "required": True,
        "section": "Budget",
    },
]


def _mails_to(live_server, email: str) -> list[str]:
    return run_in_app(
        live_server,
        lambda s: list(
            s.scalars(
                select(OutboxMessage.body_text)
                .where(OutboxMessage.to_address == email)
                .order_by(OutboxMessage.id)
            )
        ),
    )


def _code_in_new_mail(live_server, email: str, earlier: int) -> str:
    """The six-digit code of the first message after the `earlier` ones (it is queued
    just after the page has been sent)."""
    for _ in range(150):
        mails = _mails_to(live_server, email)
        if len(mails) > earlier:
            return re.search(r"\b(\d{6})\b", mails[earlier]).group(1)
        time.sleep(0.1)
    raise AssertionError(f"no new mail to {email}")


def _save(page) -> None:
    page.click("main form button[type=submit]:not([name]):not([tabindex])")


def _section(page) -> str:
    return page.url.rsplit("/", 1)[-1]


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_whole_path_from_a_small_phone(browser, live_server, tmp_path: Path, language):
    call_id = run_in_app(
        live_server,
        lambda s: (
            make_call(
                s,
                open_until=now_utc() + dt.timedelta(days=10),
                questions=QUESTIONS,
                title={"en": "Wells for villages", "fr": "Des puits pour les villages"},
                languages=["en", "fr"],
            ).id
        ),
    )
    plan = tmp_path / "plan.pdf"
    plan.write_bytes(PDF)
    email = f"amani-{language}@example.org"
    context = browser.new_context(viewport={"width": 360, "height": 640}, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/calls/{call_id}")
    if language != "en":
        page.click(f"header form.language button[value={language}]")
    assert page.locator("html").get_attribute("lang") == language

    # A visitor reads who may apply, what is asked and what to have ready.
    body = page.locator("main").inner_text()
    for label in QUESTIONS:
        assert label["label"][language] in body
    assert page.locator("main h2").count() >= 3

    # Registering, then the eligibility step and the amount.
    page.goto(f"{live_server.url}/calls/{call_id}/apply")
    page.fill("#organisation_name", f"Amani Water Group {language}")
    page.select_option("#org_type", "community_based")
    page.select_option("#country", "KE")
    page.fill("#contact_name", "Amani Wekesa")
    page.fill("#email", email)
    page.click("main form button[type=submit]")
    # The page asks for the code just mailed: it signs the new account in, and goes on.
    page.fill("#code", _code_in_new_mail(live_server, email, 0))
    page.click("main form button[type=submit]")
    page.click("main form button[type=submit]")  # start
    assert _section(page) == "0"
    page.fill("#q-requested_amount", "2500")
    _save(page)
    page.fill("#q-summary", "Two wells and a water committee.")
    _save(page)

    # The optional photo is skipped; the required plan is uploaded, then the draft left.
    assert _section(page) == "2" and page.locator("#q-photo").count() == 1
    _save(page)
    assert _section(page) == "3"
    hint = page.locator("#q-plan-limit").inner_text()
    assert "PDF" in hint and "10" in hint
    page.set_input_files("#q-plan", str(plan))
    page.click("main button[name=later]")
    assert "/my-applications" in page.url

    # Resumed: "Continue" opens the first section still to answer; the plan is kept.
    page.click("main a[href^='/applications/']")
    page.click("main a[href$='/continue']")
    assert _section(page) == "4"
    application_url = page.url.rsplit("/page/", 1)[0]
    page.goto(f"{application_url}/page/3")
    assert "plan.pdf" in page.locator(".kept-file").inner_text()
    _save(page)
    assert _section(page) == "4"

    # The session ends while the budget is being typed: the rows are kept over sign-in.
    page.fill("#q-budget", "Cement")
    page.fill("#q-budget-amount-1", "1 200,50" if language == "fr" else "1,200.50")
    context.clear_cookies()
    _save(page)
    assert "/login" in page.url
    earlier = len(_mails_to(live_server, email))
    page.fill("#link-email", email)
    page.click("main form button[formnovalidate]")
    page.fill("#code", _code_in_new_mail(live_server, email, earlier))
    page.click("main form button[type=submit]")
    assert page.url == f"{application_url}/page/4"
    assert page.input_value("#q-budget") == "Cement"
    assert page.locator("[role=status]").count() >= 1
    assert "reload" not in page.locator("main").inner_text().lower()

    # The same section open in a second tab: the later save shows both texts.
    other = context.new_page()
    other.goto(f"{application_url}/page/1")
    page.goto(f"{application_url}/page/1")
    other.fill("#q-summary", "Three wells, said the treasurer.")
    other.click("main form button[type=submit]:not([name]):not([tabindex])")
    page.fill("#q-summary", "Two wells and a committee, said the chair.")
    _save(page)
    conflict = page.locator("main").inner_text()
    assert "Three wells, said the treasurer." in conflict
    assert page.input_value("#q-summary") == "Two wells and a committee, said the chair."
    page.check("#keep-summary-typed")
    _save(page)
    other.close()

    # The budget again (the restored rows were never saved), then send.
    page.goto(f"{application_url}/page/4")
    page.fill("#q-budget", "Cement")
    page.fill("#q-budget-amount-1", "1 200,50" if language == "fr" else "1,200.50")
    _save(page)
    # Every call ends with the question the fund asks of all (how it can help the group).
    page.fill("#q-capacity_strengthening", "Bookkeeping training.")
    _save(page)
    assert page.url.endswith("/check")
    check = page.locator("main").inner_text()
    assert "Two wells and a committee, said the chair." in check and "plan.pdf" in check
    page.click("main form button[type=submit]")
    reference = page.locator("main strong").first.inner_text()
    assert reference.startswith("GP-")
    with page.expect_download() as download:
        page.click("main a[href$='receipt.pdf']")
    assert download.value.suggested_filename == f"{reference}.pdf"
    context.close()

    def stored(session):
        application = session.scalar(select(Application).where(Application.reference == reference))
        return application.state, application.answers["budget"], application.answers["plan"]

    state, budget, stored_plan = run_in_app(live_server, stored)
    assert state == "submitted"
    assert budget == [{"line": "Cement", "amount_minor": 120050}]
    assert stored_plan["name"] == "plan.pdf"
