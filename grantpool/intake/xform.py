"""A call published as an ODK XForm, for ODK Collect, KoBoCollect and Enketo.

The form is built as an XLSForm (survey, choices and settings sheets, one label column per
language of the call: ``label::French (fr)``) and converted by pyxform, the converter ODK
itself uses, so what devices receive is what ODK's tools would make of the same sheet.
The form's version is a digest of what its answers mean (each question's key, kind,
choices, conditions and limits, and the call's languages, currency and bounds), so a change
to the questions gives a new version; submissions name the version they were filled in, and
only the current one is accepted. New wording, translations or messages (and a new
grantpool that words the form better) keep the version: a form filled in on a phone before
is still received, and the changed form's hash tells devices to fetch it again.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.numbers import format_decimal
from flask_babel import force_locale
from flask_babel import gettext as _

from ..calls.models import Call
from ..calls.rules import (
    LONG_TEXT_MAX_CHARS,
    SHORT_TEXT_MAX,
    QuestionKind,
    all_questions,
    bounds_message,
    choice_options,
    section_key,
    text_in,
)
from ..organisations.rules import country_choices
from ..platform.money import MAX_AMOUNT_MINOR, Money, exponent, format_money

FORM_ID_PREFIX = "grantpool_call_"
REQUESTED_FIELD = "requested_amount"
# Names pyxform or this module use at the top of the instance; a question keyed so gets
# a prefix in the form (and loses it again when a submission is read).
_RESERVED = frozenset({REQUESTED_FIELD, "meta", "intro", "instanceID"})
FILE_TYPES = {"photo": "image", "audio": "audio"}  # anything else is a generic file


# The server counts words as calls.rules does: runs of white space (str.split()) separate
# them, except the no-break spaces, which hold "10 000" or "puits ?" together as print
# does. count-selected() splits at ordinary spaces only, so a line break or an ideographic
# space would join two words on the phone and the server would later refuse the answer.
# The form therefore turns every other white-space character into a space first
# (translate) and collapses runs of spaces, tabs and line breaks (normalize-space): the
# phone counts what the server and the web form count, so nothing the phone accepts is
# refused on sending and nothing over the limit gets through. ASCII white space is left
# to normalize-space (an XML attribute turns tab, CR and LF into spaces anyway, and XML
# cannot carry the other ASCII ones). pyxform collapses runs of spaces in a cell, so the
# characters become U+3000 (itself a word break) first and spaces in a second step; it
# also turns U+00A0 into a space, so the form could not name that one as a break at all.
NO_BREAK_SPACES = "\u00a0\u2007\u202f"
WORD_BREAKS = "".join(
    c for c in map(chr, range(0x80, 0x110000)) if c.isspace() and c not in NO_BREAK_SPACES
)
_IDEOGRAPHIC_SPACE = "\u3000"


def word_count_expression(path: str = ".") -> str:
    """XPath counting the words of the text at `path` as the server counts them."""
    spaced = f"translate({path}, '{WORD_BREAKS}', '{_IDEOGRAPHIC_SPACE * len(WORD_BREAKS)}')"
    return f"count-selected(normalize-space(translate({spaced}, '{_IDEOGRAPHIC_SPACE}', ' ')))"


def form_id(call: Call) -> str:
    return f"{FORM_ID_PREFIX}{call.id}"


def call_id_of(form_id_text: str) -> int | None:
    match = re.fullmatch(re.escape(FORM_ID_PREFIX) + r"(\d{1,18})", form_id_text or "")
    return int(match.group(1)) if match else None


def field_name(key: str) -> str:
    """The element name of a question in the form."""
    return f"q_{key}" if key in _RESERVED or key.startswith("q_") else key


def choice_names(choices: Sequence[str]) -> dict[str, str]:
    """XForm names for free-text choices, stable for a given list: a select_multiple
    answer is a space-separated list of names, so names carry no spaces."""
    names: dict[str, str] = {}
    used: set[str] = set()
    for position, choice in enumerate(choices, start=1):
        ascii_text = unicodedata.normalize("NFKD", choice).encode("ascii", "ignore").decode()
        slug = re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")[:40]
        name = slug if slug and slug[0].isalpha() else f"choice_{position}"
        if name in used:
            name = f"{name}_{position}"
        used.add(name)
        names[choice] = name
    return names


def language_column(code: str) -> str:
    """The XLSForm way of naming a language: ``English (en)``."""
    try:
        name = Locale.parse(code.replace("-", "_")).get_display_name("en") or code
    except (UnknownLocaleError, ValueError):
        name = code
    return f"{name} ({code})"


@dataclass(frozen=True)
class XForm:
    form_id: str
    version: str
    title: str
    xml: str
    xlsform: bytes

    @property
    def md5(self) -> str:
        return "md5:" + hashlib.md5(self.xml.encode("utf-8"), usedforsecurity=False).hexdigest()


def _texts(languages: Sequence[str], make: Any) -> dict[str, str]:
    """One text per language column, each made with that language's translations."""
    texts = {}
    for code in languages:
        with force_locale(code):
            texts[code] = str(make(code))
    return texts


def _money_hint(call: Call) -> Any:
    return lambda _code: _("In %(currency)s.", currency=call.currency)


def _amount_constraint(currency: str, low: Any = 0, high: Any = None) -> str:
    """What an amount typed on the phone must be for the server to accept it: within
    bounds, and with no more decimals than the currency has (the server refuses an amount
    it would have to round). The phone computes in binary floating point, where
    0.29 * 100 is 28.999999999999996, hence the small tolerance on the decimals."""
    scale = 10 ** exponent(currency)
    if high is None:
        high = Money(MAX_AMOUNT_MINOR, currency).to_decimal()
    return f". >= {low} and . <= {high} and abs(. * {scale} - round(. * {scale})) < 0.0001"


def _amount_message(currency: str) -> Any:
    # The server's own words for an amount it cannot take (calls.rules.clean_answer).
    return lambda code: _(
        "Enter an amount in %(currency)s, such as %(example)s.",
        currency=currency,
        example=format_money(Money.from_decimal(1500, currency), code),
    )


def _number(n: int, code: str) -> str:
    return format_decimal(n, locale=code.replace("-", "_"))


def _intro(call: Call, languages: Sequence[str]) -> dict[str, str]:
    """The first screen: the call's description, under its title where the title differs
    from the form's title. Devices show the form title (`<h:title>`, which XForms cannot
    translate) above every screen, so the default language would otherwise read the title
    twice, while another language needs its own title here."""
    title = call.title_in(languages[0])
    texts = {}
    for code in languages:
        own_title = call.title_in(code)
        parts = [own_title if own_title != title else "", call.description_in(code)]
        texts[code] = "\n\n".join(p for p in parts if p)
    return texts


def xlsform_sheets(call: Call) -> dict[str, list[dict[str, Any]]]:
    """The XLSForm of a call as rows of its survey, choices and settings sheets.
    Label-like cells are {language: text} until `_flatten` spreads them into columns."""
    languages = call.languages or ["en"]
    survey: list[dict[str, Any]] = []
    choices: list[dict[str, Any]] = []
    lists: set[str] = set()

    def add_list(name: str, items: Sequence[tuple[str, dict[str, str]]]) -> None:
        if name in lists:
            return
        lists.add(name)
        choices.extend({"list_name": name, "name": n, "label": label} for n, label in items)

    intro = _intro(call, languages)
    if any(intro.values()):
        survey.append({"type": "note", "name": "intro", "label": intro})
    low, high = call.min_request.to_decimal(), call.max_request.to_decimal()
    survey.append(
        {
            "type": "decimal",
            "name": REQUESTED_FIELD,
            "label": _texts(
                languages,
                lambda _code: _(
                    "How much are you asking for (%(currency)s)?", currency=call.currency
                ),
            ),
            "required": "yes",
            "constraint": _amount_constraint(call.currency, low, high),
            # The server's words for an amount out of bounds (intake.services).
            "constraint_message": _texts(
                languages,
                lambda code: bounds_message(call.min_request, call.max_request, code),
            ),
        }
    )
    main = languages[0]
    last_section = ""
    for position, question in enumerate(all_questions(call.questions), start=1):
        key, kind = question["key"], question["kind"]
        # A language without its own text shows the main language's, as the web form does.
        label = {code: text_in(question.get("label"), code, main) for code in languages}
        hint = {code: text_in(question.get("help"), code, main) for code in languages}
        section = section_key(question.get("section"))
        if section and section != last_section:
            # A section's name opens it, on a screen of its own. Not a group: answers stay
            # where the server reads them (odk.answers_from), at the top of the instance.
            # The name starts with "_", which no question key can.
            survey.append(
                {
                    "type": "note",
                    "name": f"_section_{position}",
                    "label": {
                        code: text_in(question.get("section"), code, main) for code in languages
                    },
                }
            )
        last_section = section
        row: dict[str, Any] = {"name": field_name(key), "label": label, "hint": hint}
        if question.get("required"):
            row["required"] = "yes"
        show_if = question.get("show_if") or {}
        if show_if:
            row["relevant"] = " and ".join(
                f"${{{field_name(k)}}} = '{v}'" for k, v in show_if.items()
            )
        # string-length() counts UTF-16 code units on the phone and the server counts code
        # points after trimming, so the phone is never the more lenient of the two.
        if kind == QuestionKind.SHORT_TEXT:
            row.update(type="text", constraint=f"string-length(.) <= {SHORT_TEXT_MAX}")
            row["constraint_message"] = _texts(
                languages,
                lambda code: _("Use at most %(n)s characters.", n=_number(SHORT_TEXT_MAX, code)),
            )
        elif kind == QuestionKind.LONG_TEXT:
            row.update(type="text", appearance="multiline")
            length = f"string-length(.) <= {LONG_TEXT_MAX_CHARS}"
            if question.get("word_limit"):
                limit = int(question["word_limit"])
                row["constraint"] = f"{word_count_expression()} <= {limit} and {length}"
                row["constraint_message"] = _texts(
                    languages,
                    lambda code, n=limit: _(
                        "Use at most %(words)s words and %(characters)s characters.",
                        words=_number(n, code),
                        characters=_number(LONG_TEXT_MAX_CHARS, code),
                    ),
                )
            else:
                row["constraint"] = length
                row["constraint_message"] = _texts(
                    languages,
                    lambda code: _(
                        "Use at most %(n)s characters.", n=_number(LONG_TEXT_MAX_CHARS, code)
                    ),
                )
        elif kind == QuestionKind.NUMBER:
            # A count ("how many people") is a whole number; the phone refuses 2.5 as the
            # server does (calls.rules.clean_answer).
            row["type"] = "integer" if question.get("whole") else "decimal"
        elif kind == QuestionKind.MONEY:
            row.update(type="decimal", constraint=_amount_constraint(call.currency))
            row["constraint_message"] = _texts(languages, _amount_message(call.currency))
            row["hint"] = {
                code: " ".join(filter(None, [hint[code], text]))
                for code, text in _texts(languages, _money_hint(call)).items()
            }
        elif kind in (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE):
            list_name = f"list_{key}"
            # Names come from the stored values (the main language's), so a submission
            # reads the same whatever language the phone showed.
            names = choice_names(question.get("choices") or [])
            texts = {code: choice_options(question, code, main) for code in languages}
            add_list(
                list_name,
                [
                    (names[value], {code: texts[code][n][1] for code in languages})
                    for n, value in enumerate(question.get("choices") or [])
                ],
            )
            verb = "select_one" if kind == QuestionKind.SINGLE_CHOICE else "select_multiple"
            row["type"] = f"{verb} {list_name}"
        elif kind == QuestionKind.YES_NO:
            add_list(
                "yes_no",
                [
                    ("yes", _texts(languages, lambda _code: _("Yes"))),
                    ("no", _texts(languages, lambda _code: _("No"))),
                ],
            )
            row["type"] = "select_one yes_no"
        elif kind == QuestionKind.DATE:
            row["type"] = "date"
        elif kind == QuestionKind.FILE:
            kinds = list(question.get("file_kinds") or [])
            only = kinds[0] if len(kinds) == 1 else str(question.get("accept") or "")
            row["type"] = FILE_TYPES.get(only, "file")
        elif kind == QuestionKind.LOCATION:
            allowed = set(call.eligibility.get("countries") or [])
            countries = [(c, n) for c, n in country_choices() if not allowed or c in allowed]
            add_list("countries", [(c, dict.fromkeys(languages, n)) for c, n in countries])
            # Country and area on one screen (ODK Collect; a page in Enketo's pages theme).
            survey.append(
                {"type": "begin_group", **_without(row, "required"), "appearance": "field-list"}
            )
            survey.append(
                {
                    "type": "select_one countries",
                    "name": "country",
                    "label": _texts(languages, lambda _code: _("Country")),
                    "required": row.get("required", ""),
                    "appearance": "minimal",
                }
            )
            survey.append(
                {
                    "type": "text",
                    "name": "area",
                    "label": _texts(languages, lambda _code: _("Area (optional)")),
                    "hint": _texts(languages, lambda _code: _("ISO 3166-2 code, e.g. KE-47")),
                    # The server checks the code against ISO 3166-2; the phone can at least
                    # refuse an area of another country (the server upper-cases it).
                    "constraint": (
                        ". = '' or starts-with(translate(., 'abcdefghijklmnopqrstuvwxyz', "
                        "'ABCDEFGHIJKLMNOPQRSTUVWXYZ'), concat(../country, '-'))"
                    ),
                    "constraint_message": _texts(
                        languages, lambda _code: _("Choose an area in the selected country.")
                    ),
                }
            )
            survey.append({"type": "end_group", "name": ""})
            continue
        elif kind == QuestionKind.BUDGET_TABLE:
            # Each budget line and its amount on one screen.
            survey.append(
                {"type": "begin_repeat", **_without(row, "required"), "appearance": "field-list"}
            )
            survey.append(
                {
                    "type": "text",
                    "name": "line",
                    "label": _texts(languages, lambda _code: _("What it is for")),
                    "required": "yes",
                }
            )
            survey.append(
                {
                    "type": "decimal",
                    "name": "amount",
                    "label": _texts(
                        languages,
                        lambda _code: _("Amount (%(currency)s)", currency=call.currency),
                    ),
                    "required": "yes",
                    "constraint": _amount_constraint(call.currency),
                    "constraint_message": _texts(languages, _amount_message(call.currency)),
                }
            )
            survey.append({"type": "end_repeat", "name": ""})
            continue
        else:  # a kind this module does not know yet: leave it out rather than guess
            continue
        survey.append(row)
    settings = [
        {
            "form_title": call.title_in(languages[0]),
            "form_id": form_id(call),
            "default_language": language_column(languages[0]),
            "style": "pages",
        }
    ]
    return {"survey": survey, "choices": choices, "settings": settings}


def _without(row: Mapping[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in names}


def _flatten(
    rows: list[dict[str, Any]], languages: Sequence[str]
) -> tuple[list[str], list[list[str]]]:
    """Rows with {language: text} cells as a header and plain rows, one column per
    language for each translated cell (``label::English (en)``)."""
    header: list[str] = []
    for row in rows:
        for name, value in row.items():
            columns = (
                [f"{name}::{language_column(c)}" for c in languages]
                if isinstance(value, Mapping)
                else [name]
            )
            header += [c for c in columns if c not in header]
    table = []
    for row in rows:
        cells = dict.fromkeys(header, "")
        for name, value in row.items():
            if isinstance(value, Mapping):
                for code in languages:
                    cells[f"{name}::{language_column(code)}"] = str(value.get(code) or "")
            else:
                cells[name] = str(value)
        table.append([cells[h] for h in header])
    return header, table


def _workbook_bytes(sheets: Mapping[str, tuple[list[str], list[list[str]]]]) -> bytes:
    import datetime as dt

    from openpyxl import Workbook

    book = Workbook(write_only=True)
    # Fixed document dates keep the bytes of an unchanged form identical.
    book.properties.created = book.properties.modified = dt.datetime(2026, 1, 1)  # noqa: DTZ001
    for title, (header, table) in sheets.items():
        sheet = book.create_sheet(title)
        sheet.append(header)
        for row in table:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@lru_cache(maxsize=64)
def _build(canonical: str) -> tuple[str, bytes]:
    """XLSForm bytes and the XForm pyxform makes of them, for one canonical form."""
    from pyxform.xls2xform import convert

    spec = json.loads(canonical)
    languages = spec["languages"]
    sheets = {name: _flatten(rows, languages) for name, rows in spec["sheets"].items()}
    xlsform = _workbook_bytes(sheets)
    result = convert(xlsform=xlsform, file_type=".xlsx", form_name="data")
    return result.xform, xlsform


# What an answer's meaning depends on; labels, hints and messages are words, not meaning.
_MEANING = (
    "key", "kind", "required", "choices", "show_if", "word_limit", "max_bytes",
    "file_kinds", "whole",
)  # fmt: skip


def _version(call: Call) -> str:
    meaning = {
        "languages": call.languages or ["en"],
        "bounds": [call.currency, call.min_request_minor, call.max_request_minor],
        "questions": [
            {k: q.get(k) for k in _MEANING if q.get(k) is not None}
            for q in all_questions(call.questions or [])
        ],
    }
    text = json.dumps(meaning, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def xform_for(call: Call) -> XForm:
    """The call's current form. Built once per version and kept in memory."""
    languages = call.languages or ["en"]
    sheets = xlsform_sheets(call)
    version = _version(call)
    sheets["settings"][0]["version"] = version
    canonical = json.dumps(
        {"languages": languages, "sheets": sheets}, sort_keys=True, ensure_ascii=False
    )
    xml, xlsform = _build(canonical)
    return XForm(
        form_id=form_id(call),
        version=version,
        title=sheets["settings"][0]["form_title"],
        xml=xml,
        xlsform=xlsform,
    )
