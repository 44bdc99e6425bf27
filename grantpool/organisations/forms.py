from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, SelectField, StringField
from wtforms.validators import Length, Optional

from ..platform.forms import Form
from ..platform.money import Money
from .commands import OrganisationDetails, organisation_details
from .models import Organisation
from .rules import ORGANISATION_TYPE_LABELS, country_choices, place_area_choices


class OrganisationForm(Form):
    name = StringField(_l("Organisation name"), validators=[Length(max=300)])
    short_name = StringField(
        _l("Short name or acronym (optional)"), validators=[Optional(), Length(max=60)]
    )
    org_type = SelectField(_l("Kind of organisation"))
    country = SelectField(_l("Country"))
    # The chosen country's ISO 3166-2 areas (see __init__); static/js/area.js follows the
    # country select as it changes.
    area = SelectField(
        _l("Area (optional)"),
        validate_choice=False,
        render_kw={"data-area-of": "country", "data-search-label": _l("Type to find an area")},
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
    annual_budget = StringField(
        _l("Annual budget (optional)"),
        validators=[Optional(), Length(max=30)],
        description=_l("Roughly how much the organisation spends in a year."),
    )
    annual_budget_currency = StringField(
        _l("Currency of the annual budget"),
        validators=[Optional(), Length(max=3)],
        description=_l("A code such as USD, EUR or KES."),
    )
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
        self.area.choices = place_area_choices(self.country.data)
        existing = kwargs.get("obj")
        if (
            isinstance(existing, Organisation)
            and existing.annual_budget_minor is not None
            and existing.annual_budget_currency is not None
            and not self.annual_budget.data
        ):
            budget = Money(existing.annual_budget_minor, existing.annual_budget_currency)
            self.annual_budget.data = str(budget.to_decimal())

    def command(self) -> OrganisationDetails:
        # The form's fields are the parser's arguments, one for one.
        return organisation_details(**self.data)
