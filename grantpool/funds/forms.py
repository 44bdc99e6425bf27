from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from ..organisations.rules import country_choices
from ..platform.forms import CheckboxesField, Form
from ..platform.time import timezone_choices
from .commands import DonorDetails, FundDetails, donor_details, fund_details

DONOR_TYPE_LABELS = {
    "government": _l("Government"),
    "multilateral": _l("Multilateral organisation"),
    "foundation": _l("Foundation"),
    "private_sector": _l("Private sector"),
    "individual": _l("Individual"),
    "pooled_fund": _l("Another pooled fund"),
    "other": _l("Other"),
}


class FundForm(Form):
    name = StringField(_l("Fund name"), validators=[Length(max=200)])
    description = TextAreaField(_l("Description (optional)"), validators=[Optional()])
    base_currency = StringField(
        _l("Base currency"),
        validators=[Length(max=3)],
        description=_l(
            "ISO 4217 code. Every balance of the fund is kept "
            "in this currency; it cannot change later."
        ),
    )
    timezone = SelectField(
        _l("Time zone"), description=_l("Dates of calls and payments are shown in this zone.")
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.timezone.choices = [("", "")] + [(z, z) for z in timezone_choices()]

    def command(self) -> FundDetails:
        # The form's fields are the parser's arguments, one for one.
        return fund_details(**self.data)


class DonorForm(Form):
    name = StringField(_l("Donor name"), validators=[Length(max=200)])
    donor_type = SelectField(_l("Kind of donor"))
    country = SelectField(_l("Country (optional)"))
    org_id = StringField(
        _l("org-id.guide identifier (optional)"), validators=[Optional(), Length(max=100)]
    )
    currency = StringField(_l("Currency the donor gives in"), validators=[Length(max=3)])
    fund_ids = CheckboxesField(
        _l("Funds this donor gives to"),
        description=_l("Only the staff of these funds see this donor."),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.donor_type.choices = [("", "")] + [(k, str(v)) for k, v in DONOR_TYPE_LABELS.items()]
        self.country.choices = [("", ""), *country_choices()]

    def set_fund_choices(self, funds: list[tuple[int, str]], chosen: frozenset[int]) -> None:
        """Offer the funds the user manages; on a fresh form, tick the donor's."""
        self.fund_ids.choices = [(str(fund_id), name) for fund_id, name in funds]
        if not self.is_submitted():
            self.fund_ids.data = [str(fund_id) for fund_id, _name in funds if fund_id in chosen]

    def command(self) -> DonorDetails:
        # The form's fields are the parser's arguments; with no funds offered, none were
        # chosen (the service then picks the manager's only fund).
        chosen = self.fund_ids.data if self.fund_ids.choices else None
        return donor_details(**{**self.data, "fund_ids": chosen})
