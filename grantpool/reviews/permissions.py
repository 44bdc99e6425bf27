"""Who may do what with reviews and decisions, checked against the object.

A reviewer sees an application only through its own assignment, only while it holds a
reviewer role for the call's fund, never when it belongs to the applicant organisation,
and never again after declaring a conflict. Fund managers (of that fund) and admins run
assignments, ranking and decisions.
"""

from __future__ import annotations

from typing import Any

from ..accounts.models import Role
from ..platform.permissions import rule
from .rules import AssignmentState


def _manages(user: Any, fund_id: int) -> bool:
    return user is not None and (user.is_admin or user.is_fund_manager(fund_id))


def reviews_for_fund(user: Any, fund_id: int) -> bool:
    return user is not None and (
        user.has_role(Role.REVIEWER, fund_id=fund_id)
        or user.has_role(Role.COMMUNITY_PANEL, fund_id=fund_id)
    )


def _own_assignment(user: Any, assignment: Any) -> bool:
    application = assignment.application
    return (
        user is not None
        and assignment.reviewer_id == user.id
        and reviews_for_fund(user, application.call.fund_id)
        and not user.belongs_to(application.organisation_id)
    )


@rule("assignment.view")
def _view(user: Any, assignment: Any) -> bool:
    return _own_assignment(user, assignment) and assignment.state != AssignmentState.CONFLICTED


@rule("assignment.declare")
def _declare(user: Any, assignment: Any) -> bool:
    return _own_assignment(user, assignment) and assignment.state == AssignmentState.ASSIGNED


@rule("assignment.review")
def _review(user: Any, assignment: Any) -> bool:
    """Reading the application and scoring it come after declaring no conflict."""
    return _own_assignment(user, assignment) and assignment.state in (
        AssignmentState.ACCEPTED,
        AssignmentState.SUBMITTED,
    )


@rule("reviews.queue")
def _queue(user: Any, _obj: Any) -> bool:
    return user is not None and (
        user.has_role(Role.REVIEWER) or user.has_role(Role.COMMUNITY_PANEL)
    )


@rule("decision.view")
def _decision_view(user: Any, decision: Any) -> bool:
    return _manages(user, decision.application.call.fund_id)


@rule("decision.confirm")
def _decision_confirm(user: Any, decision: Any) -> bool:
    """Any manager of the fund; the service refuses the proposer itself (four eyes)."""
    return _manages(user, decision.application.call.fund_id)


@rule("application.decide")
def _decide(user: Any, application: Any) -> bool:
    return _manages(user, application.call.fund_id)
