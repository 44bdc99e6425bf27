"""What an applicant asks the intake services to do, as typed values.

The registration form (forms.py) reads what was typed into a frozen dataclass; the service
checks it as the organisation and account services do (a name, a country, an address
that can be written to), so every problem is reported at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..platform.cells import typed_text


@dataclass(frozen=True)
class Registration:
    """An organisation and its contact person, as typed. `contact_name` and `email` are
    None for someone signed in: the organisation is theirs, and reached at their address."""

    organisation_name: str
    org_type: str
    country: str
    area: str | None = None
    registration_number: str | None = None
    contact_name: str | None = None
    email: str | None = None
    phone: str | None = None


def registration(
    *,
    organisation_name: object,
    org_type: object,
    country: object,
    area: object = None,
    registration_number: object = None,
    contact_name: object = None,
    email: object = None,
    phone: object = None,
) -> Registration:
    """A registration as typed: texts trimmed, an empty optional one None."""
    return Registration(
        organisation_name=typed_text(organisation_name),
        org_type=typed_text(org_type),
        country=typed_text(country),
        area=typed_text(area) or None,
        registration_number=typed_text(registration_number) or None,
        contact_name=None if contact_name is None else typed_text(contact_name),
        email=None if email is None else typed_text(email),
        phone=typed_text(phone) or None,
    )
