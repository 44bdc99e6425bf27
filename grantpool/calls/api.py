from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint

from ..extensions import db
from ..platform.errors import NotFound
from ..platform.permissions import require
from ..platform.time import now_utc
from . import services
from .models import Call
from .schemas import CallDetailSchema, CallSchema

blp = Blueprint("calls_api", __name__, description="Calls for proposals (public)")


@blp.route("/calls")
class Calls(MethodView):
    @blp.response(200, CallSchema(many=True))
    def get(self) -> Any:
        """Open calls, then recently closed ones."""
        return services.public_calls(db.session, now_utc())


@blp.route("/calls/<int:call_id>")
class CallById(MethodView):
    @blp.response(200, CallDetailSchema)
    def get(self, call_id: int) -> Any:
        """One call with its questions: the form definition answers are checked against."""
        call = db.session.get(Call, call_id)
        if call is None:
            raise NotFound()
        require(current_user, "call.view", call)
        return call
