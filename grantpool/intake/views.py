"""The applicant's pages: open calls, registration, the form one section per page,
check your answers, confirmation, and my applications."""

from __future__ import annotations

import io
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import defer, joinedload, lazyload, load_only

from ..calls.models import Call
from ..calls.rules import (
    QuestionKind,
    accept_attribute,
    allowed_content_types,
    is_shown,
    sections,
    text_in,
)
from ..extensions import db
from ..organisations import services as organisation_services
from ..organisations.models import Organisation
from ..organisations.rules import area_name, country_choices
from ..platform import uploads
from ..platform.errors import NotFound, StorageUnavailable, ValidationFailed
from ..platform.permissions import require
from ..platform.storage import get_storage
from ..platform.time import now_utc
from ..platform.web import reads_only
from . import services
from .models import Application
from .rules import can_withdraw, state_label

bp = Blueprint("intake", __name__)


@bp.app_context_processor
def _file_helpers() -> dict[str, Any]:
    return {"file_accept": accept_attribute}


def _locale() -> str:
    return str(get_locale() or "en")


def _call(call_id: int) -> Call:
    call = db.session.get(Call, call_id)
    if call is None:
        raise NotFound()
    require(current_user, "call.view", call)
    return call


def _application(
    application_id: int, action: str = "application.view", options: tuple[Any, ...] = ()
) -> Application:
    application = db.session.get(Application, application_id, options=options)
    if application is None:
        raise NotFound()
    require(current_user, action, application)
    return application


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    return {"text_in": text_in, "state_label": state_label, "area_name": area_name}


# The application form -------------------------------------------------------------------


@bp.route("/calls/<int:call_id>/apply", methods=["GET", "POST"])
def apply(call_id: int) -> Any:
    call = _call(call_id)
    if not current_user.is_authenticated:
        return redirect(url_for("intake.register", next=request.path))
    organisations = organisation_services.member_organisations(db.session, current_user)
    if not organisations:
        return redirect(url_for("intake.register", next=request.path))
    if not call.is_accepting(now_utc()):
        return render_template("intake/call.html", call=call, accepting=False), 409
    chosen: Organisation | None = organisations[0] if len(organisations) == 1 else None
    if request.method == "POST" and request.form.get("organisation_id"):
        chosen = next(
            (o for o in organisations if str(o.id) == request.form.get("organisation_id")), None
        )
    if request.method == "GET" or chosen is None:
        # The short eligibility check comes first, in plain words.
        return render_template(
            "intake/start.html",
            call=call,
            organisations=organisations,
            chosen=chosen,
            reasons=_reasons(call, chosen) if chosen is not None else [],
        )
    require(current_user, "organisation.apply", chosen)
    try:
        application = services.start_application(
            db.session, current_user, call, chosen, language=_locale()
        )
    except ValidationFailed as failure:
        return render_template(
            "intake/start.html",
            call=call,
            organisations=organisations,
            chosen=chosen,
            reasons=failure.errors.get("", []),
        ), 422
    return redirect(url_for("intake.page", application_id=application.id, number=0))


def _reasons(call: Call, organisation: Organisation) -> list[str]:
    try:
        services.check_eligible(call, organisation)
    except ValidationFailed as failure:
        return failure.errors.get("", [])
    return []


def _pages(application: Application) -> list[list[dict[str, Any]]]:
    return sections(application.call.questions)


def _typed_from_request(
    page_questions: list[dict[str, Any]], application: Application
) -> tuple[dict[str, Any], dict[str, str]]:
    typed: dict[str, Any] = {}
    upload_errors: dict[str, str] = {}
    replaced: list[str] = []
    for question in page_questions:
        key = question["key"]
        kind = question["kind"]
        if kind == QuestionKind.MULTIPLE_CHOICE:
            typed[key] = request.form.getlist(key)
        elif kind == QuestionKind.LOCATION:
            typed[key] = {
                "country": request.form.get(f"{key}.country", ""),
                "area": request.form.get(f"{key}.area", ""),
            }
        elif kind == QuestionKind.FILE:
            upload = request.files.get(key)
            if upload is not None and upload.filename:
                try:
                    # The draft refers to the file from this request on: attached at once.
                    stored = uploads.store_upload(
                        db.session,
                        current_user,
                        upload.stream,
                        purpose=uploads.UploadPurpose.APPLICATION_ANSWER,
                        organisation_id=application.organisation_id,
                        max_bytes=question.get("max_bytes"),
                        allowed_types=allowed_content_types(question),
                        declared_size=upload.content_length or None,
                        attached=True,
                    )
                except StorageUnavailable as failure:
                    # Beside the field, the rest of the page saved; answered 503 (page()).
                    upload_errors[key] = str(failure.message)
                    g.storage_unavailable = True
                except ValidationFailed as failure:
                    upload_errors[key] = failure.errors.get("file", [str(failure.message)])[0]
                except uploads.UploadRateExceeded as refusal:
                    # Beside the field, so that what was typed on this page is kept.
                    upload_errors[key] = str(refusal.message)
                else:
                    typed[key] = {
                        "key": stored.key,
                        "size": stored.size,
                        "content_type": stored.content_type,
                        "name": upload.filename[:200],
                    }
                    earlier = (application.answers or {}).get(key)
                    if isinstance(earlier, dict) and earlier.get("key"):
                        replaced.append(str(earlier["key"]))
        else:
            typed[key] = request.form.get(key, "")
    # A replaced file is no longer referred to: purged once past retention.
    uploads.mark_detached(db.session, replaced)
    return typed, upload_errors


# A draft's page needs its call's form and bounds and the organisation's name: not the
# fund, nor the call's long texts (they load if ever touched).
# What a draft's page reads, and no more: every column loaded is built into a result
# column and an attribute on each request. Saving a page also needs the call's bounds.
_DRAFT_PAGE_LOADING = (
    joinedload(Application.call).options(
        lazyload(Call.fund),
        load_only(
            Call.title,
            Call.currency,
            Call.min_request_minor,
            Call.max_request_minor,
            Call.questions,
        ),
    ),
    joinedload(Application.organisation).load_only(Organisation.name),
    defer(Application.idempotency_key),
    defer(Application.request_fingerprint),
)


@bp.route("/applications/<int:application_id>/page/<int:number>", methods=["GET", "POST"])
@reads_only
@login_required
def page(application_id: int, number: int) -> Any:
    application = _application(application_id, "application.edit", _DRAFT_PAGE_LOADING)
    if application.state != "draft":
        return redirect(url_for("intake.show", application_id=application.id))
    pages = _pages(application)
    if not 0 <= number <= len(pages):
        raise NotFound()
    questions = pages[number - 1] if number else []
    errors: dict[str, str] = {}
    if request.method == "POST":
        if number == 0:
            typed = {services.REQUESTED_KEY: request.form.get(services.REQUESTED_KEY, "")}
            upload_errors: dict[str, str] = {}
        else:
            # Only the questions the applicant was shown; a follow-up revealed by an answer
            # on this page is asked next, not judged unseen.
            shown = [q for q in questions if is_shown(q, application.answers)]
            typed, upload_errors = _typed_from_request(shown, application)
        errors = services.save_draft(db.session, current_user, application, typed, locale=_locale())
        errors.update(upload_errors)
        if request.form.get("later"):
            flash(_("Your answers are saved. Come back at any time to finish."), "success")
            return redirect(url_for("intake.my_applications"))
        newly_shown = [
            q for q in questions if q["key"] not in typed and is_shown(q, application.answers)
        ]
        if not errors and newly_shown and number:
            # An answer on this page revealed a follow-up question here: ask it now.
            return redirect(url_for("intake.page", application_id=application.id, number=number))
        if not errors:
            following = _next_page(pages, number, application.answers)
            if following is None:
                return redirect(url_for("intake.check", application_id=application.id))
            return redirect(url_for("intake.page", application_id=application.id, number=following))
        # The draft is kept (commit), though the page is shown again with its messages.
    visible = [q for q in questions if is_shown(q, application.answers)]
    status = 200
    if g.get("storage_unavailable"):
        # The file store did not answer: "try again" (503), with every other answer on
        # this page saved and shown again.
        status, g.keep_changes = 503, True
    return (
        render_template(
            "intake/page.html",
            application=application,
            call=application.call,
            number=number,
            total=len(pages),
            questions=visible,
            answers=application.answers,
            errors=errors,
            requested_key=services.REQUESTED_KEY,
            countries=country_choices(),
            lang=application.language,
        ),
        status,
        ({"Retry-After": "30"} if status == 503 else {}),
    )


def _next_page(
    pages: list[list[dict[str, Any]]], number: int, answers: dict[str, Any]
) -> int | None:
    """The next page with at least one question to show, or None for the check page."""
    for following in range(number + 1, len(pages) + 1):
        if any(is_shown(q, answers) for q in pages[following - 1]):
            return following
    return None


@bp.route("/applications/<int:application_id>/check", methods=["GET", "POST"])
@login_required
def check(application_id: int) -> Any:
    application = _application(application_id, "application.edit")
    if application.state != "draft":
        return redirect(url_for("intake.show", application_id=application.id))
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            services.submit_draft(db.session, current_user, application, locale=_locale())
        except ValidationFailed as failure:
            errors = failure.errors
        else:
            return redirect(url_for("intake.show", application_id=application.id))
    pages = _pages(application)
    rows = [
        (number, q)
        for number, page_questions in enumerate(pages, start=1)
        for q in page_questions
        if is_shown(q, application.answers)
    ]
    return render_template(
        "intake/check.html",
        application=application,
        call=application.call,
        rows=rows,
        answers=application.answers,
        errors=errors,
        requested_key=services.REQUESTED_KEY,
        lang=application.language,
    ), (422 if errors else 200)


@bp.get("/applications/<int:application_id>")
@reads_only
@login_required
def show(application_id: int) -> Any:
    application = _application(application_id)
    return render_template(
        "intake/show.html",
        application=application,
        call=application.call,
        can_withdraw=can_withdraw(application.state)
        and current_user.belongs_to(application.organisation_id),
        lang=application.language,
    )


@bp.get("/applications/<int:application_id>/receipt.pdf")
@login_required
def receipt(application_id: int) -> Any:
    application = _application(application_id)
    if application.reference is None:
        raise NotFound()
    from .receipt import receipt_pdf

    response = make_response(receipt_pdf(application))
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="{application.reference}.pdf"'
    return response


@bp.post("/applications/<int:application_id>/withdraw")
@login_required
def withdraw(application_id: int) -> Any:
    application = _application(application_id, "application.edit")
    services.withdraw_application(db.session, current_user, application)
    flash(_("Your application has been withdrawn."), "success")
    return redirect(url_for("intake.my_applications"))


@bp.get("/my-applications")
@login_required
def my_applications() -> Any:
    return render_template(
        "intake/mine.html", applications=services.applications_of(db.session, current_user)
    )


# Spreadsheet intake (fund managers and field officers) -----------------------------------


def _managed_call(call_id: int) -> Call:
    call = db.session.get(Call, call_id)
    if call is None:
        raise NotFound()
    require(current_user, "call.manage", call)
    return call


@bp.get("/manage/calls/<int:call_id>/spreadsheet/template.csv")
@login_required
def spreadsheet_template(call_id: int) -> Any:
    from .spreadsheet import template_csv

    call = _managed_call(call_id)
    response = make_response(template_csv(call))
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="call-{call.id}.csv"'
    return response


@bp.get("/manage/calls/<int:call_id>/spreadsheet/template.xlsx")
@login_required
def spreadsheet_template_xlsx(call_id: int) -> Any:
    from .xlsx import XLSX_TYPE, template_xlsx

    call = _managed_call(call_id)
    response = make_response(template_xlsx(call))
    response.headers["Content-Type"] = XLSX_TYPE
    response.headers["Content-Disposition"] = f'attachment; filename="call-{call.id}.xlsx"'
    return response


UPLOAD_MAX_AGE = 24 * 60 * 60


def _upload_signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="grantpool.spreadsheet")


def _keep_upload(call: Call, data: bytes) -> str:
    """Store an uploaded spreadsheet while its importer decides about its duplicate rows;
    the signed token names it for this person and this call only."""
    from .spreadsheet import MAX_BYTES
    from .xlsx import XLSX_TYPE

    # Charged to no organisation; purged once past retention unless imported (and deleted)
    # or cancelled before.
    stored = uploads.store_upload(
        db.session,
        current_user,
        io.BytesIO(data),
        purpose=uploads.UploadPurpose.IMPORT_SHEET,
        organisation_id=None,
        max_bytes=MAX_BYTES,
        allowed_types=frozenset({"text/csv", XLSX_TYPE}),
    )
    return _upload_signer().dumps({"key": stored.key, "user": current_user.id, "call": call.id})


def _kept_upload(call: Call, token: str) -> tuple[str, bytes] | None:
    """The key and bytes of a file kept by _keep_upload; None when the token is not this
    person's for this call, is older than a day, or the file has gone (imported)."""
    from .spreadsheet import MAX_BYTES

    try:
        kept = _upload_signer().loads(token, max_age=UPLOAD_MAX_AGE)
    except (BadSignature, SignatureExpired):
        return None
    if (
        not isinstance(kept, dict)
        or kept.get("user") != current_user.id
        or (kept.get("call") != call.id)
    ):
        return None
    storage = get_storage()
    key = str(kept.get("key") or "")
    if not key or not storage.exists(key):
        return None
    stream = storage.open(key)
    try:
        return key, stream.read(MAX_BYTES + 1)
    finally:
        stream.close()


@bp.route("/manage/calls/<int:call_id>/spreadsheet", methods=["GET", "POST"])
@login_required
def spreadsheet(call_id: int) -> Any:
    from . import spreadsheet as sheet
    from . import xlsx

    call = _managed_call(call_id)
    if request.method == "GET":
        return render_template("intake/spreadsheet.html", call=call, problems=[], error=None)
    token = request.form.get("upload") or ""
    choice = request.form.get("duplicates") or sheet.OnDuplicates.ASK.value
    if token:
        # The answer to "some rows look like duplicates": the same file, kept meanwhile.
        kept = _kept_upload(call, token)
        if choice == "cancel":
            if kept is not None:
                uploads.discard(db.session, kept[0])
            flash(_("Nothing was imported."), "success")
            return redirect(url_for("intake.spreadsheet", call_id=call.id))
        if kept is None:
            return render_template(
                "intake/spreadsheet.html", call=call, problems=[],
                error=_("The uploaded file is no longer available. Upload it again."),
            ), 422  # fmt: skip
        kept_key, data = kept
    else:
        kept_key = None
        upload = request.files.get("file")
        data = upload.stream.read(sheet.MAX_BYTES + 1) if upload is not None else b""
    try:
        on_duplicates = sheet.OnDuplicates(choice)
    except ValueError:
        on_duplicates = sheet.OnDuplicates.ASK
    try:
        if xlsx.is_xlsx(data):
            rows = xlsx.read_xlsx(call, data, locale=_locale())
        else:
            rows = sheet.read_csv(call, data)
    except sheet.BadSpreadsheet as bad:
        return render_template(
            "intake/spreadsheet.html", call=call, problems=[], error=str(bad.message)
        ), 422
    result = sheet.import_rows(
        db.session, current_user, call, rows, locale=_locale(), on_duplicates=on_duplicates
    )
    if result and isinstance(result[0], sheet.CellError):
        return render_template(
            "intake/spreadsheet.html", call=call, problems=result, error=None, checked=len(rows)
        ), 422
    if result and isinstance(result[0], sheet.DuplicateRow):
        return render_template(
            "intake/spreadsheet.html", call=call, problems=[], error=None,
            duplicates=result, upload=token or _keep_upload(call, data), checked=len(rows),
        ), 409  # fmt: skip
    if kept_key is not None:
        # Imported: a second press of the same button finds nothing to import twice.
        uploads.discard(db.session, kept_key)
    left_out = len(rows) - len(result)
    if left_out:
        flash(
            _(
                "%(n)s applications were imported; %(left_out)s duplicate rows were left out.",
                n=len(result),
                left_out=left_out,
            ),
            "success",
        )
    else:
        flash(_("%(n)s applications were imported.", n=len(result)), "success")
    return redirect(url_for("intake.spreadsheet", call_id=call.id))


# Routes on the same blueprint, kept in their own modules.
from . import entry, public  # noqa: E402, F401
