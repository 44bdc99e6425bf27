"""A fund manager writes a question in every language of the call."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from grantpool.calls import rules
from grantpool.calls import services as calls
from grantpool.calls.commands import read_questions
from grantpool.platform.errors import ValidationFailed
from tests.calls.test_views import token_from
from tests.conftest import login
from tests.factories import PASSWORD, make_call, make_user


def french_first_call(session: Session, **fields: object) -> tuple:
    manager = make_user(session, "fund_manager")
    call = make_call(
        session,
        manager=manager,
        title={"fr": "Eau pour tous", "en": "Water for all"},
        questions=[],
        **fields,
    )
    return manager, call


def test_the_builder_has_one_field_per_call_language_main_first(
    session: Session, client: FlaskClient
) -> None:
    manager, call = french_first_call(session)
    login(client, manager.email, PASSWORD)
    page = client.get(f"/manage/calls/{call.id}/questions/new").get_data(as_text=True)
    for field in ("label", "help", "section", "choices"):
        assert f'name="{field}_fr"' in page and f'name="{field}_en"' in page
        assert page.index(f'name="{field}_fr"') < page.index(f'name="{field}_en"')
    assert "Question (French)" in page and "Question (English)" in page
    assert 'lang="fr"' in page
    assert "Whole numbers only" in page
    # Only the call's languages: no field for a language the call is not in.
    assert 'name="label_sw"' not in page


def test_the_field_labels_name_the_languages_in_the_readers_language(
    session: Session, client: FlaskClient
) -> None:
    manager, call = french_first_call(session)
    manager.locale = "fr"
    session.flush()
    login(client, manager.email, PASSWORD)
    page = client.get(f"/manage/calls/{call.id}/questions/new").get_data(as_text=True)
    assert "(français)" in page and "(anglais)" in page


def test_the_main_language_is_required_and_nothing_is_saved_without_it(
    session: Session, client: FlaskClient
) -> None:
    manager, call = french_first_call(session)
    login(client, manager.email, PASSWORD)
    token = token_from(client, "/")
    response = client.post(
        f"/manage/calls/{call.id}/questions/new",
        data={"csrf_token": token, "key": "people", "kind": "number", "label_en": "How many?"},
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Write the question in French, the call&#39;s main language." in page
    assert 'value="How many?"' in page
    assert call.questions == []


def test_translated_choices_must_be_line_aligned(session: Session, client: FlaskClient) -> None:
    manager, call = french_first_call(session)
    login(client, manager.email, PASSWORD)
    token = token_from(client, "/")
    response = client.post(
        f"/manage/calls/{call.id}/questions/new",
        data={
            "csrf_token": token,
            "key": "group",
            "kind": "single_choice",
            "label_fr": "Votre groupe",
            "choices_fr": "Agriculteurs\nPêcheurs\nArtisans",
            "choices_en": "Farmers\nFishers",
        },
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Give the English choices on the same lines" in page
    assert 'id="choices_en"' in page and 'aria-invalid="true"' in page
    assert call.questions == []


def test_a_question_is_saved_in_every_language(session: Session, client: FlaskClient) -> None:
    manager, call = french_first_call(session)
    login(client, manager.email, PASSWORD)
    token = token_from(client, "/")
    response = client.post(
        f"/manage/calls/{call.id}/questions/new",
        data={
            "csrf_token": token,
            "key": "group",
            "kind": "single_choice",
            "label_fr": "Votre groupe",
            "label_en": "Your group",
            "help_fr": "Un seul choix.",
            "section_fr": "Le projet",
            "section_en": "The project",
            "choices_fr": "Agriculteurs\nPêcheurs\n",
            "choices_en": "Farmers\n\nFishers",
        },
    )
    assert response.status_code == 302
    (question,) = call.questions
    assert question["label"] == {"fr": "Votre groupe", "en": "Your group"}
    assert question["help"] == {"fr": "Un seul choix."}
    assert question["section"] == {"fr": "Le projet", "en": "The project"}
    assert question["choices"] == ["Agriculteurs", "Pêcheurs"]
    assert question["choice_labels"] == {"en": ["Farmers", "Fishers"]}
    edit = client.get(f"/manage/calls/{call.id}/questions/group/edit").get_data(as_text=True)
    assert "Farmers\nFishers</textarea>" in edit and 'value="The project"' in edit


def test_a_number_question_can_take_whole_numbers_only(
    session: Session, client: FlaskClient
) -> None:
    manager, call = french_first_call(session)
    login(client, manager.email, PASSWORD)
    token = token_from(client, "/")
    client.post(
        f"/manage/calls/{call.id}/questions/new",
        data={
            "csrf_token": token,
            "key": "people",
            "kind": "number",
            "label_fr": "Combien de personnes ?",
            "whole": "y",
        },
    )
    assert call.questions[0]["whole"] is True
    edit = client.get(f"/manage/calls/{call.id}/questions/people/edit").get_data(as_text=True)
    (checkbox,) = re.findall(r'<input[^>]*id="whole"[^>]*>', edit)
    assert "checked" in checkbox


def test_a_question_stored_with_plain_strings_still_edits(
    session: Session, client: FlaskClient
) -> None:
    manager, call = french_first_call(session)
    # As stored before sections and choices were kept per language.
    call.questions = [
        {
            "key": "group",
            "kind": "single_choice",
            "label": {"fr": "Votre groupe"},
            "help": {},
            "required": False,
            "choices": ["Agriculteurs", "Pêcheurs"],
            "show_if": None,
            "section": "Le projet",
        }
    ]
    session.flush()
    login(client, manager.email, PASSWORD)
    edit = client.get(f"/manage/calls/{call.id}/questions/group/edit").get_data(as_text=True)
    assert 'name="section_fr" type="text" value="Le projet"' in edit or (
        'value="Le projet"' in edit
    )
    assert "Agriculteurs\nPêcheurs</textarea>" in edit
    show = client.get(f"/manage/calls/{call.id}")
    assert show.status_code == 200 and "Votre groupe" in show.get_data(as_text=True)


# The rules, without pages ---------------------------------------------------------------


@pytest.fixture
def _app_context() -> object:
    from flask_babel import Babel

    app = Flask(__name__)
    Babel(app)
    with app.app_context():
        yield


@pytest.mark.usefixtures("_app_context")
def test_choices_may_come_as_texts_by_language() -> None:
    question = rules.clean_question(
        {
            "key": "group",
            "kind": "multiple_choice",
            "label": {"fr": "Groupe"},
            "choices": [{"fr": "Agriculteurs", "en": "Farmers"}, {"fr": "Pêcheurs"}],
        },
        [],
        ["fr", "en"],
    )
    assert question["choices"] == ["Agriculteurs", "Pêcheurs"]
    assert question["choice_labels"] == {"en": ["Farmers", ""]}
    assert rules.choice_options(question, "en", "fr") == [
        ("Agriculteurs", "Farmers", "en"),
        ("Pêcheurs", "Pêcheurs", "fr"),
    ]
    assert rules.choice_text(question, "Agriculteurs", "fr", "fr") == "Agriculteurs"


@pytest.mark.usefixtures("_app_context")
def test_a_plain_string_section_still_cleans_and_pages() -> None:
    old = {"key": "a", "kind": "short_text", "label": {"en": "A"}, "section": "Project"}
    new = {"key": "b", "kind": "short_text", "label": {"en": "B"}, "section": {"en": "Project"}}
    assert rules.clean_question(old, [])["section"] == "Project"
    assert rules.clean_question(old, [], ["en"])["section"] == {"en": "Project"}
    pages = rules.sections([old, new])
    assert [q["key"] for q in pages[0]] == ["a", "b"]  # the same section: one page


def test_text_and_lang_names_the_language_of_a_fallback() -> None:
    texts = {"fr": "Combien ?", "en": "How many?"}
    assert rules.text_and_lang(texts, "en", "fr") == ("How many?", "en")
    assert rules.text_and_lang({"fr": "Combien ?"}, "en", "fr") == ("Combien ?", "fr")
    assert rules.text_and_lang({"sw": "Ngapi?", "fr": "Combien ?"}, "en", "fr") == (
        "Combien ?",
        "fr",
    )
    assert rules.text_and_lang("Le projet", "en", "fr") == ("Le projet", "fr")
    assert rules.text_and_lang(None, "en", "fr") == ("", "en")
    assert rules.text_in("Le projet", "en") == "Le projet"
    assert rules.text_in({"fr": "Combien ?"}, "en") == "Combien ?"


@pytest.mark.usefixtures("_app_context")
@pytest.mark.parametrize(
    ("typed", "locale", "stored"),
    [
        ("2,5", "fr", "2.5"),
        ("2.5", "fr", "2.5"),  # a phone form or the API writes numbers so
        ("1 000", "fr", "1000"),
        ("1\u202f000,5", "fr", "1000.5"),
        ("1,000", "en", "1000"),
        ("2.5", "en", "2.5"),
        (" 120 ", "en", "120"),
    ],
)
def test_a_number_is_read_as_the_locale_writes_it(typed: str, locale: str, stored: str) -> None:
    question = {"key": "n", "kind": "number"}
    assert rules.clean_answer(question, typed, "USD", locale) == stored


@pytest.mark.usefixtures("_app_context")
@pytest.mark.parametrize("typed", ["2,5", "lots", "1e3", "NaN", "2..5"])
def test_a_number_that_cannot_be_read_is_refused_not_guessed(typed: str) -> None:
    with pytest.raises(ValueError, match="Enter a number"):
        rules.clean_answer({"key": "n", "kind": "number"}, typed, "USD", "en")


@pytest.mark.usefixtures("_app_context")
def test_a_whole_number_question_refuses_fractions() -> None:
    question = {"key": "people", "kind": "number", "whole": True}
    with pytest.raises(ValueError, match=r"Enter a whole number, such as 25\."):
        rules.clean_answer(question, "2.5", "USD", "en")
    with pytest.raises(ValueError, match="whole number"):
        rules.clean_answer(question, "2,5", "USD", "fr")
    assert rules.clean_answer(question, "120", "USD", "en") == "120"
    assert rules.clean_answer(question, "1 200", "USD", "fr") == "1200"
    assert rules.clean_answer({"key": "x", "kind": "number"}, "2.5", "USD", "en") == "2.5"


def test_a_question_with_answers_cannot_become_whole_numbers_only(session: Session) -> None:
    manager, call = french_first_call(session)
    number = {"key": "people", "kind": "number", "label": {"fr": "Combien ?"}}
    calls.set_questions(session, manager, call, read_questions([number]))
    problems = rules.orphaning_changes(
        call.questions, rules.clean_questions([{**number, "whole": True}], call.languages)
    )
    assert problems == [
        "The question “people” already has answers; it cannot become whole numbers only."
    ]


def test_a_question_without_the_main_language_from_the_api_is_still_accepted(
    session: Session,
) -> None:
    # Definitions from before calls had several languages; the builder asks for the main
    # language, the rules only for some language.
    manager, call = french_first_call(session)
    calls.set_questions(
        session,
        manager,
        call,
        read_questions([{"key": "a", "kind": "short_text", "label": {"en": "A"}}]),
    )
    assert call.questions[0]["label"] == {"en": "A"}
    with pytest.raises(ValidationFailed):
        calls.set_questions(
            session, manager, call, read_questions([{"key": "a", "kind": "short_text"}])
        )
