"""Spreadsheet intake in Excel format: template, round trip, bad files, 10,000 rows."""

from __future__ import annotations

import datetime as dt
import io
import re
import time
import zipfile
from typing import Any

import pytest
from flask.testing import FlaskClient
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grantpool.intake import spreadsheet, xlsx
from grantpool.intake.models import Application
from grantpool.organisations.models import Organisation
from tests.calls.test_views import token_from
from tests.conftest import login
from tests.factories import PASSWORD, make_call, make_user

CHOICE_QUESTION = {
    "key": "sector",
    "kind": "single_choice",
    "label": {"en": "Sector"},
    "choices": ["Water", "Farming"],
}
GOOD: dict[str, Any] = {
    "organisation_name": "Bouaké Youth",
    "organisation_country": "CI",
    "organisation_type": "informal_group",
    "requested_amount": 1200.5,
    "language": "en",
    "summary": "Clean the market",
    "has_partner": "yes",
    "partner_name": "Town hall",
    "sector": "Water",
}


def soon() -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(days=10)


def spreadsheet_call(session: Session, **fields: Any) -> Any:
    from tests.factories import sample_questions

    return make_call(
        session,
        open_until=soon(),
        channels=["web", "spreadsheet"],
        questions=[*sample_questions(), CHOICE_QUESTION],
        **fields,
    )


def fill(template: bytes, rows: list[dict[str, Any]]) -> bytes:
    """What a field officer does: open the template, type rows under the hints, save."""
    book = load_workbook(io.BytesIO(template))
    sheet = book.worksheets[0]
    header = [c.value for c in sheet[1]]
    for row in rows:
        sheet.append([row.get(column) for column in header])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_the_template_lists_allowed_values(session: Session) -> None:
    call = spreadsheet_call(session)
    book = load_workbook(io.BytesIO(xlsx.template_xlsx(call)))
    sheet, lists = book.worksheets
    header = [c.value for c in sheet[1]]
    assert header == [*spreadsheet.FIXED_COLUMNS, "summary", "has_partner", "partner_name",
                      "sector", "capacity_strengthening"]  # fmt: skip
    assert str(sheet["A2"].value).startswith("#")
    assert lists.sheet_state == "hidden"
    by_range = {str(v.sqref): v for v in sheet.data_validations.dataValidation}
    sector = header.index("sector") + 1
    letter = chr(ord("A") + sector - 1)
    validation = by_range[f"{letter}3:{letter}10002"]
    assert validation.type == "list"
    column = re.fullmatch(r"=lists!\$([A-Z]+)\$2:\$\1\$3", validation.formula1)
    assert column is not None
    values = [c.value for c in lists[column.group(1)] if c.value is not None][1:]
    assert values == ["Water", "Farming"]
    amount_letter = chr(ord("A") + header.index("requested_amount"))
    amount = by_range[f"{amount_letter}3:{amount_letter}10002"]
    assert (amount.type, amount.formula1, amount.formula2) == ("decimal", "1000.00", "5000.00")


def test_round_trip_through_the_upload_page(session: Session, client: FlaskClient) -> None:
    manager = make_user(session, "fund_manager")
    call = spreadsheet_call(session, manager=manager)
    login(client, manager.email, PASSWORD)
    token = token_from(client, f"/manage/calls/{call.id}/spreadsheet")
    template = client.get(f"/manage/calls/{call.id}/spreadsheet/template.xlsx")
    assert template.status_code == 200
    assert template.mimetype == xlsx.XLSX_TYPE
    rows = [
        GOOD,
        {**GOOD, "organisation_name": "Korhogo Women", "has_partner": "no", "partner_name": None,
         "requested_amount": 3000, "sector": "Farming"},
    ]  # fmt: skip
    upload = fill(template.data, rows)
    response = client.post(
        f"/manage/calls/{call.id}/spreadsheet",
        data={"csrf_token": token, "file": (io.BytesIO(upload), "filled.xlsx")},
    )
    assert response.status_code == 302
    created = session.scalars(select(Application).order_by(Application.id)).all()
    assert [(a.channel, a.requested_minor) for a in created] == [
        ("spreadsheet", 120050),
        ("spreadsheet", 300000),
    ]
    assert created[0].answers["sector"] == "Water"
    assert created[1].answers["has_partner"] == "no"


def test_a_bad_cell_refuses_the_whole_file(session: Session, client: FlaskClient) -> None:
    manager = make_user(session, "fund_manager")
    call = spreadsheet_call(session, manager=manager)
    login(client, manager.email, PASSWORD)
    token = token_from(client, f"/manage/calls/{call.id}/spreadsheet")
    upload = fill(xlsx.template_xlsx(call), [GOOD, {**GOOD, "sector": "Mining"}])
    response = client.post(
        f"/manage/calls/{call.id}/spreadsheet",
        data={"csrf_token": token, "file": (io.BytesIO(upload), "filled.xlsx")},
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Choose one of the options." in page and "2 rows were checked." in page
    assert count(session, Application) == 0


def _zip(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return out.getvalue()


def _with_formula(call: Any) -> bytes:
    book = load_workbook(io.BytesIO(fill(xlsx.template_xlsx(call), [GOOD])))
    book.worksheets[0]["F3"] = "=1000+500"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _wrong_columns(_call: Any) -> bytes:
    book = Workbook()
    book.active.append(["organisation_name", "colour"])  # type: ignore[union-attr]
    book.active.append(["A", "blue"])  # type: ignore[union-attr]
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _only_header(call: Any) -> bytes:
    return xlsx.template_xlsx(call)  # the header and the hints row, no applications


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda call: b"", "empty"),
        (lambda call: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, ".xls"),
        (lambda call: b"PK\x03\x04 but not really a zip", "not a spreadsheet"),
        (lambda call: _zip({"word/document.xml": b"<w/>"}), "not an Excel workbook"),
        (
            lambda call: _zip({"xl/workbook.xml": b"<x/>", "xl/bomb.xml": b"\0" * 120_000_000}),
            "unpacks to far more data",
        ),
        (
            lambda call: _zip(
                {"xl/workbook.xml": b"<x/>"} | {f"xl/{n}.xml": b"" for n in range(300)}
            ),
            "too many parts",
        ),
        (lambda call: _zip({"xl/workbook.xml": b"<not-a-workbook"}), "damaged"),
        (_with_formula, "Formulas are not accepted (cells F3)"),
        (_wrong_columns, "columns do not match"),
        (_only_header, "no rows to import"),
    ],
)
def test_bad_files_are_refused_plainly(session: Session, make: Any, message: str) -> None:
    call = spreadsheet_call(session)
    data = make(call)
    with pytest.raises(spreadsheet.BadSpreadsheet) as info:
        xlsx.read_xlsx(call, data)
    assert message in str(info.value.message)


def test_ten_thousand_rows_import_in_under_a_minute(session: Session) -> None:
    call = spreadsheet_call(session)
    manager = make_user(session, "admin")
    rows = [
        {**GOOD, "organisation_name": f"Group {n % 500}", "summary": f"Project {n}"}
        for n in range(spreadsheet.MAX_ROWS)
    ]
    upload = fill(xlsx.template_xlsx(call), rows)
    started = time.perf_counter()
    read = xlsx.read_xlsx(call, upload)
    read_seconds = time.perf_counter() - started
    created = spreadsheet.import_rows(
        session, manager, call, read, locale="en",
        on_duplicates=spreadsheet.OnDuplicates.IMPORT_ALL,  # 20 rows per organisation
    )  # fmt: skip
    seconds = time.perf_counter() - started
    print(
        f"\n{len(read)} XLSX rows ({len(upload) / 1024:.0f} KB): read {read_seconds:.1f}s, "
        f"read and imported {seconds:.1f}s on {session.get_bind().dialect.name}"
    )
    assert len(created) == spreadsheet.MAX_ROWS
    assert count(session, Organisation) >= 500
    assert seconds < 60


# Yes/no words and areas ------------------------------------------------------------------


def _list_values(book: Any, column_name: str) -> list[str]:
    """The values of the drop-down list the template gives a column."""
    sheet, lists = book.worksheets
    header = [c.value for c in sheet[1]]
    letter = chr(ord("A") + header.index(column_name))
    validation = next(
        v for v in sheet.data_validations.dataValidation
        if str(v.sqref) == f"{letter}3:{letter}10002"
    )  # fmt: skip
    found = re.fullmatch(r"=lists!\$([A-Z]+)\$2:\$\1\$(\d+)", validation.formula1)
    assert found is not None
    return [c.value for c in lists[found.group(1)] if c.value is not None][1:]


def test_the_template_offers_yes_and_no_in_the_call_language(session: Session) -> None:
    call = spreadsheet_call(session, title={"fr": "Petites subventions"})
    book = load_workbook(io.BytesIO(xlsx.template_xlsx(call)))
    assert _list_values(book, "has_partner") == ["oui", "non"]
    assert _list_values(book, "organisation_registered") == ["oui", "non"]
    both = spreadsheet_call(session, title={"en": "Small grants", "ar": "منح صغيرة"})
    book = load_workbook(io.BytesIO(xlsx.template_xlsx(both)))
    assert _list_values(book, "has_partner") == ["yes", "no", "نعم", "لا"]


def test_the_template_lists_the_areas_with_their_names(session: Session) -> None:
    call = spreadsheet_call(session, eligibility={"countries": ["KE", "UG"]})
    areas = _list_values(load_workbook(io.BytesIO(xlsx.template_xlsx(call))), "organisation_area")
    assert "KE-30 Nairobi City (County)" in areas
    assert {a.split("-")[0] for a in areas} == {"KE", "UG"}
    assert len(areas) == 47 + len(spreadsheet_areas("UG"))


def spreadsheet_areas(country: str) -> list[str]:
    from grantpool.organisations.rules import area_choices

    return [code for code, _label in area_choices(country)]


def test_boolean_cells_words_and_areas_are_read(session: Session) -> None:
    call = spreadsheet_call(session, title={"en": "Small grants", "fr": "Petites"})
    manager = make_user(session, "admin")
    rows = [
        {**GOOD, "has_partner": True, "organisation_registered": False,
         "organisation_area": "CI-VB Vallée du Bandama (District)"},
        {**GOOD, "organisation_name": "Deux", "has_partner": "NON", "partner_name": None,
         "organisation_registered": True},
    ]  # fmt: skip
    read = xlsx.read_xlsx(call, fill(xlsx.template_xlsx(call), rows))
    assert [r["has_partner"] for r in read] == ["yes", "NON"]
    created = spreadsheet.import_rows(session, manager, call, read, locale="en")
    assert [a.answers["has_partner"] for a in created] == ["yes", "no"]  # type: ignore[union-attr]
    organisations = {o.name: o for o in session.scalars(select(Organisation))}
    assert organisations["Bouaké Youth"].area == "CI-VB"
    assert organisations["Bouaké Youth"].registered is False
    assert organisations["Deux"].registered is True


def test_a_bad_yes_no_or_area_cell_is_refused_with_its_row_and_column(
    session: Session,
) -> None:
    call = spreadsheet_call(session)
    manager = make_user(session, "admin")
    rows = [
        GOOD,
        {**GOOD, "organisation_name": "Deux", "has_partner": "perhaps"},
        {**GOOD, "organisation_name": "Trois", "organisation_area": "KE-30 Nairobi City"},
    ]
    read = xlsx.read_xlsx(call, fill(xlsx.template_xlsx(call), rows))
    problems = spreadsheet.import_rows(session, manager, call, read, locale="en")
    assert {(p.row, p.column) for p in problems} == {  # type: ignore[union-attr]
        (4, "has_partner"),
        (5, "organisation_area"),
    }
    assert count(session, Application) == 0
