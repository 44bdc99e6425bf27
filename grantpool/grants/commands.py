"""What a person asks the grant services to do, as typed values (cosmicpython's commands).

Forms (forms.py) and API schemas (schemas.py) parse what was typed or sent into these
frozen dataclasses with the parsers below; the services take them and check only the
rules of the domain (a tranche's amount, the grant's currency, its state).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.numbers import NumberFormatError, parse_decimal
from flask_babel import gettext as _

from ..platform.errors import ValidationFailed
from ..platform.money import Money, is_currency, parse_exchange_rate
from .rules.schedule import validate_template
from .rules.states import PaymentMethod, ReportKind, RiskLevel

# --- parsers shared by the forms and the schemas -------------------------------------------

_SPACES = re.compile(r"[\s\u00a0\u202f\u2009]")


def parse_amount(text: str, locale: str = "en", currency: str | None = None) -> Decimal:
    """A typed amount ("1 234,50" in fr, "1,234.50" in en) as a number, not yet money: the
    currency, which the service knows, decides its decimal places. The currency code, when
    the text repeats it, is dropped. ValueError when it is not a positive number."""
    text = text.strip()
    if currency:
        text = text.replace(currency, "")
    cleaned = _SPACES.sub("", text)
    if not cleaned or not re.fullmatch(r"[0-9.,'\u2019]+", cleaned):
        raise ValueError("not a number")
    try:
        return parse_decimal(cleaned, locale=locale, strict=True)
    except (NumberFormatError, InvalidOperation) as exc:
        raise ValueError("not a number in this language's format") from exc


def parse_date(value: object) -> dt.date | None:
    """A date typed as 2026-03-12 (or given as a date), or None."""
    if isinstance(value, dt.datetime):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value or "").strip())
    except ValueError:
        return None


# --- tranches and amendments ---------------------------------------------------------------


@dataclass(frozen=True)
class TrancheSpec:
    """One tranche of a schedule as the fund manager wants it. `conditions` is the
    condition tree as data; rules.normalise_conditions checks it."""

    number: int
    amount: Money
    due_on: dt.date
    conditions: Mapping[str, Any] = field(default_factory=lambda: {"all": []})


@dataclass(frozen=True)
class AmendmentRequest:
    """A change of the end date, the tranches or the grant amount, and why.

    `tranches`: the whole new schedule, or None to keep it (when only the amount changes,
    the last scheduled tranche absorbs the difference)."""

    reason: str
    end_on: dt.date | None = None
    amount: Money | None = None
    tranches: tuple[TrancheSpec, ...] | None = None


# --- reports -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpentLine:
    """One line of a financial report's table: what was bought and for how much (in the
    grant's currency)."""

    line: str
    amount: Decimal


@dataclass(frozen=True)
class ReportDetails:
    kind: ReportKind
    tranche_number: int
    text: str = ""
    final: bool = False
    spent_lines: tuple[SpentLine, ...] = ()
    spent: Decimal | None = None  # the total, when the table is not filled in


def report_details(
    *,
    kind: object,
    tranche_number: object,
    text: object = "",
    final: object = False,
    spent_lines: object = (),
    spent: object = None,
    locale: str = "en",
    currency: str | None = None,
) -> ReportDetails:
    """A report as typed in the form or sent to the API, or ValidationFailed with every
    field that cannot be read. Blank lines of the table are skipped; the total is read
    only for a financial report without lines. `currency`: the grant's, when known, which
    the amounts may repeat."""
    errors: dict[str, str] = {}
    kind_text = str(kind or "")
    if kind_text not in {k.value for k in ReportKind}:
        errors["kind"] = _("Choose a narrative or a financial report.")
    try:
        number = int(str(tranche_number or 0))
    except (TypeError, ValueError):
        number = 0
    if number < 1:
        errors["tranche_number"] = _("Choose the tranche this report is about.")
    lines: list[SpentLine] = []
    rows = spent_lines if isinstance(spent_lines, list | tuple) else []
    for row in rows:
        row = row if isinstance(row, Mapping) else {}
        label = str(row.get("line") or "").strip()
        amount_text = str(row.get("amount") or "").strip()
        if not label and not amount_text:
            continue
        try:
            amount = parse_amount(amount_text, locale, currency)
        except ValueError:
            errors["spent_lines"] = _(
                "Each line needs what was bought and an amount such as 120.50."
            )
            continue
        if not label:
            errors["spent_lines"] = _(
                "Each line needs what was bought and an amount such as 120.50."
            )
            continue
        lines.append(SpentLine(label[:200], amount))
    total: Decimal | None = None
    if kind_text == ReportKind.FINANCIAL and not lines and str(spent or "").strip():
        try:
            total = parse_amount(str(spent), locale, currency)
        except ValueError:
            errors["spent"] = _("Enter an amount such as 1250.50.")
    if errors:
        raise ValidationFailed(errors)
    return ReportDetails(
        kind=ReportKind(kind_text),
        tranche_number=number,
        text=str(text or "").strip(),
        final=bool(final),
        spent_lines=tuple(lines),
        spent=total,
    )


# --- payments ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentDetails:
    """How an approved release was paid.

    `amount` is in `currency` (None: the fund's), and may be left out when the tranche
    was paid in the fund's currency; `exchange_rate` is how many units of the fund's
    currency one unit of `currency` bought (None: the rate that made the payment worth the
    tranche)."""

    reference: str
    method: PaymentMethod
    paid_on: dt.date
    currency: str | None = None
    amount: Decimal | None = None
    exchange_rate: Decimal | None = None


def payment_details(
    *,
    reference: object,
    method: object,
    paid_on: object,
    currency: object = None,
    amount: object = None,
    exchange_rate: object = None,
    locale: str = "en",
) -> PaymentDetails:
    """A payment as typed in the form or sent to the API, or ValidationFailed with every
    field that cannot be read."""
    errors: dict[str, str] = {}
    reference_text = str(reference or "").strip()
    if not reference_text or len(reference_text) > 120:
        errors["reference"] = _("Enter the payment reference (at most 120 characters).")
    method_text = str(method or "")
    if method_text not in {m.value for m in PaymentMethod}:
        errors["method"] = _("Choose bank transfer, mobile money or cash via agent.")
    day = parse_date(paid_on)
    if day is None:
        errors["paid_on"] = _("Enter the date the payment was made.")
    code = str(currency).strip().upper() if currency else None
    paid: Decimal | None = None
    rate: Decimal | None = None
    if code is not None and not is_currency(code):
        errors["currency"] = _("Enter a currency code such as USD, EUR or KES.")
    else:
        amount_text = str(amount or "").strip()
        if amount_text:
            try:
                paid = parse_amount(amount_text, locale, code)
            except ValueError:
                errors["amount"] = _("Enter an amount such as 1250.50.")
        rate_text = str(exchange_rate or "").strip()
        if rate_text:
            try:
                rate = parse_exchange_rate(rate_text)
            except ValueError:
                errors["exchange_rate"] = _(
                    "Enter the exchange rate as a positive number, such as 0.0077."
                )
    if errors:
        raise ValidationFailed(errors)
    assert day is not None
    return PaymentDetails(
        reference=reference_text,
        method=PaymentMethod(method_text),
        paid_on=day,
        currency=code,
        amount=paid,
        exchange_rate=rate,
    )


# --- tranche templates -----------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateTranche:
    """One tranche of a template: its share of the grant, the days after the grant's start
    it falls due, and its condition tree (dates in it as offsets from the start)."""

    percent: int
    offset_days: int
    conditions: Mapping[str, Any]

    def as_data(self) -> dict[str, Any]:
        return {
            "percent": self.percent,
            "offset_days": self.offset_days,
            "conditions": dict(self.conditions),
        }


@dataclass(frozen=True)
class TemplateDetails:
    """A fund's template for a risk level; `name` is the risk level's own when None."""

    risk_level: RiskLevel
    tranches: tuple[TemplateTranche, ...]
    name: str | None = None


def template_details(
    *, risk_level: object, tranches: object, name: object = None
) -> TemplateDetails:
    """A template as edited (rows read into data, or the data editor's JSON), or
    ValidationFailed naming the risk level and the tranches' problems together."""
    errors: dict[str, list[str]] = {}
    level = None
    try:
        level = RiskLevel(risk_level if isinstance(risk_level, str) else "")
    except ValueError:
        errors["risk_level"] = [_("Choose low, medium or high.")]
    clean: list[dict[str, Any]] = []
    try:
        clean = validate_template(tranches)
    except ValidationFailed as failure:
        errors.update(failure.errors)
    if errors or level is None:
        raise ValidationFailed(errors)
    text = name.strip()[:100] if isinstance(name, str) else ""
    return TemplateDetails(
        level,
        tuple(TemplateTranche(t["percent"], t["offset_days"], t["conditions"]) for t in clean),
        text or None,
    )
