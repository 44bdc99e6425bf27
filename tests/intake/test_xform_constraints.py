"""The offline form refuses, on the phone and in the call's languages, what the server would
refuse on sending, and nothing the server would take: word counts, amounts, lengths and
areas are checked the same way on both sides.

The form's constraints are evaluated here with lxml's XPath 1.0 engine (libxml2), with the
two ODK functions it lacks written as ODK's clients define them: count-selected() counts
the space-separated parts of its argument and abs() is the absolute value.
"""

from __future__ import annotations

import datetime as dt
import shutil
from typing import Any

import pytest
from defusedxml import ElementTree
from lxml import etree
from sqlalchemy.orm import Session

from grantpool.calls.rules import LONG_TEXT_MAX_CHARS, QuestionKind, validate_answers
from grantpool.intake.odk import _minor_units
from grantpool.intake.xform import WORD_BREAKS, word_count_expression, xform_for
from grantpool.platform.money import Money, format_money
from tests.factories import make_call, make_fund, make_user
from tests.intake.test_odk import odk_questions

XF = "{http://www.w3.org/2002/xforms}"
H = "{http://www.w3.org/1999/xhtml}"
JR_MSG = "{http://openrosa.org/javarosa}constraintMsg"


def soon() -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(days=10)


def questions() -> list[dict[str, Any]]:
    return [
        *odk_questions(),
        {
            "key": "people",
            "kind": "number",
            "label": {"en": "How many people?", "fr": "Combien de personnes ?"},
        },
        {"key": "own_share", "kind": "money", "label": {"en": "Your own share"}},
        {"key": "notes", "kind": "long_text", "label": {"en": "Anything else?"}},
    ]


def bilingual_call(session: Session, **fields: Any) -> Any:
    data: dict[str, Any] = {
        "open_until": soon(),
        "channels": ["odk"],
        "questions": questions(),
        "title": {"en": "Clean water", "fr": "Eau propre"},
        "description": {"en": "For wells.", "fr": "Pour les puits."},
        "languages": ["en", "fr"],
        **fields,
    }
    return make_call(session, **data)


def parsed(call: Any) -> Any:
    return ElementTree.fromstring(xform_for(call).xml)


def bind(root: Any, path: str) -> Any:
    element = root.find(f".//{XF}bind[@nodeset='{path}']")
    assert element is not None, path
    return element


def itext(root: Any, text_id: str) -> dict[str, str]:
    """One text of the form in each language, by language column name."""
    texts = {}
    for translation in root.iter(f"{XF}translation"):
        value = translation.find(f"{XF}text[@id='{text_id}']/{XF}value")
        texts[translation.get("lang")] = (value.text or "") if value is not None else ""
    return texts


def _count_selected(_context: Any, value: Any) -> float:
    text = value if isinstance(value, str) else "".join(str(v) for v in value)
    return float(len([part for part in text.split(" ") if part]))


def _abs(_context: Any, value: float) -> float:
    return abs(value)


ODK_FUNCTIONS = {(None, "count-selected"): _count_selected, (None, "abs"): _abs}


def phone_accepts(constraint: str, value: str, **siblings: str) -> bool:
    """Whether the constraint holds for `value` typed into a question (with its
    siblings in the same group), as an XPath 1.0 engine evaluates it."""
    group = etree.Element("group")
    for name, text in siblings.items():
        etree.SubElement(group, name).text = text
    field = etree.SubElement(group, "field")
    field.text = value
    return bool(etree.XPath(constraint, extensions=ODK_FUNCTIONS)(field))


def server_accepts(question: dict[str, Any], answer: Any, currency: str = "USD") -> bool:
    _cleaned, errors = validate_answers(
        [question], {question["key"]: answer}, currency=currency, locale="en"
    )
    return question["key"] not in errors


# Messages in every language -------------------------------------------------------------------


def test_every_constraint_has_its_own_message_in_every_call_language(session: Session) -> None:
    root = parsed(bilingual_call(session))
    constrained = [b for b in root.iter(f"{XF}bind") if b.get("constraint")]
    paths = {b.get("nodeset") for b in constrained}
    assert {
        "/data/requested_amount",
        "/data/summary",
        "/data/partner_name",
        "/data/where/area",
        "/data/budget/amount",
        "/data/own_share",
        "/data/notes",
        "/data/capacity_strengthening",
    } <= paths
    for element in constrained:
        # Without jr:constraintMsg the phone says only "Value not allowed".
        reference = element.get(JR_MSG) or ""
        assert reference.startswith("jr:itext("), element.get("nodeset")
        text_id = reference.removeprefix("jr:itext('").removesuffix("')")
        messages = itext(root, text_id)
        assert set(messages) == {"English (en)", "French (fr)"}
        assert all(messages.values()), (element.get("nodeset"), messages)

    amount = itext(root, "/data/requested_amount:jr:constraintMsg")
    for code, column in (("en", "English (en)"), ("fr", "French (fr)")):
        # Formatted for each language (pyxform turns a no-break space into a space).
        low = format_money(Money.from_decimal(1000, "USD"), code).replace("\xa0", " ")
        high = format_money(Money.from_decimal(5000, "USD"), code).replace("\xa0", " ")
        assert low in amount[column] and high in amount[column]
    assert amount["English (en)"] == "Ask for between $1,000.00 and $5,000.00."
    budget = itext(root, "/data/budget/amount:jr:constraintMsg")
    example = format_money(Money.from_decimal(1500, "USD"), "fr").replace("\xa0", " ")
    assert example in budget["French (fr)"]
    assert itext(root, "/data/partner_name:jr:constraintMsg")["English (en)"] == (
        "Use at most 300 characters."
    )
    assert itext(root, "/data/summary:jr:constraintMsg")["English (en)"] == (
        "Use at most 50 words and 20,000 characters."
    )
    assert itext(root, "/data/notes:jr:constraintMsg")["French (fr)"].count("20\u202f000") == 1


def test_the_title_is_given_once_and_the_intro_in_each_language(session: Session) -> None:
    root = parsed(bilingual_call(session))
    titles = root.findall(f"{H}head/{H}title")
    assert [t.text for t in titles] == ["Clean water"]
    # Devices show <h:title> above every screen: the intro does not repeat it, but a
    # language whose title differs gets its own title there.
    assert itext(root, "/data/intro:label") == {
        "English (en)": "For wells.",
        "French (fr)": "Eau propre\n\nPour les puits.",
    }
    labels = root.findall(f".//{H}body/{XF}input[@ref='/data/intro']/{XF}label")
    assert len(labels) == 1


def test_a_call_without_description_has_no_empty_first_screen(session: Session) -> None:
    root = parsed(make_call(session, channels=["odk"], description={}))
    assert root.find(f".//{XF}bind[@nodeset='/data/intro']") is None
    assert root.findall(f"{H}head/{H}title")[0].text


# Types and screens -----------------------------------------------------------------------------


def test_number_questions_take_any_number_as_the_server_does(session: Session) -> None:
    # grantpool's question kinds have no whole-number kind: a number question accepts any
    # finite number, so the form asks for a decimal and does not refuse 2.5.
    assert {k.value for k in QuestionKind} & {"integer", "whole_number"} == set()
    root = parsed(bilingual_call(session))
    assert bind(root, "/data/people").get("type") == "decimal"
    assert server_accepts({"key": "people", "kind": "number", "label": {}}, "2.5")


def test_related_fields_share_one_screen(session: Session) -> None:
    root = parsed(bilingual_call(session))
    body = root.find(f"{H}body")
    assert body is not None
    where = body.find(f"{XF}group[@ref='/data/where']")
    assert where is not None and where.get("appearance") == "field-list"
    repeat = body.find(f".//{XF}repeat[@nodeset='/data/budget']")
    assert repeat is not None and repeat.get("appearance") == "field-list"
    assert [c.get("ref") for c in repeat if c.tag == f"{XF}input"] == [
        "/data/budget/line",
        "/data/budget/amount",
    ]


def test_pyxform_and_odk_validate_accept_the_form(session: Session) -> None:
    from pyxform.xls2xform import convert

    form = xform_for(bilingual_call(session))
    java = shutil.which("java") is not None
    result = convert(xlsform=form.xlsform, file_type=".xlsx", form_name="data", validate=java)
    assert result.xform == form.xml
    assert result.warnings == []


# Word counts ------------------------------------------------------------------------------------

TEXTS = [
    "Dig two wells",
    "Dig two\nwells",
    "Dig\r\ntwo wells",
    "Dig\ttwo\n\nwells",
    "  Dig   two  wells \n",
    "Dig\u2003two\u3000wells",  # em space, ideographic space
    "Dig two\u2028wells\u2029now",  # line and paragraph separators
    "Dig\u0085two\u1680wells\u205fnow",
    "10\u00a0000 people",  # a no-break space holds the number together
    "Pour les puits\u202f?",
    "puits \u00a0 ?",
    "\u00a0Dig",
    "one",
]


@pytest.mark.parametrize("text", TEXTS)
def test_the_phone_counts_words_as_the_server_does(session: Session, text: str) -> None:
    server_count = next(
        n
        for n in range(1, 50)
        if server_accepts({"key": "t", "kind": "long_text", "word_limit": n, "label": {}}, text)
    )
    group = etree.Element("group")
    field = etree.SubElement(group, "field")
    field.text = text
    phone_count = etree.XPath(word_count_expression(), extensions=ODK_FUNCTIONS)(field)
    assert phone_count == server_count, (text, phone_count, server_count)


@pytest.mark.parametrize("text", TEXTS)
def test_what_the_phone_accepts_is_what_the_server_accepts(session: Session, text: str) -> None:
    call = bilingual_call(session)
    constraint = bind(parsed(call), "/data/summary").get("constraint")
    question = next(q for q in questions() if q["key"] == "summary")
    for limit in (1, 2, 3, 4):
        limited = constraint.replace("<= 50 and", f"<= {limit} and")
        assert phone_accepts(limited, text) == server_accepts(
            {**question, "word_limit": limit}, text
        ), (text, limit)


def test_every_white_space_that_separates_words_on_the_server_does_on_the_phone() -> None:
    question = {"key": "t", "kind": "long_text", "word_limit": 1, "label": {}}
    for code in range(0x80, 0x110000):
        char = chr(code)
        if char.isspace():
            separates = not server_accepts(question, f"a{char}b")
            assert separates == (char in WORD_BREAKS), hex(code)


def test_long_answers_are_refused_on_the_phone_as_on_the_server(session: Session) -> None:
    constraint = bind(parsed(bilingual_call(session)), "/data/notes").get("constraint")
    question = {"key": "notes", "kind": "long_text", "label": {}}
    for length in (LONG_TEXT_MAX_CHARS, LONG_TEXT_MAX_CHARS + 1):
        text = "a" * length
        assert phone_accepts(constraint, text) == server_accepts(question, text)


# Amounts and areas ----------------------------------------------------------------------------

AMOUNTS = ["0", "900", "1500.5", "1500.50", "0.29", "1500.555", "0.001", "-1", "-0.5"]


@pytest.mark.parametrize("currency", ["USD", "UGX", "KWD"])
@pytest.mark.parametrize("typed", [*AMOUNTS, "10000000000000", "10000000000001"])
def test_the_phone_refuses_amounts_the_server_would_refuse(
    session: Session, currency: str, typed: str
) -> None:
    manager = make_user(session, "fund_manager")
    fund = make_fund(session, manager, base_currency=currency)
    root = parsed(bilingual_call(session, fund=fund, manager=manager))
    question = {"key": "own_share", "kind": "money", "label": {}}
    # What the server makes of the digits a device sends (odk.answers_from).
    on_server = server_accepts(question, _minor_units(typed, currency), currency)
    for path in ("/data/own_share", "/data/budget/amount"):
        constraint = bind(root, path).get("constraint")
        assert phone_accepts(constraint, typed) == on_server, (path, currency, typed)
    budget = {"key": "budget", "kind": "budget_table", "label": {}}
    line = [{"line": "Pump", "amount": _minor_units(typed, currency)}]
    assert server_accepts(budget, line, currency) == on_server


def test_the_requested_amount_keeps_to_the_bounds_and_the_cents(session: Session) -> None:
    constraint = bind(parsed(bilingual_call(session)), "/data/requested_amount").get("constraint")
    accepted = {t: phone_accepts(constraint, t) for t in ("999.99", "1000", "4999.99", "5000")}
    assert accepted == {"999.99": False, "1000": True, "4999.99": True, "5000": True}
    assert not phone_accepts(constraint, "5000.01")
    assert not phone_accepts(constraint, "1500.555")
    assert phone_accepts(constraint, "1000.29")


@pytest.mark.parametrize(
    ("country", "area", "accepted"),
    [("KE", "", True), ("KE", "KE-47", True), ("KE", "ke-47", True), ("KE", "UG-102", False)],
)
def test_an_area_of_another_country_is_refused_on_the_phone(
    session: Session, country: str, area: str, accepted: bool
) -> None:
    constraint = bind(parsed(bilingual_call(session)), "/data/where/area").get("constraint")
    assert phone_accepts(constraint, area, country=country) is accepted
    question = {"key": "where", "kind": "location", "label": {}}
    assert server_accepts(question, {"country": country, "area": area}) is accepted
