"""What a signed-in browser sends: its session cookie as it stands after the first page, and
the User-Agent it was signed in with.

A hand-made cookie holding only the login token is not what a browser holds. flask-login
keeps an identifier of the browser in the session at sign-in, and the first page with a form
adds a CSRF token. Without them, the app writes a fresh signed cookie on every request (the
browser looks new each time), a cost no real browser pays after its first page.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grantpool.platform import migrations

BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"


def headers(cookie: str) -> dict[str, str]:
    return {"Cookie": f"session={cookie}", "User-Agent": BROWSER}


def signed_in_cookie(app: Any, user: Any) -> str:
    """Sign `user` in through the real login-session service, as login_user would, then open
    their account page once from the load generator's address and keep the cookie the app
    sets. Runs inside an app context; commits."""
    from flask_login.utils import _create_identifier

    from grantpool.accounts.services import start_login_session
    from grantpool.extensions import db

    token = start_login_session(db.session, user, BROWSER)
    db.session.commit()
    environ = {"REMOTE_ADDR": "127.0.0.1", "HTTP_USER_AGENT": BROWSER}
    with app.test_request_context(environ_base=environ):
        browser_id = _create_identifier()
    serializer = app.session_interface.get_signing_serializer(app)
    client = app.test_client()
    client.set_cookie(
        "session", serializer.dumps({"_user_id": token, "_fresh": True, "_id": browser_id})
    )
    response = client.get("/", environ_base=environ)
    if response.status_code != 200:
        raise RuntimeError(f"the bench user's account page answered {response.status_code}")
    cookie = client.get_cookie("session")
    if cookie is None or "csrf_token" not in str(serializer.loads(cookie.value)):
        raise RuntimeError("the account page did not give the browser a CSRF token")
    again = client.get("/", environ_base=environ)
    if again.headers.get("Set-Cookie"):
        raise RuntimeError("the app still rewrites this browser's cookie on every page")
    return str(cookie.value)


# The applicant's path on an emulated 2G link ---------------------------------------------
#
#     .venv/bin/python -m bench.browser --slow-link     (or: make bench-slow-link)
#
# Serves grantpool with gunicorn on loopback (production settings, demo data in SQLite)
# and walks the applicant's pages in Debian's Chromium, its network throttled through the
# DevTools protocol: for each page, the time from navigation to the load event and the
# bytes on the wire (headers and compressed bodies, assets included), and the time of the
# submit POST. Prints a Markdown table. Not a timed test: numbers to read.

SLOW_LINK = {  # DevTools' "2G": throughputs in bytes per second
    "offline": False,
    "latency": 300,
    "downloadThroughput": 250 * 1000 / 8,
    "uploadThroughput": 50 * 1000 / 8,
}
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
APPLICANT_EMAIL = "slow.link@example.org"


class Transfers:
    """Bytes on the wire and requests, counted from the DevTools Network events; what the
    browser took from its cache is listed apart (it costs no bytes and no round trip)."""

    def __init__(self, cdp: Any) -> None:
        self._urls: dict[str, str] = {}
        self._cached: set[str] = set()
        self.reset()
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.requestServedFromCache", self._from_cache)
        cdp.on("Network.responseReceived", self._received)
        cdp.on("Network.loadingFinished", self._finished)

    def _sent(self, event: dict[str, Any]) -> None:
        self._urls[event["requestId"]] = event["request"]["url"]

    def _from_cache(self, event: dict[str, Any]) -> None:
        self._cached.add(event["requestId"])

    def _received(self, event: dict[str, Any]) -> None:
        if event["response"].get("fromDiskCache") or event["response"].get("fromPrefetchCache"):
            self._cached.add(event["requestId"])

    def _finished(self, event: dict[str, Any]) -> None:
        url = self._urls.get(event["requestId"], "?")
        name = url.rsplit("/", 1)[-1].split("?")[0] or "(page)"
        if event["requestId"] in self._cached:
            self.cached.append(name)
            return
        self.bytes += int(event.get("encodedDataLength") or 0)
        self.requests += 1
        self.fetched.append(name)

    def reset(self) -> None:
        self.bytes, self.requests = 0, 0
        self.fetched: list[str] = []
        self.cached: list[str] = []


@dataclass
class Measured:
    page: str
    seconds: float
    bytes: int
    requests: int
    fetched: str


def _load_seconds(page: Any) -> float:
    timing = page.evaluate(
        "() => { const n = performance.getEntriesByType('navigation')[0];"
        " return n ? n.loadEventEnd - n.startTime : -1; }"
    )
    return float(timing) / 1000


def _fill_form_page(page: Any) -> None:
    """Answer whatever the page asks, plausibly: a small phone's applicant, in a hurry."""
    for field in page.locator("main form input, main form textarea, main form select").all():
        kind = (field.get_attribute("type") or field.evaluate("e => e.tagName")).lower()
        name = field.get_attribute("name") or ""
        if kind in {"hidden", "submit", "file", "button"} or not field.is_visible():
            continue
        if kind == "select":
            values = [o for o in field.locator("option").all() if o.get_attribute("value")]
            if values and not field.input_value():
                field.select_option(values[0].get_attribute("value"))
        elif kind in {"radio", "checkbox"}:
            group = page.locator(f"main form input[name='{name}']")
            if not any(g.is_checked() for g in group.all()):
                # "no" to a yes/no question: the shortest way through.
                group.last.check() if kind == "radio" else field.check()
        elif not field.input_value():
            numeric = kind == "number" or field.get_attribute("inputmode") in {"numeric", "decimal"}
            if numeric or "amount" in name:
                field.fill("2500" if "amount" in name else "120")
            elif kind == "textarea":
                field.fill("We will repair two wells and train a water committee.")
            else:
                field.fill("Lake Women Group")


def _walk(
    browser_type: Any, base: str, call_id: int, mailed_code: Callable[[], str]
) -> list[Measured]:
    browser = browser_type.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    context = browser.new_context(viewport={"width": 360, "height": 640})
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", SLOW_LINK)
    transfers = Transfers(cdp)
    measured: list[Measured] = []

    def measure(name: str, go: Callable[[], Any]) -> None:
        transfers.reset()
        started = time.monotonic()
        go()
        page.wait_for_load_state("load")
        wall = time.monotonic() - started
        page.wait_for_timeout(50)  # a favicon asked for after the load event
        timing = _load_seconds(page)
        fetched = ", ".join(transfers.fetched)
        if transfers.cached:
            fetched += f" (from cache: {', '.join(transfers.cached)})"
        measured.append(
            Measured(
                name, timing if timing > 0 else wall, transfers.bytes, transfers.requests, fetched
            )
        )

    def goto_url(url: str) -> Callable[[], Any]:
        return lambda: page.goto(url, wait_until="load")

    def goto(path: str) -> Callable[[], Any]:
        return goto_url(base + path)

    def click(selector: str) -> Callable[[], Any]:
        def go() -> None:
            with page.expect_navigation(wait_until="load"):
                page.click(selector)

        return go

    measure("open calls", goto("/calls"))
    measure("call page", goto(f"/calls/{call_id}"))
    measure("sign-in", goto("/login"))
    measure("register", goto(f"/calls/{call_id}/apply"))
    page.fill("#organisation_name", "Kisumu Youth Collective")
    page.select_option("#org_type", "community_based")
    page.select_option("#country", "KE")
    page.fill("#contact_name", "Achieng Otieno")
    page.fill("#email", APPLICANT_EMAIL)
    measure("register: send (POST)", click("main form button[type=submit]"))
    # The page asks for the code just mailed: it signs the new account in.
    page.fill("#code", mailed_code())
    measure("code: send (POST)", click("main form button[type=submit]"))
    measure("start: send (POST)", click("main button:has-text('Start')"))
    number = 0
    while page.locator("main button:has-text('Save and continue')").count():
        here = page.url
        measure(f"form page {number}", goto_url(here))
        _fill_form_page(page)
        measure(
            f"form page {number}: save (POST)", click("main button:has-text('Save and continue')")
        )
        if page.url == here and page.locator(".error-summary").count():
            raise RuntimeError(
                f"form page {number} refused: {page.locator('.error-summary').inner_text()}"
            )
        number += 1
        if number > 20:
            raise RuntimeError("the form does not end")
    measure("check", goto_url(page.url))
    measure("submit (POST)", click("main button:has-text('Send application')"))
    measure("receipt page", goto_url(page.url))
    measure("my applications", goto("/my-applications"))
    context.close()
    browser.close()
    return measured


def print_slow_link_table(measured: list[Measured]) -> None:
    print(
        "\ngrantpool applicant path on an emulated 2G link (250 kbit/s down, 50 kbit/s up, "
        "300 ms latency), Chromium, 360×640\n"
    )
    print("| page | load (s) | bytes on the wire | requests | fetched over the network |")
    print("| --- | ---: | ---: | ---: | --- |")
    for m in measured:
        print(f"| {m.page} | {m.seconds:.2f} | {m.bytes:,} | {m.requests} | {m.fetched} |")
    pages = [m for m in measured if "POST" not in m.page]
    print(
        f"\nheaviest page: {max(pages, key=lambda m: m.bytes).page} "
        f"({max(m.bytes for m in pages):,} bytes); slowest: "
        f"{max(pages, key=lambda m: m.seconds).page} ({max(m.seconds for m in pages):.2f} s)"
    )


def _seed(url: str, workdir: Path) -> int:
    """Demo data (the same `make run` loads); returns the open call's id."""
    from sqlalchemy import select

    from grantpool import create_app
    from grantpool.calls.models import Call
    from grantpool.demo import seed
    from grantpool.extensions import db

    app = create_app(
        {
            "ENV": "testing",
            "SECRET_KEY": "bench-slow-link",
            "DATABASE_URL": url,
            "STORAGE_URL": (workdir / "uploads").as_uri(),
            "MAIL_SEND_ON_COMMIT": False,
        }
    )
    with app.app_context():
        seed(db.session)
        db.session.commit()
        call_id = db.session.scalar(select(Call.id).where(Call.state == "open").order_by(Call.id))
    app.extensions["grantpool.db"].dispose()
    if call_id is None:
        raise RuntimeError("the demo data has no open call")
    return int(call_id)


def _code_mailed_to(url: str, email: str) -> Callable[[], str]:
    """The six-digit code of the newest mail to `email` in the database at `url`."""

    def code() -> str:
        import re

        from sqlalchemy import create_engine, select

        from grantpool.platform.mail import OutboxMessage

        engine = create_engine(url)
        try:
            with engine.connect() as connection:
                body = connection.scalar(
                    select(OutboxMessage.body_text)
                    .where(OutboxMessage.to_address == email)
                    .order_by(OutboxMessage.id.desc())
                    .limit(1)
                )
        finally:
            engine.dispose()
        found = re.search(r"\b(\d{6})\b", body or "")
        if found is None:
            raise RuntimeError(f"no sign-in code was mailed to {email}")
        return found.group(1)

    return code


def slow_link(
    base_url: str | None = None, call_id: int | None = None, database: str | None = None
) -> int:
    from playwright.sync_api import sync_playwright

    from bench import run

    if not Path(CHROMIUM).exists():
        print(
            f"the slow-link bench needs Chromium at {CHROMIUM} (apt-get install chromium)",
            file=sys.stderr,
        )
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="grantpool-slow-link-"))
    process: subprocess.Popen[bytes] | None = None
    try:
        if base_url is None:
            url = database = run.prepare_database("sqlite", workdir)
            migrations.upgrade(url)
            call_id = _seed(url, workdir)
            port = run.free_port()
            base_url = f"http://127.0.0.1:{port}"
            env = run.app_environment(url, workdir)
            env["GRANTPOOL_BASE_URL"] = base_url
            process = subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "gunicorn"),
                    "--workers",
                    "2",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--log-level",
                    "warning",
                    "wsgi:app",
                ],
                cwd=run.ROOT,
                env=env,
            )
            run.wait_until_up(base_url, process)
        if call_id is None or database is None:
            raise SystemExit("--call and --database are needed with --base-url")
        with sync_playwright() as playwright:
            measured = _walk(
                playwright.chromium, base_url, call_id, _code_mailed_to(database, APPLICANT_EMAIL)
            )
        print_slow_link_table(measured)
        return 0
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="grantpool in a browser on a slow link")
    parser.add_argument(
        "--slow-link",
        action="store_true",
        required=True,
        help="walk the applicant's path on an emulated 2G link",
    )
    parser.add_argument("--base-url", help="a running grantpool (default: start one on loopback)")
    parser.add_argument("--call", type=int, help="the open call's id (with --base-url)")
    parser.add_argument(
        "--database", help="its database URL, to read the mailed sign-in code (with --base-url)"
    )
    args = parser.parse_args(argv)
    return slow_link(args.base_url, args.call, args.database)


if __name__ == "__main__":
    raise SystemExit(main())
