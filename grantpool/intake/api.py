from __future__ import annotations

from typing import Any

from flask import request
from flask.views import MethodView
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint

from ..calls.models import Call
from ..calls.rules import Channel, QuestionKind
from ..extensions import db
from ..organisations.models import Organisation
from ..platform.api import authenticated
from ..platform.errors import NotFound, ValidationFailed
from ..platform.money import Money
from ..platform.permissions import require
from . import services
from .schemas import ApplicationInSchema, ApplicationSchema

blp = Blueprint("intake_api", __name__, description="Applications")


@blp.route("/calls/<int:call_id>/applications")
class CallApplications(MethodView):
    decorators = [authenticated]

    @blp.arguments(ApplicationInSchema)
    @blp.response(201, ApplicationSchema)
    def post(self, data: dict[str, Any], call_id: int) -> Any:
        """Submit an application for one of your organisations (answers keyed by question).

        Send an `Idempotency-Key` header to make a retry safe: the same key returns the
        application the first request created."""
        call = db.session.get(Call, call_id)
        if call is None:
            raise NotFound()
        require(current_user, "call.view", call)
        organisation = db.session.get(Organisation, data["organisation_id"])
        if organisation is None:
            raise NotFound()
        require(current_user, "organisation.apply", organisation)
        file_keys = {q["key"] for q in call.questions if q["kind"] == QuestionKind.FILE}
        if file_keys & set(data["answers"]):
            # A file answer names a stored object; only our own upload paths may create one.
            raise ValidationFailed(
                {k: [_("Send files through the web form for now.")] for k in file_keys}
            )
        return services.submit_application(
            db.session,
            current_user,
            call,
            organisation,
            data["answers"],
            Money(data["requested_minor"], data["currency"].upper()),
            Channel.API.value,
            data["language"],
            idempotency_key=(request.headers.get("Idempotency-Key") or "").strip()[:100] or None,
        )


@blp.route("/applications/<reference>")
class ApplicationByReference(MethodView):
    decorators = [authenticated]

    @blp.response(200, ApplicationSchema)
    def get(self, reference: str) -> Any:
        application = services.by_reference(db.session, reference)
        if application is None:
            raise NotFound()
        require(current_user, "application.view", application)
        return application
