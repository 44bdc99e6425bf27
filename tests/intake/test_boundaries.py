"""Extreme amounts at the intake boundaries (API, spreadsheet, ODK): refused with a clear
message, nothing written."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from defusedxml.ElementTree import fromstring
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grantpool.intake import spreadsheet
from grantpool.intake.models import Application
from grantpool.platform.audit import AuditEvent
from tests.factories import make_call, make_organisation, make_user

from .test_api import ANSWERS, bearer, soon
from .test_odk import RESPONSE, filled, png, setting  # noqa: F401 (a fixture)
from .test_spreadsheet import GOOD
from .test_spreadsheet import filled as filled_csv


def applications(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Application)) or 0)


def test_the_api_refuses_an_amount_of_ten_to_the_nineteen(
    session: Session, client: FlaskClient
) -> None:
    call = make_call(session, open_until=soon())
    organisation = make_organisation(session)
    headers = bearer(session, make_user(session, organisations=[organisation]))
    for requested in (10**19, 10**15 + 1, 0):
        response = client.post(
            f"/api/v1/calls/{call.id}/applications",
            json={"organisation_id": organisation.id, "answers": ANSWERS,
                  "requested_minor": requested, "currency": "USD"},
            headers=headers,
        )  # fmt: skip
        assert response.status_code == 422, response.get_json()
        message = response.get_json()["errors"]["requested_minor"][0]
        assert "between 1 and 1,000,000,000,000,000" in message
    assert applications(session) == 0


def test_the_spreadsheet_refuses_a_huge_amount(session: Session) -> None:
    call = make_call(session, open_until=soon(), channels=["web", "spreadsheet"])
    rows = spreadsheet.read_csv(
        call, filled_csv(call, [{**GOOD, "requested_amount": "100000000000000000"}])
    )
    problems = spreadsheet.import_rows(session, make_user(session, "admin"), call, rows,
                                       locale="en")  # fmt: skip
    assert [(p.row, p.column) for p in problems] == [(2, "requested_amount")]  # type: ignore[union-attr]
    assert applications(session) == 0


def test_odk_refuses_a_huge_budget_line(
    session: Session,
    setting: dict[str, Any],  # noqa: F811 (the fixture imported above)
    tmp_path: Path,
) -> None:
    call, device = setting["call"], setting["device"]
    xml = filled(call, f"uuid:{uuid.uuid4()}").replace(
        b"<amount>900</amount>", b"<amount>100000000000000000</amount>"
    )
    events = session.scalar(select(func.count()).select_from(AuditEvent))
    response = device.submit(xml, {"1733829393843.png": png()})
    assert response.status_code == 422, response.data
    message = fromstring(response.data).find(f"{RESPONSE}message")
    assert message is not None and "Budget line 1 needs an amount" in (message.text or "")
    assert applications(session) == 0
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == events
