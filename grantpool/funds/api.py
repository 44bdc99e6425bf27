from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint

from ..extensions import db
from ..platform.api import authenticated
from ..platform.errors import NotFound
from ..platform.permissions import require
from . import services
from .commands import DonorDetails, FundDetails
from .models import Donor, Fund
from .schemas import DonorSchema, FundSchema

blp = Blueprint("funds_api", __name__, description="Pooled funds and donors")


@blp.route("/funds")
class Funds(MethodView):
    decorators = [authenticated]

    @blp.response(200, FundSchema(many=True))
    def get(self) -> Any:
        """The funds you may see."""
        return services.visible_funds(db.session, current_user)

    @blp.arguments(FundSchema)
    @blp.response(201, FundSchema)
    def post(self, data: FundDetails) -> Any:
        """Create a fund (fund managers and admins)."""
        require(current_user, "fund.create")
        return services.create_fund(db.session, current_user, data)


@blp.route("/funds/<int:fund_id>")
class FundById(MethodView):
    decorators = [authenticated]

    @blp.response(200, FundSchema)
    def get(self, fund_id: int) -> Any:
        fund = db.session.get(Fund, fund_id)
        if fund is None:
            raise NotFound()
        require(current_user, "fund.view", fund)
        return fund


@blp.route("/donors")
class Donors(MethodView):
    decorators = [authenticated]

    @blp.response(200, DonorSchema(many=True))
    def get(self) -> Any:
        require(current_user, "donor.list")
        return services.list_donors(db.session, current_user)

    @blp.arguments(DonorSchema)
    @blp.response(201, DonorSchema)
    def post(self, data: DonorDetails) -> Any:
        require(current_user, "donor.create")
        return services.create_donor(db.session, current_user, data)


@blp.route("/donors/<int:donor_id>")
class DonorById(MethodView):
    decorators = [authenticated]

    @blp.response(200, DonorSchema)
    def get(self, donor_id: int) -> Any:
        donor = db.session.get(Donor, donor_id)
        if donor is None:
            raise NotFound()
        require(current_user, "donor.view", donor)
        return donor
