"""An applicant reads the questions in their language, or visibly in the call's main one;
the offline form and the spreadsheet template follow the same texts."""

from __future__ import annotations

import io
import re
from typing import Any

from defusedxml import ElementTree
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from grantpool.intake import xlsx
from grantpool.intake.models import Application
from grantpool.intake.xform import xform_for
from tests.calls.test_views import token_from
from tests.factories import make_call
from tests.intake.test_views import sign_in_as_member, soon

XF = "{http://www.w3.org/2002/xforms}"

QUESTIONS = [
    {
        "key": "group",
        "kind": "single_choice",
        "label": {"fr": "Votre groupe", "en": "Your group"},
        "help": {"fr": "Un seul choix."},
        "required": True,
        "choices": ["Agriculteurs", "Pêcheurs"],
        "choice_labels": {"en": ["Farmers", ""]},
        "section": {"fr": "Le projet"},
    },
    {
        "key": "people",
        "kind": "number",
        "label": {"fr": "Combien de personnes ?"},
        "required": True,
        "whole": True,
        "section": {"fr": "Le projet"},
    },
]


def french_call(session: Session, **fields: object) -> object:
    return make_call(
        session,
        open_until=soon(),
        title={"fr": "Eau pour tous", "en": "Water for all"},
        questions=QUESTIONS,
        **fields,
    )


def test_an_english_reader_sees_what_is_missing_in_french_marked_as_french(
    session: Session, client: FlaskClient
) -> None:
    call = french_call(session)
    _organisation, user = sign_in_as_member(session, client)
    user.locale = "en"
    session.flush()
    token = token_from(client, "/")
    client.post(f"/calls/{call.id}/apply", data={"csrf_token": token})  # type: ignore[attr-defined]
    application = session.scalar(select(Application).where(Application.call_id == call.id))  # type: ignore[attr-defined]
    assert application is not None
    url = f"/applications/{application.id}/page/1"
    page = client.get(url).get_data(as_text=True)
    assert '<h1 lang="fr">Le projet</h1>' in page
    assert "Your group" in page and '<span lang="fr">Votre groupe</span>' not in page
    assert '<p class="hint" id="q-group-hint" lang="fr">Un seul choix.</p>' in page
    assert '<span lang="fr">Combien de personnes ?</span>' in page
    # Each choice in English where translated, else in French, marked; the value stays.
    assert re.search(r'value="Agriculteurs"[^>]*><label for="q-group">Farmers</label>', page)
    assert re.search(
        r'value="Pêcheurs"[^>]*><label for="q-group-2" lang="fr">Pêcheurs</label>', page
    )
    assert 'inputmode="numeric"' in page

    refused = client.post(url, data={"csrf_token": token, "group": "Agriculteurs", "people": "2.5"})
    assert refused.status_code == 200  # the page again, with the message; not onward
    assert "Enter a whole number, such as 25." in refused.get_data(as_text=True)

    saved = client.post(url, data={"csrf_token": token, "group": "Agriculteurs", "people": "40"})
    assert saved.status_code == 302
    session.refresh(application)
    assert application.answers["group"] == "Agriculteurs"  # the main language's choice
    assert application.answers["people"] == "40"
    check = client.get(f"/applications/{application.id}/check").get_data(as_text=True)
    assert "Farmers" in check and '<dt id="a-people" lang="fr">Combien de personnes ?</dt>' in check


def test_a_french_reader_sees_french_without_marks(session: Session, client: FlaskClient) -> None:
    call = french_call(session)
    _organisation, user = sign_in_as_member(session, client)
    user.locale = "fr"
    session.flush()
    token = token_from(client, "/")
    client.post(f"/calls/{call.id}/apply", data={"csrf_token": token})  # type: ignore[attr-defined]
    application = session.scalar(select(Application).where(Application.call_id == call.id))  # type: ignore[attr-defined]
    assert application is not None
    page = client.get(f"/applications/{application.id}/page/1").get_data(as_text=True)
    assert "<h1>Le projet</h1>" in page
    assert '<label for="q-group">Agriculteurs</label>' in page
    assert ' lang="fr"' not in page.split("<form", 1)[1].split("</form>", 1)[0]
    # A French decimal comma is a decimal comma, not a thousands separator: 2,5 is not a
    # whole number (before, it was read as 25).
    refused = client.post(
        f"/applications/{application.id}/page/1",
        data={"csrf_token": token, "group": "Pêcheurs", "people": "2,5"},
    )
    assert refused.status_code == 200
    assert 'id="q-people-error"' in refused.get_data(as_text=True)
    saved = client.post(
        f"/applications/{application.id}/page/1",
        data={"csrf_token": token, "group": "Pêcheurs", "people": "1 200"},
    )
    assert saved.status_code == 302  # "1 200" is read as 1200, a whole number


def test_a_plain_string_section_and_choices_still_show(
    session: Session, client: FlaskClient
) -> None:
    old = [
        {
            "key": "group",
            "kind": "single_choice",
            "label": {"fr": "Votre groupe"},
            "choices": ["Agriculteurs", "Pêcheurs"],
            "section": "Le projet",
        }
    ]
    call = french_call(session)
    call.questions = old  # type: ignore[attr-defined]
    session.flush()
    page = client.get(f"/calls/{call.id}", headers={"Accept-Language": "en"})  # type: ignore[attr-defined]
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<h3 lang="fr">Le projet</h3>' in text
    assert "One of: Agriculteurs or Pêcheurs." in text


def test_the_call_page_marks_french_texts_for_an_english_reader(
    session: Session, client: FlaskClient
) -> None:
    call = french_call(session, description={"fr": "Des puits."})
    page = client.get(f"/calls/{call.id}", headers={"Accept-Language": "en"})  # type: ignore[attr-defined]
    text = page.get_data(as_text=True)
    assert '<p class="lead" lang="fr">Des puits.</p>' in text
    assert '<h3 lang="fr">Le projet</h3>' in text
    assert "<strong>Your group</strong>" in text
    assert '<span class="hint" lang="fr">Un seul choix.</span>' in text
    assert '<strong lang="fr">Combien de personnes ?</strong>' in text
    assert "One of: Farmers or Pêcheurs." in text


def _translation(root: Any, language: str) -> dict[str, str]:
    block = next(t for t in root.iter(f"{XF}translation") if t.get("lang") == language)
    return {
        text.get("id") or "": "".join(v.text or "" for v in text.iter(f"{XF}value"))
        for text in block.iter(f"{XF}text")
    }


def test_the_offline_form_has_every_language_and_counts_in_whole_numbers(
    session: Session,
) -> None:
    call = french_call(session, channels=["web", "odk"])
    form = xform_for(call)  # type: ignore[arg-type]
    root = ElementTree.fromstring(form.xml)
    binds = {b.get("nodeset"): b.get("type") for b in root.iter(f"{XF}bind")}
    assert binds["/data/people"] == "int"
    french, english = _translation(root, "French (fr)"), _translation(root, "English (en)")
    assert "Farmers" in english.values() and "Agriculteurs" in french.values()
    assert "Pêcheurs" in english.values()  # no English text: the French one
    assert "Your group" in english.values() and "Votre groupe" in french.values()
    assert list(english.values()).count("Le projet") == 1  # the section's opening note
    assert "Combien de personnes ?" in english.values()
    # Choice names come from the stored values, whatever the language.
    assert "<name>agriculteurs</name>" in form.xml or "agriculteurs" in form.xml


def test_the_spreadsheet_template_speaks_the_main_language_and_wants_whole_numbers(
    session: Session,
) -> None:
    call = french_call(session, channels=["web", "spreadsheet"])
    book = load_workbook(io.BytesIO(xlsx.template_xlsx(call)))  # type: ignore[arg-type]
    sheet = book.worksheets[0]
    header = [c.value for c in sheet[1]]
    people = header.index("people") + 1
    note = sheet.cell(row=1, column=people).comment
    assert note is not None and note.text == "Combien de personnes ?"
    group_note = sheet.cell(row=1, column=header.index("group") + 1).comment
    assert group_note is not None and group_note.text == "Votre groupe\n\nUn seul choix."
    letter = sheet.cell(row=1, column=people).column_letter
    whole = [v for v in sheet.data_validations.dataValidation if v.type == "whole"]
    assert len(whole) == 1 and str(whole[0].sqref).startswith(f"{letter}3:")
    lists = book["lists"]
    assert "Agriculteurs" in [c.value for c in lists["A"] + lists["B"] + lists["C"]] or any(
        c.value == "Agriculteurs" for row in lists.iter_rows() for c in row
    )
