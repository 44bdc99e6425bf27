"""What a fund manager asks the call services to do, as typed values.

The HTML forms (forms.py) read what was typed with the parsers below, as do callers that
hold a mapping (demo seeding, test factories); the services take the resulting frozen
dataclasses and check only the rules of the domain (what a call's state still allows,
questions that keep existing answers meaningful).

A call's amounts and times are read in its fund's terms: the currency defaults to the
fund's, a time typed without a zone is in the fund's time zone. So the parsers take the
fund's base currency and time zone beside what was typed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _

from ..platform.errors import ValidationFailed
from ..platform.money import Money, is_currency, parse_exchange_rate, parse_money
from .rules import FILE_KINDS, Channel, QuestionKind, clean_eligibility

if TYPE_CHECKING:
    from ..funds.models import Fund

Texts = Mapping[str, str]


# --- a call ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Eligibility:
    """Who may apply: nothing listed means anyone."""

    org_types: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    areas: tuple[str, ...] = ()
    registered_only: bool = False

    def as_stored(self) -> dict[str, Any]:
        return {
            "org_types": list(self.org_types),
            "countries": list(self.countries),
            "areas": list(self.areas),
            "registered_only": self.registered_only,
        }


@dataclass(frozen=True)
class CallDetails:
    """A call as the fund manager wants it. Amounts are minor units of `currency`;
    `exchange_rate` is how many units of the fund's currency one unit of `currency` is
    worth (None for a call in the fund's currency); times are aware UTC."""

    title: Texts
    currency: str
    budget_minor: int
    min_request_minor: int
    max_request_minor: int
    description: Texts = field(default_factory=dict)
    exchange_rate: Decimal | None = None
    opens_at: dt.datetime | None = None
    closes_at: dt.datetime | None = None
    eligibility: Eligibility = Eligibility()
    channels: tuple[str, ...] = (Channel.WEB.value,)
    tranche_template: str | None = None


def rate_needed(base_currency: str, currency: str) -> str:
    return _(
        "State the rate: how many %(base)s one %(currency)s is worth, such as 0.0017.",
        base=base_currency,
        currency=currency,
    )


def _texts(value: object) -> dict[str, str]:
    items = value.items() if isinstance(value, Mapping) else ()
    return {str(k): v.strip() for k, v in items if isinstance(v, str) and v.strip()}


def _instant(value: object, timezone: str) -> dt.datetime | None:
    """An aware UTC datetime from an aware one, or from what a datetime-local field sends
    (read in the fund's zone). ValueError when it is not a date and time."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        local = value
    elif isinstance(value, str):
        local = dt.datetime.fromisoformat(value.strip())
    else:
        raise ValueError("not a date and time")
    if local.tzinfo is None:
        local = local.replace(tzinfo=ZoneInfo(timezone))
    return local.astimezone(dt.UTC)


def _amount(value: object, currency: str, locale: str) -> Money:
    """Money from minor units (an int) or from an amount as typed in `locale`."""
    if isinstance(value, int) and not isinstance(value, bool):
        return Money(value, currency)
    return parse_money(value if isinstance(value, str) else "", currency, locale)


def _strings(value: object) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        return []
    return [str(item) for item in value]


def call_details(
    *,
    fund_currency: str,
    timezone: str,
    title: object,
    budget: object,
    min_request: object,
    max_request: object,
    description: object = None,
    currency: object = None,
    exchange_rate: object = None,
    opens_at: object = None,
    closes_at: object = None,
    eligibility: object = None,
    channels: object = None,
    tranche_template: object = None,
    locale: str = "en",
) -> CallDetails:
    """A call as typed, or ValidationFailed naming every field that cannot be read.
    Amounts are typed in `locale` (or given as minor units); a time without a zone is in
    `timezone`; no currency is the fund's (`fund_currency`)."""
    errors: dict[str, str] = {}
    titles = _texts(title)
    if not titles:
        errors["title"] = _("Give the call a title in at least one language.")
    code = (currency.strip() if isinstance(currency, str) else "").upper() or fund_currency
    if not is_currency(code):
        errors["currency"] = _("Enter a currency code such as USD, EUR or KES.")
        code = fund_currency
    rate: Decimal | None = None
    if code != fund_currency:
        # A call's rate may be typed with a decimal comma (0,0017).
        typed_rate = str(exchange_rate if exchange_rate is not None else "").strip()
        try:
            rate = parse_exchange_rate(typed_rate.replace(",", "."))
        except ValueError:
            errors["exchange_rate"] = rate_needed(fund_currency, code)
    amounts: dict[str, Money] = {}
    for name, value, message in (
        ("budget", budget, _("Enter the total budget of the call, such as 50000.")),
        (
            "min_request",
            min_request,
            _("Enter the smallest amount an organisation may ask for."),
        ),
        ("max_request", max_request, _("Enter the largest amount an organisation may ask for.")),
    ):
        try:
            amounts[name] = _amount(value, code, locale)
            if amounts[name].is_zero():
                raise ValueError("zero")
        except ValueError:
            errors[name] = message
    if not errors.keys() & {"min_request", "max_request", "budget"}:
        if amounts["min_request"] > amounts["max_request"]:
            errors["min_request"] = _("The smallest request must not be above the largest.")
        elif amounts["max_request"] > amounts["budget"]:
            errors["max_request"] = _("The largest request must not be above the budget.")
    times: dict[str, dt.datetime | None] = {}
    for name, value in (("opens_at", opens_at), ("closes_at", closes_at)):
        try:
            times[name] = _instant(value, timezone)
        except ValueError:
            errors[name] = _("Enter a date and time such as 2026-12-31 17:00.")
    opens, closes = times.get("opens_at"), times.get("closes_at")
    if opens is not None and closes is not None and opens >= closes:
        errors["closes_at"] = _("The call must close after it opens.")
    ways = _strings(channels) or [Channel.WEB.value]
    if any(c not in {ch.value for ch in Channel} for c in ways):
        errors["channels"] = _("Choose intake channels from the list.")
    who = Eligibility()
    try:
        clean = clean_eligibility(eligibility if isinstance(eligibility, Mapping) else {})
        who = Eligibility(
            org_types=tuple(clean["org_types"]),
            countries=tuple(clean["countries"]),
            areas=tuple(clean["areas"]),
            registered_only=clean["registered_only"],
        )
    except ValidationFailed as failure:
        errors.update({k: v[0] for k, v in failure.errors.items()})
    if errors:
        raise ValidationFailed(errors)
    return CallDetails(
        title=titles,
        description=_texts(description),
        currency=code,
        exchange_rate=rate,
        budget_minor=amounts["budget"].amount_minor,
        min_request_minor=amounts["min_request"].amount_minor,
        max_request_minor=amounts["max_request"].amount_minor,
        opens_at=opens,
        closes_at=closes,
        eligibility=who,
        channels=tuple(sorted(set(ways))),
        tranche_template=(tranche_template.strip() if isinstance(tranche_template, str) else "")
        or None,
    )


def read_call_details(fund: Fund, value: Mapping[str, object], locale: str = "en") -> CallDetails:
    """A call given as a mapping of its form's fields (demo seeding, test factories), read
    with the same parser as the form, so there is one path either way."""
    return call_details(
        fund_currency=fund.base_currency,
        timezone=fund.timezone,
        title=value.get("title"),
        description=value.get("description"),
        currency=value.get("currency"),
        exchange_rate=value.get("exchange_rate"),
        budget=value.get("budget"),
        min_request=value.get("min_request"),
        max_request=value.get("max_request"),
        opens_at=value.get("opens_at"),
        closes_at=value.get("closes_at"),
        eligibility=value.get("eligibility"),
        channels=value.get("channels"),
        tranche_template=value.get("tranche_template"),
        locale=locale,
    )


# --- a question ------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuestionSpec:
    """One question of a call's form as the fund manager wants it. Texts shown to the
    applicant are {language: text} (a plain string, in definitions stored before calls had
    several languages, is a text in the main language). `choices` are the stored values,
    in the main language; `choice_labels` their translations, line for line. `show_if`:
    the key of an earlier yes/no question that must be answered yes. `file_kinds`: None
    for every kind. Whether the question fits among the others (its key unused, `show_if`
    an earlier yes/no question) is for the service to say."""

    key: str
    kind: QuestionKind
    label: Texts | str = field(default_factory=dict)
    help: Texts | str = field(default_factory=dict)
    section: Texts | str = field(default_factory=dict)
    required: bool = False
    whole: bool = False
    choices: tuple[str, ...] = ()
    choice_labels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    word_limit: int | None = None
    max_bytes: int | None = None
    file_kinds: tuple[str, ...] | None = None
    show_if: str | None = None

    def definition(self) -> dict[str, Any]:
        """The question as the rules read it and the call stores it."""
        return {
            "key": self.key,
            "kind": self.kind.value,
            "label": _plain(self.label),
            "help": _plain(self.help),
            "section": _plain(self.section),
            "required": self.required,
            "whole": self.whole,
            "choices": list(self.choices),
            "choice_labels": {lang: list(lines) for lang, lines in self.choice_labels.items()},
            "word_limit": self.word_limit,
            "max_bytes": self.max_bytes,
            "file_kinds": list(self.file_kinds) if self.file_kinds is not None else None,
            "show_if": {self.show_if: "yes"} if self.show_if else None,
        }


def _plain(texts: Texts | str) -> dict[str, str] | str:
    return texts if isinstance(texts, str) else dict(texts)


def _question_texts(value: object) -> Texts | str:
    if isinstance(value, str):
        return value.strip()
    items = value.items() if isinstance(value, Mapping) else ()
    return {str(k): str(v).strip() for k, v in items if v is not None and str(v).strip()}


def _count(value: object, message: str, field_name: str, errors: dict[str, str]) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        errors[field_name] = message
        return None


def _lines(value: object) -> tuple[str, ...]:
    """Lines as typed (one per line, blank lines dropped) or as a list (an empty text
    keeps its place: that choice is not translated)."""
    if isinstance(value, str):
        return tuple(line.strip() for line in value.splitlines() if line.strip())
    return tuple(str(line or "").strip() for line in _strings(value))


def question_spec(
    *,
    key: object,
    kind: object,
    label: object = None,
    help: object = None,
    section: object = None,
    required: object = False,
    whole: object = False,
    choices: object = (),
    choice_labels: object = None,
    word_limit: object = None,
    max_bytes: object = None,
    file_kinds: object = None,
    show_if: object = None,
) -> QuestionSpec:
    """A question as typed or given, or ValidationFailed naming every field that cannot
    be read."""
    errors: dict[str, str] = {}
    kind_text = str(kind or "")
    if kind_text not in {k.value for k in QuestionKind}:
        errors["kind"] = _("Choose the kind of question.")
    words = _("Enter a whole number of words, such as 250.")
    limit = _count(word_limit, words, "word_limit", errors)
    if limit is not None and limit < 1:
        errors["word_limit"] = words
    size = _count(max_bytes, _("Enter a size in bytes."), "max_bytes", errors)
    kinds = [k for k in _strings(file_kinds) if k] if file_kinds else None
    if kinds is not None and any(k not in FILE_KINDS for k in kinds):
        errors["file_kinds"] = _("Choose documents, photos or voice recordings.")
    target: str | None
    if isinstance(show_if, Mapping):
        target = str(next(iter(show_if), "")) or None
    else:
        target = str(show_if).strip() if show_if else None
    labels = choice_labels if isinstance(choice_labels, Mapping) else {}
    if errors:
        raise ValidationFailed(errors)
    return QuestionSpec(
        key=str(key or "").strip(),
        kind=QuestionKind(kind_text),
        label=_question_texts(label),
        help=_question_texts(help),
        section=_question_texts(section),
        required=bool(required),
        whole=bool(whole),
        choices=tuple(c.strip() for c in _strings(choices) if c.strip()),
        choice_labels={str(lang): _lines(lines) for lang, lines in labels.items()},
        word_limit=limit,
        max_bytes=size,
        file_kinds=tuple(kinds) if kinds else None,
        show_if=target,
    )


def read_question(value: Mapping[str, Any]) -> QuestionSpec:
    """A question given as a mapping: a stored definition (call.questions), or one written
    out by demo seeding and tests."""
    return question_spec(
        key=value.get("key"),
        kind=value.get("kind"),
        label=value.get("label"),
        help=value.get("help"),
        section=value.get("section"),
        required=value.get("required"),
        whole=value.get("whole"),
        choices=value.get("choices") or (),
        choice_labels=value.get("choice_labels"),
        word_limit=value.get("word_limit"),
        max_bytes=value.get("max_bytes"),
        file_kinds=value.get("file_kinds"),
        show_if=value.get("show_if"),
    )


def read_questions(values: Iterable[Mapping[str, Any]]) -> list[QuestionSpec]:
    """Each question of a list read by read_question; a message names the question's
    place ("Question 3: …") as the rules' own do."""
    specs: list[QuestionSpec] = []
    for position, value in enumerate(values, start=1):
        try:
            specs.append(read_question(value))
        except ValidationFailed as failure:
            raise ValidationFailed(
                {
                    name: [
                        _("Question %(n)s: %(message)s", n=position, message=m) for m in messages
                    ]
                    for name, messages in failure.errors.items()
                }
            ) from None
    return specs
