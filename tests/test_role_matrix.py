"""Every role of fund B, and anonymous visitors, ask for every page and API read of fund A's
objects (filled in from the URL map, so a new page is covered as soon as it exists). None
answers 5xx, and none shows fund A's partner: its name and its contact address appear in
no answer to them, public pages included (the partner did not consent to be named)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from grantpool.accounts.models import Role, User
from grantpool.accounts.services import create_api_token
from grantpool.funds.models import Donor
from grantpool.grants.models import Disbursement
from grantpool.ledger.models import Contribution
from tests.conftest import signed_in_client
from tests.factories import make_user
from tests.grants.helpers import make_application, make_grant, make_world

# Routes whose answer is a file a fund's staff asked for by name; they are covered by the
# fund-boundary tests and by their own capability's tests.
SKIP_ARGS = {"token", "code", "filename", "reference", "key", "version", "number", "fmt"}


def _paths(app: Flask, ids: dict[str, int]) -> list[str]:
    paths = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.endpoint == "static":
            continue
        if set(rule.arguments) & SKIP_ARGS or not set(rule.arguments) <= set(ids):
            continue
        with app.test_request_context():
            from flask import url_for

            paths.append(url_for(rule.endpoint, **{a: ids[a] for a in rule.arguments}))
    return sorted(set(paths))


@pytest.fixture
def fund_a_objects(session: Session) -> tuple[Any, Any, dict[str, int]]:
    a, b = make_world(session), make_world(session)
    grant = make_grant(session, a)
    make_application(session, b)
    a.organisation.contact_email = "partner-a-secret@example.org"
    donor_a = session.scalars(
        select(Donor).join(Contribution).where(Contribution.fund_id == a.fund.id)
    ).one()
    disbursement = session.scalars(
        select(Disbursement).where(Disbursement.grant_id == grant.id)
    ).first()
    session.flush()
    ids = {
        "fund_id": a.fund.id,
        "call_id": a.call.id,
        "application_id": grant.application_id,
        "grant_id": grant.id,
        "organisation_id": a.organisation.id,
        "donor_id": donor_a.id,
        "user_id": a.grantee.id,
        "assignment_id": 1,
        "decision_id": 1,
        "report_id": 1,
        "disbursement_id": disbursement.id if disbursement else 1,
    }
    return a, b, ids


def _clients(app: Flask, session: Session, b: Any) -> dict[str, tuple[FlaskClient, dict[str, str]]]:
    donor_b = session.scalars(
        select(Donor).join(Contribution).where(Contribution.fund_id == b.fund.id)
    ).one()
    users: dict[str, User] = {
        "applicant_b": b.grantee,
        "reviewer_b": make_user(session, (Role.REVIEWER.value, b.fund.id, None)),
        "manager_b": b.manager,
        "finance_b": b.officer,
        "donor_viewer_b": make_user(session, (Role.DONOR_VIEWER.value, None, donor_b.id)),
    }
    clients: dict[str, tuple[FlaskClient, dict[str, str]]] = {"anonymous": (app.test_client(), {})}
    for who, user in users.items():
        clients[who] = (signed_in_client(app, user), {})
        _token, secret = create_api_token(session, user, "matrix")
        clients[f"{who} (token)"] = (app.test_client(), {"Authorization": f"Bearer {secret}"})
    return clients


def test_no_role_of_another_fund_breaks_or_sees_fund_a(
    app: Flask, session: Session, fund_a_objects: tuple[Any, Any, dict[str, int]]
) -> None:
    a, b, ids = fund_a_objects
    secrets = [a.organisation.name, "partner-a-secret@example.org"]
    paths = _paths(app, ids)
    assert len(paths) > 60  # the URL map was read
    failures = []
    for who, (client, headers) in _clients(app, session, b).items():
        for path in paths:
            if headers and not path.startswith("/api/"):
                continue
            response = client.get(path, headers=headers)
            body = response.get_data(as_text=True)
            if response.status_code >= 500:
                failures.append((who, path, response.status_code))
            elif any(secret in body for secret in secrets):
                failures.append((who, path, "shows fund A's partner"))
    assert failures == []
