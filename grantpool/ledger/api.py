from __future__ import annotations

from typing import Any

from flask import request
from flask.views import MethodView
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint

from ..extensions import db
from ..funds.models import Fund
from ..platform.api import authenticated
from ..platform.errors import NotFound, ValidationFailed
from ..platform.permissions import require
from . import services
from .schemas import BalanceSchema, ContributionSchema, contribution_out

blp = Blueprint("ledger_api", __name__, description="Contributions and ledger balances")

IDEMPOTENCY_HEADER = "Idempotency-Key"


def _fund(fund_id: int) -> Fund:
    fund = db.session.get(Fund, fund_id)
    if fund is None:
        raise NotFound()
    return fund


def _idempotency_key() -> str | None:
    key = request.headers.get(IDEMPOTENCY_HEADER, "").strip() or None
    if key is not None and len(key) > 200:
        raise ValidationFailed.single("", _("An Idempotency-Key has at most 200 characters."))
    return key


@blp.route("/funds/<int:fund_id>/contributions")
class FundContributions(MethodView):
    decorators = [authenticated]

    @blp.response(200, ContributionSchema(many=True))
    def get(self, fund_id: int) -> Any:
        """Contributions received by the fund, newest first."""
        fund = _fund(fund_id)
        require(current_user, "contribution.view", fund)
        return [
            contribution_out(c, fund.base_currency)
            for c in services.list_contributions(db.session, fund)
        ]

    @blp.arguments(ContributionSchema)
    @blp.response(201, ContributionSchema)
    @blp.doc(
        parameters=[
            {
                "in": "header",
                "name": IDEMPOTENCY_HEADER,
                "schema": {"type": "string", "maxLength": 200},
                "description": "Retrying with the same key and body returns the first "
                "result; the same key with another body is refused (422).",
            }
        ]
    )
    def post(self, data: dict[str, Any], fund_id: int) -> Any:
        """Record a contribution received (finance officers of the fund)."""
        fund = _fund(fund_id)
        contribution = services.record_contribution(
            db.session,
            current_user,
            fund,
            data,
            idempotency_key=_idempotency_key(),
            fingerprint=services.request_fingerprint(request.get_json(silent=True)),
        )
        return contribution_out(contribution, fund.base_currency)


@blp.route("/funds/<int:fund_id>/balances")
class FundBalances(MethodView):
    decorators = [authenticated]

    @blp.response(200, BalanceSchema(many=True))
    def get(self, fund_id: int) -> Any:
        """Every ledger account of the fund with its balance (debit positive)."""
        fund = _fund(fund_id)
        require(current_user, "ledger.view", fund)
        return [
            {
                "account": b.code,
                "balance_minor": b.balance.amount_minor,
                "balance": str(b.balance.to_decimal()),
                "currency": b.balance.currency,
                "version": b.version,
            }
            for b in services.balances(db.session, fund)
        ]
