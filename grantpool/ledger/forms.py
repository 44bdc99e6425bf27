from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from ..organisations.rules import country_choices
from ..platform.forms import Form
from .commands import (
    ContributionDetails,
    CostDetails,
    PledgeDetails,
    RefundDetails,
    contribution_details,
    cost_details,
    pledge_details,
    refund_details,
)


class _LedgerForm(Form):
    # Generated when the form is shown: a second press of the button posts nothing twice.
    idempotency_key = HiddenField()


class ContributionForm(_LedgerForm):
    donor_id = SelectField(_l("Donor"))
    amount = StringField(
        _l("Amount received"), description=_l("In the currency the donor paid in.")
    )
    currency = StringField(_l("Currency"), validators=[Length(max=3)])
    exchange_rate = StringField(
        _l("Exchange rate"),
        description=_l(
            "How many units of the fund's currency one unit of the donor's currency "
            "bought on the day received. 1 when they are the same."
        ),
    )
    received_on = StringField(_l("Date received"), render_kw={"type": "date"})
    earmark_theme = StringField(
        _l("Soft earmark: theme (optional)"), validators=[Optional(), Length(max=100)]
    )
    earmark_country = SelectField(_l("Soft earmark: country (optional)"))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.earmark_country.choices = [("", ""), *country_choices()]

    def command(self, timezone: str, locale: str) -> ContributionDetails:
        """The day received is taken as its start in the fund's `timezone`."""
        return contribution_details(
            donor_id=self.donor_id.data,
            amount=self.amount.data,
            currency=self.currency.data,
            exchange_rate=self.exchange_rate.data,
            received_on=self.received_on.data or "",
            timezone=timezone,
            earmark_theme=self.earmark_theme.data,
            earmark_country=self.earmark_country.data,
            locale=locale,
        )


class PledgeForm(_LedgerForm):
    donor_id = SelectField(_l("Donor"))
    amount = StringField(_l("Amount pledged"))
    currency = StringField(_l("Currency"), validators=[Length(max=3)])
    expected_on = StringField(_l("Expected date (optional)"), render_kw={"type": "date"})
    note = TextAreaField(_l("Note (optional)"))

    def command(self, locale: str) -> PledgeDetails:
        return pledge_details(
            donor_id=self.donor_id.data,
            amount=self.amount.data,
            currency=self.currency.data,
            expected_on=self.expected_on.data,
            note=self.note.data,
            locale=locale,
        )


class RefundForm(_LedgerForm):
    donor_id = SelectField(_l("Donor"))
    amount = StringField(_l("Amount returned"), description=_l("In the fund's currency."))
    reason = TextAreaField(_l("Why the money is returned"))

    def command(self, currency: str, locale: str) -> RefundDetails:
        """`currency`: the fund's, which the amount is in."""
        return refund_details(
            donor_id=self.donor_id.data,
            amount=self.amount.data,
            reason=self.reason.data,
            currency=currency,
            locale=locale,
        )


class CostForm(_LedgerForm):
    amount = StringField(_l("Amount"), description=_l("In the fund's currency."))
    description = TextAreaField(_l("What the cost is for"))

    def command(self, currency: str, locale: str) -> CostDetails:
        """`currency`: the fund's, which the amount is in."""
        return cost_details(
            amount=self.amount.data,
            description=self.description.data,
            currency=currency,
            locale=locale,
        )
