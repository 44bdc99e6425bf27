"""Grant pages: thin handlers that parse, check permission on the object, call one service."""

from __future__ import annotations

import json
import uuid
from contextlib import AbstractContextManager
from dataclasses import asdict
from operator import attrgetter
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from ..extensions import db
from ..funds.models import Fund
from ..platform.errors import (
    DomainError,
    InsufficientFunds,
    InvalidTransition,
    NotFound,
    StorageUnavailable,
    ValidationFailed,
)
from ..platform.forms import answers_failure, flashes_refusal
from ..platform.money import Money, parse_money
from ..platform.permissions import can, load, require
from ..platform.time import now_utc
from . import queries, rules, services
from .commands import template_details
from .forms import (
    AmendmentForm,
    CloseForm,
    EvidenceForm,
    PaymentForm,
    ReasonForm,
    ReportForm,
    ReviewForm,
    TemplateForm,
    TemplateRowsForm,
    WaiverForm,
    choice,
)
from .models import AgreementVersion, Disbursement, Grant, Report, Tranche

bp = Blueprint("grants", __name__, url_prefix="/grants")


def _locale() -> str:
    return str(get_locale() or "en")


def _report(grant: Grant, report_id: int) -> Report:
    report = db.session.get(Report, report_id)
    if report is None or report.grant_id != grant.id:
        raise NotFound()
    return report


def _back(grant_id: int) -> Any:
    return redirect(url_for("grants.show_grant", grant_id=grant_id))


def _refusals_back(
    grant_id: int, refusals: tuple[type[DomainError], ...] = ()
) -> AbstractContextManager[None]:
    """A button on the grant's page refused: its messages flashed, back to that page."""
    return flashes_refusal(url_for("grants.show_grant", grant_id=grant_id), refusals)


@bp.get("/")
@login_required
def list_grants() -> Any:
    funds = db.session.scalars(select(Fund).order_by(Fund.name)).all()
    return render_template(
        "grants/list.html",
        grants=queries.grants_visible_to(db.session, current_user),
        template_funds=[f for f in funds if can(current_user, "fund.edit_tranche_templates", f)],
    )


@bp.get("/<int:grant_id>")
@login_required
def show_grant(grant_id: int) -> Any:
    grant = load(Grant, grant_id, "grant.view")
    loaded = queries.load_facts(db.session, grant)
    return render_template(
        "grants/show.html",
        grant=grant,
        tranches=loaded.tranches,
        reports=loaded.reports,
        evidence=loaded.evidence,
        waivers=loaded.waivers,
        evaluations=services.evaluate_tranches(db.session, grant, loaded=loaded, locale=_locale()),
        disbursements=queries.disbursements_of(db.session, grant),
        amendments=queries.amendments_of(db.session, grant),
        agreements=queries.agreements_of(db.session, grant),
        may={
            action: can(current_user, f"grant.{action}", grant)
            for action in (
                "manage",
                "report",
                "request_release",
                "approve_release",
                "record_payment",
            )
        },
        waiver_form=WaiverForm(),
        evidence_form=_evidence_form(loaded.tranches),
        release_key=uuid.uuid4().hex,
        rules=rules,
        Money=Money,
    )


def _evidence_form(tranches: list[Tranche]) -> EvidenceForm:
    form = EvidenceForm()
    form.tranche_id.choices = [choice("", "")] + [
        choice(str(t.id), _("Tranche %(n)s", n=t.number)) for t in tranches
    ]
    return form


# --- reports --------------------------------------------------------------------------------


def _report_form(grant: Grant) -> ReportForm:
    form = ReportForm()
    count = len(queries.tranches_of(db.session, grant))
    form.tranche_number.choices = [
        choice(str(n), _("Tranche %(n)s", n=n)) for n in range(1, count + 1)
    ]
    return form


def _uploads() -> list[services.Upload]:
    uploads = []
    for role in ("photo", "voice", "spreadsheet"):
        file = request.files.get(role)
        if file is not None and file.filename:
            uploads.append(services.Upload(file.stream, role))
    return uploads


def _report_refusals(
    form: ReportForm, grant: Grant, report: Report | None = None
) -> AbstractContextManager[None]:
    """A report form shown again with its messages and everything typed: 422, or 503
    with Retry-After when the file store did not answer (the same report may be sent
    again in a minute)."""

    def page(failure: ValidationFailed) -> tuple[str, int, dict[str, str]]:
        form.add_errors(failure)
        body = render_template("grants/report_form.html", form=form, grant=grant, report=report)
        if isinstance(failure, StorageUnavailable):
            return body, 503, {"Retry-After": "30"}
        return body, 422, {}

    return answers_failure(page)


@bp.route("/<int:grant_id>/reports/new", methods=["GET", "POST"])
@login_required
def new_report(grant_id: int) -> Any:
    grant = load(Grant, grant_id, "grant.report")
    form = _report_form(grant)
    if request.method == "POST":
        with _report_refusals(form, grant):
            report = form.command(_locale(), grant.currency)
            services.submit_report(
                db.session,
                current_user,
                grant,
                report,
                _uploads(),
                idempotency_key=form.idempotency_key.data or None,
                fingerprint=services.request_fingerprint(asdict(report)),
            )
        flash(_("Thank you. Your report has been sent."), "success")
        return _back(grant.id)
    form.idempotency_key.data = uuid.uuid4().hex
    if request.args.get("tranche"):
        form.tranche_number.data = request.args["tranche"]
    return render_template("grants/report_form.html", form=form, grant=grant)


@bp.route("/<int:grant_id>/reports/<int:report_id>/resubmit", methods=["GET", "POST"])
@login_required
def resubmit_report(grant_id: int, report_id: int) -> Any:
    grant = load(Grant, grant_id, "grant.report")
    report = _report(grant, report_id)
    form = _report_form(grant)
    if request.method == "POST":
        with _report_refusals(form, grant, report):
            services.resubmit_report(
                db.session,
                current_user,
                report,
                form.command(_locale(), grant.currency),
                _uploads(),
            )
        flash(_("Your report has been sent again."), "success")
        return _back(grant.id)
    form.kind.data = report.kind
    form.tranche_number.data = str(report.tranche_number)
    form.text.data = report.text
    form.final.data = report.final
    return render_template("grants/report_form.html", form=form, grant=grant, report=report)


@bp.post("/<int:grant_id>/reports/<int:report_id>/review")
@login_required
def review_report(grant_id: int, report_id: int) -> Any:
    grant = load(Grant, grant_id, "grant.manage")
    report = _report(grant, report_id)
    form = ReviewForm()
    with _refusals_back(grant.id, (InvalidTransition,)):
        services.review_report(
            db.session,
            current_user,
            report,
            accept=request.form.get("decision") == "accept",
            comment=form.comment.data or "",
        )
    flash(_("The report has been reviewed."), "success")
    return _back(grant.id)


# --- conditions -----------------------------------------------------------------------------


@bp.post("/tranches/<int:tranche_id>/waive")
@login_required
def waive_condition(tranche_id: int) -> Any:
    tranche = load(Tranche, tranche_id, "grant.manage", on=attrgetter("grant"))
    form = WaiverForm()
    with _refusals_back(tranche.grant_id, (InvalidTransition,)):
        services.waive_condition(
            db.session, current_user, tranche, form.condition_id.data or "", form.reason.data or ""
        )
    flash(_("The condition has been waived."), "success")
    return _back(tranche.grant_id)


@bp.post("/<int:grant_id>/evidence")
@login_required
def record_evidence(grant_id: int) -> Any:
    grant = load(Grant, grant_id, "grant.manage")
    tranches = queries.tranches_of(db.session, grant)
    form = _evidence_form(tranches)
    tranche = next((t for t in tranches if str(t.id) == form.tranche_id.data), None)
    file = request.files.get("file")
    with _refusals_back(grant.id, (InvalidTransition,)):
        services.record_evidence(
            db.session,
            current_user,
            grant,
            form.kind.data or "",
            form.label.data or "",
            tranche=tranche,
            note=form.note.data,
            file=file.stream if file is not None and file.filename else None,
        )
    flash(_("Recorded."), "success")
    return _back(grant.id)


# --- disbursement ---------------------------------------------------------------------------


@bp.post("/tranches/<int:tranche_id>/release")
@login_required
def request_release(tranche_id: int) -> Any:
    tranche = load(Tranche, tranche_id, "grant.request_release", on=attrgetter("grant"))
    with _refusals_back(tranche.grant_id, (InvalidTransition,)):
        services.request_release(
            db.session,
            current_user,
            tranche,
            idempotency_key=request.form.get("idempotency_key") or None,
        )
    flash(_("Release requested. Someone else must now approve it."), "success")
    return _back(tranche.grant_id)


@bp.post("/disbursements/<int:disbursement_id>/approve")
@login_required
def approve_release(disbursement_id: int) -> Any:
    disbursement = load(
        Disbursement, disbursement_id, "grant.approve_release", on=attrgetter("tranche.grant")
    )
    with _refusals_back(disbursement.grant_id, (InvalidTransition,)):
        services.approve_release(db.session, current_user, disbursement)
    flash(_("Release approved."), "success")
    return _back(disbursement.grant_id)


@bp.post("/disbursements/<int:disbursement_id>/reject")
@login_required
def reject_release(disbursement_id: int) -> Any:
    disbursement = load(
        Disbursement, disbursement_id, "grant.approve_release", on=attrgetter("tranche.grant")
    )
    with _refusals_back(disbursement.grant_id, (InvalidTransition,)):
        services.reject_release(
            db.session, current_user, disbursement, ReasonForm().reason.data or ""
        )
    flash(_("Release refused."), "success")
    return _back(disbursement.grant_id)


@bp.route("/disbursements/<int:disbursement_id>/pay", methods=["GET", "POST"])
@login_required
def record_payment(disbursement_id: int) -> Any:
    disbursement = load(
        Disbursement, disbursement_id, "grant.record_payment", on=attrgetter("tranche.grant")
    )
    grant = disbursement.tranche.grant
    form = PaymentForm()
    if request.method == "POST":
        with form.shows_failures(
            "grants/payment_form.html",
            (InvalidTransition,),
            grant=grant,
            disbursement=disbursement,
        ):
            payment = form.command(_locale())
            services.record_payment(
                db.session,
                current_user,
                disbursement,
                payment,
                idempotency_key=form.idempotency_key.data or None,
                fingerprint=services.request_fingerprint(asdict(payment)),
            )
        flash(_("The payment has been recorded."), "success")
        return _back(grant.id)
    form.idempotency_key.data = uuid.uuid4().hex
    form.currency.data = grant.currency
    form.paid_on.data = services.local_date(grant.fund, now_utc()).isoformat()
    return render_template(
        "grants/payment_form.html", form=form, grant=grant, disbursement=disbursement
    )


# --- amendments, state, closure -------------------------------------------------------------


@bp.route("/<int:grant_id>/amend", methods=["GET", "POST"])
@login_required
def amend_grant(grant_id: int) -> Any:
    grant = load(Grant, grant_id, "grant.manage")
    tranches = [t for t in queries.tranches_of(db.session, grant) if t.state != "cancelled"]
    form = AmendmentForm()
    # Conditions are edited as plain fields, unless a tranche's need more (any, nesting)
    # or the manager asks for the data editor.
    rows = [rules.tranche_row(t.conditions, t.due_on) for t in tranches]
    as_data = request.values.get("as_data") == "1" or None in rows
    if request.method == "POST":
        with form.shows_failures(
            "grants/amend.html",
            (InvalidTransition, InsufficientFunds),
            grant=grant,
            as_data=as_data,
        ):
            amendment = form.command(
                grant.currency,
                _locale(),
                {t.number: t.conditions for t in tranches},
                as_data=as_data,
            )
            services.amend_grant(db.session, current_user, grant, amendment)
        flash(_("The grant has been amended and a new agreement issued."), "success")
        return _back(grant.id)
    form.end_on.data = grant.end_on.isoformat()
    form.amount.data = str(grant.amount.to_decimal())
    for tranche, row in zip(tranches, rows, strict=True):
        entry = {
            "number": str(tranche.number),
            "amount": str(tranche.amount.to_decimal()),
            "due_on": tranche.due_on.isoformat(),
        }
        if as_data:
            entry["conditions"] = json.dumps(tranche.conditions, ensure_ascii=False)
        else:
            entry.update(_plain_row_fields(row or {}))
        form.tranches.append_entry(entry)
    return render_template("grants/amend.html", form=form, grant=grant, as_data=as_data)


def _plain_row_fields(row: dict[str, Any]) -> dict[str, Any]:
    """The plain condition fields as the form shows them (choices and numbers as text)."""
    return {
        **row,
        "narrative_report": str(row.get("narrative_report") or ""),
        "financial_report": str(row.get("financial_report") or ""),
        "spent_percent": "" if row.get("spent_percent") is None else str(row["spent_percent"]),
    }


@bp.post("/<int:grant_id>/state")
@login_required
def change_state(grant_id: int) -> Any:
    grant = load(Grant, grant_id, "grant.manage")
    target = request.form.get("target", "")
    with _refusals_back(grant.id, (InvalidTransition,)):
        if target not in set(rules.GrantState):
            raise InvalidTransition()
        services.change_state(
            db.session, current_user, grant, target, ReasonForm().reason.data or ""
        )
    flash(_("The grant's state has changed."), "success")
    return _back(grant.id)


@bp.route("/<int:grant_id>/close", methods=["GET", "POST"])
@login_required
def close_grant(grant_id: int) -> Any:
    grant = load(Grant, grant_id, "grant.manage")
    form = CloseForm()
    if request.method == "POST":
        with form.shows_failures("grants/close.html", (InvalidTransition,), grant=grant):
            returned = None
            if (form.returned.data or "").strip():
                try:
                    returned = parse_money(form.returned.data or "", grant.currency, _locale())
                except ValueError:
                    raise ValidationFailed.single(
                        "returned", _("Enter an amount such as 1250.50.")
                    ) from None
            services.close_grant(db.session, current_user, grant, returned=returned)
        flash(_("The grant is closed."), "success")
        return _back(grant.id)
    return render_template("grants/close.html", form=form, grant=grant)


@bp.get("/<int:grant_id>/agreements/<int:version>.pdf")
@login_required
def agreement(grant_id: int, version: int) -> Any:
    grant = load(Grant, grant_id, "grant.view")
    found = next(
        (a for a in queries.agreements_of(db.session, grant) if a.version == version), None
    )
    if not isinstance(found, AgreementVersion):
        raise NotFound()
    return Response(
        services.agreement_bytes(found),
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="agreement-{grant.reference}-v{version}.pdf"'
        },
    )


# --- tranche templates ----------------------------------------------------------------------


# Rows offered by the template editor: the template's own, then blank ones to add tranches.
TEMPLATE_ROWS = 6


@bp.route("/funds/<int:fund_id>/tranche-templates", methods=["GET", "POST"])
@login_required
def tranche_templates(fund_id: int) -> Any:
    """Each risk level's template, edited as plain rows (share, due day and the common
    conditions); a template whose conditions need more (any, nesting) as data."""
    fund = db.session.get(Fund, fund_id)
    if fund is None:
        raise NotFound()
    require(current_user, "fund.edit_tranche_templates", fund)
    as_data = request.values.get("as_data") == "1"
    form: TemplateForm | TemplateRowsForm = TemplateForm() if as_data else TemplateRowsForm()
    if request.method == "POST":

        def refused(failure: ValidationFailed) -> Any:
            if isinstance(form, TemplateRowsForm):
                # Row messages name their tranche; they all go to the summary at the top.
                form.form_errors.extend(m for ms in failure.errors.values() for m in ms)
            else:
                form.add_errors(failure)
            return _templates_page(fund, form, as_data), 422

        with answers_failure(refused):
            if isinstance(form, TemplateRowsForm):
                tranches = rules.template_from_rows([row.data for row in form.tranches])
            else:
                try:
                    tranches = json.loads(form.tranches.data or "")
                except ValueError:
                    raise ValidationFailed.single(
                        "tranches", _("Write the tranches as data (JSON).")
                    ) from None
            services.save_template(
                db.session,
                current_user,
                fund,
                template_details(risk_level=form.risk_level.data, tranches=tranches),
            )
        flash(_("The template has been saved."), "success")
        return redirect(
            url_for("grants.tranche_templates", fund_id=fund.id, risk=form.risk_level.data)
        )
    risk = request.args.get("risk", "medium")
    if risk not in {r.value for r in rules.RiskLevel}:
        risk = "medium"
    current = services.template_for(db.session, fund, risk)
    rows = None if as_data else rules.template_rows(current)
    if rows is None:
        as_data, form = True, TemplateForm()
        form.tranches.data = json.dumps(current, indent=2, ensure_ascii=False)
    else:
        form = TemplateRowsForm(data={"tranches": _blank_padded(rows)})
    form.risk_level.data = risk
    return _templates_page(fund, form, as_data)


def _blank_padded(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    filled = [
        {
            **_plain_row_fields(row),
            "percent": str(row["percent"]),
            "offset_days": str(row["offset_days"]),
        }
        for row in rows
    ]
    return filled + [{}] * max(0, min(12, max(TEMPLATE_ROWS, len(rows) + 2)) - len(rows))


def _templates_page(fund: Fund, form: Any, as_data: bool) -> str:
    return render_template(
        "grants/templates.html",
        form=form,
        fund=fund,
        templates=_templates(fund),
        as_data=as_data,
    )


def _templates(fund: Fund) -> dict[str, list[dict[str, Any]]]:
    return {r.value: services.template_for(db.session, fund, r.value) for r in rules.RiskLevel}
