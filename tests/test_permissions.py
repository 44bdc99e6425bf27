"""Every role against objects of its own and of another fund or organisation."""

from __future__ import annotations

import pytest

from grantpool.accounts.models import Role
from grantpool.platform.errors import NotFound, NotPermitted
from grantpool.platform.permissions import can, require
from tests.conftest import login
from tests.factories import PASSWORD, make_donor, make_fund, make_organisation, make_user


@pytest.fixture
def world(session):
    fund_a, fund_b = make_fund(session), make_fund(session)
    org_a, org_b = make_organisation(session), make_organisation(session)
    donor = make_donor(session)
    users = {
        "admin": make_user(session, Role.ADMIN.value),
        "manager_a": make_user(session, (Role.FUND_MANAGER.value, fund_a.id, None)),
        "finance_a": make_user(session, (Role.FINANCE_OFFICER.value, fund_a.id, None)),
        "reviewer_a": make_user(session, (Role.REVIEWER.value, fund_a.id, None)),
        "donor_viewer": make_user(session, (Role.DONOR_VIEWER.value, None, donor.id)),
        "applicant_a": make_user(session, Role.APPLICANT.value, organisations=[org_a]),
    }
    return {
        "fund_a": fund_a,
        "fund_b": fund_b,
        "org_a": org_a,
        "org_b": org_b,
        "donor": donor,
        **users,
    }


@pytest.mark.parametrize(
    ("who", "action", "target", "allowed"),
    [
        ("admin", "fund.edit", "fund_b", True),
        ("manager_a", "fund.edit", "fund_a", True),
        ("manager_a", "fund.edit", "fund_b", False),
        ("manager_a", "fund.view", "fund_b", False),
        ("finance_a", "fund.view", "fund_a", True),
        ("finance_a", "fund.edit", "fund_a", False),
        ("finance_a", "fund.view", "fund_b", False),
        ("reviewer_a", "fund.view", "fund_a", True),
        ("reviewer_a", "fund.view", "fund_b", False),
        ("applicant_a", "fund.view", "fund_a", False),
        ("applicant_a", "organisation.view", "org_a", True),
        ("applicant_a", "organisation.edit", "org_a", True),
        ("applicant_a", "organisation.view", "org_b", False),
        ("applicant_a", "organisation.edit", "org_b", False),
        ("donor_viewer", "donor.view", "donor", True),
        ("donor_viewer", "organisation.view", "org_a", False),
        ("manager_a", "organisation.view", "org_b", True),  # works with no fund yet
        ("finance_a", "organisation.edit", "org_b", False),
    ],
)
def test_rules(world, who, action, target, allowed):
    assert can(world[who], action, world[target]) is allowed


def test_require_hides_what_one_may_not_see(world):
    with pytest.raises(NotFound):
        require(world["applicant_a"], "organisation.edit", world["org_b"])
    with pytest.raises(NotFound):
        require(world["manager_a"], "fund.edit", world["fund_b"])
    with pytest.raises(NotPermitted):
        require(world["finance_a"], "fund.edit", world["fund_a"])  # sees it, may not edit
    # An action on an object of another type asks that object's own view rule.
    with pytest.raises(NotFound):
        require(world["manager_a"], "call.create", world["fund_b"])
    with pytest.raises(NotPermitted):
        require(world["finance_a"], "call.create", world["fund_a"])


def test_anonymous_and_deactivated_people_may_do_nothing(world, session):
    from flask_login import AnonymousUserMixin

    assert not can(AnonymousUserMixin(), "fund.view", world["fund_a"])
    admin = world["admin"]
    admin.active = False
    assert not can(admin, "fund.view", world["fund_a"])


def test_applicant_gets_404_for_another_organisation_over_http(client, world):
    login(client, world["applicant_a"].email, PASSWORD)
    assert client.get(f"/organisations/{world['org_a'].id}").status_code == 200
    assert client.get(f"/organisations/{world['org_b'].id}").status_code == 404
    assert client.get(f"/organisations/{world['org_b'].id}/edit").status_code == 404
    assert client.get("/organisations/").status_code == 403
    assert client.get("/admin/audit").status_code == 403


def test_fund_manager_of_one_fund_cannot_reach_another(client, world):
    login(client, world["manager_a"].email, PASSWORD)
    assert client.get(f"/funds/{world['fund_a'].id}/edit").status_code == 200
    assert client.get(f"/funds/{world['fund_b'].id}").status_code == 404
    page = client.get("/funds/").get_data(as_text=True)
    assert world["fund_a"].name in page and world["fund_b"].name not in page
