"""Two funds side by side: the staff of one fund neither see nor change the other fund's
donors, organisations, money or exports, through the pages or the API."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grantpool.accounts.models import Role, User
from grantpool.accounts.services import create_api_token
from grantpool.funds.models import Donor
from grantpool.intake import spreadsheet
from grantpool.intake.models import Application
from grantpool.ledger.models import Contribution
from grantpool.organisations.models import Organisation
from grantpool.platform.audit import AuditEvent
from grantpool.platform.errors import ValidationFailed
from grantpool.platform.permissions import can
from tests.conftest import csrf_token, signed_in_client
from tests.factories import make_call, make_donor, make_fund, make_organisation, make_user
from tests.grants.helpers import World, make_application, make_world


@dataclass
class Two:
    a: World
    b: World
    donor_a: Donor  # gives to fund A only
    org_a: Organisation  # applied to fund A only
    loose_donor: Donor  # gives to no fund yet
    loose_org: Organisation  # works with no fund yet
    users: dict[str, User]


@pytest.fixture
def two(session: Session) -> Two:
    a, b = make_world(session), make_world(session)
    donor_a = session.scalars(
        select(Donor).join(Contribution).where(Contribution.fund_id == a.fund.id)
    ).one()
    make_application(session, a)
    make_application(session, b)
    users = {
        "admin": make_user(session, Role.ADMIN.value),
        "manager_a": a.manager,
        "finance_a": a.officer,
        "manager_b": b.manager,
        "finance_b": b.officer,
        "reviewer_b": make_user(session, (Role.REVIEWER.value, b.fund.id, None)),
        "every_fund_manager": make_user(session, Role.FUND_MANAGER.value),
    }
    return Two(
        a, b, donor_a, a.organisation, make_donor(session), make_organisation(session), users
    )


OUTSIDERS = ["manager_b", "finance_b", "reviewer_b"]
INSIDERS = ["admin", "manager_a", "finance_a", "every_fund_manager"]


@pytest.mark.parametrize("who", INSIDERS + OUTSIDERS)
def test_rules_follow_the_funds(two: Two, who: str) -> None:
    user = two.users[who]
    inside = who in INSIDERS
    assert can(user, "donor.view", two.donor_a) is inside
    assert can(user, "organisation.view", two.org_a) is inside
    manages = who in ("admin", "manager_a", "every_fund_manager")
    assert can(user, "donor.edit", two.donor_a) is manages
    assert can(user, "organisation.edit", two.org_a) is manages
    # What no fund has taken on yet is there for every fund's staff to take on.
    staff = who != "reviewer_b"
    assert can(user, "donor.view", two.loose_donor) is staff
    assert can(user, "organisation.view", two.loose_org) is staff
    # A partner's own members always see it; fund B's work with it does not change that.
    assert can(two.a.grantee, "organisation.view", two.org_a)


def _get_all(client: FlaskClient, headers: dict[str, str], paths: list[str]) -> dict[str, int]:
    return {path: client.get(path, headers=headers).status_code for path in paths}


def _private_paths(two: Two) -> list[str]:
    fund_a = two.a.fund.id
    return [
        f"/funds/donors/{two.donor_a.id}/edit",
        f"/organisations/{two.org_a.id}",
        f"/organisations/{two.org_a.id}/edit",
        f"/funds/{fund_a}/ledger",
        f"/dashboard/funds/{fund_a}",
        f"/dashboard/funds/{fund_a}/export/donors.csv",
        f"/dashboard/funds/{fund_a}/report.pdf",
        f"/api/v1/donors/{two.donor_a.id}",
        f"/api/v1/organisations/{two.org_a.id}",
        f"/api/v1/funds/{fund_a}/contributions",
        f"/api/v1/funds/{fund_a}/balances",
    ]


@pytest.mark.parametrize("who", ["manager_b", "finance_b"])
@pytest.mark.parametrize("channel", ["browser", "token"])
def test_another_funds_staff_find_nothing_of_fund_a(
    app: Flask, session: Session, two: Two, who: str, channel: str
) -> None:
    user = two.users[who]
    headers: dict[str, str] = {}
    if channel == "browser":
        client = signed_in_client(app, user)
    else:
        client = app.test_client()
        _token, secret = create_api_token(session, user, "boundary")
        headers = {"Authorization": f"Bearer {secret}"}
    paths = [p for p in _private_paths(two) if (channel == "token") == p.startswith("/api/")]
    answers = _get_all(client, headers, paths)
    assert all(status in (403, 404) for status in answers.values()), answers
    if channel == "browser":
        assert answers[f"/organisations/{two.org_a.id}"] == 404  # not even its existence
        lists = [client.get("/funds/donors"), client.get("/organisations/")]
        text = "".join(r.get_data(as_text=True) for r in lists)
    else:
        lists = [
            client.get("/api/v1/donors", headers=headers),
            client.get("/api/v1/organisations?limit=200", headers=headers),
        ]
        text = "".join(r.get_data(as_text=True) for r in lists)
    assert all(r.status_code == 200 for r in lists)
    assert two.donor_a.name not in text
    assert two.org_a.name not in text and (two.org_a.contact_email or "@@") not in text
    # Their own fund's, and what no fund has taken on yet, they do find.
    assert two.loose_donor.name in text and two.loose_org.name in text
    assert two.b.organisation.name in text


@pytest.mark.parametrize("who", ["manager_a", "finance_a", "admin"])
def test_fund_a_staff_find_their_own(app: Flask, two: Two, who: str) -> None:
    client = signed_in_client(app, two.users[who])
    assert client.get(f"/organisations/{two.org_a.id}").status_code == 200
    donors = client.get("/funds/donors").get_data(as_text=True)
    organisations = client.get("/organisations/").get_data(as_text=True)
    assert two.donor_a.name in donors and two.org_a.name in organisations
    assert (two.b.organisation.name in organisations) is (who == "admin")


def test_fund_b_manager_cannot_rename_fund_a_donor_or_change_its_organisation(
    app: Flask, session: Session, two: Two
) -> None:
    client = signed_in_client(app, two.users["manager_b"])
    events = session.scalar(select(func.count()).select_from(AuditEvent))
    renamed = client.post(
        f"/funds/donors/{two.donor_a.id}/edit",
        data={
            "csrf_token": csrf_token(client),
            "name": "Renamed",
            "donor_type": "foundation",
            "currency": "EUR",
        },
    )
    edited = client.post(
        f"/organisations/{two.org_a.id}/edit",
        data={
            "csrf_token": csrf_token(client),
            "name": "Taken over",
            "org_type": "ngo",
            "country": "KE",
            "contact_email": "thief@example.org",
        },
    )
    assert renamed.status_code == 404 and edited.status_code == 404
    session.expire_all()
    assert session.get(Donor, two.donor_a.id).name != "Renamed"  # type: ignore[union-attr]
    assert session.get(Organisation, two.org_a.id).name != "Taken over"  # type: ignore[union-attr]
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == events


def test_fund_b_cannot_record_money_from_fund_a_donor(
    app: Flask, session: Session, two: Two
) -> None:
    client = app.test_client()
    _token, secret = create_api_token(session, two.users["finance_b"], "boundary")
    response = client.post(
        f"/api/v1/funds/{two.b.fund.id}/contributions",
        headers={"Authorization": f"Bearer {secret}"},
        json={
            "donor_id": two.donor_a.id,
            "amount": "10.00",
            "currency": "USD",
            "exchange_rate": "1",
            "received_at": "2026-11-20T10:00:00Z",
        },
    )
    assert response.status_code == 422
    assert "donor_id" in response.get_json()["errors"]
    assert two.b.fund.id not in two.donor_a.fund_ids
    # A donor no fund has taken on yet becomes fund B's donor by giving to it.
    taken = client.post(
        f"/api/v1/funds/{two.b.fund.id}/contributions",
        headers={"Authorization": f"Bearer {secret}"},
        json={
            "donor_id": two.loose_donor.id,
            "amount": "10.00",
            "currency": "EUR",
            "exchange_rate": "1.1",
            "received_at": "2026-11-20T10:00:00Z",
        },
    )
    assert taken.status_code == 201, taken.get_json()
    session.refresh(two.loose_donor)
    assert two.loose_donor.fund_ids == {two.b.fund.id}
    assert not can(two.users["manager_a"], "donor.view", two.loose_donor)


def test_a_donor_added_by_one_funds_manager_is_that_funds(
    app: Flask, session: Session, two: Two
) -> None:
    client = signed_in_client(app, two.users["manager_b"])
    response = client.post(
        "/funds/donors/new",
        data={
            "csrf_token": csrf_token(client),
            "name": "Harbour Trust",
            "donor_type": "foundation",
            "currency": "USD",
        },
    )
    assert response.status_code == 302
    donor = session.scalars(select(Donor).where(Donor.name == "Harbour Trust")).one()
    assert donor.fund_ids == {two.b.fund.id}
    assert not can(two.users["manager_a"], "donor.view", donor)
    # The same name from fund A's manager is refused, and says what to do.
    other = signed_in_client(app, two.users["manager_a"])
    again = other.post(
        "/funds/donors/new",
        data={
            "csrf_token": csrf_token(other),
            "name": "Harbour Trust",
            "donor_type": "foundation",
            "currency": "USD",
        },
    )
    assert again.status_code == 422
    assert "an administrator can add your fund" in again.get_data(as_text=True)


def test_a_manager_of_two_funds_chooses_and_keeps_what_was_given(
    app: Flask, session: Session, two: Two
) -> None:
    both = make_user(
        session,
        (Role.FUND_MANAGER.value, two.a.fund.id, None),
        (Role.FUND_MANAGER.value, two.b.fund.id, None),
    )
    other_fund = make_fund(session)
    client = signed_in_client(app, both)
    form = client.get("/funds/donors/new").get_data(as_text=True)
    assert two.a.fund.name in form and two.b.fund.name in form and other_fund.name not in form
    data = {
        "csrf_token": csrf_token(client),
        "name": "Lake Council",
        "donor_type": "government",
        "currency": "USD",
    }
    unchosen = client.post("/funds/donors/new", data=data)
    assert unchosen.status_code == 422
    assert "Choose the funds this donor gives to." in unchosen.get_data(as_text=True)
    assert (
        client.post(
            "/funds/donors/new", data={**data, "fund_ids": [str(other_fund.id)]}
        ).status_code
        == 422
    )
    assert (
        client.post(
            "/funds/donors/new", data={**data, "fund_ids": [str(two.b.fund.id)]}
        ).status_code
        == 302
    )
    # Fund A has money from donor A: unticking fund A is refused, and nothing changes.
    untick = client.post(
        f"/funds/donors/{two.donor_a.id}/edit",
        data={
            "csrf_token": csrf_token(client),
            "name": two.donor_a.name,
            "donor_type": two.donor_a.donor_type,
            "currency": two.donor_a.currency,
            "fund_ids": [str(two.b.fund.id)],
        },
    )
    assert untick.status_code == 422
    assert "stays a donor of that fund" in untick.get_data(as_text=True)
    session.refresh(two.donor_a)
    assert two.donor_a.fund_ids == {two.a.fund.id}


def test_an_import_does_not_take_over_another_funds_organisation(
    session: Session, two: Two
) -> None:
    call = make_call(
        session,
        two.b.fund,
        two.b.manager,
        open_until=dt.datetime.now(dt.UTC) + dt.timedelta(days=10),
        channels=["web", "spreadsheet"],
    )
    row: dict[str, Any] = {
        "organisation_name": two.org_a.name,
        "organisation_country": two.org_a.country,
        "organisation_type": "community_based",
        "requested_amount": "1,200",
        "language": "en",
        "summary": "Clean the market",
        "has_partner": "no",
    }
    import csv
    import io

    header = next(csv.reader(io.StringIO(spreadsheet.template_csv(call))))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header)
    writer.writeheader()
    writer.writerow({k: row.get(k, "") for k in header})
    rows = spreadsheet.read_csv(call, out.getvalue().encode())
    problems = spreadsheet.import_rows(session, two.b.manager, call, rows, locale="en")
    assert [(p.column, "works with another fund" in p.message) for p in problems] == [  # type: ignore[union-attr]
        ("organisation_name", True)
    ]
    assert (
        session.scalar(
            select(func.count()).select_from(Application).where(Application.call_id == call.id)
        )
        == 0
    )
    # An administrator may import it: the organisation keeps one history.
    admin = two.users["admin"]
    imported = spreadsheet.import_rows(session, admin, call, rows, locale="en")
    assert [a.organisation_id for a in imported] == [two.org_a.id]  # type: ignore[union-attr]


def test_donor_choice_through_the_api(session: Session, two: Two) -> None:
    from grantpool.funds.commands import donor_details
    from grantpool.funds.services import create_donor

    with pytest.raises(ValidationFailed) as refused:
        create_donor(
            session,
            two.b.manager,
            donor_details(
                name="Hill Fund", donor_type="foundation", currency="USD", fund_ids=[two.a.fund.id]
            ),
        )
    assert "fund_ids" in refused.value.errors
