"""Spreadsheet (CSV) intake: template, all-or-nothing import, bad files."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grantpool.intake import spreadsheet
from grantpool.intake.models import Application
from grantpool.organisations.models import Organisation
from grantpool.platform.audit import AuditEvent, verify_chain
from grantpool.platform.mail import OutboxMessage
from tests.calls.test_views import token_from
from tests.conftest import login
from tests.factories import PASSWORD, make_call, make_user


def soon() -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(days=10)


def filled(call: object, rows: list[dict[str, str]]) -> bytes:
    header = next(csv.reader(io.StringIO(spreadsheet.template_csv(call))))  # type: ignore[arg-type]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: row.get(k, "") for k in header})
    return out.getvalue().encode("utf-8")


GOOD = {
    "organisation_name": "Bouaké Youth",
    "organisation_country": "CI",
    "organisation_type": "informal_group",
    "requested_amount": "1,200",
    "language": "en",
    "summary": "Clean the market",
    "has_partner": "yes",
    "partner_name": "Town hall",
}


def count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_template_has_a_column_per_question(session: Session) -> None:
    call = make_call(session, channels=["web", "spreadsheet"])
    header, hints = list(csv.reader(io.StringIO(spreadsheet.template_csv(call))))[:2]
    fixed = len(spreadsheet.FIXED_COLUMNS)
    assert header[:fixed] == spreadsheet.FIXED_COLUMNS
    assert header[fixed:] == ["summary", "has_partner", "partner_name", "capacity_strengthening"]
    amount_hint = hints[header.index("requested_amount")]
    assert hints[0].startswith("#") and "1000.00–5000.00 USD" in amount_hint


def test_the_row_of_notes_says_what_each_column_asks_in_the_readers_language(
    app: Any, session: Session, client: FlaskClient
) -> None:
    from flask_babel import force_locale

    questions = [
        {
            "key": "people",
            "kind": "short_text",
            "label": {"en": "How many people?", "fr": "Combien de personnes ?"},
            "required": True,
        },
        {"key": "where", "kind": "location", "label": {"en": "Where?"}},
    ]
    call = make_call(session, channels=["spreadsheet"], questions=questions, languages=["en", "fr"])
    with app.test_request_context(), force_locale("fr"):
        header, notes = list(csv.reader(io.StringIO(spreadsheet.template_csv(call))))[:2]
    assert notes[header.index("people")] == "Combien de personnes ? (obligatoire)"
    # No French text for this one: the main language's, rather than nothing.
    assert notes[header.index("where.country")] == "Where?: Code à deux lettres"
    # Downloaded, it opens as UTF-8 in a spreadsheet program; read back, the mark is ignored.
    admin = make_user(session, "admin")
    login(client, admin.email, PASSWORD)
    download = client.get(f"/manage/calls/{call.id}/spreadsheet/template.csv").get_data()
    assert download.startswith("\ufeff".encode())
    with pytest.raises(spreadsheet.BadSpreadsheet, match="no rows to import"):
        spreadsheet.read_csv(call, download)  # the header was read: only the notes follow


def test_import_is_all_or_nothing_with_every_problem(session: Session) -> None:
    call = make_call(session, open_until=soon(), channels=["web", "spreadsheet"])
    manager = make_user(session, "admin")
    now = soon() - dt.timedelta(days=1)
    bad = [
        GOOD,
        {**GOOD, "organisation_name": "Other", "requested_amount": "99999"},
        {**GOOD, "organisation_name": "Third", "summary": '=HYPERLINK("x")'},
        {**GOOD, "organisation_name": "", "has_partner": ""},
    ]
    rows = spreadsheet.read_csv(call, filled(call, bad))
    before_orgs = count(session, Organisation)
    problems = spreadsheet.import_rows(session, manager, call, rows, locale="en", now=now)
    found = {(p.row, p.column) for p in problems}  # type: ignore[union-attr]
    assert (3, "requested_amount") in found
    assert (4, "summary") in found
    assert (5, "organisation_name") in found and (5, "has_partner") in found
    assert 2 not in {p.row for p in problems}  # type: ignore[union-attr]
    assert count(session, Application) == 0 and count(session, Organisation) == before_orgs

    rows = spreadsheet.read_csv(
        call, filled(call, [GOOD, {**GOOD, "has_partner": "no", "partner_name": ""}])
    )
    rows[0]["contact_email"] = "youth@bouake.example.org"
    # Two rows of one organisation: imported on purpose (see test_duplicates.py).
    created = spreadsheet.import_rows(
        session, manager, call, rows, locale="en", now=now,
        on_duplicates=spreadsheet.OnDuplicates.IMPORT_ALL,
    )  # fmt: skip
    assert [a.channel for a in created] == ["spreadsheet", "spreadsheet"]  # type: ignore[union-attr]
    assert created[0].organisation_id == created[1].organisation_id  # type: ignore[union-attr]
    # Written in bulk, yet each as submit_application writes one: submitted with its
    # reference, an audit event in an unbroken chain, a receipt to the organisation.
    for application in created:
        assert application.state == "submitted" and application.submitted_at == now
        assert application.reference == f"GP-{now.year}-{application.id:05d}"
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "application.submit")
    ).all()
    assert sorted(int(e.object_id) for e in events) == sorted(a.id for a in created)
    assert {e.after["reference"] for e in events} == {a.reference for a in created}
    assert list(verify_chain(session)) == []
    receipts = session.scalars(
        select(OutboxMessage).where(OutboxMessage.to_address == "youth@bouake.example.org")
    ).all()
    assert len(receipts) == 2
    for application in created:
        assert any(application.reference in m.body_text for m in receipts)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"PK\x03\x04rest-of-a-zip", "not a CSV"),
        ("organisation_name\n".encode("utf-16"), "CSV"),
        ("organisation_name;x\nCaf\xe9\n".encode("latin-1"), "UTF-8"),
        (b"organisation_name,wrong\n", "columns do not match"),
    ],
)
def test_bad_files_are_refused_plainly(session: Session, data: bytes, message: str) -> None:
    call = make_call(session, channels=["spreadsheet"])
    with pytest.raises(spreadsheet.BadSpreadsheet) as info:
        spreadsheet.read_csv(call, data)
    assert message in str(info.value.message)


def test_upload_page(session: Session, client: FlaskClient) -> None:
    manager = make_user(session, "fund_manager")
    call = make_call(session, manager=manager, open_until=soon(), channels=["web", "spreadsheet"])
    login(client, manager.email, PASSWORD)
    token = token_from(client, f"/manage/calls/{call.id}/spreadsheet")
    template = client.get(f"/manage/calls/{call.id}/spreadsheet/template.csv")
    assert template.mimetype == "text/csv"
    bad = client.post(
        f"/manage/calls/{call.id}/spreadsheet",
        data={
            "csrf_token": token,
            "file": (io.BytesIO(filled(call, [{**GOOD, "requested_amount": "1"}])), "a.csv"),
        },
    )
    assert bad.status_code == 422
    assert "Ask for between $1,000.00 and $5,000.00." in bad.get_data(as_text=True)
    ok = client.post(
        f"/manage/calls/{call.id}/spreadsheet",
        data={"csrf_token": token, "file": (io.BytesIO(filled(call, [GOOD])), "a.csv")},
    )
    assert ok.status_code == 302
    assert session.scalar(select(Application.channel)) == "spreadsheet"


# Yes/no words and areas ------------------------------------------------------------------

LOCATION_QUESTION = {
    "key": "place",
    "kind": "location",
    "label": {"en": "Where will you work?", "fr": "Où travaillerez-vous ?"},
}


def multilingual_call(session: Session, **fields: object) -> object:
    from tests.factories import sample_questions

    return make_call(
        session,
        open_until=soon(),
        channels=["web", "spreadsheet"],
        title={"en": "Small grants", "fr": "Petites subventions", "es": "Pequeñas becas",
               "ar": "منح صغيرة"},
        questions=[*sample_questions(), LOCATION_QUESTION],
        **fields,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("typed", "reading"),
    [
        ("yes", True), ("No", False), ("OUI", True), ("non", False), ("Sí", True),
        ("si", True), ("NO", False), ("نعم", True), ("لا", False), ("y", True), ("N", False),
        ("TRUE", True), ("false", False), ("1", True), ("0", False), (" oui ", True),
        ("", None),
    ],
)  # fmt: skip
def test_yes_no_words_of_every_call_language_are_read(typed: str, reading: bool | None) -> None:
    assert spreadsheet.read_yes_no(typed, ["en", "fr", "es", "ar"]) is reading


@pytest.mark.parametrize("typed", ["maybe", "nein", "2", "ouais", "yes please", "-"])
def test_any_other_word_is_refused_never_read_as_no(typed: str) -> None:
    with pytest.raises(ValueError, match="oui / non"):
        spreadsheet.read_yes_no(typed, ["en", "fr"])


def test_a_language_the_call_is_not_in_is_not_guessed() -> None:
    with pytest.raises(ValueError):
        spreadsheet.read_yes_no("oui", ["en"])


def test_yes_no_cells_in_other_languages_import_and_bad_ones_name_their_cell(
    session: Session,
) -> None:
    call = multilingual_call(session)
    manager = make_user(session, "admin")
    now = soon() - dt.timedelta(days=1)
    rows = [
        {**GOOD, "requested_amount": "1500", "language": "fr", "has_partner": "Oui",
         "organisation_registered": "non", "place.country": "CI", "place.area": "CI-VB"},
        {**GOOD, "requested_amount": "1500", "organisation_name": "Groupe Deux",
         "language": "es", "has_partner": "SÍ", "organisation_registered": "si"},
        {**GOOD, "requested_amount": "1500", "organisation_name": "Groupe Trois",
         "has_partner": "peut-être", "organisation_registered": "registered"},
    ]  # fmt: skip
    read = spreadsheet.read_csv(call, filled(call, rows))
    problems = spreadsheet.import_rows(session, manager, call, read, locale="fr", now=now)
    assert {(p.row, p.column) for p in problems} == {  # type: ignore[union-attr]
        (4, "has_partner"),
        (4, "organisation_registered"),
    }
    assert all("oui / non" in p.message for p in problems)  # type: ignore[union-attr]
    assert count(session, Application) == 0

    created = spreadsheet.import_rows(session, manager, call, read[:2], locale="fr", now=now)
    assert [a.answers["has_partner"] for a in created] == ["yes", "yes"]  # type: ignore[union-attr]
    assert created[0].answers["place"] == {"country": "CI", "area": "CI-VB"}  # type: ignore[union-attr]
    registered = {o.name: o.registered for o in session.scalars(select(Organisation))}
    assert registered["Bouaké Youth"] is False and registered["Groupe Deux"] is True


def test_the_template_offers_the_call_languages_words(session: Session) -> None:
    call = make_call(session, channels=["spreadsheet"], title={"fr": "Petites subventions"})
    header, hints = list(csv.reader(io.StringIO(spreadsheet.template_csv(call))))[:2]
    assert hints[header.index("has_partner")].startswith("Do you work with a partner?: oui / non")
    assert hints[header.index("organisation_registered")] == "oui / non"
    assert "organisation_area" in header


def test_an_area_outside_its_country_is_refused_in_its_own_column(session: Session) -> None:
    call = multilingual_call(session)
    manager = make_user(session, "admin")
    now = soon() - dt.timedelta(days=1)
    rows = [
        {**GOOD, "organisation_area": "KE-30", "place.country": "CI", "place.area": "UG-N"},
        {**GOOD, "organisation_name": "Deux", "organisation_area": "Nairobi"},
        {**GOOD, "organisation_name": "Trois", "organisation_area": "CI-VB Vallée du Bandama",
         "place.country": "CI", "place.area": "ci-vb"},
    ]  # fmt: skip
    read = spreadsheet.read_csv(call, filled(call, rows))
    problems = spreadsheet.import_rows(session, manager, call, read, locale="en", now=now)
    found = {(p.row, p.column): p.message for p in problems}  # type: ignore[union-attr]
    assert set(found) == {(2, "organisation_area"), (2, "place.area"), (3, "organisation_area")}
    assert found[(2, "place.area")] == "Choose an area in the selected country."
    assert count(session, Application) == 0

    created = spreadsheet.import_rows(session, manager, call, read[2:], locale="en", now=now)
    assert created[0].organisation.area == "CI-VB"  # type: ignore[union-attr]
    assert created[0].answers["place"]["area"] == "CI-VB"  # type: ignore[union-attr]


def test_a_file_from_the_template_before_the_area_column_still_reads(session: Session) -> None:
    call = make_call(session, channels=["spreadsheet"])
    header = [c for c in next(csv.reader(io.StringIO(spreadsheet.template_csv(call))))
              if c != "organisation_area"]  # fmt: skip
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header)
    writer.writeheader()
    writer.writerow({k: GOOD.get(k, "") for k in header})
    rows = spreadsheet.read_csv(call, out.getvalue().encode())
    assert rows[0]["organisation_name"] == "Bouaké Youth"
