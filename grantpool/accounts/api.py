from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint

from ..platform.api import authenticated
from .schemas import MeSchema

blp = Blueprint("accounts_api", __name__, description="The signed-in user")


@blp.route("/me")
class Me(MethodView):
    decorators = [authenticated]

    @blp.response(200, MeSchema)
    def get(self) -> Any:
        """Who the token or session belongs to, with roles and organisations."""
        return current_user._get_current_object()
