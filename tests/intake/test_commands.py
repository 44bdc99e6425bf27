"""The registration form read into a typed command."""

from __future__ import annotations

from flask import Flask

from grantpool.intake.commands import Registration, registration
from grantpool.intake.forms import RegistrationForm


def test_a_registration_is_read_with_empty_optional_texts_as_none() -> None:
    assert registration(
        organisation_name=" Mama Mboga Group ",
        org_type="community_based",
        country="KE",
        area="",
        registration_number="  ",
        contact_name=" Amina ",
        email="amina@example.org ",
        phone=None,
    ) == Registration(
        organisation_name="Mama Mboga Group",
        org_type="community_based",
        country="KE",
        contact_name="Amina",
        email="amina@example.org",
    )


def test_a_signed_in_persons_form_carries_no_name_or_address(app: Flask) -> None:
    with app.test_request_context(
        "/register",
        method="POST",
        data={"organisation_name": "Wells", "org_type": "ngo", "country": "UG", "email": "x@y"},
    ):
        signed_in = RegistrationForm(signed_in=True).command()
        signed_out = RegistrationForm().command()
    assert signed_in.contact_name is None and signed_in.email is None
    assert signed_out.email == "x@y" and signed_out.contact_name == ""
    assert signed_in.organisation_name == "Wells" and signed_in.country == "UG"
