"""Pure rules of a call: its states, its questions, eligibility and answer validation.

No database and no Flask request here; messages go through gettext so they read well in
the applicant's language.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.numbers import NumberFormatError, get_group_symbol, parse_decimal
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..organisations.rules import (
    ORGANISATION_TYPE_LABELS,
    OrganisationType,
    check_location,
    country_name,
    is_valid_area,
    is_valid_country,
)
from ..platform.errors import ValidationFailed
from ..platform.money import Money, format_money, parse_money
from ..platform.states import check_transition


class CallState(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    ARCHIVED = "archived"


CALL_TRANSITIONS: dict[CallState, frozenset[CallState]] = {
    CallState.DRAFT: frozenset({CallState.OPEN, CallState.ARCHIVED}),
    CallState.OPEN: frozenset({CallState.CLOSED}),
    CallState.CLOSED: frozenset({CallState.ARCHIVED}),
    CallState.ARCHIVED: frozenset(),
}


CALL_STATE_LABELS = {
    CallState.DRAFT: _l("Draft"),
    CallState.OPEN: _l("Open"),
    CallState.CLOSED: _l("Closed"),
    CallState.ARCHIVED: _l("Archived"),
}


def _call_refusal(current: str, target: str) -> str:
    return _("A call that is %(current)s cannot become %(target)s.", current=current, target=target)


def check_call_transition(current: str, target: str) -> None:
    check_transition(CALL_TRANSITIONS, current, target, CALL_STATE_LABELS, _call_refusal)


class Channel(StrEnum):
    WEB = "web"
    SPREADSHEET = "spreadsheet"
    ODK = "odk"
    API = "api"


class QuestionKind(StrEnum):
    SHORT_TEXT = "short_text"
    LONG_TEXT = "long_text"
    NUMBER = "number"
    MONEY = "money"
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"
    DATE = "date"
    LOCATION = "location"
    FILE = "file"
    BUDGET_TABLE = "budget_table"
    YES_NO = "yes_no"


CHOICE_KINDS = frozenset({QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE})
SHORT_TEXT_MAX = 300
LONG_TEXT_MAX_CHARS = 20000
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

# Every call also asks, in the applicant's own words, what capacity strengthening the
# organisation wants. It is optional and always last.
CAPACITY_QUESTION: dict[str, Any] = {
    "key": "capacity_strengthening",
    "kind": QuestionKind.LONG_TEXT.value,
    "label": {
        "en": "What support would help your organisation grow stronger? (optional)",
        "fr": "Quel soutien aiderait votre organisation à se renforcer ? (facultatif)",
    },
    "help": {
        "en": "In your own words: training, equipment, accounting, anything you need.",
        "fr": "Avec vos mots : formation, équipement, comptabilité, tout ce dont vous avez besoin.",
    },
    "required": False,
    "word_limit": 300,
    "choices": [],
    "show_if": None,
    "section": "",
}


Texts = str | Mapping[str, str] | None


def text_and_lang(texts: Texts, language: str, main: str | None = None) -> tuple[str, str]:
    """The text in `language`, else in the call's `main` language, else English, else any
    language given; with the language of the text returned, so a page can mark a fallback
    (`lang="fr"`) for screen readers. A plain string (a text stored before texts were kept
    per language) is taken to be in the main language."""
    if not texts:
        return "", language
    if isinstance(texts, str):
        return texts, main or language
    for candidate in (language, main, "en"):
        if candidate and texts.get(candidate):
            return texts[candidate], candidate
    for code, text in texts.items():
        if text:
            return text, code
    return "", language


def text_in(texts: Texts, language: str, main: str | None = None) -> str:
    """The text in `language`, else in the `main` language, else English, else any
    language given. `texts` is {language: text}, or a plain string."""
    return text_and_lang(texts, language, main)[0]


def choice_options(
    question: Mapping[str, Any], language: str, main: str | None = None
) -> list[tuple[str, str, str]]:
    """Each choice of a question as (stored value, text shown, language of that text).

    The stored value is the choice in the call's main language, whatever the reader's
    language, so answers and exports do not change with who filled the form."""
    labels = question.get("choice_labels") or {}
    options = []
    for position, value in enumerate(question.get("choices") or []):
        translated = labels.get(language) or []
        if language != main and position < len(translated) and translated[position]:
            options.append((value, translated[position], language))
        else:
            options.append((value, value, main or language))
    return options


def choice_text(
    question: Mapping[str, Any], value: str, language: str, main: str | None = None
) -> str:
    """How a stored choice reads in `language` (the stored value when not translated)."""
    for stored, text, _lang in choice_options(question, language, main):
        if stored == value:
            return text
    return value


def all_questions(questions: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    keys = {q["key"] for q in questions}
    extra = [] if CAPACITY_QUESTION["key"] in keys else [CAPACITY_QUESTION]
    return [dict(q) for q in questions] + [dict(q) for q in extra]


def sections(questions: Sequence[Mapping[str, Any]]) -> list[list[dict[str, Any]]]:
    """Pages of the form: consecutive questions with the same section name share a page;
    a question without a section is a page of its own."""
    pages: list[list[dict[str, Any]]] = []
    last = None
    for question in all_questions(questions):
        name = section_key(question.get("section"))
        if name and pages and name == last:
            pages[-1].append(question)
        else:
            pages.append([question])
        last = name
    return pages


def section_key(section: Texts) -> str:
    """What tells two sections apart: the name in the main language (stored first)."""
    if isinstance(section, str):
        return section.strip()
    return next((str(v) for v in (section or {}).values() if v), "")


# Questions ------------------------------------------------------------------------------


def _language_name(code: str) -> str:

    return language_name(code, str(get_locale() or "en"))


def language_name(code: str, reader_locale: str) -> str:
    """A language's name in the reader's language: "French", "français"."""
    try:
        return Locale.parse(code.replace("-", "_")).get_display_name(reader_locale) or code
    except (UnknownLocaleError, ValueError):
        return code


def _clean_texts(raw: Any, languages: Sequence[str]) -> dict[str, str]:
    """{language: text} without blanks, the call's languages first and in their order. A
    plain string is a text in the main language."""
    if isinstance(raw, str):
        raw = {languages[0]: raw} if languages else {"en": raw}
    texts = {str(k): str(v).strip() for k, v in dict(raw or {}).items() if v and str(v).strip()}
    ordered = {code: texts[code] for code in languages if code in texts}
    return ordered | {k: v for k, v in texts.items() if k not in ordered}


def _clean_choices(
    raw: Mapping[str, Any], languages: Sequence[str], errors: dict[str, str]
) -> tuple[list[str], dict[str, list[str]]]:
    """The choices (stored values, in the main language) and their translations, line by
    line. A choice may also come as {language: text} (the API)."""
    main = languages[0] if languages else None
    choices: list[str] = []
    labels: dict[str, list[str]] = {code: [] for code in languages[1:]}
    as_dicts = False
    for item in raw.get("choices") or []:
        if isinstance(item, Mapping):
            as_dicts = True
            texts = _clean_texts(item, languages)
            value = texts.get(main or "") or next(iter(texts.values()), "")
            if not value:
                continue
            choices.append(value)
            for code in labels:
                labels[code].append(texts.get(code, ""))
        elif str(item).strip():
            choices.append(str(item).strip())
    if not as_dicts:
        given = dict(raw.get("choice_labels") or {})
        for code in labels:
            lines = given.get(code) or []
            if isinstance(lines, str):  # typed, one per line: blank lines are not choices
                lines = [line for line in lines.splitlines() if line.strip()]
            # In a list, an empty text keeps its place: that choice is not translated.
            lines = [str(line or "").strip() for line in lines]
            if any(lines) and len(lines) != len(choices):
                errors[f"choices_{code}"] = _(
                    "Give the %(language)s choices on the same lines as the choices above: "
                    "%(expected)s lines, one for each choice (there are %(given)s).",
                    language=_language_name(code),
                    expected=len(choices),
                    given=len(lines),
                )
            labels[code] = lines
    return choices, {code: lines for code, lines in labels.items() if any(lines)}


def clean_question(
    raw: Mapping[str, Any],
    earlier: Sequence[Mapping[str, Any]],
    languages: Sequence[str] = (),
) -> dict[str, Any]:
    """One question definition, checked. `earlier` are the questions before it;
    `languages` the call's, its main language first: the texts shown to applicants are
    kept per language (the question builder requires the main language's)."""
    errors: dict[str, str] = {}
    key = str(raw.get("key") or "").strip()
    if not _KEY.fullmatch(key):
        errors["key"] = _(
            "Use a short key of lower-case letters, digits and underscores, starting "
            "with a letter (for example project_summary)."
        )
    elif key in {q["key"] for q in earlier} or key == CAPACITY_QUESTION["key"]:
        errors["key"] = _("Another question already uses this key.")
    kind = str(raw.get("kind") or "")
    if kind not in {k.value for k in QuestionKind}:
        errors["kind"] = _("Choose the kind of question.")
    main = languages[0] if languages else None
    # The main language's texts are required by the question builder; a definition from
    # before calls had several languages (or from the API) may be in another language.
    label = _clean_texts(raw.get("label"), languages)
    if not label:
        errors[f"label_{main}" if main else "label"] = _(
            "Write the question in at least one language."
        )
    help_ = _clean_texts(raw.get("help"), languages)
    section_raw = raw.get("section")
    section: str | dict[str, str] = (
        section_raw.strip()
        if isinstance(section_raw, str) and not main
        else _clean_texts(section_raw, languages)
    )
    choices, choice_labels = _clean_choices(raw, languages, errors)
    choices_field = f"choices_{main}" if main else "choices"
    if kind in CHOICE_KINDS and len(choices) < 2:
        errors[choices_field] = _("Give at least two choices, one per line.")
    if len(set(choices)) != len(choices):
        errors[choices_field] = _("Each choice must be different.")
    word_limit = raw.get("word_limit")
    if word_limit in ("", None):
        word_limit = None
    else:
        try:
            word_limit = int(word_limit)
            if word_limit < 1:
                raise ValueError
        except (TypeError, ValueError):
            errors["word_limit"] = _("Enter a whole number of words, such as 250.")
            word_limit = None
    show_if = raw.get("show_if") or None
    if show_if:
        target = next(iter(dict(show_if)), "")
        earlier_yes_no = {q["key"] for q in earlier if q["kind"] == QuestionKind.YES_NO}
        if target not in earlier_yes_no:
            errors["show_if"] = _("A question can only depend on an earlier yes/no question.")
        show_if = {target: "yes"}
    max_bytes = raw.get("max_bytes")
    if max_bytes in ("", None):
        max_bytes = None
    else:
        try:
            max_bytes = int(max_bytes)
        except (TypeError, ValueError):
            errors["max_bytes"] = _("Enter a size in bytes.")
            max_bytes = None
    file_kinds = [k for k in (raw.get("file_kinds") or FILE_KINDS) if k]
    if any(k not in FILE_KINDS for k in file_kinds):
        errors["file_kinds"] = _("Choose documents, photos or voice recordings.")
    if errors:
        raise ValidationFailed(errors)
    question: dict[str, Any] = {
        "key": key,
        "kind": kind,
        "label": label,
        "help": help_,
        "required": bool(raw.get("required")),
        "choices": choices if kind in CHOICE_KINDS else [],
        "show_if": show_if,
        "section": section,
    }
    if kind in CHOICE_KINDS and choice_labels:
        question["choice_labels"] = choice_labels
    if kind == QuestionKind.NUMBER:
        question["whole"] = bool(raw.get("whole"))
    if kind == QuestionKind.LONG_TEXT:
        question["word_limit"] = word_limit
    if kind == QuestionKind.FILE:
        question["max_bytes"] = max_bytes
        question["file_kinds"] = [k for k in FILE_KINDS if k in file_kinds]
    return question


FILE_KINDS = ("document", "photo", "audio")


def allowed_content_types(question: Mapping[str, Any]) -> frozenset[str]:
    """What a file question accepts, judged by content: its kinds' types."""
    from ..platform.storage import AUDIO_TYPES, DOCUMENT_TYPES, IMAGE_TYPES

    by_kind = {"document": DOCUMENT_TYPES, "photo": IMAGE_TYPES, "audio": AUDIO_TYPES}
    kinds = question.get("file_kinds") or FILE_KINDS
    return frozenset().union(*(by_kind[k] for k in kinds if k in by_kind))


def accept_attribute(question: Mapping[str, Any]) -> str:
    """The browser's file picker hint (the server still checks the content)."""
    hints = {
        "document": ".pdf,.doc,.docx,.odt,.xlsx,.ods,.csv,.txt",
        "photo": "image/*",
        "audio": "audio/*",
    }
    return ",".join(hints[k] for k in (question.get("file_kinds") or FILE_KINDS) if k in hints)


def clean_questions(
    raw_questions: Sequence[Mapping[str, Any]], languages: Sequence[str] = ()
) -> list[dict[str, Any]]:
    cleaned: list[dict[str, Any]] = []
    for position, raw in enumerate(raw_questions, start=1):
        try:
            cleaned.append(clean_question(raw, cleaned, languages))
        except ValidationFailed as failure:
            raise ValidationFailed(
                {
                    field: [
                        _("Question %(n)s: %(message)s", n=position, message=m) for m in messages
                    ]
                    for field, messages in failure.errors.items()
                }
            ) from None
    return cleaned


def orphaning_changes(
    old: Sequence[Mapping[str, Any]], new: Sequence[Mapping[str, Any]]
) -> list[str]:
    """Why changing `old` into `new` would leave existing answers meaningless, in words.

    Allowed once applications exist: new optional questions, wording and help changes,
    order changes, and added choices.
    """
    problems: list[str] = []
    new_by_key = {q["key"]: q for q in new}
    old_keys = {q["key"] for q in old}
    for question in old:
        replacement = new_by_key.get(question["key"])
        if replacement is None:
            problems.append(
                _(
                    "The question “%(key)s” already has answers and cannot be removed.",
                    key=question["key"],
                )
            )
            continue
        if replacement["kind"] != question["kind"]:
            problems.append(
                _(
                    "The question “%(key)s” already has answers; its kind cannot change.",
                    key=question["key"],
                )
            )
        removed = set(question.get("choices") or []) - set(replacement.get("choices") or [])
        if removed:
            problems.append(
                _(
                    "The question “%(key)s” already has answers; choices cannot be removed.",
                    key=question["key"],
                )
            )
        if replacement.get("whole") and not question.get("whole"):
            problems.append(
                _(
                    "The question “%(key)s” already has answers; it cannot become whole "
                    "numbers only.",
                    key=question["key"],
                )
            )
        if replacement.get("required") and not question.get("required"):
            problems.append(
                _(
                    "The question “%(key)s” already has answers; it cannot become required.",
                    key=question["key"],
                )
            )
    for question in new:
        if question["key"] not in old_keys and question.get("required"):
            problems.append(
                _(
                    "Applications exist, so a new question “%(key)s” must be optional.",
                    key=question["key"],
                )
            )
    return problems


# Eligibility ----------------------------------------------------------------------------


def clean_eligibility(raw: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    org_types = sorted({str(t) for t in raw.get("org_types") or []})
    if any(t not in {o.value for o in OrganisationType} for t in org_types):
        errors["org_types"] = _("Choose organisation types from the list.")
    countries = sorted({str(c).strip().upper() for c in raw.get("countries") or [] if c})
    if any(not is_valid_country(c) for c in countries):
        errors["countries"] = _("Use two-letter country codes such as KE or UG.")
    areas = sorted({str(a).strip().upper() for a in raw.get("areas") or [] if a})
    if any(not is_valid_area(a.split("-")[0], a) for a in areas):
        errors["areas"] = _("Use ISO 3166-2 area codes such as KE-47.")
    if errors:
        raise ValidationFailed(errors)
    return {
        "org_types": org_types,
        "countries": countries,
        "areas": areas,
        "registered_only": bool(raw.get("registered_only")),
    }


def eligibility_reasons(
    rules: Mapping[str, Any],
    *,
    org_type: str,
    country: str,
    area: str | None,
    registered: bool,
) -> list[str]:
    """Empty when eligible; otherwise each reason in plain words."""
    reasons: list[str] = []
    org_types = rules.get("org_types") or []
    if org_types and org_type not in org_types:
        accepted = ", ".join(
            str(ORGANISATION_TYPE_LABELS.get(OrganisationType(t), t)).lower() for t in org_types
        )
        reasons.append(
            _("This call is only for these kinds of organisation: %(kinds)s.", kinds=accepted)
        )
    countries = rules.get("countries") or []
    if countries and country not in countries:
        names = ", ".join(country_name(c) for c in countries)
        reasons.append(
            _("This call is only for organisations working in %(countries)s.", countries=names)
        )
    areas = rules.get("areas") or []
    if areas and (area or "") not in areas:
        reasons.append(_("This call is only for organisations in certain areas of the country."))
    if rules.get("registered_only") and not registered:
        reasons.append(
            _("This call is only for registered organisations. Informal groups cannot apply to it.")
        )
    return reasons


# Answers --------------------------------------------------------------------------------


def is_shown(question: Mapping[str, Any], answers: Mapping[str, Any]) -> bool:
    show_if = question.get("show_if")
    if not show_if:
        return True
    return all(str(answers.get(k) or "") == v for k, v in show_if.items())


def _words(text: str) -> int:
    """Words are separated by white space, line breaks included; a no-break space
    (U+00A0, U+2007, U+202F) joins rather than separates, as in "10 000" or "puits ?".
    The offline form counts the same way (intake.xform.word_count_expression)."""
    return len(text.translate({0x00A0: "_", 0x2007: "_", 0x202F: "_"}).split())


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | dict):
        return not any(
            not _blank(v) for v in (value.values() if isinstance(value, dict) else value)
        )
    return False


def clean_answer(question: Mapping[str, Any], value: Any, currency: str, locale: str) -> Any:
    """The stored form of one non-blank answer, or ValueError with a plain message."""
    kind = question["kind"]
    if kind == QuestionKind.SHORT_TEXT:
        text = str(value).strip()
        if len(text) > SHORT_TEXT_MAX:
            raise ValueError(_("Use at most %(n)s characters.", n=SHORT_TEXT_MAX))
        return text
    if kind == QuestionKind.LONG_TEXT:
        text = str(value).strip()
        limit = question.get("word_limit")
        if limit and _words(text) > limit:
            raise ValueError(
                _(
                    "Use at most %(limit)s words; you have %(count)s.",
                    limit=limit,
                    count=_words(text),
                )
            )
        if len(text) > LONG_TEXT_MAX_CHARS:
            raise ValueError(_("This answer is too long."))
        return text
    if kind == QuestionKind.NUMBER:
        number = parse_number(value, locale)
        if number is None:
            raise ValueError(_("Enter a number, such as 25."))
        if question.get("whole"):
            if number != number.to_integral_value():
                raise ValueError(_("Enter a whole number, such as 25."))
            number = number.quantize(Decimal(1))
        return str(number)
    if kind == QuestionKind.MONEY:
        if isinstance(value, int) and not isinstance(value, bool):
            return Money(value, currency).amount_minor
        try:
            return parse_money(str(value), currency, locale).amount_minor
        except ValueError:
            raise ValueError(
                _(
                    "Enter an amount in %(currency)s, such as %(example)s.",
                    currency=currency,
                    example=format_money(Money.from_decimal(1500, currency), locale),
                )
            ) from None
    if kind == QuestionKind.SINGLE_CHOICE:
        if str(value) not in question.get("choices", []):
            raise ValueError(_("Choose one of the options."))
        return str(value)
    if kind == QuestionKind.MULTIPLE_CHOICE:
        chosen = [value] if isinstance(value, str) else list(value)
        if any(str(c) not in question.get("choices", []) for c in chosen):
            raise ValueError(_("Choose from the options given."))
        return [c for c in question["choices"] if c in {str(x) for x in chosen}]
    if kind == QuestionKind.DATE:
        try:
            return dt.date.fromisoformat(str(value).strip()).isoformat()
        except ValueError:
            raise ValueError(_("Enter a date such as 2026-03-31.")) from None
    if kind == QuestionKind.LOCATION:
        if not isinstance(value, Mapping):
            raise ValueError(_("Choose a country."))
        country, area = check_location(
            str(value.get("country") or ""), str(value.get("area") or "")
        )
        return {"country": country, "area": area}
    if kind == QuestionKind.FILE:
        if not isinstance(value, Mapping) or not value.get("key"):
            raise ValueError(_("Upload a file."))
        return {k: value[k] for k in ("key", "size", "content_type", "name") if k in value}
    if kind == QuestionKind.BUDGET_TABLE:
        return _clean_budget(value, currency, locale)
    if kind == QuestionKind.YES_NO:
        answer = str(value).strip().lower()
        if answer not in ("yes", "no"):
            raise ValueError(_("Answer yes or no."))
        return answer
    raise ValueError(f"unknown question kind {kind!r}")


_MACHINE_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def parse_number(value: Any, locale: str) -> Decimal | None:
    """A number as the person's locale writes it ("2,5" or "1 000" in French, "1,000" in
    English), or as machines write it ("2.5", from a phone form or the API); None when it
    is neither. Never guesses: "2,5" in English is not 25."""
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        given = Decimal(value)
        return given if given.is_finite() else None
    text = str(value).strip()
    if not text or "e" in text.lower():
        return None
    code = (locale or "en").replace("-", "_")
    try:
        group = get_group_symbol(code)
    except (UnknownLocaleError, ValueError):
        code, group = "en", ","
    if group.isspace():
        # Whatever space a person types between thousands is the locale's group space.
        text = re.sub(r"(?<=\d)[ \u00a0\u202f](?=\d)", group, text)
    number: Decimal | None
    try:
        number = parse_decimal(text, locale=code, strict=True)
    except (NumberFormatError, ValueError, InvalidOperation):
        number = None
    if number is None and _MACHINE_NUMBER.fullmatch(text) and not ("." in text and group == "."):
        number = Decimal(text)
    if number is None or not number.is_finite():
        return None
    return number


def _clean_budget(value: Any, currency: str, locale: str) -> list[dict[str, Any]]:
    """A budget table: a list of {line, amount}, or text with one 'line | amount' per row."""
    rows: list[tuple[str, Any]] = []
    if isinstance(value, str):
        for text_row in value.splitlines():
            if not text_row.strip():
                continue
            line, sep, amount = text_row.rpartition("|")
            if not sep:
                raise ValueError(_("Write each budget line as: what it is | amount."))
            rows.append((line.strip(), amount.strip()))
    else:
        rows = [(str(r.get("line") or "").strip(), r.get("amount")) for r in value]
    cleaned = []
    for n, (line, amount) in enumerate(rows, start=1):
        if not line:
            raise ValueError(_("Budget line %(n)s needs a description.", n=n))
        try:
            minor = (
                Money(amount, currency).amount_minor
                if isinstance(amount, int) and not isinstance(amount, bool)
                else parse_money(str(amount), currency, locale).amount_minor
            )
        except (ValueError, TypeError):
            raise ValueError(
                _("Budget line %(n)s needs an amount in %(currency)s.", n=n, currency=currency)
            ) from None
        cleaned.append({"line": line, "amount_minor": minor})
    return cleaned


def validate_answers(
    questions: Sequence[Mapping[str, Any]],
    answers: Mapping[str, Any],
    *,
    currency: str,
    locale: str,
    only: set[str] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Check answers against the form definition (the capacity question included).

    Returns (cleaned answers, errors by question key). Hidden questions (show_if not met)
    are dropped; unknown keys are ignored. `only` limits the checks to some questions
    (one page of the web form).
    """
    cleaned: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for question in all_questions(questions):
        key = question["key"]
        if only is not None and key not in only:
            continue
        if not is_shown(question, answers):
            continue
        value = answers.get(key)
        if _blank(value):
            if question.get("required"):
                if question["kind"] in CHOICE_KINDS | {QuestionKind.YES_NO}:
                    errors[key] = _("Choose an answer.")
                elif question["kind"] == QuestionKind.FILE:
                    errors[key] = _("Choose a file to upload.")
                else:
                    errors[key] = _("Answer this question.")
            continue
        try:
            cleaned[key] = clean_answer(question, value, currency, locale)
        except ValueError as exc:
            errors[key] = str(exc)
    return cleaned, errors


def bounds_message(minimum: Money, maximum: Money, locale: str) -> str:
    return _(
        "Ask for between %(min)s and %(max)s.",
        min=format_money(minimum, locale),
        max=format_money(maximum, locale),
    )
