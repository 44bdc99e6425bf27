from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, SelectField, StringField
from wtforms.validators import Length, Optional

from ..platform.forms import Form
from .rules import ORGANISATION_TYPE_LABELS, country_choices


class OrganisationForm(Form):
    name = StringField(_l("Organisation name"), validators=[Length(max=300)])
    short_name = StringField(
        _l("Short name or acronym (optional)"), validators=[Optional(), Length(max=60)]
    )
    org_type = SelectField(_l("Kind of organisation"))
    country = SelectField(_l("Country"))
    area = StringField(
        _l("Region or province code (optional)"),
        validators=[Optional(), Length(max=10)],
        description=_l("ISO 3166-2 code, for example KE-47 for Nairobi."),
    )
    locality = StringField(
        _l("Town or district (optional)"), validators=[Optional(), Length(max=200)]
    )
    registered = BooleanField(_l("The organisation is legally registered"))
    registration_number = StringField(
        _l("Registration number (optional)"), validators=[Optional(), Length(max=100)]
    )
    org_id = StringField(
        _l("org-id.guide identifier (optional)"),
        validators=[Optional(), Length(max=100)],
        description=_l("For example KE-NGB-1234. Leave empty if you do not have one."),
    )
    women_led = BooleanField(_l("Women-led"))
    youth_led = BooleanField(_l("Youth-led"))
    refugee_migrant_led = BooleanField(_l("Refugee- or migrant-led"))
    disability_led = BooleanField(_l("Led by people with disabilities"))
    contact_email = EmailField(
        _l("Contact email (optional)"), validators=[Optional(), Length(max=320)]
    )
    contact_phone = StringField(
        _l("Contact phone (optional)"), validators=[Optional(), Length(max=40)]
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.org_type.choices = [("", "")] + [
            (t.value, str(label)) for t, label in ORGANISATION_TYPE_LABELS.items()
        ]
        self.country.choices = [("", ""), *country_choices()]

    def values(self) -> dict[str, object]:
        return {name: field.data for name, field in self._fields.items()}
