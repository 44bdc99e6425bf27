"""Grant operations. Each takes a session and the acting user, flushes, never commits.

Money moves only through grantpool.ledger.services (post_transaction locks the fund and
refuses to take fund:available or grant:G:committed below zero). The read side (a grant's
tranches, reports, the grants a person may see) is in grantpool.grants.queries.

    awards          tranche templates; create_grant
    conditions      evaluate_tranches; waive_condition; record_evidence
    reports         submit_report, resubmit_report, review_report
    disbursements   request_release, approve_release, reject_release, record_payment
    amendments      amend_grant
    lifecycle       change_state, close_grant
    agreements      issue_agreement, agreement_bytes
"""

from ._common import FILE_ROLES, local_date, request_fingerprint
from .agreements import agreement_bytes, issue_agreement
from .amendments import amend_grant
from .awards import create_grant, save_template, template_for
from .conditions import evaluate_tranche, evaluate_tranches, record_evidence, waive_condition
from .disbursements import approve_release, record_payment, reject_release, request_release
from .lifecycle import change_state, close_grant
from .reports import Upload, resubmit_report, review_report, submit_report

__all__ = [
    "FILE_ROLES",
    "Upload",
    "agreement_bytes",
    "amend_grant",
    "approve_release",
    "change_state",
    "close_grant",
    "create_grant",
    "evaluate_tranche",
    "evaluate_tranches",
    "issue_agreement",
    "local_date",
    "record_evidence",
    "record_payment",
    "reject_release",
    "request_fingerprint",
    "request_release",
    "resubmit_report",
    "review_report",
    "save_template",
    "submit_report",
    "template_for",
    "waive_condition",
]
