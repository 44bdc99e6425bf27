from __future__ import annotations

from typing import Any

from flask import current_app, request
from flask.views import MethodView
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select, true

from ..calls.models import Call
from ..calls.rules import Channel, QuestionKind, allowed_content_types
from ..extensions import db
from ..organisations.models import Organisation
from ..platform import uploads
from ..platform.api import authenticated
from ..platform.errors import NotFound, ValidationFailed
from ..platform.money import Money
from ..platform.permissions import require
from . import services
from .schemas import ApplicationInSchema, ApplicationSchema, UploadSchema

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
        # The call and the organisation in one round trip; either missing is a 404.
        found = db.session.execute(
            select(Call, Organisation)
            .join_from(Call, Organisation, true())
            .where(Call.id == call_id, Organisation.id == data["organisation_id"])
        ).first()
        if found is None:
            raise NotFound()
        call, organisation = found
        require(current_user, "call.view", call)
        require(current_user, "organisation.apply", organisation)
        answers = _attach_uploads(call, organisation, dict(data["answers"]))
        return services.submit_application(
            db.session,
            current_user,
            call,
            organisation,
            answers,
            Money(data["requested_minor"], data["currency"].upper()),
            Channel.API.value,
            data["language"],
            idempotency_key=(request.headers.get("Idempotency-Key") or "").strip()[:100] or None,
        )


UPLOAD_MAX_AGE = 24 * 60 * 60


def _upload_signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="grantpool.upload")


@blp.route("/uploads")
class Uploads(MethodView):
    decorators = [authenticated]

    @blp.response(201, UploadSchema)
    @blp.doc(
        requestBody={
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "organisation": {"type": "integer"},
                        },
                        "required": ["file"],
                    }
                }
            }
        }
    )
    def post(self) -> Any:
        """Upload a file first (multipart, field `file`); then answer a file question with
        `{"upload": "<the returned upload>"}` within 24 hours. The type is judged by the
        content, not the name; the question's own kinds and size limit apply on submit.

        The file counts towards an organisation's storage quota and hourly upload limit:
        the one named by the optional field `organisation` (its id), which you must act
        for, or else the only organisation you act for. Over the hourly limit the answer is
        429 with Retry-After."""
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise ValidationFailed.single(
                "file", _("Send the file in a multipart field named file.")
            )
        organisation_id = _charged_organisation(request.form.get("organisation"))
        stored = uploads.store_upload(
            db.session,
            current_user,
            upload.stream,
            purpose=uploads.UploadPurpose.APPLICATION_ANSWER,
            organisation_id=organisation_id,
            declared_size=upload.content_length or None,
        )
        token = _upload_signer().dumps(
            {
                "key": stored.key,
                "size": stored.size,
                "content_type": stored.content_type,
                "name": upload.filename[:200],
                "user": current_user.id,
                "organisation": organisation_id,
            }
        )
        return {"upload": token, "size": stored.size, "content_type": stored.content_type}


def _charged_organisation(chosen: str | None) -> int:
    """The organisation an API upload is for: the one named, which the uploader must act
    for, or the uploader's only one."""
    mine = current_user.organisation_ids()
    chosen = (chosen or "").strip()
    if chosen:
        if not (chosen.isascii() and chosen.isdigit()) or int(chosen) not in mine:
            raise ValidationFailed.single(
                "organisation", _("Choose one of the organisations you act for.")
            )
        return int(chosen)
    if len(mine) == 1:
        return next(iter(mine))
    if not mine:
        raise ValidationFailed.single(
            "organisation", _("Only people who act for an organisation can upload files.")
        )
    raise ValidationFailed.single(
        "organisation",
        _(
            "You act for several organisations: say which one the file is for by sending "
            "its id in the field organisation."
        ),
    )


def _attach_uploads(
    call: Call, organisation: Organisation, answers: dict[str, Any]
) -> dict[str, Any]:
    """Turn `{"upload": token}` answers into stored-file answers, checking that the upload
    is this user's, for this organisation, recent, and of a kind and size the question
    accepts; the files are then marked attached (rolled back with a refused submission)."""
    errors: dict[str, list[str]] = {}
    attached: list[str] = []
    for question in call.questions:
        key = question["key"]
        if question["kind"] != QuestionKind.FILE or key not in answers:
            continue
        value = answers[key]
        token = value.get("upload") if isinstance(value, dict) else None
        if not isinstance(token, str):
            errors[key] = [_('Answer a file question with {"upload": …} from /api/v1/uploads.')]
            continue
        try:
            stored = _upload_signer().loads(token, max_age=UPLOAD_MAX_AGE)
        except SignatureExpired:
            errors[key] = [_("This upload is too old; upload the file again.")]
            continue
        except BadSignature:
            errors[key] = [_("This upload is not known.")]
            continue
        if stored.get("user") != current_user.id:
            errors[key] = [_("This upload is not known.")]
        elif stored.get("organisation", organisation.id) != organisation.id:
            errors[key] = [
                _("This file was uploaded for another organisation. Upload it again for this one.")
            ]
        elif stored["content_type"] not in allowed_content_types(question):
            errors[key] = [_("This kind of file is not accepted here. Check the allowed types.")]
        elif question.get("max_bytes") and stored["size"] > int(question["max_bytes"]):
            errors[key] = [_("The file is too large for this question.")]
        else:
            answers[key] = {k: stored[k] for k in ("key", "size", "content_type", "name")}
            attached.append(stored["key"])
    if errors:
        raise ValidationFailed(errors)
    uploads.mark_attached(db.session, attached)
    return answers


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
