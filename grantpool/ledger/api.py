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
from ..platform.errors import ValidationFailed
from ..platform.permissions import load
from . import services
from .commands import ContributionDetails
from .schemas import BalanceSchema, ContributionSchema

blp = Blueprint("ledger_api", __name__, description="Contributions and ledger balances")

IDEMPOTENCY_HEADER = "Idempotency-Key"


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
        fund = load(Fund, fund_id, "contribution.view")
        return services.list_contributions(db.session, fund)

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
    def post(self, data: ContributionDetails, fund_id: int) -> Any:
        """Record a contribution received (finance officers of the fund)."""
        fund = load(Fund, fund_id)
        return services.record_contribution(
            db.session,
            current_user,
            fund,
            data,
            idempotency_key=_idempotency_key(),
            fingerprint=services.request_fingerprint(request.get_json(silent=True)),
        )


@blp.route("/funds/<int:fund_id>/balances")
class FundBalances(MethodView):
    decorators = [authenticated]

    @blp.response(200, BalanceSchema(many=True))
    def get(self, fund_id: int) -> Any:
        """Every ledger account of the fund with its balance (debit positive)."""
        fund = load(Fund, fund_id, "ledger.view")
        return services.balances(db.session, fund)
