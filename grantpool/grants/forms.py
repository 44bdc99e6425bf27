from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    FieldList,
    FileField,
    FormField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Optional

from ..platform.errors import ValidationFailed
from ..platform.forms import Form
from ..platform.money import Money, parse_money
from .commands import (
    AmendmentRequest,
    PaymentDetails,
    ReportDetails,
    TrancheSpec,
    parse_date,
    payment_details,
    report_details,
)
from .rules import PAYMENT_METHOD_LABELS, conditions_from_row

try:  # WTForms 3.3 deprecates (value, label) tuples
    from wtforms.fields.choices import SelectChoice
except ImportError:  # pragma: no cover - older WTForms
    SelectChoice = None


def choice(value: str, label: object) -> Any:
    return SelectChoice(value, label) if SelectChoice is not None else (value, label)


class _KeyedForm(Form):
    # Generated when the form is shown: a second press of the button does nothing twice.
    idempotency_key = HiddenField()


class SpentLineForm(Form):
    line = StringField(_l("What was bought"), validators=[Optional()])
    amount = StringField(_l("Amount"), validators=[Optional()], render_kw={"inputmode": "decimal"})


class ReportForm(_KeyedForm):
    kind = SelectField(
        _l("Kind of report"),
        choices=[
            choice("narrative", _l("Narrative: what happened")),
            choice("financial", _l("Financial: what was spent")),
        ],
    )
    tranche_number = SelectField(_l("Which tranche is it about?"))
    final = BooleanField(_l("This is the final report of the grant"))
    text = TextAreaField(
        _l("Your report"),
        description=_l("A few sentences are enough. You can add photos or a voice note instead."),
    )
    spent_lines = FieldList(FormField(SpentLineForm), min_entries=5, max_entries=20)
    spent = StringField(
        _l("Total spent (if you do not fill in the table)"), render_kw={"inputmode": "decimal"}
    )
    photo = FileField(_l("Photo (optional)"))
    voice = FileField(_l("Voice note (optional)"))
    spreadsheet = FileField(_l("Expenses spreadsheet (optional)"))

    def command(self, locale: str, currency: str) -> ReportDetails:
        """The report typed, or ValidationFailed; amounts in the grant's `currency`."""
        return report_details(
            kind=self.kind.data,
            tranche_number=self.tranche_number.data,
            final=self.final.data,
            text=self.text.data,
            spent_lines=[
                {"line": row.form.line.data, "amount": row.form.amount.data}
                for row in self.spent_lines
            ],
            spent=self.spent.data,
            locale=locale,
            currency=currency,
        )


class ReviewForm(Form):
    comment = TextAreaField(_l("Comments for the partner"))


class ReasonForm(Form):
    reason = TextAreaField(_l("Reason"))


class WaiverForm(Form):
    condition_id = HiddenField()
    reason = TextAreaField(_l("Why is this condition waived?"))


class EvidenceForm(Form):
    kind = SelectField(
        _l("What is recorded"),
        choices=[
            choice("milestone", _l("A milestone verified")),
            choice("document", _l("A document provided")),
            choice("manual_approval", _l("Approval of a tranche")),
        ],
    )
    label = StringField(_l("Milestone or document"), validators=[Optional()])
    tranche_id = SelectField(_l("Tranche (for an approval)"), validators=[Optional()])
    note = TextAreaField(_l("Note (optional)"))
    file = FileField(_l("File (optional)"))


class PaymentForm(_KeyedForm):
    reference = StringField(_l("Payment reference"))
    paid_on = StringField(_l("Date paid"), render_kw={"type": "date"})
    method = SelectField(
        _l("How it was paid"),
        choices=[choice(k.value, v) for k, v in PAYMENT_METHOD_LABELS.items()],
    )
    currency = StringField(_l("Currency paid in"))
    amount = StringField(
        _l("Amount paid"),
        description=_l("In the currency paid in. Leave empty when paid in the fund's currency."),
    )
    exchange_rate = StringField(
        _l("Exchange rate"),
        description=_l("How many units of the fund's currency one unit of the payment bought."),
    )

    def command(self, locale: str) -> PaymentDetails:
        """The payment typed, or ValidationFailed."""
        return payment_details(
            reference=self.reference.data,
            method=self.method.data,
            paid_on=self.paid_on.data,
            currency=self.currency.data,
            amount=self.amount.data,
            exchange_rate=self.exchange_rate.data,
            locale=locale,
        )


def _tranche_choices() -> list[Any]:
    return [choice("", _l("No")), *(choice(str(n), str(n)) for n in range(1, 13))]


class ConditionFields(Form):
    """A tranche's common conditions as plain fields, all of them to be met (see
    rules.template_rows and rules.tranche_row)."""

    wait_until_due = BooleanField(_l("Not paid before it is due"))
    narrative_report = SelectField(
        _l("Narrative report accepted, for tranche"), choices=_tranche_choices()
    )
    financial_report = SelectField(
        _l("Financial report accepted, for tranche"), choices=_tranche_choices()
    )
    spent_percent = StringField(
        _l("Previous tranche spent at least (%)"), render_kw={"inputmode": "numeric", "size": 4}
    )
    milestone = StringField(_l("Milestone verified"))
    document = StringField(_l("Document provided"))
    manual = BooleanField(_l("A fund manager approves"))


class TrancheRowForm(ConditionFields):
    """One tranche of an amendment: its conditions as plain fields, or as data when they
    need more (any, nesting)."""

    number = HiddenField()
    amount = StringField(_l("Amount"))
    due_on = StringField(_l("Not before"), render_kw={"type": "date"})
    conditions = TextAreaField(_l("Conditions (as data)"))


class AmendmentForm(Form):
    reason = TextAreaField(_l("Why is the grant amended?"))
    end_on = StringField(_l("End date"), render_kw={"type": "date"})
    amount = StringField(_l("Grant amount"))
    edit_schedule = BooleanField(_l("Change the tranches as below"))
    tranches = FieldList(FormField(TrancheRowForm), min_entries=0, max_entries=12)

    def command(
        self,
        currency: str,
        locale: str,
        previous: Mapping[int, Mapping[str, Any]],
        *,
        as_data: bool,
    ) -> AmendmentRequest:
        """The amendment typed, or ValidationFailed naming every field that cannot be
        read. Amounts are in the grant's `currency`; `previous` are the current tranches'
        conditions by number (a condition left as it was keeps its id); `as_data`: the
        tranches' conditions were written as data rather than as plain fields."""
        errors: dict[str, str] = {}
        end_on = parse_date(self.end_on.data) if self.end_on.data else None
        if self.end_on.data and end_on is None:
            errors["end_on"] = _("Enter a real date.")
        amount = None
        if (self.amount.data or "").strip():
            try:
                amount = parse_money(self.amount.data or "", currency, locale)
            except ValueError:
                errors["amount"] = _("Enter an amount such as 1250.50.")
        schedule = None
        if self.edit_schedule.data:
            schedule = self._schedule(currency, locale, previous, as_data, errors)
        if errors:
            raise ValidationFailed(errors)
        return AmendmentRequest(
            reason=self.reason.data or "", end_on=end_on, amount=amount, tranches=schedule
        )

    def _schedule(
        self,
        currency: str,
        locale: str,
        previous: Mapping[int, Mapping[str, Any]],
        as_data: bool,
        errors: dict[str, str],
    ) -> tuple[TrancheSpec, ...]:
        """Each row's amount and date, and its conditions from the plain fields (keeping
        the ids of conditions left as they were) or the data; a row's problems go into
        `errors`, so every row is read and all of them reported at once."""
        schedule: list[TrancheSpec] = []
        for index, row in enumerate(self.tranches):
            number = _number(row.form.number.data)
            amount: Money | None
            try:
                amount = parse_money(row.form.amount.data or "", currency, locale)
            except ValueError:
                amount = None
            due_on = parse_date(row.form.due_on.data)
            if amount is None or due_on is None or number is None:
                errors["tranches"] = _("Each tranche needs an amount and a date.")
                continue
            if as_data:
                try:
                    conditions = json.loads(row.form.conditions.data or "{}")
                except ValueError:
                    errors["tranches"] = _("Write each tranche's conditions as data (JSON).")
                    continue
            else:
                try:
                    conditions = conditions_from_row(
                        row.form.data, index, number, due_on, previous.get(number)
                    )
                except ValidationFailed as failure:
                    # Collected, not answered: the other rows are still read.
                    errors.update({key: messages[0] for key, messages in failure.errors.items()})
                    continue
            schedule.append(TrancheSpec(number, amount, due_on, conditions))
        return tuple(schedule)


def _number(text: str | None) -> int | None:
    try:
        return int(text or "")
    except ValueError:
        return None


class CloseForm(Form):
    returned = StringField(
        _l("Unspent money the partner has returned (optional)"),
        description=_l("Whatever is still committed and unpaid goes back to the fund."),
    )


class TemplateForm(Form):
    risk_level = SelectField(
        _l("Risk level"),
        choices=[
            choice("low", _l("Low")),
            choice("medium", _l("Medium")),
            choice("high", _l("High")),
        ],
    )
    tranches = TextAreaField(
        _l("Tranches (as data)"),
        description=_l(
            'A list such as [{"percent": 60, "offset_days": 0, "conditions": {"all": []}}, …]'
        ),
        render_kw={"rows": 16},
    )


class TemplateTrancheForm(ConditionFields):
    """One tranche of a template, its conditions as plain fields."""

    percent = StringField(_l("Share (%)"), render_kw={"inputmode": "numeric", "size": 4})
    offset_days = StringField(
        _l("Due (days after the start)"), render_kw={"inputmode": "numeric", "size": 5}
    )


class TemplateRowsForm(Form):
    risk_level = TemplateForm.risk_level
    tranches = FieldList(FormField(TemplateTrancheForm), min_entries=0, max_entries=12)
