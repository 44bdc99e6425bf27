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
from .commands import OrganisationDetails
from .models import Organisation
from .schemas import OrganisationQuerySchema, OrganisationSchema

blp = Blueprint("organisations_api", __name__, description="Organisations")


@blp.route("/organisations")
class Organisations(MethodView):
    decorators = [authenticated]

    @blp.arguments(OrganisationQuerySchema, location="query")
    @blp.response(200, OrganisationSchema(many=True))
    def get(self, args: dict[str, Any]) -> Any:
        """Organisations (staff), filtered, in pages: pass the last id as `after`."""
        require(current_user, "organisation.list")
        return services.list_organisations(
            db.session,
            current_user,
            country=args["country"],
            org_type=args["org_type"],
            search=args["q"],
            after_id=args["after"],
            limit=args["limit"],
        )

    @blp.arguments(OrganisationSchema)
    @blp.response(201, OrganisationSchema)
    def post(self, data: OrganisationDetails) -> Any:
        require(current_user, "organisation.create")
        return services.create_organisation(db.session, current_user, data)


@blp.route("/organisations/<int:organisation_id>")
class OrganisationById(MethodView):
    decorators = [authenticated]

    @blp.response(200, OrganisationSchema)
    def get(self, organisation_id: int) -> Any:
        organisation = db.session.get(Organisation, organisation_id)
        if organisation is None:
            raise NotFound()
        require(current_user, "organisation.view", organisation)
        return organisation
