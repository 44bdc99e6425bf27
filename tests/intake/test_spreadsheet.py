"""Spreadsheet (CSV) intake: template, all-or-nothing import, bad files."""

from __future__ import annotations

import csv
import datetime as dt
import io

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
    assert header[:7] == spreadsheet.FIXED_COLUMNS
    assert header[7:] == ["summary", "has_partner", "partner_name", "capacity_strengthening"]
    assert hints[0].startswith("#") and "1000.00–5000.00 USD" in hints[5]


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
