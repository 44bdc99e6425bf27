from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from grantpool.calls.models import Call
from grantpool.demo import seed
from grantpool.intake.models import Application


def test_demo_data_shows_open_and_closed_calls_and_applications(session: Session) -> None:
    seed(session)
    states = {c.title["en"]: c.state for c in session.scalars(select(Call))}
    assert set(states.values()) == {"closed", "open"}  # the reviews demo adds a closed call
    open_call = session.scalar(select(Call).where(Call.state == "open"))
    assert open_call is not None and set(open_call.channels) == {"web", "spreadsheet", "odk", "api"}
    assert set(open_call.title) == {"en", "fr"}
    applications = list(session.scalars(select(Application)))
    assert {"draft", "submitted", "withdrawn"} <= {a.state for a in applications}
    assert {a.channel for a in applications} == {"web", "api", "spreadsheet", "odk"}
    # Sent from a phone with ODK Collect: read as the OpenRosa endpoint reads it.
    (from_phone,) = [a for a in applications if a.channel == "odk"]
    assert from_phone.state == "submitted" and from_phone.requested_minor == 250_000
    assert from_phone.answers["partner_name"] == "District disaster office"
    assert [row["line"] for row in from_phone.answers["budget"]] == [
        "Rain gauges",
        "Phones and airtime",
    ]
