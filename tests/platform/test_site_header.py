"""The header every page shares is rendered once per language and kind of reader, and
the per-request values (CSRF token, the page to come back to) are filled in each time."""

from __future__ import annotations

import re

from flask import Flask
from sqlalchemy.orm import Session

from grantpool.platform import templating
from tests.conftest import csrf_token, signed_in_client
from tests.factories import make_admin, make_organisation, make_user


def header(page: str) -> str:
    match = re.search(r'<header class="site">.*?</nav>', page, re.S)
    assert match, "no header on the page"
    return match.group(0)


def test_each_kind_of_reader_gets_its_own_links(app: Flask, session: Session) -> None:
    templating._headers.clear()
    admin = signed_in_client(app, make_admin(session))
    member = signed_in_client(app, make_user(session, organisations=[make_organisation(session)]))
    visitor = app.test_client()
    for _ in range(2):  # the second round is served from the kept header
        admin_header = header(admin.get("/calls").get_data(as_text=True))
        member_header = header(member.get("/calls").get_data(as_text=True))
        visitor_header = header(visitor.get("/calls").get_data(as_text=True))
        assert "Audit log" in admin_header and "Audit log" not in member_header
        assert "My applications" in member_header and "My applications" not in admin_header
        assert "Sign in" in visitor_header and "Sign out" not in visitor_header
        assert "Sign out" in admin_header and "Sign out" in member_header
    assert templating._headers.hits >= 3


def test_the_token_and_the_way_back_are_the_readers_own(app: Flask, session: Session) -> None:
    templating._headers.clear()
    first = app.test_client()
    second = app.test_client()
    first.get("/calls")  # fills the kept header
    page = second.get("/calls?country=KE&x=<b>").get_data(as_text=True)
    tokens = set(re.findall(r'name="csrf_token" value="([^"]+)"', header(page)))
    # The reader's own token: the same signed value (its signature carries the second it
    # was signed in, so two pages a second apart differ only there).
    assert {t.split(".")[0] for t in tokens} == {csrf_token(second).split(".")[0]}
    assert len(tokens) == 1
    # The page to come back to is this one, escaped; no placeholder is left behind.
    assert 'name="next" value="/calls?country=KE&amp;x=&lt;b&gt;"' in page
    assert "gp-slot" not in page
    # The header's language form works with the filled-in token.
    response = second.post(
        "/language", data={"locale": "fr", "next": "/calls", "csrf_token": tokens.pop()}
    )
    assert response.status_code == 302


def test_the_header_follows_the_language(app: Flask, session: Session) -> None:
    templating._headers.clear()
    client = app.test_client()
    english = header(client.get("/calls").get_data(as_text=True))
    french = header(client.get("/calls", headers={"Accept-Language": "fr"}).get_data(as_text=True))
    assert ">Calls<" in english
    assert english != french and ">Calls<" not in french


def test_sign_in_in_the_header_comes_back_to_the_page(app: Flask, session: Session) -> None:
    templating._headers.clear()
    visitor = app.test_client()
    for path, back in (
        ("/calls?page=2", "next=%2Fcalls%3Fpage%3D2"),
        ("/privacy", "next=%2Fprivacy"),
    ):
        assert f'href="/login?{back}"' in header(visitor.get(path).get_data(as_text=True))
    # Not from the sign-in page itself.
    assert 'href="/login?"' in header(visitor.get("/login").get_data(as_text=True))


def test_an_unnamed_fund_manager_is_named_in_the_readers_language(app: Flask) -> None:
    page = app.test_client().get("/calls", headers={"Accept-Language": "fr"})
    footer = page.get_data(as_text=True).split('<footer class="site">', 1)[1]
    assert "the fund manager" not in footer and "gestionnaire du fonds" in footer
