"""What an applicant on a slow, paid-by-the-megabyte link downloads: compressed pages, a
stylesheet fetched once and cached for a year, a favicon that answers."""

from __future__ import annotations

import datetime as dt
import gzip
import re
from pathlib import Path
from typing import Any

import brotli
import pytest
from flask import Flask, render_template, url_for
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from grantpool.intake.models import Application
from grantpool.platform.assets import IMMUTABLE, StaticFingerprints
from tests.calls.test_views import token_from
from tests.factories import make_call
from tests.intake.test_views import sign_in_as_member

# Each applicant page with the static files it links and the favicon, as a phone
# downloads them the first time (gzip; brotli is smaller still).
PAGE_BUDGET = 15 * 1024
GZIP = {"Accept-Encoding": "gzip"}
BROWSER = {"Accept-Encoding": "gzip, deflate, br, zstd"}


def soon() -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(days=10)


def stylesheet_url(app: Flask) -> str:
    with app.test_request_context():
        return url_for("static", filename="grantpool.css")


def _without_tokens(page: bytes) -> bytes:
    """The page less its CSRF tokens, which are signed with the second they were made in
    (two requests either side of a second differ there)."""
    return re.sub(rb'(name="csrf_token" value=")[^"]*', rb"\1", page)


def test_pages_are_compressed_for_clients_that_ask(session: Session, client: FlaskClient) -> None:
    call = make_call(session, open_until=soon())
    path = f"/calls/{call.id}"
    plain = client.get(path)
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers
    assert "Accept-Encoding" in plain.headers["Vary"]
    html = _without_tokens(plain.get_data())

    zipped = client.get(path, headers=GZIP)
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert int(zipped.headers["Content-Length"]) == len(zipped.data) < len(html)
    assert _without_tokens(gzip.decompress(zipped.data)) == html

    best = client.get(path, headers=BROWSER)
    assert best.headers["Content-Encoding"] == "br"
    assert _without_tokens(brotli.decompress(best.data)) == html

    refused = client.get(path, headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in refused.headers and _without_tokens(refused.data) == html


@pytest.mark.parametrize("mimetype", ["application/pdf", "image/png", "text/html"])
def test_only_text_formats_are_compressed(app: Flask, mimetype: str) -> None:
    from flask import Response

    app.add_url_rule(
        f"/weight-probe/{mimetype}",
        f"weight_probe_{mimetype}",
        lambda: Response(b"x" * 5000, mimetype=mimetype),
    )
    answer = app.test_client().get(f"/weight-probe/{mimetype}", headers=GZIP)
    expected = "gzip" if mimetype.startswith("text/") else None
    assert answer.headers.get("Content-Encoding") == expected


def test_a_streamed_export_stays_streamed_when_compressed(client: FlaskClient) -> None:
    plain = client.get("/open-data/360giving.csv")
    assert plain.status_code == 200 and plain.is_streamed
    text = plain.get_data()

    zipped = client.get("/open-data/360giving.csv", headers=GZIP, buffered=False)
    assert zipped.is_streamed and zipped.headers["Content-Encoding"] == "gzip"
    assert "Content-Length" not in zipped.headers
    assert gzip.decompress(b"".join(zipped.response)) == text
    zipped.close()


def test_fingerprinted_stylesheet_is_cached_for_a_year(app: Flask, client: FlaskClient) -> None:
    url = stylesheet_url(app)
    assert re.fullmatch(r"/static/grantpool\.css\?v=[0-9a-f]{12}", url)
    with client.get(url, headers=GZIP) as css:
        assert css.status_code == 200
        assert css.headers["Cache-Control"] == IMMUTABLE == "public, max-age=31536000, immutable"
        assert css.headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(css.data).startswith(b"/* grantpool")

    for unfingerprinted in ("/static/grantpool.css", "/static/grantpool.css?v=0123456789ab"):
        with client.get(unfingerprinted) as short:
            assert short.status_code == 200
            assert short.headers["Cache-Control"] == "public, max-age=300"


def test_the_fingerprint_follows_the_content(tmp_path: Path) -> None:
    (tmp_path / "app.css").write_text("body{color:#000}")
    (tmp_path / "icons").mkdir()
    (tmp_path / "icons" / "mark.svg").write_text("<svg/>")
    fixed = StaticFingerprints(tmp_path)
    watched = StaticFingerprints(tmp_path, watch=True)
    before = fixed.digest("app.css")
    assert before == watched.digest("app.css") and fixed.digest("icons/mark.svg")
    assert fixed.digest("missing.css") is None and fixed.digest("../app.css") is None

    (tmp_path / "app.css").write_text("body{color:#111}")
    assert fixed.digest("app.css") == before  # computed once, at the start
    assert watched.digest("app.css") not in (None, before)  # development sees the edit
    assert StaticFingerprints(tmp_path).digest("app.css") == watched.digest("app.css")


def test_favicon_answers(app: Flask, client: FlaskClient) -> None:
    with client.get("/favicon.ico") as icon:
        assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
        svg = icon.data
    assert svg.startswith(b"<svg") and len(svg) < 1024
    with app.test_request_context():
        head = render_template("_head_assets.html")
        linked = url_for("static", filename="favicon.svg")
    assert f'<link rel="icon" href="{linked}" type="image/svg+xml">' in head
    with client.get(linked) as linked_icon:
        assert linked_icon.data == svg


def test_every_page_links_the_favicon(session: Session, client: FlaskClient) -> None:
    """base.html includes _head_assets.html in its head."""
    call = make_call(session, open_until=soon())
    page = client.get(f"/calls/{call.id}").get_data(as_text=True)
    head = page.split("</head>")[0]
    assert 'rel="icon"' in head and "grantpool.css?v=" in head


STATIC_ASSET = re.compile(r'(?:href|src)="(/static/[^"]+)"')


def weigh(client: FlaskClient, path: str, *, with_assets: bool = False) -> int:
    """The bytes a page takes on the wire, gzipped; with_assets: and every static file
    it links (stylesheet, scripts, icon), as a first visit downloads them."""
    with client.get(path, headers=GZIP) as page:
        assert page.status_code == 200, (path, page.status_code)
        assert page.headers.get("Content-Encoding") == "gzip", path
        size = len(page.data)
        html = gzip.decompress(page.data).decode()
    if with_assets:
        for asset in set(STATIC_ASSET.findall(html.replace("&amp;", "&"))):
            with client.get(asset, headers=GZIP) as answer:
                assert answer.status_code == 200, asset
                size += len(answer.data)
    return size


def applicant_pages(session: Session, client: FlaskClient) -> dict[str, int]:
    """The gzipped weight of every page of the applicant's path with its static files,
    for a call asking every kind of question: signed out, then signed in."""
    questions: list[dict[str, Any]] = [
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
    pages = {
        "open calls": "/calls",
        "call page": f"/calls/{call.id}",
        "registration": "/register",
        "sign-in": "/login",
        "sign-in code": "/sign-in/code",
    }
    anonymous = {name: weigh(client, path, with_assets=True) for name, path in pages.items()}
    sign_in_as_member(session, client)
    token = token_from(client, "/")
    client.post(f"/calls/{call.id}/apply", data={"csrf_token": token})
    application = session.scalar(select(Application).where(Application.call_id == call.id))
    assert application is not None
    base = f"/applications/{application.id}"
    number = 0
    while client.get(f"{base}/page/{number}").status_code == 200:
        pages[f"form page {number}"] = f"{base}/page/{number}"
        number += 1
    assert number >= 5
    pages["check page"] = f"{base}/check"
    pages["my applications"] = "/my-applications"
    return {
        **anonymous,
        **{name: weigh(client, path) for name, path in pages.items() if name not in anonymous},
    }


def test_each_applicant_page_with_its_assets_is_under_15_kb(
    app: Flask, session: Session, client: FlaskClient
) -> None:
    with client.get("/favicon.ico") as favicon:  # asked for by browsers whatever the page
        icon = len(favicon.data)
    weights = {name: size + icon for name, size in applicant_pages(session, client).items()}
    assert weights["call page"] > 2 * 1024  # the stylesheet and the favicon are counted
    heaviest = max(weights, key=lambda name: weights[name])
    assert weights[heaviest] < PAGE_BUDGET, (heaviest, weights)
