"""What a signed-in browser sends: its session cookie as it stands after the first page, and
the User-Agent it was signed in with.

A hand-made cookie holding only the login token is not what a browser holds. flask-login
keeps an identifier of the browser in the session at sign-in, and the first page with a form
adds a CSRF token. Without them, the app writes a fresh signed cookie on every request (the
browser looks new each time), a cost no real browser pays after its first page.
"""

from __future__ import annotations

from typing import Any

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
