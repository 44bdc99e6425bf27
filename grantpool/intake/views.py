"""The applicant's pages: open calls, registration, the form one section per page,
check your answers, confirmation, and my applications."""

from __future__ import annotations

import io
from functools import partial
from typing import Any

from babel.lists import format_list
from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf.csrf import CSRFError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import defer, joinedload, lazyload, load_only

from ..accounts import services as accounts
from ..accounts.models import User
from ..calls.models import Call
from ..calls.rules import (
    QuestionKind,
    accept_attribute,
    allowed_content_types,
    is_shown,
    sections,
    text_in,
)
from ..extensions import csrf, db, login_manager
from ..organisations.models import Organisation
from ..organisations.rules import area_name, country_choices, country_of_area
from ..platform import uploads
from ..platform.errors import NotFound, StorageUnavailable, ValidationFailed
from ..platform.forms import answers_failure
from ..platform.i18n import LANGUAGE_NAMES, offered_languages, remember_locale
from ..platform.money import Money, format_money
from ..platform.oversized import read_form_without_files
from ..platform.permissions import can, require
from ..platform.storage import get_storage
from ..platform.time import now_utc
from ..platform.web import body_too_large, handles_own_form_failures, reads_only
from . import services
from .models import Application
from .rules import can_withdraw, state_label

bp = Blueprint("intake", __name__)


@bp.app_context_processor
def _file_helpers() -> dict[str, Any]:
    return {
        "file_accept": accept_attribute,
        "file_limits": file_limits,
        "file_size": file_size,
        "budget_rows": budget_rows,
    }


def file_size(size: Any) -> str:
    """A file's size in the reader's words: 840 KB, 2.4 MB."""
    from babel.numbers import format_decimal

    number = int(size or 0)
    if number >= 1024 * 1024:
        return _("%(n)s MB", n=format_decimal(round(number / (1024 * 1024), 1), locale=_locale()))
    return _("%(n)s KB", n=format_decimal(max(1, round(number / 1024)), locale=_locale()))


def file_limits(question: dict[str, Any]) -> str:
    """What a file question takes, said before anything is chosen."""
    names = {
        "document": _("documents (PDF, Word, OpenDocument, spreadsheet or text)"),
        "photo": _("photos (JPEG, PNG, WebP or GIF)"),
        "audio": _("voice recordings"),
    }
    kinds = [str(names[k]) for k in (question.get("file_kinds") or names) if k in names]
    largest = min(
        int(question.get("max_bytes") or current_app.config["UPLOAD_MAX_BYTES"]),
        int(current_app.config["UPLOAD_MAX_BYTES"]),
    )
    return _(
        "One file: %(kinds)s, up to %(size)s.",
        kinds=format_list(kinds, style="or", locale=_locale()),
        size=file_size(largest),
    )


def budget_rows(value: Any, currency: str) -> list[dict[str, str]]:
    """A budget answer as rows of item and amount, whether typed on a draft, kept from an
    older draft as "item | amount" lines, or checked on submission (minor units)."""
    if isinstance(value, str):
        rows = []
        for text_row in value.splitlines():
            line, _sep, amount = text_row.rpartition("|")
            if text_row.strip():
                rows.append({"line": (line or text_row).strip(), "amount": amount.strip()})
        return rows
    if not isinstance(value, list):
        return []
    rows = []
    for row in value:
        if not isinstance(row, dict):
            continue
        if isinstance(row.get("amount_minor"), int):
            amount = format_money(Money(row["amount_minor"], currency), _locale())
        else:
            amount = str(row.get("amount") or "")
        rows.append({"line": str(row.get("line") or ""), "amount": amount})
    return rows


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
    organisations = accounts.member_organisations(db.session, current_user)
    if not organisations:
        return redirect(url_for("intake.register", next=request.path))
    if not call.is_accepting(now_utc()):
        return render_template("intake/call.html", call=call, accepting=False), 409
    chosen: Organisation | None = organisations[0] if len(organisations) == 1 else None
    if request.method == "POST" and request.form.get("organisation_id"):
        chosen = next(
            (o for o in organisations if str(o.id) == request.form.get("organisation_id")), None
        )
    drafts = services.drafts_of(db.session, call, organisations)
    if chosen is not None and chosen.id in drafts:
        # "Start" on a call the organisation has begun: its draft, where it was left.
        return redirect(url_for("intake.resume", application_id=drafts[chosen.id].id))
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
    refused = partial(
        render_template,
        "intake/start.html",
        call=call,
        organisations=organisations,
        chosen=chosen,
    )
    with answers_failure(lambda failure: (refused(reasons=failure.errors.get("", [])), 422)):
        application = services.start_application(
            db.session, current_user, call, chosen, language=_locale()
        )
    return redirect(url_for("intake.resume", application_id=application.id))


def _reasons(call: Call, organisation: Organisation) -> list[str]:
    try:
        services.check_eligible(call, organisation)
    except ValidationFailed as failure:
        return failure.errors.get("", [])
    return []


def _pages(application: Application) -> list[list[dict[str, Any]]]:
    return sections(application.call.questions)


def _budget_rows_from_request(key: str) -> list[dict[str, str]]:
    """The rows of a budget question as posted (item and amount fields side by side),
    without the rows left empty."""
    lines = request.form.getlist(f"{key}.line")
    amounts = request.form.getlist(f"{key}.amount")
    rows = []
    for n in range(max(len(lines), len(amounts))):
        line = (lines[n] if n < len(lines) else "").strip()
        amount = (amounts[n] if n < len(amounts) else "").strip()
        if line or amount:
            rows.append({"line": line[:500], "amount": amount[:40]})
    return rows


def _typed_text(page_questions: list[dict[str, Any]]) -> dict[str, Any]:
    """What was typed on a page, files aside."""
    typed: dict[str, Any] = {}
    for question in page_questions:
        key = question["key"]
        kind = question["kind"]
        if kind == QuestionKind.MULTIPLE_CHOICE:
            typed[key] = request.form.getlist(key)
        elif kind == QuestionKind.LOCATION:
            country = request.form.get(f"{key}.country", "")
            area = request.form.get(f"{key}.area", "")
            if not country and request.form.get(f"{key}.areas_for") == "*":
                country = country_of_area(area)  # chosen from a list grouped by country
            typed[key] = {"country": country, "area": area}
        elif kind == QuestionKind.BUDGET_TABLE:
            typed[key] = _budget_rows_from_request(key)
        elif kind != QuestionKind.FILE:
            typed[key] = request.form.get(key, "")
    return typed


def _file_answer(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) and value.get("key") else None


def _store_answer_file(
    question: dict[str, Any],
    upload: Any,
    owner: User,
    application: Application,
    attached: bool = False,
) -> dict[str, Any]:
    """Store the file sent for a file question, within its limits; the answer that
    refers to it (key, size, type and the name it was sent with)."""
    stored = uploads.store_upload(
        db.session,
        owner,
        upload.stream,
        purpose=uploads.UploadPurpose.APPLICATION_ANSWER,
        organisation_id=application.organisation_id,
        max_bytes=question.get("max_bytes"),
        allowed_types=allowed_content_types(question),
        declared_size=upload.content_length or None,
        attached=attached,
    )
    return {
        "key": stored.key,
        "size": stored.size,
        "content_type": stored.content_type,
        "name": upload.filename[:200],
    }


def _typed_from_request(
    page_questions: list[dict[str, Any]],
    application: Application,
    stashed: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """What was typed and sent on a page, files stored. `stashed` is what the same
    person sent on this page when their session had gone: a file sent then counts as
    sent now, unless another is chosen or it is removed."""
    typed = _typed_text(page_questions)
    upload_errors: dict[str, str] = {}
    replaced: list[str] = []
    attached: list[str] = []
    removing = request.form.get("remove_file")
    for question in page_questions:
        key = question["key"]
        if question["kind"] != QuestionKind.FILE:
            continue
        kept = _file_answer((application.answers or {}).get(key))
        # A file kept on the draft answers the question until it is replaced or removed.
        typed[key] = kept
        upload = request.files.get(key)
        sent_before = _file_answer((stashed or {}).get(key))
        if removing == key:
            typed[key] = None
            replaced.extend(str(f["key"]) for f in (kept, sent_before) if f is not None)
            continue
        if upload is None or not upload.filename:
            if sent_before is not None and sent_before != kept:
                typed[key] = sent_before
                attached.append(str(sent_before["key"]))
                if kept is not None:
                    replaced.append(str(kept["key"]))
            continue
        if sent_before is not None:
            replaced.append(str(sent_before["key"]))
        try:
            # The draft refers to the file from this request on: attached at once.
            answer = _store_answer_file(question, upload, current_user, application, True)
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
            typed[key] = answer
            if kept is not None:
                replaced.append(str(kept["key"]))
    # A replaced or removed file is no longer referred to: purged once past retention.
    uploads.mark_attached(db.session, attached)
    uploads.mark_detached(db.session, replaced)
    return typed, upload_errors


def _files_sent_without_a_session(
    page_questions: list[dict[str, Any]], owner: User, application: Application
) -> dict[str, dict[str, Any]]:
    """The files of a page posted after its session had gone, stored for its person but
    not attached: the page's next save attaches them (else they are purged once past
    retention). A file that cannot be stored is left out; the page asks for it again."""
    sent: dict[str, dict[str, Any]] = {}
    for question in page_questions:
        upload = request.files.get(question["key"])
        if question["kind"] != QuestionKind.FILE or upload is None or not upload.filename:
            continue
        try:
            sent[question["key"]] = _store_answer_file(question, upload, owner, application)
        except (StorageUnavailable, ValidationFailed, uploads.UploadRateExceeded):
            continue
    return sent


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
            Call.eligibility,
        ),
    ),
    joinedload(Application.organisation).load_only(Organisation.name),
    defer(Application.idempotency_key),
    defer(Application.request_fingerprint),
)

# A page left open on a phone for days can still be sent: its token says whose it was.
FORM_TOKEN_MAX_AGE = 14 * 24 * 60 * 60


def _page_signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="grantpool.draft-page")


def _form_token(application: Application) -> str:
    return _page_signer().dumps({"user": current_user.id, "application": application.id})


def _form_token_owner(application_id: int) -> int | None:
    """The person a draft's page was served to, from the signed token in the posted form."""
    try:
        data = _page_signer().loads(
            request.form.get("form_token") or "", max_age=FORM_TOKEN_MAX_AGE
        )
    except (BadSignature, SignatureExpired):
        return None
    if not isinstance(data, dict) or data.get("application") != application_id:
        return None
    user = data.get("user")
    return user if isinstance(user, int) else None


def _posted_version() -> int | None:
    text = request.form.get("version") or ""
    return int(text) if text.isdigit() and len(text) < 10 else None


def _session_is_good() -> bool:
    """Signed in, with a form token of this session: else the post is kept, not saved."""
    if not current_user.is_authenticated:
        return False
    try:
        csrf.protect()
    except CSRFError:
        return False
    return True


def _keep_for_later(application_id: int, number: int) -> Any:
    """A page posted after its session had gone, or with a stale form token: what was
    typed is kept for the person the page was served to, and shown again once they have
    signed in (or at once, when they still are)."""
    owner_id = _form_token_owner(application_id)
    if owner_id is None or (current_user.is_authenticated and current_user.id != owner_id):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        raise CSRFError()
    owner = db.session.get(User, owner_id)
    application = db.session.get(Application, application_id, options=_DRAFT_PAGE_LOADING)
    if owner is None or application is None or not can(owner, "application.edit", application):
        raise NotFound()
    if application.state != "draft":
        return redirect(url_for("intake.show", application_id=application.id))
    pages = _pages(application)
    if not 0 <= number <= len(pages):
        raise NotFound()
    if number == 0:
        typed: dict[str, Any] = {
            services.REQUESTED_KEY: request.form.get(services.REQUESTED_KEY, "")
        }
    else:
        shown = [q for q in pages[number - 1] if is_shown(q, application.answers)]
        typed = _typed_text(shown)
        typed.update(_files_sent_without_a_session(shown, owner, application))
    services.stash_page(
        db.session, owner.id, application, number, {"typed": typed, "version": _posted_version()}
    )
    back = url_for("intake.page", application_id=application.id, number=number)
    if current_user.is_authenticated:
        flash(_("What you typed is kept. Check it, then save this page."), "success")
        return redirect(back)
    flash(
        _("You were signed out, so nothing was saved yet. Sign in again: what you typed is kept."),
        "warning",
    )
    return redirect(url_for(login_manager.login_view or "accounts.login", next=back))


def _first_to_answer(application: Application) -> int | None:
    """The first page with a question still to answer (0 is the amount); None when every
    shown question has been answered (the check page comes next)."""
    answers = application.answers or {}
    if not str(answers.get(services.REQUESTED_KEY) or "").strip():
        return 0
    for number, page_questions in enumerate(_pages(application), start=1):
        for q in page_questions:
            if not is_shown(q, answers):
                continue
            value = answers.get(q["key"])
            if q["key"] not in answers or (q.get("required") and value in (None, "", [], {})):
                return number
    return None


@bp.route("/applications/<int:application_id>/page/<int:number>", methods=["GET", "POST"])
@reads_only
@handles_own_form_failures
def page(application_id: int, number: int) -> Any:
    too_large = request.method == "POST" and body_too_large()
    # A file too large for the body: the page's text is read all the same and saved, and
    # each file field that carried a file says it was too large.
    dropped_files = read_form_without_files() if too_large else None
    if dropped_files is not None:
        too_large = False
    if request.method == "POST" and not too_large and not _session_is_good():
        return _keep_for_later(application_id, number)
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    application = _application(application_id, "application.edit", _DRAFT_PAGE_LOADING)
    if application.state != "draft":
        return redirect(url_for("intake.show", application_id=application.id))
    pages = _pages(application)
    if not 0 <= number <= len(pages):
        raise NotFound()
    questions = pages[number - 1] if number else []
    errors: dict[str, str] = {}
    values: dict[str, Any] = dict(application.answers or {})
    version = application.version
    conflict: dict[str, Any] = {}
    extra_rows: dict[str, int] = {}
    restored = False
    status = 200
    if too_large:
        # Nothing of the body was read: the page as saved, and what went wrong.
        largest = file_size(current_app.config["MAX_CONTENT_LENGTH"])
        first_file = next(iter(_file_keys(questions)), services.REQUESTED_KEY)
        errors[first_file] = _(
            "What you sent is larger than %(size)s in all, so nothing on this page was "
            "saved. Choose a smaller file (a photo can be sent at a lower resolution).",
            size=largest,
        )
        status = 413
    elif request.method == "POST":
        if number == 0:
            typed: dict[str, Any] = {
                services.REQUESTED_KEY: request.form.get(services.REQUESTED_KEY, "")
            }
            upload_errors: dict[str, str] = {}
            shown: list[dict[str, Any]] = []
        else:
            # Only the questions the applicant was shown; a follow-up revealed by an answer
            # on this page is asked next, not judged unseen.
            shown = [q for q in questions if is_shown(q, application.answers)]
            stashed = services.stashed_page(
                db.session, current_user, application, number, now_utc()
            )
            sent_before = stashed.get("typed") if isinstance(stashed, dict) else None
            typed, upload_errors = _typed_from_request(
                shown, application, sent_before if isinstance(sent_before, dict) else None
            )
            for key in sorted(set(_file_keys(shown)) & (dropped_files or set())):
                upload_errors[key] = _(
                    "This file made what you sent larger than %(size)s, so it was not "
                    "received. Your other answers on this page are saved. Choose a smaller "
                    "file (a photo can be sent at a lower resolution).",
                    size=file_size(current_app.config["MAX_CONTENT_LENGTH"]),
                )
                status = 413
            for key in typed:
                if request.form.get(f"keep.{key}") == "saved":
                    # After a conflict, the person chose what the other tab saved.
                    typed[key] = values.get(key)
        seen = set(typed)
        try:
            errors = services.save_draft(
                db.session,
                current_user,
                application,
                typed,
                locale=_locale(),
                version=_posted_version(),
            )
        except services.DraftConflict as clash:
            # Saved meanwhile from another tab or phone: both texts shown, the choice theirs.
            # A file sent now is kept all the same: files are replaced, not merged.
            conflict, version, status = clash.saved, clash.version, 409
            files = {k: typed[k] for k in _file_keys(shown) if k not in clash.saved}
            if files:
                services.save_draft(db.session, current_user, application, files, locale=_locale())
                version = application.version
            values.update(typed)
        else:
            services.forget_stash(db.session, current_user, application, number)
            errors.update(upload_errors)
            values = dict(application.answers or {})
            version = application.version
            staying = request.form.get("add_row") or request.form.get("remove_file")
            switch = request.form.get("switch_language") or ""
            if switch == "header":  # the header's list of languages, and its button
                switch = request.form.get("header_locale") or ""
            if switch in offered_languages():
                # Another language, with what was typed on this page saved first.
                session["locale"] = switch
                accounts.set_locale(db.session, current_user, switch)
                back = url_for("intake.page", application_id=application.id, number=number)
                return remember_locale(redirect(back), switch)
            if request.form.get("later"):
                flash(_("Your answers are saved. Come back at any time to finish."), "success")
                return redirect(url_for("intake.my_applications"))
            if staying:
                # Another budget row, or a file removed: the same page again, nothing judged.
                add_row = request.form.get("add_row") or ""
                if add_row:
                    extra_rows[add_row] = min(_posted_int("rows_extra") + 1, 50)
                errors = upload_errors
            else:
                newly_shown = [q for q in questions if q["key"] not in seen and is_shown(q, values)]
                if not errors and (newly_shown or _areas_to_offer(shown, typed)) and number:
                    # An answer on this page revealed a follow-up question here: ask it now.
                    return redirect(
                        url_for("intake.page", application_id=application.id, number=number)
                    )
                if not errors:
                    following = _next_page(pages, number, values)
                    if following is None:
                        return redirect(url_for("intake.check", application_id=application.id))
                    return redirect(
                        url_for("intake.page", application_id=application.id, number=following)
                    )
        # The draft is kept (commit), though the page is shown again with its messages.
        g.keep_changes = True
    else:
        stash = services.stashed_page(db.session, current_user, application, number, now_utc())
        if isinstance(stash, dict) and isinstance(stash.get("typed"), dict):
            # Typed before the session had gone: back in the fields, to be saved.
            values.update(stash["typed"])
            if isinstance(stash.get("version"), int):
                version = stash["version"]
            restored = True
    visible = [q for q in questions if is_shown(q, values)]
    g.language_form = "draft-form"  # the header's language buttons save what was typed
    if g.get("storage_unavailable"):
        # The file store did not answer: "try again" (503), with every other answer on
        # this page saved and shown again.
        status = 503
    return (
        render_template(
            "intake/page.html",
            application=application,
            call=application.call,
            number=number,
            total=len(pages),
            questions=visible,
            answers=values,
            errors=errors,
            conflict=conflict,
            restored=restored,
            version=version,
            form_token=_form_token(application),
            other_languages=[
                (code, LANGUAGE_NAMES.get(code, code))
                for code in offered_languages()
                if code != _locale()
            ],
            extra_rows=extra_rows,
            requested_key=services.REQUESTED_KEY,
            countries=country_choices(
                only=(application.call.eligibility or {}).get("countries") or None
            ),
            lang=application.language,
        ),
        status,
        ({"Retry-After": "30"} if status == 503 else {}),
    )


def _call_countries(call: Call) -> list[str] | None:
    """The countries a call is limited to, if any: the location lists offer those."""
    return list((call.eligibility or {}).get("countries") or []) or None


def _areas_to_offer(page_questions: list[dict[str, Any]], typed: dict[str, Any]) -> bool:
    """A country was chosen without JavaScript and its areas were not on the page yet:
    the page comes back with them, once (the area stays optional)."""
    for q in page_questions:
        if q["kind"] != QuestionKind.LOCATION:
            continue
        value = typed.get(q["key"]) or {}
        country = str(value.get("country") or "").upper()
        offered = request.form.get(f"{q['key']}.areas_for") or ""
        if country and not value.get("area") and offered.upper() not in (country, "*"):
            return True
    return False


def _file_keys(page_questions: list[dict[str, Any]]) -> list[str]:
    return [q["key"] for q in page_questions if q["kind"] == QuestionKind.FILE]


def _posted_int(name: str) -> int:
    text = request.form.get(name) or ""
    return int(text) if text.isdigit() and len(text) < 4 else 0


def _next_page(
    pages: list[list[dict[str, Any]]], number: int, answers: dict[str, Any]
) -> int | None:
    """The next page with at least one question to show, or None for the check page."""
    for following in range(number + 1, len(pages) + 1):
        if any(is_shown(q, answers) for q in pages[following - 1]):
            return following
    return None


@bp.get("/applications/<int:application_id>/continue")
@reads_only
@login_required
def resume(application_id: int) -> Any:
    """ "Continue your application": the first section still to answer."""
    application = _application(application_id, "application.edit", _DRAFT_PAGE_LOADING)
    if application.state != "draft":
        return redirect(url_for("intake.show", application_id=application.id))
    number = _first_to_answer(application)
    if number is None:
        return redirect(url_for("intake.check", application_id=application.id))
    return redirect(url_for("intake.page", application_id=application.id, number=number))


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
        can_undo_withdrawal=services.can_undo_withdrawal(application, now_utc())
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


@bp.route("/applications/<int:application_id>/withdraw", methods=["GET", "POST"])
@login_required
def withdraw(application_id: int) -> Any:
    """Withdrawing asks first, on its own page, and says what it means."""
    application = _application(application_id, "application.edit")
    if not can_withdraw(application.state):
        return redirect(url_for("intake.show", application_id=application.id))
    if request.method == "GET":
        return render_template(
            "intake/withdraw.html",
            application=application,
            call=application.call,
            lang=application.language,
        )
    services.withdraw_application(db.session, current_user, application)
    flash(_("Your application has been withdrawn."), "success")
    return redirect(url_for("intake.show", application_id=application.id))


@bp.post("/applications/<int:application_id>/undo-withdrawal")
@login_required
def undo_withdrawal(application_id: int) -> Any:
    application = _application(application_id, "application.edit")
    services.undo_withdrawal(db.session, current_user, application)
    flash(_("Your application is back: it is no longer withdrawn."), "success")
    return redirect(url_for("intake.show", application_id=application.id))


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
    # With a byte order mark, spreadsheet programs open it as UTF-8 (accents, Arabic);
    # reading a file back accepts it with or without.
    response = make_response("\ufeff" + template_csv(call))
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
