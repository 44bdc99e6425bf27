"""Fund managers' forms for a call and its questions. Per-language fields are added for
each offered language when the form class is built."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.widgets import CheckboxInput, ListWidget

from ..funds.models import Fund
from ..organisations.rules import ORGANISATION_TYPE_LABELS
from ..platform.errors import ValidationFailed
from ..platform.forms import CheckboxesField, Form
from ..platform.i18n import LANGUAGE_NAMES, offered_languages
from ..platform.money import Money
from .commands import CallDetails, QuestionSpec, call_details, question_spec
from .models import Call
from .rules import Channel, QuestionKind, language_name

CHANNEL_LABELS = {
    Channel.WEB: _l("Web form"),
    Channel.SPREADSHEET: _l("Spreadsheet upload"),
    Channel.ODK: _l("ODK / KoBoToolbox"),
    Channel.API: _l("JSON API"),
}
KIND_LABELS = {
    QuestionKind.SHORT_TEXT: _l("Short text"),
    QuestionKind.LONG_TEXT: _l("Long text (with a word limit)"),
    QuestionKind.NUMBER: _l("Number"),
    QuestionKind.MONEY: _l("Amount of money"),
    QuestionKind.SINGLE_CHOICE: _l("One choice from a list"),
    QuestionKind.MULTIPLE_CHOICE: _l("Several choices from a list"),
    QuestionKind.DATE: _l("Date"),
    QuestionKind.LOCATION: _l("Location (country and area)"),
    QuestionKind.FILE: _l("File (document, photo or audio)"),
    QuestionKind.BUDGET_TABLE: _l("Budget table (line and amount)"),
    QuestionKind.YES_NO: _l("Yes or no"),
}


def _per_language(form_class: type[Form], name: str, field: type, label: Any) -> None:
    for lang in offered_languages():
        setattr(
            form_class,
            f"{name}_{lang}",
            field(f"{label} ({LANGUAGE_NAMES.get(lang, lang)})", render_kw={"lang": lang}),
        )


def _texts(form: Form, name: str) -> dict[str, str]:
    return {lang: form[f"{name}_{lang}"].data or "" for lang in offered_languages()}


class _CallForm(Form):
    currency = StringField(
        _l("Currency"), description=_l("ISO 4217 code; leave empty for the fund's currency.")
    )
    exchange_rate = StringField(
        _l("Exchange rate (only for another currency)"),
        description=_l(
            "How much of the fund's currency one unit of the call's currency is "
            "worth. Awards are counted against the fund at this rate."
        ),
        render_kw={"inputmode": "decimal"},
    )
    budget = StringField(_l("Budget envelope"), render_kw={"inputmode": "decimal"})
    min_request = StringField(_l("Smallest request"), render_kw={"inputmode": "decimal"})
    max_request = StringField(_l("Largest request"), render_kw={"inputmode": "decimal"})
    opens_at = StringField(
        _l("Opens at"),
        description=_l("In the fund's time zone. Leave empty to open when you press Open."),
        render_kw={"type": "datetime-local"},
    )
    closes_at = StringField(
        _l("Closes at"),
        description=_l("In the fund's time zone."),
        render_kw={"type": "datetime-local"},
    )
    org_types = CheckboxesField(_l("Kinds of organisation that may apply (none ticked: all)"))
    countries = StringField(
        _l("Countries (optional)"),
        description=_l("Two-letter codes separated by commas, e.g. KE, UG."),
    )
    areas = StringField(
        _l("Areas (optional)"), description=_l("ISO 3166-2 codes separated by commas, e.g. KE-47.")
    )
    registered_only = BooleanField(_l("Only registered organisations (no informal groups)"))
    channels = CheckboxesField(_l("Ways to apply"))
    tranche_template = StringField(_l("Default tranche template (optional)"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.org_types.choices = [(k.value, str(v)) for k, v in ORGANISATION_TYPE_LABELS.items()]
        self.channels.choices = [(k.value, str(v)) for k, v in CHANNEL_LABELS.items()]

    def command(self, fund: Fund) -> CallDetails:
        """The call typed, read in the fund's currency and time zone, or ValidationFailed."""

        def codes(text: str | None) -> list[str]:
            return [c.strip() for c in (text or "").split(",") if c.strip()]

        return call_details(
            fund_currency=fund.base_currency,
            timezone=fund.timezone,
            title=_texts(self, "title"),
            description=_texts(self, "description"),
            currency=self.currency.data,
            exchange_rate=self.exchange_rate.data,
            budget=self.budget.data,
            min_request=self.min_request.data,
            max_request=self.max_request.data,
            opens_at=self.opens_at.data,
            closes_at=self.closes_at.data,
            eligibility={
                "org_types": self.org_types.data or [],
                "countries": codes(self.countries.data),
                "areas": codes(self.areas.data),
                "registered_only": self.registered_only.data,
            },
            channels=self.channels.data or [],
            tranche_template=self.tranche_template.data,
            locale=_reader_locale(),
        )


def call_form(call: Call | None = None, **kwargs: Any) -> _CallForm:
    form_class = type("CallForm", (_CallForm,), {})
    _per_language(form_class, "title", StringField, _l("Title"))
    _per_language(form_class, "description", TextAreaField, _l("Description"))
    form: _CallForm = form_class(**kwargs)
    if call is not None and not form.is_submitted():
        _fill_from_call(form, call)
    return form


def _decimal_text(minor: int, currency: str) -> str:
    value: Decimal = Money(minor, currency).to_decimal()
    return f"{value:f}"


def _local(value: dt.datetime | None, timezone: str) -> str:
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%dT%H:%M")


def _fill_from_call(form: _CallForm, call: Call) -> None:
    for lang in offered_languages():
        form[f"title_{lang}"].data = call.title.get(lang, "")
        form[f"description_{lang}"].data = call.description.get(lang, "")
    form.currency.data = call.currency
    form.exchange_rate.data = call.exchange_rate or ""
    form.budget.data = _decimal_text(call.budget_minor, call.currency)
    form.min_request.data = _decimal_text(call.min_request_minor, call.currency)
    form.max_request.data = _decimal_text(call.max_request_minor, call.currency)
    form.opens_at.data = _local(call.opens_at, call.fund.timezone)
    form.closes_at.data = _local(call.closes_at, call.fund.timezone)
    form.org_types.data = call.eligibility.get("org_types", [])
    form.countries.data = ", ".join(call.eligibility.get("countries", []))
    form.areas.data = ", ".join(call.eligibility.get("areas", []))
    form.registered_only.data = bool(call.eligibility.get("registered_only"))
    form.channels.data = call.channels
    form.tranche_template.data = call.tranche_template or ""


class _QuestionForm(Form):
    key = StringField(
        _l("Key"), description=_l("Short and stable, e.g. project_summary. Used in exports.")
    )
    kind = SelectField(_l("Kind of question"))
    required = BooleanField(_l("An answer is required"))
    whole = BooleanField(
        _l("Whole numbers only"),
        description=_l("For a number question that counts, such as people: 2.5 is refused."),
    )
    word_limit = StringField(_l("Word limit (long text)"), render_kw={"inputmode": "numeric"})
    max_bytes = StringField(_l("Largest file in bytes (file)"), render_kw={"inputmode": "numeric"})
    file_kinds = SelectMultipleField(
        _l("Accepted files (file)"),
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    show_if = SelectField(_l("Ask only when this earlier question is answered yes"))
    languages: list[str]

    def texts(self, name: str) -> dict[str, str]:
        return {lang: (self[f"{name}_{lang}"].data or "").strip() for lang in self.languages}

    def _main_language_errors(self) -> dict[str, list[str]]:
        """The applicant's texts in the call's main language are required; the other
        languages are optional (the main language's text is shown where one is missing)."""
        main = self.languages[0]
        name = language_name(main, _reader_locale())
        errors: dict[str, list[str]] = {}
        if not self.texts("label")[main]:
            errors[f"label_{main}"] = [
                _(
                    "Write the question in %(language)s, the call's main language.",
                    language=name,
                )
            ]
        for field, message in (
            ("help", _l("Write the help text in %(language)s too, the call's main language.")),
            (
                "section",
                _l("Write the section's name in %(language)s too, the call's main language."),
            ),
            ("choices", _l("Write the choices in %(language)s too, the call's main language.")),
        ):
            texts = self.texts(field)
            if any(texts.values()) and not texts[main]:
                errors[f"{field}_{main}"] = [str(message) % {"language": name}]
        return errors

    def command(self) -> QuestionSpec:
        """The question typed, or ValidationFailed with every field that cannot be read
        (whether it fits among the call's other questions is the service's to say)."""
        errors = self._main_language_errors()
        main, others = self.languages[0], self.languages[1:]
        choices = self.texts("choices")
        spec: QuestionSpec | None = None
        try:
            spec = question_spec(
                key=self.key.data,
                kind=self.kind.data,
                label=self.texts("label"),
                help=self.texts("help"),
                section=self.texts("section"),
                required=self.required.data,
                whole=self.whole.data,
                choices=choices[main].splitlines(),
                choice_labels={lang: choices[lang] for lang in others},
                word_limit=self.word_limit.data,
                max_bytes=self.max_bytes.data,
                file_kinds=self.file_kinds.data or None,
                show_if=self.show_if.data or None,
            )
        except ValidationFailed as failure:
            errors.update(failure.errors)
        if errors or spec is None:
            raise ValidationFailed(errors)
        return spec


def _reader_locale() -> str:
    return str(get_locale() or "en")


def question_form(
    languages: list[str],
    earlier: list[dict[str, Any]],
    question: dict[str, Any] | None = None,
    **kwargs: Any,
) -> _QuestionForm:
    """The question builder: the applicant's texts (question, help, section, choices) once
    per language of the call, the main language first."""
    languages = list(languages) or ["en"]
    reader = _reader_locale()
    form_class = type("QuestionForm", (_QuestionForm,), {"languages": languages})
    for lang in languages:
        name = language_name(lang, reader)
        is_main = lang == languages[0]
        fields = {
            "label": StringField(f"{_l('Question')} ({name})"),
            "help": TextAreaField(f"{_l('Help text')} ({name})"),
            "section": StringField(
                f"{_l('Section (optional)')} ({name})",
                description=_l("Questions next to each other with the same section share a page.")
                if is_main
                else "",
            ),
            "choices": TextAreaField(
                f"{_l('Choices (one per line)')} ({name})",
                description=""
                if is_main
                else _l("One line for each choice above, in the same order."),
            ),
        }
        for field_name, field in fields.items():
            field.kwargs["render_kw"] = {"lang": lang}
            setattr(form_class, f"{field_name}_{lang}", field)
    form: _QuestionForm = form_class(**kwargs)
    form.kind.choices = [(k.value, str(v)) for k, v in KIND_LABELS.items()]
    form.file_kinds.choices = [
        ("document", str(_l("Documents (PDF, Word, spreadsheets)"))),
        ("photo", str(_l("Photos"))),
        ("audio", str(_l("Voice recordings"))),
    ]
    form.show_if.choices = [("", "—")] + [
        (q["key"], q["key"]) for q in earlier if q["kind"] == QuestionKind.YES_NO
    ]
    if question is not None and not form.is_submitted():
        main = languages[0]
        form.key.data = question["key"]
        form.kind.data = question["kind"]
        form.required.data = bool(question.get("required"))
        form.whole.data = bool(question.get("whole"))
        form.word_limit.data = str(question.get("word_limit") or "")
        form.max_bytes.data = str(question.get("max_bytes") or "")
        form.file_kinds.data = list(question.get("file_kinds") or [])
        form.show_if.data = next(iter(question.get("show_if") or {}), "")
        section = question.get("section") or {}
        if isinstance(section, str):  # stored before sections were named per language
            section = {main: section}
        labels = question.get("choice_labels") or {}
        for lang in languages:
            form[f"label_{lang}"].data = _stored_text(question.get("label"), lang, main)
            form[f"help_{lang}"].data = _stored_text(question.get("help"), lang, main)
            form[f"section_{lang}"].data = section.get(lang, "")
            form[f"choices_{lang}"].data = "\n".join(
                question.get("choices") or [] if lang == main else labels.get(lang) or []
            )
    return form


def _stored_text(texts: Any, lang: str, main: str) -> str:
    if isinstance(texts, str):
        return texts if lang == main else ""
    return str((texts or {}).get(lang) or "")
