"""Pages for reviewers (queue, conflict declaration, review), fund managers (settings,
assignments, ranking, decisions) and applicants (answering a request for information)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask import send_file as flask_send_file
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from ..accounts.models import User
from ..calls.models import Call
from ..extensions import db
from ..intake.models import Application
from ..intake.rules import state_label
from ..platform.errors import NotFound
from ..platform.forms import answers_failure
from ..platform.permissions import load, require
from ..platform.storage import get_storage
from ..platform.web import reads_only
from . import exports, queries, reading, services
from .commands import AutoAssignment
from .forms import (
    ConflictForm,
    InfoAnswerForm,
    InfoRequestForm,
    ProposeForm,
    RejectForm,
    SettingsForm,
    score_sheet,
)
from .models import Decision, InfoRequest, ReviewAssignment
from .rules import (
    ASSIGNMENT_LABELS,
    DECISION_KIND_LABELS,
    RECOMMENDATION_LABELS,
    REVIEWER_KIND_LABELS,
    DecisionState,
    criteria_as_lines,
    decline_reasons_as_lines,
)

bp = Blueprint("reviews", __name__)


def _locale() -> str:
    return str(get_locale() or "en")


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    return {
        "review_outcome": _review_outcome,
        "assignment_labels": ASSIGNMENT_LABELS,
        "recommendation_labels": RECOMMENDATION_LABELS,
        "reviewer_kind_labels": REVIEWER_KIND_LABELS,
        "decision_kind_labels": DECISION_KIND_LABELS,
    }


def _review_outcome(application: Application) -> dict[str, Any]:
    """What the applicant's own page shows: feedback of a confirmed decision and any
    request for more information."""
    decision = queries.open_decision(db.session, application)
    return {
        "decision": decision if decision and decision.state == DecisionState.CONFIRMED else None,
        "info_request": queries.open_info_request(db.session, application),
    }


# Reviewers ---------------------------------------------------------------------------------


@bp.get("/reviews")
@reads_only
@login_required
def queue() -> Any:
    require(current_user, "reviews.queue")
    return render_template(
        "reviews/queue.html",
        queue=queries.reviewer_queue(db.session, current_user),
        # Built once, not per line (a queue can be long).
        labels={state: str(label) for state, label in ASSIGNMENT_LABELS.items()},
        review_url=url_for("reviews.review", assignment_id=0)[:-1],
    )


@bp.get("/reviews/<int:assignment_id>")
@login_required
def review(assignment_id: int) -> Any:
    assignment = load(ReviewAssignment, assignment_id, "assignment.view")
    if assignment.state == "assigned":
        return _declare_page(assignment, ConflictForm(formdata=None))
    require(current_user, "assignment.review", assignment)
    return _review_page(assignment)


def _review_page(
    assignment: ReviewAssignment, errors: dict[str, list[str]] | None = None, status: int = 200
) -> Any:
    call = assignment.application.call
    settings = queries.settings_of(db.session, call)
    others = []
    if reading.others_visible(settings, assignment):
        others = [
            a
            for a in queries.submitted_reviews(db.session, assignment.application)
            if a.id != assignment.id
        ]
    return render_template(
        "reviews/review.html",
        assignment=assignment,
        view=reading.reviewer_view(db.session, assignment, settings, _locale()),
        criteria=settings.criteria,
        review=assignment.review,
        others=others,
        errors=errors or {},
    ), status


def _declare_page(assignment: ReviewAssignment, form: ConflictForm, status: int = 200) -> Any:
    settings = queries.settings_of(db.session, assignment.application.call)
    return render_template(
        "reviews/declare.html",
        assignment=assignment,
        form=form,
        organisation_name=None if settings.blind else assignment.application.organisation.name,
    ), status


@bp.post("/reviews/<int:assignment_id>/declare")
@login_required
def declare(assignment_id: int) -> Any:
    assignment = load(ReviewAssignment, assignment_id, "assignment.declare")
    form = ConflictForm()
    with form.shows_failures(lambda: _declare_page(assignment, form, 422)):
        services.declare_conflict(db.session, current_user, assignment, form.answer())
    if assignment.state == "conflicted":
        flash(_("Thank you. The application has been taken off your list."), "success")
        return redirect(url_for("reviews.queue"))
    return redirect(url_for("reviews.review", assignment_id=assignment.id))


@bp.post("/reviews/<int:assignment_id>")
@login_required
def save_review(assignment_id: int) -> Any:
    assignment = load(ReviewAssignment, assignment_id, "assignment.review")
    settings = queries.settings_of(db.session, assignment.application.call)
    submit = bool(request.form.get("submit"))
    # A draft keeps what fits (200: committed); a refused submission changes nothing.
    with answers_failure(
        lambda failure: _review_page(assignment, failure.errors, 422 if submit else 200)
    ):
        services.save_review(
            db.session,
            current_user,
            assignment,
            score_sheet(request.form, settings.criteria, submit=submit),
        )
    flash(
        _("Your review has been sent. Thank you.") if submit else _("Your review is saved."),
        "success",
    )
    if submit:
        return redirect(url_for("reviews.queue"))
    return redirect(url_for("reviews.review", assignment_id=assignment.id))


@bp.get("/reviews/<int:assignment_id>/attachments/<int:number>")
@login_required
def attachment(assignment_id: int, number: int) -> Any:
    assignment = load(ReviewAssignment, assignment_id, "assignment.review")
    stored = reading.attachment_of(assignment, number)
    if stored is None:
        raise NotFound()
    settings = queries.settings_of(db.session, assignment.application.call)
    name = f"attachment-{number}" if settings.blind else (stored.get("name") or "attachment")
    return flask_send_file(
        get_storage().open(stored["key"]),
        mimetype=stored.get("content_type") or "application/octet-stream",
        as_attachment=True,
        download_name=name,
    )


# Fund managers: settings, assignments, ranking ---------------------------------------------


@bp.route("/manage/calls/<int:call_id>/reviews/settings", methods=["GET", "POST"])
@login_required
def settings(call_id: int) -> Any:
    call = load(Call, call_id, "call.manage")
    current = queries.settings_of(db.session, call)
    form = SettingsForm()
    if request.method == "POST":
        with form.shows_failures("reviews/settings.html", call=call):
            services.save_settings(db.session, current_user, call, form.change(call.fund.timezone))
        flash(_("The review settings are saved."), "success")
        return redirect(url_for("reviews.assignments", call_id=call.id))
    form.criteria.data = criteria_as_lines(current.criteria)
    form.staff_weight.data = str(current.staff_weight)
    form.panel_weight.data = str(current.panel_weight)
    form.blind.data = current.blind
    form.hide_other_reviews.data = current.hide_other_reviews
    form.spread_threshold.data = f"{current.spread_threshold / 100:g}"
    form.decline_reasons.data = decline_reasons_as_lines(current.decline_reasons)
    form.due_at.data = current.due_at.date().isoformat() if current.due_at else ""
    return render_template("reviews/settings.html", call=call, form=form)


@bp.get("/manage/calls/<int:call_id>/reviews")
@login_required
def assignments(call_id: int) -> Any:
    call = load(Call, call_id, "call.manage")
    rows = queries.ranking(db.session, call, queries.settings_of(db.session, call))
    by_application: dict[int, list[ReviewAssignment]] = {}
    for assignment in queries.assignments_of_call(db.session, call):
        by_application.setdefault(assignment.application_id, []).append(assignment)
    return render_template(
        "reviews/assignments.html",
        call=call,
        rows=rows,
        by_application=by_application,
        reviewers=queries.reviewers_of_fund(db.session, call.fund_id),
    )


@bp.post("/manage/calls/<int:call_id>/reviews/assign")
@login_required
def assign(call_id: int) -> Any:
    call = load(Call, call_id, "call.manage")
    application = load(Application, request.form.get("application_id", type=int) or 0)
    if application.call_id != call.id:
        raise NotFound()
    reviewer = load(User, request.form.get("reviewer_id", type=int) or 0)
    services.assign_reviewer(db.session, current_user, application, reviewer)
    flash(_("%(name)s has been asked to review.", name=reviewer.name), "success")
    return redirect(url_for("reviews.assignments", call_id=call.id))


@bp.post("/manage/calls/<int:call_id>/reviews/auto-assign")
@login_required
def auto_assign(call_id: int) -> Any:
    call = load(Call, call_id, "call.manage")
    wanted = AutoAssignment(request.form.get("per_application", type=int) or 0)
    made = services.auto_assign(db.session, current_user, call, wanted)
    flash(_("%(n)s assignments were made.", n=len(made)), "success")
    return redirect(url_for("reviews.assignments", call_id=call.id))


def _ranking_rows(call: Call) -> tuple[list[queries.RankedApplication], dict[str, str]]:
    filters = {
        k: (request.args.get(k) or "").strip() for k in ("country", "org_type", "leadership")
    }
    rows = queries.ranking(
        db.session,
        call,
        queries.settings_of(db.session, call),
        country=filters["country"].upper() or None,
        org_type=filters["org_type"] or None,
        leadership=filters["leadership"] or None,
    )
    return rows, filters


@bp.get("/manage/calls/<int:call_id>/ranking")
@login_required
def ranking(call_id: int) -> Any:
    call = load(Call, call_id, "call.manage")
    rows, filters = _ranking_rows(call)
    return render_template(
        "reviews/ranking.html",
        call=call,
        rows=rows,
        filters=filters,
        awarded=queries.awarded_total(db.session, call),
        settings=queries.settings_of(db.session, call),
    )


@bp.get("/manage/calls/<int:call_id>/ranking.<any(csv, xlsx):fmt>")
@login_required
def ranking_export(call_id: int, fmt: str) -> Any:
    call = load(Call, call_id, "call.manage")
    rows, _filters = _ranking_rows(call)
    if fmt == "csv":
        response = make_response(exports.ranking_csv(rows))
        response.headers["Content-Type"] = "text/csv; charset=utf-8"
    else:
        response = make_response(exports.ranking_xlsx(rows, call))
        response.headers["Content-Type"] = (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
    response.headers["Content-Disposition"] = f'attachment; filename="call-{call.id}-ranking.{fmt}"'
    return response


# Fund managers: deciding -----------------------------------------------------------------


def _decision_page(
    application: Application,
    form: ProposeForm | None = None,
    reject_form: RejectForm | None = None,
    info_form: InfoRequestForm | None = None,
    status: int = 200,
) -> Any:
    settings = queries.settings_of(db.session, application.call)
    return render_template(
        "reviews/decision.html",
        application=application,
        call=application.call,
        reviews=queries.submitted_reviews(db.session, application),
        decision=queries.open_decision(db.session, application),
        history=db.session.scalars(
            select(Decision).where(Decision.application_id == application.id).order_by(Decision.id)
        ).all(),
        info_requests=db.session.scalars(
            select(InfoRequest)
            .where(InfoRequest.application_id == application.id)
            .order_by(InfoRequest.id)
        ).all(),
        reasons=settings.decline_reasons,
        form=form or ProposeForm(formdata=None),
        reject_form=reject_form or RejectForm(formdata=None),
        info_form=info_form or InfoRequestForm(formdata=None),
        awarded=queries.awarded_total(db.session, application.call),
        state_label=state_label,
    ), status


@bp.get("/manage/applications/<int:application_id>/decision")
@login_required
def decision(application_id: int) -> Any:
    return _decision_page(load(Application, application_id, "application.decide"))


@bp.post("/manage/applications/<int:application_id>/decision")
@login_required
def propose(application_id: int) -> Any:
    application = load(Application, application_id, "application.decide")
    form = ProposeForm()
    with form.shows_failures(lambda: _decision_page(application, form=form, status=422)):
        proposal = form.proposal(
            application.currency, _locale(), request.form.getlist("reason_keys")
        )
        services.propose_decision(db.session, current_user, application, proposal)
    flash(_("The decision is proposed. Another fund manager must confirm it."), "success")
    return redirect(url_for("reviews.decision", application_id=application.id))


@bp.post("/manage/decisions/<int:decision_id>/confirm")
@login_required
def confirm(decision_id: int) -> Any:
    found = load(Decision, decision_id, "decision.confirm")
    services.confirm_decision(db.session, current_user, found)
    flash(_("The decision is confirmed and the applicant will be told."), "success")
    return redirect(url_for("reviews.decision", application_id=found.application_id))


@bp.post("/manage/decisions/<int:decision_id>/reject")
@login_required
def reject(decision_id: int) -> Any:
    found = load(Decision, decision_id, "decision.confirm")
    form = RejectForm()
    with form.shows_failures(
        lambda: _decision_page(found.application, reject_form=form, status=422)
    ):
        services.reject_decision(db.session, current_user, found, form.rejection())
    flash(_("The proposal is rejected."), "success")
    return redirect(url_for("reviews.decision", application_id=found.application_id))


@bp.post("/manage/applications/<int:application_id>/more-info")
@login_required
def ask_more_info(application_id: int) -> Any:
    application = load(Application, application_id, "application.decide")
    form = InfoRequestForm()
    with form.shows_failures(lambda: _decision_page(application, info_form=form, status=422)):
        services.request_more_info(db.session, current_user, application, form.more_info())
    flash(_("The question has been sent to the applicant."), "success")
    return redirect(url_for("reviews.decision", application_id=application.id))


# Applicants: answering a request for more information -----------------------------------


@bp.route("/applications/<int:application_id>/more-info", methods=["GET", "POST"])
@login_required
def answer_more_info(application_id: int) -> Any:
    application = load(Application, application_id)
    require(current_user, "application.edit", application)
    info = queries.open_info_request(db.session, application)
    if info is None:
        return redirect(url_for("intake.show", application_id=application.id))
    form = InfoAnswerForm()
    if request.method == "POST":
        send = bool(request.form.get("send"))
        with form.shows_failures("reviews/answer.html", application=application, info=info):
            services.answer_info_request(
                db.session, current_user, info, form.info_answer(send=send)
            )
        if send:
            flash(
                _("Your answer has been sent. Your application is being reviewed again."), "success"
            )
            return redirect(url_for("intake.show", application_id=application.id))
        flash(_("Your answer is saved. Come back at any time to send it."), "success")
        return redirect(url_for("reviews.answer_more_info", application_id=application.id))
    form.answer.data = info.answer_draft
    return render_template("reviews/answer.html", application=application, info=info, form=form)
