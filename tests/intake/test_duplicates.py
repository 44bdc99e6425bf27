"""Importing the same rows twice: duplicates are found (the same row imported before, an
organisation that has already applied, the same organisation twice in one file) and the
importer chooses: import the others, import all anyway, or cancel. Until then nothing is
written, and the uploaded file is kept."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from grantpool.calls.rules import Channel
from grantpool.intake import services, spreadsheet
from grantpool.intake.models import Application
from grantpool.organisations.models import Organisation
from grantpool.platform.money import Money
from grantpool.platform.storage import get_storage
from tests.calls.test_views import token_from
from tests.conftest import login, signed_in_client
from tests.factories import PASSWORD, make_call, make_organisation, make_user

from .test_spreadsheet import GOOD, count, filled, soon

OTHER = {**GOOD, "organisation_name": "Korhogo Women", "summary": "Build a well"}
THIRD = {**GOOD, "organisation_name": "Man Farmers", "summary": "Seeds"}
Ask, Skip, All = (spreadsheet.OnDuplicates.ASK, spreadsheet.OnDuplicates.SKIP,
                  spreadsheet.OnDuplicates.IMPORT_ALL)  # fmt: skip


@pytest.fixture
def call(session: Session):
    return make_call(session, open_until=soon(), channels=["web", "spreadsheet", "api"])


def load(session: Session, call, rows, on_duplicates=Ask):
    manager = make_user(session, "admin")
    read = spreadsheet.read_csv(call, filled(call, rows))
    return spreadsheet.import_rows(
        session, manager, call, read, locale="en", on_duplicates=on_duplicates
    )


def test_the_fingerprint_ignores_case_spacing_and_unicode_form() -> None:
    row = {"organisation_name": "Bouaké Youth", "summary": "Clean  the market"}
    same = {"summary": " clean the MARKET ", "organisation_name": "Bouake\u0301 youth"}
    assert spreadsheet.row_fingerprint(row) == spreadsheet.row_fingerprint(same)
    assert spreadsheet.row_fingerprint(row) != spreadsheet.row_fingerprint(
        {**row, "summary": "Clean the river"}
    )
    assert len(spreadsheet.row_fingerprint(row)) == 64


def test_the_same_file_twice_asks_and_writes_nothing(session: Session, call) -> None:
    first = load(session, call, [GOOD, OTHER])
    assert [type(a) for a in first] == [Application, Application]
    before = (count(session, Application), count(session, Organisation))
    again = load(session, call, [GOOD, OTHER, THIRD])
    assert [(d.row, d.organisation) for d in again] == [(2, "Bouaké Youth"), (3, "Korhogo Women")]
    assert all(isinstance(d, spreadsheet.DuplicateRow) for d in again)
    assert again[0].reason == f"This row was imported before ({first[0].reference})."
    # Not even the third row's new organisation is written while the importer decides.
    assert (count(session, Application), count(session, Organisation)) == before

    others = load(session, call, [GOOD, OTHER, THIRD], Skip)
    assert [a.organisation.name for a in others] == ["Man Farmers"]
    anyway = load(session, call, [GOOD], All)
    assert len(anyway) == 1 and count(session, Application) == before[0] + 2


def test_an_organisation_that_has_applied_by_another_channel(session: Session, call) -> None:
    organisation = make_organisation(session, name="Korhogo Women", country="CI",
                                     org_type="informal_group")  # fmt: skip
    earlier = services.submit_application(
        session, None, call, organisation, {"summary": "A well", "has_partner": "no"},
        Money(200000, "USD"), Channel.API.value, "en",
        now=soon() - dt.timedelta(days=1),
    )  # fmt: skip
    found = load(session, call, [GOOD, {**OTHER, "organisation_name": "korhogo women"}])
    assert [(d.row, d.reason) for d in found] == [
        (3, f"Korhogo Women has already applied to this call ({earlier.reference}).")
    ]
    # A withdrawn application does not count.
    services.withdraw_application(session, None, earlier)  # type: ignore[arg-type]
    created = load(session, call, [GOOD, OTHER])
    assert len(created) == 2


def test_the_same_organisation_twice_in_one_file(session: Session, call) -> None:
    rows = [GOOD, OTHER, {**GOOD, "summary": "Another project"}, THIRD]
    found = load(session, call, rows)
    assert [(d.row, d.reason) for d in found] == [
        (4, "The same organisation as row 2 of this file.")
    ]
    assert count(session, Application) == 0
    created = load(session, call, rows, Skip)
    assert [a.answers["summary"] for a in created] == ["Clean the market", "Build a well", "Seeds"]


def test_cell_problems_come_before_duplicates(session: Session, call) -> None:
    found = load(session, call, [GOOD, {**GOOD, "requested_amount": "1"}])
    assert isinstance(found[0], spreadsheet.CellError)


def post(client: FlaskClient, call, token: str, **data):
    return client.post(f"/manage/calls/{call.id}/spreadsheet", data={"csrf_token": token, **data})


def upload_token(page: str) -> str:
    match = re.search(r'name="upload" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


def test_the_page_asks_then_imports_the_others_once(
    app, session: Session, client: FlaskClient
) -> None:
    manager = make_user(session, "fund_manager")
    call = make_call(session, manager=manager, open_until=soon(), channels=["spreadsheet"])
    login(client, manager.email, PASSWORD)
    token = token_from(client, f"/manage/calls/{call.id}/spreadsheet")
    data = filled(call, [GOOD])
    assert post(client, call, token, file=(io.BytesIO(data), "a.csv")).status_code == 302

    asked = post(client, call, token, file=(io.BytesIO(filled(call, [GOOD, OTHER])), "a.csv"))
    assert asked.status_code == 409
    page = asked.get_data(as_text=True)
    assert "Some rows look like applications already made" in page
    assert "This row was imported before" in page and "Bouaké Youth" in page
    assert "Import only the other rows (1)" in page and "Import all 2 rows anyway" in page
    assert count(session, Application) == 1
    kept = upload_token(page)

    # Another person (an admin, who may import into this call) cannot use it; a forged
    # one is unknown.
    other_client = signed_in_client(app, make_user(session, "admin"))
    other_token = token_from(other_client, f"/manage/calls/{call.id}/spreadsheet")
    refused = post(other_client, call, other_token, upload=kept, duplicates="skip")
    assert refused.status_code == 422 and "no longer available" in refused.get_data(as_text=True)
    assert post(client, call, token, upload=kept + "x", duplicates="skip").status_code == 422

    imported = post(client, call, token, upload=kept, duplicates="skip")
    assert imported.status_code == 302, imported.get_data(as_text=True)
    names = session.scalars(
        select(Organisation.name).join(Application).order_by(Application.id)
    ).all()
    assert names == ["Bouaké Youth", "Korhogo Women"]
    again = post(client, call, token, upload=kept, duplicates="import_all")
    assert again.status_code == 422
    assert "no longer available" in again.get_data(as_text=True)
    assert count(session, Application) == 2


def test_cancel_imports_nothing(session: Session, client: FlaskClient) -> None:
    manager = make_user(session, "fund_manager")
    call = make_call(session, manager=manager, open_until=soon(), channels=["spreadsheet"])
    login(client, manager.email, PASSWORD)
    token = token_from(client, f"/manage/calls/{call.id}/spreadsheet")
    rows = [GOOD, {**GOOD, "summary": "A second project"}]
    asked = post(client, call, token, file=(io.BytesIO(filled(call, rows)), "a.csv"))
    kept = upload_token(asked.get_data(as_text=True))
    cancelled = post(client, call, token, upload=kept, duplicates="cancel")
    assert cancelled.status_code == 302
    assert count(session, Application) == 0 and count(session, Organisation) == 0
    assert post(client, call, token, upload=kept, duplicates="skip").status_code == 422


def test_import_all_anyway_from_the_page(session: Session, client: FlaskClient) -> None:
    manager = make_user(session, "fund_manager")
    call = make_call(session, manager=manager, open_until=soon(), channels=["spreadsheet"])
    login(client, manager.email, PASSWORD)
    token = token_from(client, f"/manage/calls/{call.id}/spreadsheet")
    rows = [GOOD, {**GOOD, "summary": "A second project"}]
    asked = post(client, call, token, file=(io.BytesIO(filled(call, rows)), "a.csv"))
    assert asked.status_code == 409
    page = asked.get_data(as_text=True)
    assert "The same organisation as row 2 of this file." in page
    kept = upload_token(page)
    from grantpool.intake.views import _upload_signer

    key = _upload_signer().loads(kept)["key"]
    with get_storage().open(key) as stream:  # the upload is kept while they decide
        assert stream.read() == filled(call, rows)
    assert post(client, call, token, upload=kept, duplicates="import_all").status_code == 302
    assert count(session, Application) == 2
    assert not get_storage().exists(key)


def test_rows_are_numbered_as_the_spreadsheet_shows_them(session: Session, call) -> None:
    """The template's hints row and blank lines count, as in a spreadsheet program."""
    from grantpool.intake import xlsx

    from .test_xlsx import fill

    template = spreadsheet.template_csv(call)  # the header and the hints row
    body = filled(call, [GOOD, OTHER, GOOD]).decode().split("\r\n", 1)[1]
    with_hints = (template + "\r\n" + body).encode()  # a blank line after the hints
    rows = spreadsheet.read_csv(call, with_hints)
    assert rows.numbers == [4, 5, 6]
    found = spreadsheet.import_rows(session, make_user(session, "admin"), call, rows,
                                    locale="en")  # fmt: skip
    assert [(d.row, d.reason) for d in found] == [
        (6, "The same organisation as row 4 of this file.")
    ]
    book = fill(xlsx.template_xlsx(call), [GOOD, {**GOOD, "requested_amount": "1"}])
    problems = spreadsheet.import_rows(
        session, make_user(session, "admin"), call, xlsx.read_xlsx(call, book), locale="en"
    )
    assert {p.row for p in problems} == {4}


def test_cells_beyond_the_columns_of_a_csv_are_not_dropped(session: Session, call) -> None:
    data = filled(call, [GOOD]).decode().rstrip("\r\n") + ",stray\r\n"
    with pytest.raises(spreadsheet.BadSpreadsheet, match="Row 2 has more cells"):
        spreadsheet.read_csv(call, data.encode())
