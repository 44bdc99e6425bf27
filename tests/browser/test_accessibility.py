"""Every applicant and grantee page, in English and French, on a 360×640 phone: axe-core
finds nothing serious or critical, the header keeps to one line, nothing scrolls sideways,
and a page with errors puts the keyboard on its error summary with JavaScript off.

axe-core is vendored in tests/browser/assets (MPL-2.0, header kept), so no network is
needed. Playwright's evaluate() still runs with JavaScript disabled, but a promise it
waits on never settles there, and axe.run is asynchronous: axe runs in a context with
JavaScript on. The applicant and grantee pages have no script of their own to behave
differently, and what they must do with JavaScript off (focus on the error summary,
fitting the screen) is checked in a context with it off.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from grantpool.accounts.models import User
from grantpool.calls.models import Call
from grantpool.demo import DEMO_DOMAIN, DEMO_PASSWORD, seed
from grantpool.grants.models import Grant
from grantpool.intake import services as intake
from grantpool.intake.models import Application
from grantpool.platform import pages
from grantpool.platform.time import now_utc
from tests.browser.conftest import LiveServer, run_in_app

AXE = (Path(__file__).parent / "assets" / "axe.min.js").read_text(encoding="utf-8")
PHONE = {"width": 360, "height": 640}
READERS = {"en": f"applicant@{DEMO_DOMAIN}", "fr": f"candidat@{DEMO_DOMAIN}"}


def _demo(server: LiveServer) -> dict[str, Any]:
    """The demo data, and for each applicant a fresh draft in an open call (its form pages
    and its check page), a submitted application and a grant of its organisation."""

    def load(session) -> dict[str, Any]:
        seed(session)
        now = now_utc()
        found: dict[str, Any] = {"call": None, "readers": {}}
        for lang, email in READERS.items():
            user = session.scalar(select(User).where(User.email == email))
            organisation = user.memberships[0].organisation
            calls = session.scalars(select(Call).order_by(Call.id)).all()
            open_call = next(c for c in calls if c.is_accepting(now))
            found["call"] = open_call.id
            draft = intake.start_application(session, user, open_call, organisation, language=lang)
            submitted = session.scalar(
                select(Application)
                .where(
                    Application.organisation_id == organisation.id,
                    Application.reference.is_not(None),
                )
                .order_by(Application.id)
            )
            grant = session.scalar(
                select(Grant).where(Grant.organisation_id == organisation.id).order_by(Grant.id)
            )
            found["readers"][lang] = {
                "email": email,
                "draft": draft.id,
                "submitted": submitted.id if submitted else None,
                "grant": grant.id if grant else None,
            }
        return found

    return run_in_app(server, load)


def _serve_pages(server: LiveServer) -> None:
    """The privacy notice's blueprint, in case create_app does not register it yet (see
    tests/platform/test_pages.py, which requires that it does)."""
    if "pages" not in server.app.blueprints:
        pages.init_app(server.app)


def _context(browser, lang: str, javascript: bool = True):
    return browser.new_context(
        viewport=PHONE,
        java_script_enabled=javascript,
        locale="fr-FR" if lang == "fr" else "en-GB",
    )


def _sign_in(page, server: LiveServer, email: str) -> None:
    page.goto(f"{server.url}/login")
    page.fill("#email", email)
    page.fill("#password", DEMO_PASSWORD)
    page.click("form[novalidate] button[type=submit]")
    assert page.url.rstrip("/") == server.url, page.url


def _axe_problems(page) -> list[str]:
    page.evaluate(AXE)  # defines window.axe; the page's own scripts are not involved
    violations = page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ["violations"]});
            return result.violations
                .filter(v => v.impact === "serious" || v.impact === "critical")
                .map(v => `${v.id} (${v.impact}): ${v.help} — ` +
                          v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(" | "));
        }"""
    )
    return list(violations)


def _layout_problems(page) -> list[str]:
    problems = []
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > PHONE["width"]:
        wide = page.evaluate(
            """() => [...document.querySelectorAll("main *")]
                .filter(e => e.getBoundingClientRect().right > 360)
                .slice(-3).map(e => e.tagName + "." + e.className + ": " +
                                    e.textContent.slice(0, 40))"""
        )
        problems.append(f"{width}px wide: {wide}")
    bar = page.evaluate(
        """() => {
            const bar = document.querySelector("header.site .header-bar");
            const items = [...bar.children].map(c => c.getBoundingClientRect());
            return {tops: items.map(r => Math.round(r.top + r.height / 2)),
                    height: bar.getBoundingClientRect().height};
        }"""
    )
    if max(bar["tops"]) - min(bar["tops"]) > 8 or bar["height"] > 48:
        problems.append(f"header takes more than one line: {bar}")
    return problems


def _check(page, label: str, found: dict[str, list[str]]) -> None:
    title = page.title()
    problems = _axe_problems(page) + _layout_problems(page)
    if not title.endswith("– grantpool"):
        problems.append(f"title {title!r} does not name the page")
    if problems:
        found[label] = problems
    found.setdefault("_titles", {})[page.url] = title


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_applicant_and_grantee_pages_pass_axe_on_a_small_phone(browser, live_server, lang):
    _serve_pages(live_server)
    demo = _demo(live_server)
    reader = demo["readers"][lang]
    url = live_server.url
    found: dict[str, list[str]] = {}

    visitor = _context(browser, lang).new_page()
    for path in ("/", "/calls", f"/calls/{demo['call']}", "/login", "/privacy"):
        visitor.goto(f"{url}{path}")
        _check(visitor, f"signed out {path}", found)
    visitor.goto(f"{url}/no-such-page")
    assert visitor.title().endswith("– grantpool")
    assert not _axe_problems(visitor)
    visitor.goto(f"{url}/calls/{demo['call']}/apply")  # registration, for a newcomer
    _check(visitor, "register", found)
    visitor.click("main form[novalidate] button[type=submit]")  # nothing filled in
    assert visitor.locator(".error-summary").count() == 1
    _check(visitor, "register with errors", found)
    visitor.context.close()

    page = _context(browser, lang).new_page()
    _sign_in(page, live_server, reader["email"])
    draft = f"{url}/applications/{reader['draft']}"
    paths = [
        "/my-applications",
        f"/calls/{demo['call']}/apply",
        f"/applications/{reader['draft']}",
        f"/applications/{reader['draft']}/page/0",
        f"/applications/{reader['draft']}/page/1",
        f"/applications/{reader['draft']}/check",
        "/grants/",
    ]
    if reader["submitted"]:
        paths.append(f"/applications/{reader['submitted']}")
    if reader["grant"]:
        paths += [f"/grants/{reader['grant']}", f"/grants/{reader['grant']}/reports/new"]
    for path in paths:
        page.goto(f"{url}{path}")
        _check(page, path, found)

    # Pages shown again with their errors.
    page.goto(f"{draft}/page/1")
    page.click("main form button[type=submit]:not([name])")
    assert page.locator(".error-summary").count() == 1
    _check(page, "form page with errors", found)
    page.goto(f"{draft}/check")
    page.click("main form button[type=submit]")
    assert page.locator(".error-summary").count() == 1
    _check(page, "check your answers with errors", found)
    if reader["grant"]:
        page.goto(f"{url}/grants/{reader['grant']}/reports/new")
        page.select_option("#kind", "financial")
        page.fill("#spent", "not a number")
        page.click("main form button[type=submit]")
        assert page.locator(".error-summary").count() == 1
        _check(page, "report with errors", found)
    page.context.close()

    titles = found.pop("_titles")
    assert not found, "\n".join(f"{where}: {p}" for where, ps in found.items() for p in ps)
    assert reader["grant"] and reader["submitted"], "the demo data lacks a page to look at"
    # A page shown again with its errors keeps its address: its title starts "Error:".
    assert len(set(titles.values())) == len(titles), f"titles not distinct: {titles}"


def test_the_error_summary_takes_focus_without_javascript(browser, live_server):
    demo = _demo(live_server)
    reader = demo["readers"]["en"]
    page = _context(browser, "en", javascript=False).new_page()
    _sign_in(page, live_server, reader["email"])

    page.goto(f"{live_server.url}/grants/{reader['grant']}/reports/new")
    page.select_option("#kind", "financial")
    page.fill("#spent", "not a number")
    page.click("main form button[type=submit]")
    assert page.title().startswith("Error: ")
    assert page.evaluate("document.activeElement.className") == "error-summary"
    # Each link goes to a field that exists and can take focus.
    for href in page.locator(".error-summary a").evaluate_all("as => as.map(a => a.hash)"):
        target = page.locator(href)
        assert target.count() == 1, href
        assert target.evaluate("el => el.matches('input, select, textarea, a, button')"), href
    field = page.locator("#spent")
    assert field.get_attribute("aria-invalid") == "true"
    described = field.get_attribute("aria-describedby").split()
    assert all(page.locator(f"#{i}").count() == 1 for i in described)
    assert "spent-error" in described

    page.goto(f"{live_server.url}/applications/{reader['draft']}/check")
    page.click("main form button[type=submit]")
    assert page.evaluate("document.activeElement.className") == "error-summary"
    first = page.locator(".error-summary a").first
    first.click()
    assert page.evaluate("document.activeElement.id") == first.get_attribute("href")[1:]
    page.context.close()


@pytest.mark.parametrize("who", ["visitor", "applicant", "staff"])
def test_the_header_keeps_to_one_line_on_a_small_phone(browser, live_server, who, tmp_path):
    _demo(live_server)
    for lang in ("en", "fr"):
        context = _context(browser, lang, javascript=False)
        page = context.new_page()
        if who == "applicant":
            _sign_in(page, live_server, READERS[lang])
        elif who == "staff":
            _sign_in(page, live_server, f"admin@{DEMO_DOMAIN}")
        page.goto(f"{live_server.url}/my-applications" if who == "applicant" else live_server.url)
        page.screenshot(path=str(tmp_path / f"header-{who}-{lang}.png"))
        assert _layout_problems(page) == [], (who, lang)
        context.close()
