"""A small organisation applies on a cheap phone: 360×640, JavaScript off, every page light."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from grantpool.intake.models import Application
from grantpool.platform.mail import OutboxMessage
from grantpool.platform.time import now_utc
from tests.browser.conftest import newest_mail, run_in_app
from tests.factories import make_call

PAGE_LIMIT = 60_000


class Weigher:
    """Adds up the bytes each page transfers (HTML and its assets, uploads excluded)."""

    def __init__(self, page) -> None:
        self.current = 0
        self.heaviest = (0, "")
        page.on("response", self._count)
        page.on("framenavigated", self._new_page)
        self.page = page

    def _new_page(self, frame) -> None:
        if frame == self.page.main_frame:
            self.current = 0

    def _count(self, response) -> None:
        if response.status in (301, 302, 303, 304):
            return
        try:
            size = len(response.body())
        except Exception:
            return
        self.current += size
        if self.current > self.heaviest[0]:
            self.heaviest = (self.current, response.url)


def _continue(page) -> None:
    page.click("main button:has-text('Save and continue')")


def test_apply_from_a_small_phone_without_javascript(browser, live_server):
    call_id = run_in_app(
        live_server, lambda s: make_call(s, open_until=now_utc() + dt.timedelta(days=10)).id
    )
    context = browser.new_context(viewport={"width": 360, "height": 640}, java_script_enabled=False)
    page = context.new_page()
    weigher = Weigher(page)

    page.goto(f"{live_server.url}/calls")
    page.click(f"a[href='/calls/{call_id}']")
    page.goto(f"{live_server.url}/calls/{call_id}/apply")
    # Minimal registration, no password.
    page.fill("#organisation_name", "Kisumu Youth Collective")
    page.select_option("#org_type", "community_based")
    page.select_option("#country", "KE")
    page.fill("#contact_name", "Achieng Otieno")
    page.fill("#email", "achieng@example.org")
    page.click("main form button[type=submit]")
    # The code just mailed signs the new account in, and the call's form goes on.
    assert page.locator("h1").inner_text() == "Check your email"
    mail = newest_mail(live_server, "achieng@example.org")
    page.fill("#code", re.search(r"\b(\d{6})\b", mail).group(1))
    page.click("main form button[type=submit]")
    assert page.locator("h1").inner_text() == "Can you apply?"
    page.click("main button:has-text('Start')")

    # Out of bounds: refused with the bounds shown, the typed amount kept.
    page.fill("#q-requested_amount", "9000")
    _continue(page)
    assert "between $1,000.00 and $5,000.00" in page.locator(".error-summary").inner_text()
    assert page.input_value("#q-requested_amount") == "9000"
    page.fill("#q-requested_amount", "2500")
    _continue(page)

    # Over the word limit: the message sits beside the field and the text is kept.
    too_long = " ".join(["water"] * 60)
    page.fill("#q-summary", too_long)
    _continue(page)
    assert page.locator(".error-summary").is_visible()
    assert page.input_value("#q-summary") == too_long
    page.fill("#q-summary", "We will repair two wells and train a water committee.")

    # Save and finish later, then come back to the draft.
    page.click("main button:has-text('Save and finish later')")
    page.goto(f"{live_server.url}/my-applications")
    page.click("main a:has-text('Draft')")
    page.click("main a:has-text('Continue your application')")
    # The first section still to answer, not step 1; the one before it kept its text.
    assert page.locator("#q-has_partner").count() == 1
    page.click("main a:has-text('Back')")
    assert page.input_value("#q-summary").startswith("We will repair two wells")
    _continue(page)

    page.check("#q-has_partner")  # yes: the follow-up question is asked
    _continue(page)
    page.fill("#q-partner_name", "Lake Women Group")
    _continue(page)
    page.fill("#q-capacity_strengthening", "Bookkeeping training for our treasurer.")
    _continue(page)

    assert page.locator("h1").inner_text() == "Check your answers before sending"
    body = page.locator("main").inner_text()
    for answer in ("2500 USD", "two wells", "Lake Women Group", "Bookkeeping"):
        assert answer in body
    page.click("main button:has-text('Send application')")

    assert page.locator("h1").inner_text() == "Application received"
    reference = page.locator("main strong").first.inner_text()
    assert reference.startswith("GP-")
    assert weigher.heaviest[0] < PAGE_LIMIT, f"heaviest page: {weigher.heaviest}"
    context.close()

    def stored(session):
        application = session.scalar(select(Application).where(Application.reference == reference))
        mails = session.scalars(
            select(OutboxMessage).where(OutboxMessage.to_address == "achieng@example.org")
        ).all()
        return application.state, application.channel, application.requested_minor, len(mails)

    state, channel, requested, mails = run_in_app(live_server, stored)
    assert (state, channel, requested) == ("submitted", "web", 250000)
    assert mails >= 1
