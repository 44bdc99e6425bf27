"""Grants through /api/v1, with the same permissions as the pages: a grantee's members see
their own grants only; anyone else gets 404."""

from __future__ import annotations

from operator import attrgetter
from typing import Any

from flask import request
from flask.views import MethodView
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint

from ..extensions import db
from ..platform.api import authenticated
from ..platform.errors import ValidationFailed
from ..platform.permissions import load
from . import queries, services
from .commands import PaymentDetails, ReportDetails
from .models import Disbursement, Grant, Tranche
from .schemas import (
    DisbursementSchema,
    EvaluatedGrant,
    EvaluatedTranche,
    GrantSchema,
    PaymentInSchema,
    ReportInSchema,
    ReportSchema,
    TrancheSchema,
)

blp = Blueprint("grants_api", __name__, description="Grants, tranches, reports, disbursements")

IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_DOC = {
    "parameters": [
        {
            "in": "header",
            "name": IDEMPOTENCY_HEADER,
            "schema": {"type": "string", "maxLength": 150},
            "description": "Retrying with the same key and body returns the first result; "
            "the same key with another body is refused (422).",
        }
    ]
}


def _idempotency_key() -> str | None:
    key = request.headers.get(IDEMPOTENCY_HEADER, "").strip() or None
    if key is not None and len(key) > 150:
        raise ValidationFailed.single("", _("An Idempotency-Key has at most 150 characters."))
    return key


def _fingerprint(*extra: Any) -> str:
    return services.request_fingerprint([*extra, request.get_json(silent=True)])


def _evaluated_tranches(grant: Grant) -> list[EvaluatedTranche]:
    loaded = queries.load_facts(db.session, grant)
    evaluations = services.evaluate_tranches(db.session, grant, loaded=loaded)
    return [EvaluatedTranche(t, evaluations[t.id]) for t in loaded.tranches]


@blp.route("/grants")
class Grants(MethodView):
    decorators = [authenticated]

    @blp.response(200, GrantSchema(many=True))
    def get(self) -> Any:
        """The grants you may see, newest first."""
        return queries.grants_visible_to(db.session, current_user)


@blp.route("/grants/<int:grant_id>")
class GrantDetail(MethodView):
    decorators = [authenticated]

    @blp.response(200, GrantSchema)
    def get(self, grant_id: int) -> Any:
        """One grant with its tranches and whether each one's conditions hold now."""
        grant = load(Grant, grant_id, "grant.view")
        return EvaluatedGrant(grant, _evaluated_tranches(grant))


@blp.route("/grants/<int:grant_id>/tranches")
class GrantTranches(MethodView):
    decorators = [authenticated]

    @blp.response(200, TrancheSchema(many=True))
    def get(self, grant_id: int) -> Any:
        """Tranches with their conditions explained in plain words."""
        return _evaluated_tranches(load(Grant, grant_id, "grant.view"))


@blp.route("/grants/<int:grant_id>/reports")
class GrantReports(MethodView):
    decorators = [authenticated]

    @blp.response(200, ReportSchema(many=True))
    def get(self, grant_id: int) -> Any:
        """Reports sent on the grant."""
        return queries.reports_of(db.session, load(Grant, grant_id, "grant.view"))

    @blp.arguments(ReportInSchema)
    @blp.response(201, ReportSchema)
    @blp.doc(**IDEMPOTENCY_DOC)
    def post(self, details: ReportDetails, grant_id: int) -> Any:
        """Send a report (the grantee's members). Files are sent through the web page."""
        grant = load(Grant, grant_id, "grant.view")
        report = services.submit_report(
            db.session,
            current_user,
            grant,
            details,
            idempotency_key=_idempotency_key(),
            fingerprint=_fingerprint("report", grant.id),
        )
        return report


@blp.route("/grants/<int:grant_id>/disbursements")
class GrantDisbursements(MethodView):
    decorators = [authenticated]

    @blp.response(200, DisbursementSchema(many=True))
    def get(self, grant_id: int) -> Any:
        """Requests, approvals and payments of the grant's tranches."""
        return queries.disbursements_of(db.session, load(Grant, grant_id, "grant.view"))


@blp.route("/tranches/<int:tranche_id>/release")
class TrancheRelease(MethodView):
    decorators = [authenticated]

    @blp.response(201, DisbursementSchema)
    @blp.doc(**IDEMPOTENCY_DOC)
    def post(self, tranche_id: int) -> Any:
        """Request release of a tranche whose conditions hold (finance officers)."""
        tranche = load(Tranche, tranche_id, "grant.view", on=attrgetter("grant"))
        disbursement = services.request_release(
            db.session,
            current_user,
            tranche,
            idempotency_key=_idempotency_key(),
            fingerprint=_fingerprint("release", tranche.id),
        )
        return disbursement


@blp.route("/disbursements/<int:disbursement_id>/approve")
class DisbursementApproval(MethodView):
    decorators = [authenticated]

    @blp.response(200, DisbursementSchema)
    def post(self, disbursement_id: int) -> Any:
        """Approve a requested release (someone other than the requester)."""
        disbursement = load(
            Disbursement, disbursement_id, "grant.view", on=attrgetter("tranche.grant")
        )
        return services.approve_release(db.session, current_user, disbursement)


@blp.route("/disbursements/<int:disbursement_id>/payment")
class DisbursementPayment(MethodView):
    decorators = [authenticated]

    @blp.arguments(PaymentInSchema)
    @blp.response(200, DisbursementSchema)
    @blp.doc(**IDEMPOTENCY_DOC)
    def post(self, payment: PaymentDetails, disbursement_id: int) -> Any:
        """Record the payment of an approved release; posts it to the ledger."""
        disbursement = load(
            Disbursement, disbursement_id, "grant.view", on=attrgetter("tranche.grant")
        )
        paid = services.record_payment(
            db.session,
            current_user,
            disbursement,
            payment,
            idempotency_key=_idempotency_key(),
            fingerprint=_fingerprint("payment", disbursement.id),
        )
        return paid
