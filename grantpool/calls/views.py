"""Fund managers' pages for calls: create, edit, questions, open, close, archive."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..extensions import db
from ..funds.models import Fund
from ..platform.errors import NotFound, ValidationFailed
from ..platform.forms import answers_failure, flashes_refusal
from ..platform.permissions import can, load
from . import services
from .commands import QuestionSpec, read_questions
from .forms import CHANNEL_LABELS, KIND_LABELS, call_form, question_form
from .models import Call
from .rules import language_name, text_and_lang, text_in

bp = Blueprint("calls", __name__, url_prefix="/manage")


def _may_create_calls(fund: Fund) -> None:
    # A fund's calls are managed by its managers; to anyone else the page does not exist
    # (the call rules are about calls, so `require` cannot fall back to one of them).
    if not can(current_user, "call.create", fund):
        raise NotFound()


@bp.get("/funds/<int:fund_id>/calls")
@login_required
def list_calls(fund_id: int) -> Any:
    fund = db.session.get(Fund, fund_id)
    if fund is None:
        raise NotFound()
    _may_create_calls(fund)
    return render_template(
        "calls/list.html", fund=fund, calls=services.calls_of_fund(db.session, fund)
    )


@bp.route("/funds/<int:fund_id>/calls/new", methods=["GET", "POST"])
@login_required
def create_call(fund_id: int) -> Any:
    fund = db.session.get(Fund, fund_id)
    if fund is None:
        raise NotFound()
    _may_create_calls(fund)
    form = call_form()
    if request.method == "POST":
        with form.shows_failures("calls/form.html", fund=fund, call=None):
            call = services.create_call(db.session, current_user, fund, form.command(fund))
        flash(_("The call has been created. Now add its questions."), "success")
        return redirect(url_for("calls.show", call_id=call.id))
    form.currency.data = fund.base_currency
    form.channels.data = ["web"]
    return render_template("calls/form.html", form=form, fund=fund, call=None)


@bp.get("/calls/<int:call_id>")
@login_required
def show(call_id: int) -> Any:
    call = load(Call, call_id, "call.manage")
    return render_template(
        "calls/show.html",
        call=call,
        kind_labels=KIND_LABELS,
        channel_labels=CHANNEL_LABELS,
        text_in=text_in,
        text_and_lang=text_and_lang,
        language_name=language_name,
        has_applications=services.has_applications(db.session, call),
    )


@bp.route("/calls/<int:call_id>/edit", methods=["GET", "POST"])
@login_required
def edit(call_id: int) -> Any:
    call = load(Call, call_id, "call.manage")
    form = call_form(call)
    if request.method == "POST":
        with form.shows_failures("calls/form.html", fund=call.fund, call=call):
            services.update_call(db.session, current_user, call, form.command(call.fund))
        flash(_("Your changes have been saved."), "success")
        return redirect(url_for("calls.show", call_id=call.id))
    return render_template("calls/form.html", form=form, fund=call.fund, call=call)


def _save_questions(call: Call, questions: list[QuestionSpec]) -> None:
    services.set_questions(db.session, current_user, call, questions)


def _question_page(form: Any, call: Call, key: str | None) -> Callable[[ValidationFailed], Any]:
    """The question builder shown again, the messages beside the fields they are about."""

    def page(failure: ValidationFailed) -> Any:
        form.add_errors(_strip_positions(failure))
        return render_template("calls/question.html", form=form, call=call, key=key), 422

    return page


@bp.route("/calls/<int:call_id>/questions/new", methods=["GET", "POST"])
@login_required
def add_question(call_id: int) -> Any:
    call = load(Call, call_id, "call.manage")
    form = question_form(call.languages, call.questions)
    if request.method == "POST":
        with answers_failure(_question_page(form, call, None)):
            _save_questions(call, [*read_questions(call.questions), form.command()])
        flash(_("The question has been added."), "success")
        return redirect(url_for("calls.show", call_id=call.id) + "#questions")
    return render_template("calls/question.html", form=form, call=call, key=None)


@bp.route("/calls/<int:call_id>/questions/<key>/edit", methods=["GET", "POST"])
@login_required
def edit_question(call_id: int, key: str) -> Any:
    call = load(Call, call_id, "call.manage")
    index = _question_index(call, key)
    form = question_form(call.languages, call.questions[:index], call.questions[index])
    if request.method == "POST":
        with answers_failure(_question_page(form, call, key)):
            questions = read_questions(call.questions)
            questions[index] = form.command()
            _save_questions(call, questions)
        flash(_("The question has been saved."), "success")
        return redirect(url_for("calls.show", call_id=call.id) + "#questions")
    return render_template("calls/question.html", form=form, call=call, key=key)


@bp.post("/calls/<int:call_id>/questions/<key>/delete")
@login_required
def delete_question(call_id: int, key: str) -> Any:
    call = load(Call, call_id, "call.manage")
    index = _question_index(call, key)
    questions = read_questions(call.questions)
    return _change_questions(call, questions[:index] + questions[index + 1 :])


@bp.post("/calls/<int:call_id>/questions/<key>/move")
@login_required
def move_question(call_id: int, key: str) -> Any:
    call = load(Call, call_id, "call.manage")
    index = _question_index(call, key)
    other = index - 1 if request.form.get("direction") == "up" else index + 1
    questions = read_questions(call.questions)
    if 0 <= other < len(questions):
        questions[index], questions[other] = questions[other], questions[index]
    return _change_questions(call, questions)


def _change_questions(call: Call, questions: list[QuestionSpec]) -> Any:
    back = url_for("calls.show", call_id=call.id) + "#questions"
    with flashes_refusal(back):
        _save_questions(call, questions)
    return redirect(back)


def _question_index(call: Call, key: str) -> int:
    for index, question in enumerate(call.questions):
        if question["key"] == key:
            return index
    raise NotFound()


def _strip_positions(failure: ValidationFailed) -> ValidationFailed:
    """On a one-question page, 'Question 3: …' is noise; the field says which."""
    return ValidationFailed(
        {k: [m.split(": ", 1)[-1] if k else m for m in v] for k, v in failure.errors.items()}
    )


@bp.post("/calls/<int:call_id>/<any(open, close, archive):action>")
@login_required
def change_state(call_id: int, action: str) -> Any:
    call = load(Call, call_id, "call.manage")
    operation = {
        "open": services.open_call,
        "close": services.close_call,
        "archive": services.archive_call,
    }[action]
    with flashes_refusal(url_for("calls.show", call_id=call.id)):
        operation(db.session, current_user, call)
    flash(
        {
            "open": _("The call is open."),
            "close": _("The call is closed."),
            "archive": _("The call is archived."),
        }[action],
        "success",
    )
    return redirect(url_for("calls.show", call_id=call.id))
