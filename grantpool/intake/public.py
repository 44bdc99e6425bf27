"""The pages a visitor reads before signing in: the open calls and each call's page.

A call's page says, in plain words, who may apply, what the form will ask, which
documents to have ready, until when and by which ways; a short eligibility check answers
"can we apply?" before any account exists. Nothing a visitor answers there is stored: the
answers travel on in the link to registration, which fills them in.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from babel.lists import format_list
from babel.numbers import get_currency_name
from flask import render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import Field, RadioField, SelectField
from wtforms.validators import StopValidation

from ..calls import services as calls
from ..calls.models import Call
from ..calls.rules import (
    SHORT_TEXT_MAX,
    Channel,
    QuestionKind,
    choice_options,
    choice_text,
    eligibility_reasons,
    sections,
    text_and_lang,
    text_in,
)
from ..extensions import db
from ..organisations.rules import (
    ORGANISATION_TYPE_LABELS,
    OrganisationType,
    area_name,
    country_choices,
    country_name,
)
from ..platform.forms import Form
from ..platform.i18n import datetime_filter, money_filter, to_the_minute
from ..platform.time import now_utc
from ..platform.web import reads_only
from .views import _call, _locale, bp, file_limits

HOME_CALLS = 5  # the signed-out home page names the few calls closing soonest
OTHER_COUNTRY = "other"
OTHER_AREA = "other"


# Dates ----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=32)
@bp.app_template_filter("deadline")
def deadline(value: dt.datetime | None, tz: str | None = None) -> str:
    """An instant to the minute, in the reader's language and the given (fund's) zone."""
    # The long pattern with the weekday, without seconds: "Wednesday, March 31, 2027, 11:59 PM".
    return datetime_filter(value, tz, to_the_minute(_locale(), "long", date_length="full"))


# Who may apply --------------------------------------------------------------------------


def _org_types(rules: Mapping[str, Any]) -> list[OrganisationType]:
    wanted = {str(t) for t in rules.get("org_types") or []}
    return [t for t in OrganisationType if t.value in wanted]


def who_may_apply(rules: Mapping[str, Any]) -> list[str]:
    """Each eligibility rule of a call as one plain sentence, the unrestricted ones too."""
    locale = _locale()
    kinds = [str(ORGANISATION_TYPE_LABELS[t]) for t in _org_types(rules)]
    countries = [country_name(c) for c in rules.get("countries") or []]
    areas = [area_name(a) for a in rules.get("areas") or []]
    sentences = [
        _("Kinds of organisation: %(kinds)s.", kinds=format_list(kinds, locale=locale))
        if kinds
        else _("Any kind of organisation or group."),
        _("Working in %(countries)s.", countries=format_list(countries, "or", locale=locale))
        if countries
        else _("Working in any country."),
    ]
    if areas:
        sentences.append(
            _("Only in these areas: %(areas)s.", areas=format_list(areas, locale=locale))
        )
    sentences.append(
        _("Registered organisations only: informal groups cannot apply.")
        if rules.get("registered_only")
        else _("Registered or not: informal groups are welcome.")
    )
    return sentences


# What the form asks ---------------------------------------------------------------------


@dataclass(frozen=True)
class AskedQuestion:
    label: str
    lang: str  # the language the label is written in (the call's, when not the reader's)
    help: str
    required: bool
    answer: str  # what kind of answer, with its limits
    condition: str  # when the question is asked at all; empty when always
    is_file: bool
    help_lang: str = ""  # the language the help is written in


@dataclass(frozen=True)
class FormStep:
    title: str  # the section's name; empty for a step of one question
    questions: list[AskedQuestion]
    title_lang: str = ""  # the language the section's name is written in


@dataclass(frozen=True)
class CallOverview:
    who_may_apply: list[str]
    amount: str
    steps: list[FormStep]
    documents: list[AskedQuestion]
    channels: list[str]
    opens_later: bool  # open, but not yet accepting: its opening instant is to come


def text_language(
    texts: Mapping[str, str] | str | None, language: str, main: str | None = None
) -> str:
    """The language `text_in` picks for these texts, so a page can mark a fallback."""
    return text_and_lang(texts, language, main)[1]


def _currency_words(code: str, locale: str) -> str:
    # The plural name: "in US dollars (USD)".
    name = get_currency_name(code, count=2, locale=locale)
    return _("%(name)s (%(code)s)", name=name, code=code)


def _answer_text(
    question: Mapping[str, Any], currency: str, locale: str, main: str | None = None
) -> str:
    kind = question["kind"]
    choices = [text for _value, text, _lang in choice_options(question, locale, main)]
    currency_words = _currency_words(currency, locale)
    if kind == QuestionKind.SHORT_TEXT:
        return _("A short answer, up to %(n)s characters.", n=SHORT_TEXT_MAX)
    if kind == QuestionKind.LONG_TEXT:
        if question.get("word_limit"):
            return _("A written answer, up to %(n)s words.", n=question["word_limit"])
        return _("A written answer.")
    if kind == QuestionKind.NUMBER:
        return _("A number.")
    if kind == QuestionKind.MONEY:
        return _("An amount in %(currency)s.", currency=currency_words)
    if kind == QuestionKind.SINGLE_CHOICE:
        return _(
            "One of: %(choices)s.",
            choices=format_list(choices, "or", locale=locale),
        )
    if kind == QuestionKind.MULTIPLE_CHOICE:
        return _(
            "One or more of: %(choices)s.",
            choices=format_list(choices, locale=locale),
        )
    if kind == QuestionKind.DATE:
        return _("A date.")
    if kind == QuestionKind.LOCATION:
        return _("A country, and the area within it if you wish.")
    if kind == QuestionKind.FILE:
        return file_limits(dict(question))
    if kind == QuestionKind.BUDGET_TABLE:
        return _("A budget: each item with its amount in %(currency)s.", currency=currency_words)
    if kind == QuestionKind.YES_NO:
        return _("Yes or no.")
    return ""


def describe_call(call: Call) -> CallOverview:
    """What a visitor reads about a call before applying, in the reader's language (the
    call's texts fall back to its main language). Reads only the call: no statement per
    question."""
    locale = _locale()
    main = call.languages[0] if call.languages else None
    labels = {q["key"]: text_in(q.get("label"), locale, main) for q in call.questions}

    def asked(question: Mapping[str, Any]) -> AskedQuestion:
        target = next(iter(question.get("show_if") or {}), "")
        label, label_lang = text_and_lang(question.get("label"), locale, main)
        help_, help_lang = text_and_lang(question.get("help"), locale, main)
        return AskedQuestion(
            label=label,
            lang=label_lang,
            help=help_,
            help_lang=help_lang,
            required=bool(question.get("required")),
            answer=_answer_text(question, call.currency, locale, main),
            condition=_("Only if you answer yes to “%(question)s”.", question=labels[target])
            if target in labels
            else "",
            is_file=question["kind"] == QuestionKind.FILE,
        )

    steps = [
        FormStep(
            title=text_in(page[0].get("section"), locale, main),
            questions=[asked(q) for q in page],
            title_lang=text_language(page[0].get("section"), locale, main),
        )
        for page in sections(call.questions)
    ]
    channel_texts = {
        Channel.WEB: _("Online, on this website: one short page at a time, saved as you go."),
        Channel.SPREADSHEET: _("On a spreadsheet, which the fund team imports for you."),
        Channel.ODK: _(
            "Offline, on a phone with ODK Collect or KoBoCollect: the form is sent when "
            "you have a connection."
        ),
        Channel.API: _("From your own system, through the grantpool API."),
    }
    # The web form is always open to an accepting call; the others only when enabled.
    enabled = {Channel.WEB.value, *(call.channels or [])}
    return CallOverview(
        who_may_apply=who_may_apply(call.eligibility or {}),
        amount=_(
            "Between %(min)s and %(max)s, in %(currency)s.",
            min=money_filter(call.min_request),
            max=money_filter(call.max_request),
            currency=_currency_words(call.currency, locale),
        ),
        steps=steps,
        documents=[q for step in steps for q in step.questions if q.is_file],
        channels=[text for channel, text in channel_texts.items() if channel.value in enabled],
        opens_later=call.opens_at is not None and now_utc() < call.opens_at,
    )


# The eligibility check ------------------------------------------------------------------


def _one_of_the_choices(message: Any) -> Any:
    def check(_form: Any, field: Field) -> None:
        offered = {str(next(iter(c))) for c in field.choices}  # type: ignore[attr-defined]
        if not field.data or field.data not in offered:
            raise StopValidation(str(message))

    return check


class EligibilityForm(Form):
    """The few questions a call's eligibility rules ask, and no others. Sent with GET:
    nothing is stored, and the answers can be carried on in a link."""

    org_type = SelectField(
        _l("What kind of organisation or group are you?"),
        validators=[_one_of_the_choices(_l("Choose the kind of organisation or group."))],
        validate_choice=False,
    )
    country = SelectField(
        _l("Where do you work?"),
        validators=[_one_of_the_choices(_l("Choose the country where you work."))],
        validate_choice=False,
    )
    area = SelectField(
        _l("In which area?"),
        validators=[_one_of_the_choices(_l("Choose the area where you work."))],
        validate_choice=False,
    )
    registered = RadioField(
        _l("Is your organisation registered with the authorities?"),
        validators=[_one_of_the_choices(_l("Answer yes or no."))],
        validate_choice=False,
    )

    def __init__(self, rules: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if rules.get("org_types"):
            self.org_type.choices = [("", "")] + [
                (t.value, str(label)) for t, label in ORGANISATION_TYPE_LABELS.items()
            ]
        else:
            del self.org_type
        if rules.get("countries"):
            self.country.choices = [
                ("", ""),
                *country_choices(only=rules["countries"]),
                (OTHER_COUNTRY, _("Another country")),
            ]
        else:
            del self.country
        if rules.get("areas"):
            self.area.choices = [
                ("", ""),
                *sorted(((a, area_name(a)) for a in rules["areas"]), key=lambda c: c[1]),
                (OTHER_AREA, _("Another area")),
            ]
        else:
            del self.area
        if rules.get("registered_only"):
            self.registered.choices = [("yes", _("Yes")), ("no", _("No, we are an informal group"))]
        else:
            del self.registered

    def asks_anything(self) -> bool:
        return any(True for _field in self)

    def answers(self) -> EligibilityAnswers:
        def value(name: str) -> str | None:
            field = self._fields.get(name)
            return str(field.data) if field is not None and field.data else None

        area = value("area")
        area = None if area == OTHER_AREA else area
        country = value("country")
        country = None if country == OTHER_COUNTRY else country
        if country is None and area and "country" not in self._fields:
            country = area.split("-")[0]
        registered = value("registered")
        return EligibilityAnswers(
            org_type=value("org_type"),
            country=country,
            area=area,
            registered=None if registered is None else registered == "yes",
        )


@dataclass(frozen=True)
class EligibilityAnswers:
    """What a visitor said about their organisation; None where the call did not ask or
    the answer was "somewhere else"."""

    org_type: str | None
    country: str | None
    area: str | None
    registered: bool | None

    def registration_fields(self) -> dict[str, Any]:
        """The answers as the query parameters the registration page fills in."""
        fields = {"org_type": self.org_type, "country": self.country, "area": self.area}
        carried = {name: text for name, text in fields.items() if text}
        if self.registered is not None:
            carried["registered"] = "yes" if self.registered else "no"
        return carried


@dataclass(frozen=True)
class EligibilityResult:
    reasons: list[str]  # empty: the organisation may apply
    next_url: str  # where to go on: registration (answers carried) or the form itself


def check_eligibility(call: Call, answers: EligibilityAnswers) -> EligibilityResult:
    reasons = eligibility_reasons(
        call.eligibility or {},
        org_type=answers.org_type or "",
        country=answers.country or "",
        area=answers.area,
        registered=bool(answers.registered),
    )
    apply_path = url_for("intake.apply", call_id=call.id)
    if current_user.is_authenticated:
        next_url = apply_path
    else:
        next_url = url_for(
            "intake.register", **{"next": apply_path, **answers.registration_fields()}
        )
    return EligibilityResult(reasons=reasons, next_url=next_url)


# Pages ----------------------------------------------------------------------------------


@bp.app_context_processor
def _public_helpers() -> dict[str, Any]:
    return {
        "describe_call": describe_call,
        "text_language": text_language,
        "text_and_lang": text_and_lang,
        "choice_options": choice_options,
        "choice_text": choice_text,
        "open_calls_closing_soon": open_calls_closing_soon,
    }


def open_calls_closing_soon(limit: int = HOME_CALLS) -> list[Call]:
    """The few calls accepting applications now, closing soonest first (one statement)."""
    now = now_utc()
    return [c for c in calls.public_calls(db.session, now) if c.is_accepting(now)][:limit]


@bp.get("/calls")
@reads_only
def open_calls() -> Any:
    now = now_utc()
    listed = calls.public_calls(db.session, now)
    return render_template(
        "intake/calls.html",
        accepting=[c for c in listed if c.is_accepting(now)],
        others=[c for c in listed if not c.is_accepting(now)],
        now=now,
    )


@bp.get("/calls/<int:call_id>")
@reads_only
def call_page(call_id: int) -> Any:
    call = _call(call_id)
    accepting = call.is_accepting(now_utc())
    form = EligibilityForm(call.eligibility or {}, formdata=request.args or None)
    result: EligibilityResult | None = None
    status = 200
    if accepting and "check" in request.args:
        if form.validate():
            result = check_eligibility(call, form.answers())
        else:
            status = 422
    return render_template(
        "intake/call.html", call=call, accepting=accepting, form=form, result=result
    ), status
