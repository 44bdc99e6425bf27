"""The form macro writes only the attributes a field has: WTForms renders an attribute
given None as the word "None" (aria-describedby="None" points a screen reader at nothing,
inputmode="None" drops the keypad a field asked for)."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from tests.conftest import csrf_token


def _input(page: str, name: str) -> str:
    """The input with this id (the sign-in page has two email fields: the emailed link's
    and the password form's)."""
    match = re.search(rf'<input[^>]*id="{name}"[^>]*>', page)
    assert match, page
    return match.group(0)


def test_a_fresh_form_has_no_empty_attributes(client: FlaskClient) -> None:
    page = client.get("/login").get_data(as_text=True)
    assert '="None"' not in page
    email = _input(page, "email")
    assert 'autocomplete="username"' in email
    assert "aria-invalid" not in email and "aria-describedby" not in email


def test_a_field_in_error_points_at_its_message(client: FlaskClient) -> None:
    page = client.post(
        "/login", data={"email": "", "password": "", "csrf_token": csrf_token(client)}
    ).get_data(as_text=True)
    assert '="None"' not in page
    email = _input(page, "email")
    assert 'aria-invalid="true"' in email
    assert 'aria-describedby="email-error"' in email
    assert 'id="email-error"' in page
