"""The base layout works on a small phone with JavaScript off."""

from __future__ import annotations

from tests.browser.conftest import run_in_app
from tests.factories import PASSWORD, make_user


def _small_phone(browser, javascript: bool):
    return browser.new_context(
        viewport={"width": 360, "height": 640}, java_script_enabled=javascript, locale="fr-FR"
    )


def test_sign_in_and_switch_language_without_javascript(browser, live_server):
    email = run_in_app(live_server, lambda s: make_user(s, "fund_manager").email)
    context = _small_phone(browser, javascript=False)
    page = context.new_page()
    sizes: list[int] = []
    page.on("response", lambda r: sizes.append(len(r.body())) if r.ok and r.status != 302 else None)

    page.goto(f"{live_server.url}/login")
    assert page.locator("html").get_attribute("lang") == "fr"  # from Accept-Language
    assert page.locator("h1").inner_text() == "Se connecter"
    assert sum(sizes) < 60_000, f"login page weighs {sum(sizes)} bytes"

    page.fill("#email", email)
    page.fill("#password", "wrong password, surely")
    page.click("form[novalidate] button[type=submit]")
    assert page.locator(".error-summary").is_visible()

    page.fill("#password", PASSWORD)
    page.click("form[novalidate] button[type=submit]")
    assert "Bonjour" in page.locator("h1").inner_text()

    page.click("form.language button[value=en]")
    assert page.locator("h1").inner_text().startswith("Hello")
    context.close()


def test_pages_fit_a_360_pixel_screen(browser, live_server):
    email = run_in_app(live_server, lambda s: make_user(s, "admin").email)
    context = _small_phone(browser, javascript=True)
    page = context.new_page()
    page.goto(f"{live_server.url}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("form[novalidate] button[type=submit]")
    for path in (
        "/",
        "/funds/",
        "/organisations/",
        "/admin/users",
        "/admin/audit",
        "/account/tokens",
        "/funds/new",
    ):
        page.goto(f"{live_server.url}{path}")
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= 360, f"{path} is {overflow}px wide"
    context.close()
