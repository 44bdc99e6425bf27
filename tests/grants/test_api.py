"""Grants through the JSON API: explained tranche status, reports, the two-person release,
idempotency keys, and who may see what."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from grantpool.accounts.services import create_api_token
from tests.factories import make_organisation, make_user

from .helpers import make_grant, make_world


def auth(session: Session, user) -> dict[str, str]:
    _token, secret = create_api_token(session, user, "test")
    return {"Authorization": f"Bearer {secret}"}


def test_tranches_explain_their_conditions_to_the_grantee(
    client: FlaskClient, session: Session
) -> None:
    world = make_world(session)
    grant = make_grant(session, world, 1_000_000, risk_level="low")
    headers = auth(session, world.grantee)
    listed = client.get("/api/v1/grants", headers=headers).get_json()
    assert [g["id"] for g in listed] == [grant.id]
    tranches = client.get(f"/api/v1/grants/{grant.id}/tranches", headers=headers).get_json()
    assert [t["amount"] for t in tranches] == ["6000.00", "4000.00"]
    assert tranches[0]["condition_status"]["met"] is True
    second = tranches[1]["condition_status"]
    assert second["met"] is False
    assert second["summary"].startswith("Waiting for:")
    assert "narrative report for tranche 1 accepted" in second["summary"]
    detail = client.get(f"/api/v1/grants/{grant.id}", headers=headers).get_json()
    assert detail["reference"] == grant.reference and len(detail["tranches"]) == 2


def test_release_approve_pay_with_idempotency_keys(client: FlaskClient, session: Session) -> None:
    world = make_world(session)
    grant = make_grant(session, world, 1_000_000, risk_level="low")
    tranche_id = client.get(
        f"/api/v1/grants/{grant.id}/tranches", headers=auth(session, world.manager)
    ).get_json()[0]["id"]
    officer = {**auth(session, world.officer), "Idempotency-Key": "rel-1"}
    first = client.post(f"/api/v1/tranches/{tranche_id}/release", headers=officer, json={})
    again = client.post(f"/api/v1/tranches/{tranche_id}/release", headers=officer, json={})
    assert first.status_code == again.status_code == 201, first.get_json()
    assert first.get_json()["id"] == again.get_json()["id"]
    other_body = client.post(
        f"/api/v1/tranches/{tranche_id}/release", headers=officer, json={"note": "other"}
    )
    assert other_body.status_code == 422
    disbursement_id = first.get_json()["id"]

    self_approval = client.post(f"/api/v1/disbursements/{disbursement_id}/approve", headers=officer)
    assert self_approval.status_code == 403
    approved = client.post(
        f"/api/v1/disbursements/{disbursement_id}/approve",
        headers=auth(session, world.officer2),
    )
    assert approved.status_code == 200 and approved.get_json()["state"] == "approved"
    retried = client.post(
        f"/api/v1/disbursements/{disbursement_id}/approve",
        headers=auth(session, world.officer2),
    )
    assert retried.status_code == 200 and retried.get_json()["approved_at"]
    too_late = client.post(
        f"/api/v1/disbursements/{disbursement_id}/approve", headers=auth(session, world.manager)
    )
    assert too_late.status_code == 409

    pay = {"reference": "MP-778", "paid_on": "2026-01-10", "method": "mobile_money"}
    payer = {**auth(session, world.officer2), "Idempotency-Key": "pay-1"}
    paid = client.post(f"/api/v1/disbursements/{disbursement_id}/payment", headers=payer, json=pay)
    assert paid.status_code == 200, paid.get_json()
    replay = client.post(
        f"/api/v1/disbursements/{disbursement_id}/payment", headers=payer, json=pay
    )
    assert replay.get_json()["transaction_id"] == paid.get_json()["transaction_id"]
    changed = client.post(
        f"/api/v1/disbursements/{disbursement_id}/payment",
        headers=payer,
        json={**pay, "reference": "MP-779"},
    )
    assert changed.status_code == 422
    listed = client.get(
        f"/api/v1/grants/{grant.id}/disbursements", headers=auth(session, world.grantee)
    ).get_json()
    assert [d["state"] for d in listed] == ["paid"]
    assert listed[0]["days_award_to_payment"] == 5


def test_reports_through_the_api(client: FlaskClient, session: Session) -> None:
    world = make_world(session)
    grant = make_grant(session, world)
    headers = {**auth(session, world.grantee), "Idempotency-Key": "rep-1"}
    body = {
        "kind": "financial",
        "tranche_number": 1,
        "spent_lines": [{"line": "Seeds", "amount": "120.50"}],
    }
    sent = client.post(f"/api/v1/grants/{grant.id}/reports", json=body, headers=headers)
    assert sent.status_code == 201, sent.get_json()
    assert sent.get_json()["spent_minor"] == 12050
    again = client.post(f"/api/v1/grants/{grant.id}/reports", json=body, headers=headers)
    assert again.get_json()["id"] == sent.get_json()["id"]
    other = client.post(
        f"/api/v1/grants/{grant.id}/reports", json={**body, "tranche_number": 2}, headers=headers
    )
    assert other.status_code == 422
    bad = client.post(
        f"/api/v1/grants/{grant.id}/reports",
        json={"kind": "financial", "tranche_number": 1},
        headers=auth(session, world.grantee),
    )
    assert bad.status_code == 422 and "spent" in bad.get_json()["errors"]


def test_other_organisations_and_funds_get_404(client: FlaskClient, session: Session) -> None:
    world = make_world(session)
    grant = make_grant(session, world)
    stranger = make_user(session, organisations=[make_organisation(session)])
    other_fund = make_world(session)
    tranche_id = client.get(
        f"/api/v1/grants/{grant.id}/tranches", headers=auth(session, world.officer)
    ).get_json()[0]["id"]
    for user in (stranger, other_fund.officer, other_fund.manager):
        headers = auth(session, user)
        assert client.get(f"/api/v1/grants/{grant.id}", headers=headers).status_code == 404
        assert client.get(f"/api/v1/grants/{grant.id}/reports", headers=headers).status_code == 404
        assert (
            client.post(f"/api/v1/tranches/{tranche_id}/release", headers=headers).status_code
            == 404
        )
        assert client.get("/api/v1/grants", headers=headers).get_json() == []
    # The grantee sees its grant but may not release its money.
    grantee = auth(session, world.grantee)
    assert client.post(f"/api/v1/tranches/{tranche_id}/release", headers=grantee).status_code == 403
    assert client.get("/api/v1/grants").status_code == 401
