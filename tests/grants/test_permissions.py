"""Who may do what to a grant, across organisations and funds."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from grantpool.accounts.models import Role
from grantpool.platform.errors import NotFound, NotPermitted
from grantpool.platform.permissions import can, require
from tests.factories import make_organisation, make_user

from .helpers import make_grant, make_world

ACTIONS = [
    "grant.view",
    "grant.manage",
    "grant.report",
    "grant.request_release",
    "grant.approve_release",
    "grant.record_payment",
]
ALLOWED = {
    "manager": {"grant.view", "grant.manage", "grant.approve_release"},
    "officer": {
        "grant.view",
        "grant.request_release",
        "grant.approve_release",
        "grant.record_payment",
    },
    "grantee": {"grant.view", "grant.report"},
    "admin": {"grant.view"},
    "other_manager": set(),
    "other_officer": set(),
    "stranger": set(),
    "reviewer": set(),
}


def test_every_role_against_a_grant_of_its_own_and_another_fund(session: Session) -> None:
    world = make_world(session)
    grant = make_grant(session, world)
    other = make_world(session)
    people = {
        "manager": world.manager,
        "officer": world.officer,
        "grantee": world.grantee,
        "admin": make_user(session, Role.ADMIN.value),
        "other_manager": other.manager,
        "other_officer": other.officer,
        "stranger": make_user(session, organisations=[make_organisation(session)]),
        "reviewer": make_user(session, (Role.REVIEWER.value, world.fund.id, None)),
    }
    for who, user in people.items():
        allowed = {action for action in ACTIONS if can(user, action, grant)}
        assert allowed == ALLOWED[who], who
    assert can(world.manager, "fund.award_grant", world.fund)
    assert not can(other.manager, "fund.award_grant", world.fund)
    assert not can(world.officer, "fund.edit_tranche_templates", world.fund)


@pytest.mark.parametrize("action", ACTIONS[1:])
def test_outsiders_are_told_not_found_and_grantees_not_permitted(
    session: Session, action: str
) -> None:
    world = make_world(session)
    grant = make_grant(session, world)
    stranger = make_user(session, organisations=[make_organisation(session)])
    with pytest.raises(NotFound):
        require(stranger, action, grant)
    if action != "grant.report":
        with pytest.raises(NotPermitted):
            require(world.grantee, action, grant)
