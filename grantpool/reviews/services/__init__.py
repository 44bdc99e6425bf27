"""Reviewing and deciding. Each operation takes a session and the acting user, checks the
rules, flushes and writes an AuditEvent; none commits.

    settings.py              a call's rubric, weights, blind review, decline reasons
    assignments.py           asking reviewers (one, or the whole call by load); conflicts
    scoring.py               a reviewer's scores, draft then sent
    decisions.py             four-eyes award or decline; the award's money
    information_requests.py  asking the applicant for more, and the answer
    notifications.py         telling the applicant

Reads live in ../queries.py and ../reading.py; they are named here too so that
`services.settings_of` and the like keep working for callers."""

from __future__ import annotations

from ..queries import (
    awarded_total,
    open_decision,
    open_info_request,
    reviewers_of_fund,
    settings_of,
)
from ..reading import attachment_of, identifying_strings, others_visible, reviewer_view
from ._common import NOTE_MAX, REVIEWABLE_STATES
from .assignments import assign_reviewer, auto_assign, declare_conflict, reviewer_kind
from .decisions import commit_award, confirm_decision, propose_decision, reject_decision
from .information_requests import answer_info_request, request_more_info
from .notifications import applicant_address, notify_applicant
from .scoring import save_review
from .settings import save_settings

__all__ = [
    "NOTE_MAX",
    "REVIEWABLE_STATES",
    "answer_info_request",
    "applicant_address",
    "assign_reviewer",
    "attachment_of",
    "auto_assign",
    "awarded_total",
    "commit_award",
    "confirm_decision",
    "declare_conflict",
    "identifying_strings",
    "notify_applicant",
    "open_decision",
    "open_info_request",
    "others_visible",
    "propose_decision",
    "reject_decision",
    "request_more_info",
    "reviewer_kind",
    "reviewer_view",
    "reviewers_of_fund",
    "save_review",
    "save_settings",
    "settings_of",
]
