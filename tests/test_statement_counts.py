"""Pages issue a bounded number of SQL statements, whatever the amount of data."""

from __future__ import annotations

import datetime as dt

import pytest

from grantpool.intake import services as intake
from grantpool.platform.sqlcount import HEADER
from grantpool.platform.time import now_utc
from tests.conftest import csrf_token, login
from tests.factories import PASSWORD, make_call, make_organisation, make_user

FORM_PAGE_LIMIT = 8
SUBMISSION_LIMIT = 12


@pytest.fixture
def app_config():
    return {"SQL_COUNT_HEADER": True}


def _statements(response) -> int:
    return int(response.headers[HEADER])


def _fill_with_other_applications(session, call, n: int) -> None:
    for i in range(n):
        organisation = make_organisation(session, name=f"Other Group {i}")
        person = make_user(session, "applicant", organisations=[organisation])
        intake.start_application(session, person, call, organisation, language="en")


def _measure(session, request):
    # Requests share the test's session; empty its identity map so a request cannot
    # profit from objects the test happened to load, as a fresh production request can't.
    session.commit()
    session.expunge_all()
    return request()


def _walk(client, session, call) -> dict[str, int]:
    organisation = make_organisation(session)
    person = make_user(session, "applicant", organisations=[organisation])
    login(client, person.email, PASSWORD)
    token = csrf_token(client)
    call_id = call.id
    counts = {"call page": _statements(_measure(session, lambda: client.get(f"/calls/{call_id}")))}
    start = client.post(f"/calls/{call_id}/apply", data={"csrf_token": token})
    first = client.get(start.headers["Location"]).headers["Location"]  # where to continue
    counts["form page"] = _statements(_measure(session, lambda: client.get(first)))
    client.post(first, data={"csrf_token": token, "requested_amount": "2000"})
    base = first.rsplit("/page/", 1)[0]
    client.post(f"{base}/page/1", data={"csrf_token": token, "summary": "Repair two wells."})
    client.post(f"{base}/page/2", data={"csrf_token": token, "has_partner": "no"})
    submitted = _measure(session, lambda: client.post(f"{base}/check", data={"csrf_token": token}))
    assert submitted.status_code == 302
    counts["submission"] = _statements(submitted)
    return counts


def test_applicant_pages_do_not_grow_with_the_data(app, session):
    call = make_call(session, open_until=now_utc() + dt.timedelta(days=10))
    small = _walk(app.test_client(), session, call)
    _fill_with_other_applications(session, call, 40)
    large = _walk(app.test_client(), session, call)
    assert small == large
    assert large["form page"] <= FORM_PAGE_LIMIT
    assert large["submission"] <= SUBMISSION_LIMIT


def test_pages_listing_a_members_organisations_read_them_at_once(app, session) -> None:
    """Account home, "My organisations" and the apply page list every organisation the
    member belongs to, in the order they joined, with the same statements for one or five."""
    call = make_call(session, open_until=now_utc() + dt.timedelta(days=10))
    counts = {}
    for n in (1, 5):
        organisations = [make_organisation(session, name=f"Group {n}-{i}") for i in range(n)]
        person = make_user(session, "applicant", organisations=organisations)
        client = app.test_client()
        login(client, person.email, PASSWORD)
        for path in ("/", "/organisations/mine", f"/calls/{call.id}/apply"):
            response = _measure(session, lambda path=path, client=client: client.get(path))
            assert response.status_code == 200, path
            page = response.get_data(as_text=True)
            positions = [page.index(o.name) for o in organisations]
            assert positions == sorted(positions), path
            counts[n, path] = _statements(response)
    for path in ("/", "/organisations/mine", f"/calls/{call.id}/apply"):
        assert counts[1, path] == counts[5, path], path
