"""Admins invite people, change roles, deactivate accounts and read the audit log."""

from __future__ import annotations

from sqlalchemy import select

from grantpool.accounts.models import Role, User
from grantpool.platform.audit import AuditEvent
from tests.conftest import csrf_token, login
from tests.factories import PASSWORD, make_admin, make_donor, make_fund, make_user


def test_admin_limits_a_finance_officer_to_one_fund(client, session):
    admin = make_admin(session)
    fund = make_fund(session)
    person = make_user(session, Role.APPLICANT.value)
    login(client, admin.email, PASSWORD)
    response = client.post(
        f"/admin/users/{person.id}",
        data={
            "action": "roles",
            "roles": ["finance_officer"],
            "fund_id": str(fund.id),
            "csrf_token": csrf_token(client),
        },
    )
    assert response.status_code == 302
    session.refresh(person, ["roles"])
    assert [(a.role, a.fund_id) for a in person.roles] == [("finance_officer", fund.id)]
    event = session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "user.roles", AuditEvent.object_id == str(person.id)
        )
    )
    assert event.actor_id == admin.id


def test_donor_viewer_needs_a_donor(client, session):
    admin = make_admin(session)
    person = make_user(session)
    login(client, admin.email, PASSWORD)
    response = client.post(
        f"/admin/users/{person.id}",
        data={"action": "roles", "roles": ["donor_viewer"], "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 422
    assert "Choose the donor this person views for." in response.get_data(as_text=True)
    donor = make_donor(session)
    response = client.post(
        f"/admin/users/{person.id}",
        data={
            "action": "roles",
            "roles": ["donor_viewer"],
            "donor_id": str(donor.id),
            "csrf_token": csrf_token(client),
        },
    )
    assert response.status_code == 302


def test_deactivated_account_is_signed_out_and_cannot_sign_in(app, session):
    admin = make_admin(session)
    person = make_user(session, Role.FUND_MANAGER.value)
    their_browser = app.test_client()
    login(their_browser, person.email, PASSWORD)
    admin_browser = app.test_client()
    login(admin_browser, admin.email, PASSWORD)
    response = admin_browser.post(
        f"/admin/users/{person.id}",
        data={"action": "deactivate", "csrf_token": csrf_token(admin_browser)},
    )
    assert response.status_code == 302
    assert their_browser.get("/funds/").status_code == 302
    assert login(app.test_client(), person.email, PASSWORD).status_code == 401


def test_audit_log_filters(client, session):
    admin = make_admin(session)
    make_fund(session, name="Findable Fund")
    login(client, admin.email, PASSWORD)
    page = client.get("/admin/audit?action=fund.create").get_data(as_text=True)
    assert "Findable Fund" in page
    assert "user.login" not in page
    page = client.get(f"/admin/audit?actor={admin.email}").get_data(as_text=True)
    assert "user.login" in page and "fund.create" not in page
    page = client.get("/admin/audit?since=2000-01-01&until=2000-01-02").get_data(as_text=True)
    assert "No events match." in page


def test_only_admins_see_users(client, session):
    manager = make_user(session, Role.FUND_MANAGER.value)
    login(client, manager.email, PASSWORD)
    assert client.get("/admin/users").status_code == 403
    assert client.get("/admin/users/invite").status_code == 403
    users = session.scalars(select(User)).all()
    assert client.get(f"/admin/users/{users[0].id}").status_code == 403
