from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, HiddenField, SelectField, StringField

from ..organisations.rules import (
    ORGANISATION_TYPE_LABELS,
    country_choices,
    place_area_choices,
)
from ..platform.forms import Form
from .commands import Registration, registration


class RegistrationForm(Form):
    organisation_name = StringField(_l("Name of your organisation or group"))
    org_type = SelectField(_l("What kind of organisation is it?"))
    country = SelectField(_l("Country where you work"))
    # The chosen country's ISO 3166-2 areas (see __init__); static/js/area.js follows the
    # country select as it changes.
    area = SelectField(
        _l("Area (optional)"),
        validate_choice=False,
        render_kw={"data-area-of": "country", "data-search-label": _l("Type to find an area")},
    )
    registration_number = StringField(
        _l("Registration number (optional)"),
        description=_l("Leave empty if your group is not registered. Informal groups are welcome."),
    )
    contact_name = StringField(_l("Your name"))
    email = EmailField(_l("Email address"), description=_l("We send your sign-in links here."))
    phone = StringField(_l("Phone number (optional)"))

    def __init__(self, *args: Any, signed_in: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.org_type.choices = [("", "")] + [
            (k.value, str(v)) for k, v in ORGANISATION_TYPE_LABELS.items()
        ]
        self.country.choices = [("", ""), *country_choices()]
        self.area.choices = place_area_choices(self.country.data)
        if signed_in:
            del self.contact_name
            del self.email

    def command(self) -> Registration:
        """What was typed; a signed-in person's name and address are their account's."""
        signed_in = "email" not in self._fields
        return registration(
            organisation_name=self.organisation_name.data,
            org_type=self.org_type.data,
            country=self.country.data,
            area=self.area.data,
            registration_number=self.registration_number.data,
            contact_name=None if signed_in else self.contact_name.data or "",
            email=None if signed_in else self.email.data or "",
            phone=self.phone.data,
        )


class SignInCodeForm(Form):
    email = EmailField(_l("Email address"))
    code = StringField(
        _l("Code from the email"), description=_l("Six digits. It works once, for two hours.")
    )
    next = HiddenField()
