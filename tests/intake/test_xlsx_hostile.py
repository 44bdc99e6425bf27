"""XLSX files that lie about themselves: a <dimension> smaller or far larger than the
sheet, a million empty rows, rows numbered twice, cells far to the right. Every real row
is imported, or the file is refused plainly, after bounded work, with nothing written."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable, Iterator
from typing import Any
from xml.sax.saxutils import escape

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from grantpool.intake import spreadsheet, xlsx
from grantpool.intake.models import Application
from grantpool.organisations.models import Organisation
from tests.calls.test_views import token_from
from tests.conftest import login
from tests.factories import PASSWORD, make_user

from .test_xlsx import GOOD, count, fill, spreadsheet_call

SHEET = "xl/worksheets/sheet1.xml"


def rows_of(n: int) -> list[dict[str, Any]]:
    return [{**GOOD, "organisation_name": f"Group {i}"} for i in range(n)]


def rewrite(data: bytes, part: str, write: Callable[[Any], None]) -> bytes:
    """The same workbook with one part replaced by what `write` streams into it."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target,
    ):
        for item in source.infolist():
            if item.filename == part:
                with target.open(part, "w") as stream:
                    write(stream)
            else:
                target.writestr(item, source.read(item.filename))
    return out.getvalue()


def with_dimension(data: bytes, ref: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        xml = archive.read(SHEET).decode()
    assert '<dimension ref="' in xml
    edited = re.sub(r'<dimension ref="[^"]*"', f'<dimension ref="{ref}"', xml)
    return rewrite(data, SHEET, lambda stream: stream.write(edited.encode()))


def _cell(column: int, row: int, value: str) -> str:
    from openpyxl.utils import get_column_letter

    return (
        f'<c r="{get_column_letter(column)}{row}" t="inlineStr"><is><t>{escape(value)}</t></is></c>'
    )


def raw_sheet(
    call: Any, data_rows: int, *, then: Iterator[str] = iter(()), dimension: str = "A1:M3"
) -> bytes:
    """A workbook whose sheet XML is streamed: the header, `data_rows` good rows, then
    whatever `then` yields. Fast to build however many rows it holds."""
    header = [*spreadsheet.FIXED_COLUMNS, *spreadsheet._question_columns(call)]

    def write(stream: Any) -> None:
        stream.write(
            b'<?xml version="1.0" encoding="UTF-8"?>'
            b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            + f'<dimension ref="{dimension}"/><sheetData>'.encode()
        )
        stream.write(
            ("<row r=\"1\">" + "".join(_cell(i, 1, c) for i, c in enumerate(header, 1))
             + "</row>").encode()
        )  # fmt: skip
        for n in range(data_rows):
            row = {**GOOD, "organisation_name": f"Group {n}", "requested_amount": "1200"}
            stream.write(
                (f'<row r="{n + 2}">'
                 + "".join(_cell(i, n + 2, str(row.get(c) or "")) for i, c in
                           enumerate(header, 1) if row.get(c))
                 + "</row>").encode()
            )  # fmt: skip
        chunk: list[str] = []
        for piece in then:
            chunk.append(piece)
            if len(chunk) >= 10_000:
                stream.write("".join(chunk).encode())
                chunk = []
        stream.write(("".join(chunk) + "</sheetData></worksheet>").encode())

    return rewrite(xlsx.template_xlsx(call), SHEET, write)


def read(call: Any, data: bytes) -> tuple[list[dict[str, str]], xlsx.ReadStats]:
    stats = xlsx.ReadStats()
    return xlsx.read_xlsx(call, data, stats=stats), stats


def refused(call: Any, data: bytes) -> tuple[str, xlsx.ReadStats]:
    stats = xlsx.ReadStats()
    with pytest.raises(spreadsheet.BadSpreadsheet) as info:
        xlsx.read_xlsx(call, data, stats=stats)
    return str(info.value.message), stats


def test_a_dimension_smaller_than_the_sheet_loses_no_row(session: Session) -> None:
    call = spreadsheet_call(session)
    honest = fill(xlsx.template_xlsx(call), rows_of(10))
    lying = with_dimension(honest, "A1:M5")
    rows, stats = read(call, lying)
    assert [r["organisation_name"] for r in rows] == [f"Group {i}" for i in range(10)]
    assert stats.rows_read == 12  # the header, the hints and ten applications
    manager = make_user(session, "admin")
    created = spreadsheet.import_rows(session, manager, call, rows, locale="en")
    assert len(created) == 10 and count(session, Application) == 10


def test_the_templates_own_small_dimension_is_not_trusted(session: Session) -> None:
    call = spreadsheet_call(session)
    with zipfile.ZipFile(io.BytesIO(xlsx.template_xlsx(call))) as archive:
        assert re.search(r'<dimension ref="A1:[A-Z]+2"', archive.read(SHEET).decode())
    data = raw_sheet(call, 7, dimension="A1:M2")
    rows, _stats = read(call, data)
    assert len(rows) == 7


def test_a_huge_dimension_costs_nothing(session: Session) -> None:
    call = spreadsheet_call(session)
    data = with_dimension(fill(xlsx.template_xlsx(call), rows_of(2)), "A1:XFD1048576")
    rows, stats = read(call, data)
    assert len(rows) == 2
    assert stats.rows_read == 4
    assert stats.cells_read < 100  # no padding to 16,384 columns


def test_a_million_empty_rows_are_refused_after_a_bounded_read(session: Session) -> None:
    call = spreadsheet_call(session)
    million = ("<row/>" for _n in range(1_000_000))  # numbered by position
    data = raw_sheet(call, 2, then=million, dimension="A1:XFD1048576")
    assert len(data) < 200_000  # small on the wire
    message, stats = refused(call, data)
    assert "more than 1,000 empty rows" in message and "After row 3" in message
    assert stats.rows_read <= 3 + xlsx.MAX_EMPTY_RUN + 1


def test_empty_rows_that_end_the_sheet_are_fine(session: Session) -> None:
    call = spreadsheet_call(session)
    some = (f'<row r="{n}" ht="15" customHeight="1"/>' for n in range(4, 200))
    rows, stats = read(call, raw_sheet(call, 2, then=some))
    assert len(rows) == 2 and stats.rows_read == 199


def test_more_rows_than_allowed_are_refused_without_reading_on(session: Session) -> None:
    call = spreadsheet_call(session)
    extra = (
        f'<row r="{n}">{_cell(1, n, f"Extra {n}")}</row>'
        for n in range(spreadsheet.MAX_ROWS + 2, spreadsheet.MAX_ROWS + 50_000)
    )
    message, stats = refused(call, raw_sheet(call, spreadsheet.MAX_ROWS, then=extra))
    assert "at most 10000 rows" in message
    assert stats.rows_read == spreadsheet.MAX_ROWS + 2


@pytest.mark.parametrize(
    ("then", "message"),
    [
        # Row 3 written twice: openpyxl would silently keep only the first.
        (lambda: iter([f'<row r="3">{_cell(1, 3, "Again")}</row>']), "contradicts itself"),
        # A cell claiming another row than the one it sits in.
        (lambda: iter([f'<row r="9">{_cell(1, 4, "Elsewhere")}</row>']), "contradicts itself"),
        (lambda: iter([f'<row r="9">{_cell(16384, 9, "far")}</row>']), "goes beyond column"),
        (lambda: iter([f'<row r="9">{_cell(40, 9, "lost?")}</row>']), "Cell AN9"),
    ],
)
def test_a_file_that_contradicts_itself_is_refused(
    session: Session, then: Callable[[], Iterator[str]], message: str
) -> None:
    call = spreadsheet_call(session)
    text, stats = refused(call, raw_sheet(call, 2, then=then()))
    assert message in text
    assert stats.rows_read == 4


@pytest.mark.parametrize("kind", ["lying", "million", "twice"])
def test_hostile_uploads_write_nothing_or_everything(
    session: Session, client: FlaskClient, kind: str
) -> None:
    manager = make_user(session, "fund_manager")
    call = spreadsheet_call(session, manager=manager)
    login(client, manager.email, PASSWORD)
    token = token_from(client, f"/manage/calls/{call.id}/spreadsheet")
    organisations = count(session, Organisation)
    if kind == "lying":
        upload = with_dimension(fill(xlsx.template_xlsx(call), rows_of(10)), "A1:M5")
    elif kind == "million":
        upload = raw_sheet(call, 2, then=("<row/>" for _n in range(1_000_000)))
    else:
        upload = raw_sheet(call, 2, then=iter([f'<row r="2">{_cell(1, 2, "Twice")}</row>']))
    response = client.post(
        f"/manage/calls/{call.id}/spreadsheet",
        data={"csrf_token": token, "file": (io.BytesIO(upload), "filled.xlsx")},
    )
    if kind == "lying":
        assert response.status_code == 302
        assert count(session, Application) == 10
    else:
        assert response.status_code == 422
        assert "There is a problem" in response.get_data(as_text=True)
        assert count(session, Application) == 0
        assert count(session, Organisation) == organisations
