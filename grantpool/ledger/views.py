from __future__ import annotations

import uuid
from contextlib import AbstractContextManager
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..extensions import db
from ..funds.models import Fund
from ..funds.services import donors_by_id, list_donors
from ..platform.errors import DomainError, InsufficientFunds, ValidationFailed
from ..platform.forms import answers_failure
from ..platform.money import Money
from ..platform.permissions import can, load
from . import services
from .forms import ContributionForm, CostForm, PledgeForm, RefundForm
from .rules import kind_label

bp = Blueprint("ledger", __name__, url_prefix="/funds")


@bp.app_template_filter("ledger_kind")
def _ledger_kind(kind: str) -> str:
    return kind_label(kind)


def _locale() -> str:
    return str(get_locale() or "en")


def _donor_choices(form: Any, fund: Fund | None = None) -> None:
    """The donors one may record money from: those one may see; with `fund`, only that
    fund's donors (money is returned only to those who gave it)."""
    donors = list_donors(db.session, current_user, fund_id=fund.id if fund else None)
    form.donor_id.choices = [("", "")] + [(str(d.id), f"{d.name} ({d.currency})") for d in donors]


def _fresh_key(form: Any) -> None:
    form.idempotency_key.data = uuid.uuid4().hex


def _fingerprint(form: Any) -> str:
    values = {k: v for k, v in form.data.items() if k != "idempotency_key"}
    return services.request_fingerprint(values)


@bp.get("/<int:fund_id>/ledger")
@login_required
def show_ledger(fund_id: int) -> Any:
    fund = load(Fund, fund_id, "ledger.view")
    balances = services.balances(db.session, fund)
    recent = services.recent_transactions(db.session, fund)
    pledges = services.list_pledges(db.session, fund)
    contributions = services.list_contributions(db.session, fund)[:50]
    codes = {b.code for b in balances} | {code for _t, lines in recent for code, _a in lines}
    return render_template(
        "ledger/show.html",
        fund=fund,
        balances=balances,
        recent=recent,
        labels=services.account_labels(db.session, sorted(codes)),
        pledges=pledges,
        contributions=contributions,
        donors=donors_by_id(
            db.session, {p.donor_id for p in pledges} | {c.donor_id for c in contributions}
        ),
        may_post=can(current_user, "ledger.post", fund),
        Money=Money,
    )


@bp.route("/<int:fund_id>/ledger/contributions/new", methods=["GET", "POST"])
@login_required
def record_contribution(fund_id: int) -> Any:
    fund = load(Fund, fund_id, "contribution.create")
    form = ContributionForm()
    _donor_choices(form)
    if request.method == "POST":
        with form.shows_failures("ledger/contribution_form.html", fund=fund):
            services.record_contribution(
                db.session,
                current_user,
                fund,
                form.command(fund.timezone, _locale()),
                idempotency_key=form.idempotency_key.data or None,
                fingerprint=_fingerprint(form),
            )
        flash(_("The contribution has been recorded."), "success")
        return redirect(url_for("ledger.show_ledger", fund_id=fund.id))
    _fresh_key(form)
    form.currency.data = fund.base_currency
    form.exchange_rate.data = "1"
    return render_template("ledger/contribution_form.html", form=form, fund=fund)


@bp.route("/<int:fund_id>/ledger/pledges/new", methods=["GET", "POST"])
@login_required
def record_pledge(fund_id: int) -> Any:
    fund = load(Fund, fund_id, "pledge.create")
    form = PledgeForm()
    _donor_choices(form)
    if request.method == "POST":
        with form.shows_failures("ledger/pledge_form.html", fund=fund):
            services.record_pledge(db.session, current_user, fund, form.command(_locale()))
        flash(_("The pledge has been recorded."), "success")
        return redirect(url_for("ledger.show_ledger", fund_id=fund.id))
    _fresh_key(form)
    form.currency.data = fund.base_currency
    return render_template("ledger/pledge_form.html", form=form, fund=fund)


def _shows_spending_refused(
    form: RefundForm | CostForm, template: str, fund: Fund
) -> AbstractContextManager[None]:
    """A refund or cost refused: bad input beside its fields (422); not enough money
    available beside the amount (409)."""

    def page(error: DomainError) -> Any:
        if isinstance(error, InsufficientFunds):
            form.add_errors(ValidationFailed.single("amount", str(error.message)))
            return render_template(template, form=form, fund=fund), 409
        assert isinstance(error, ValidationFailed)
        form.add_errors(error)
        return render_template(template, form=form, fund=fund), 422

    return answers_failure(page, (ValidationFailed, InsufficientFunds))


@bp.route("/<int:fund_id>/ledger/refunds/new", methods=["GET", "POST"])
@login_required
def refund_donor(fund_id: int) -> Any:
    fund = load(Fund, fund_id, "ledger.post")
    form = RefundForm()
    _donor_choices(form, fund)
    if request.method == "POST":
        with _shows_spending_refused(form, "ledger/refund_form.html", fund):
            refund = form.command(fund.base_currency, _locale())
            services.refund_donor(
                db.session,
                current_user,
                fund,
                services.fund_donor(db.session, current_user, fund, refund.donor_id),
                refund.amount,
                refund.reason,
                idempotency_key=form.idempotency_key.data or None,
            )
        flash(_("The refund has been recorded."), "success")
        return redirect(url_for("ledger.show_ledger", fund_id=fund.id))
    _fresh_key(form)
    return render_template("ledger/refund_form.html", form=form, fund=fund)


@bp.route("/<int:fund_id>/ledger/costs/new", methods=["GET", "POST"])
@login_required
def record_cost(fund_id: int) -> Any:
    fund = load(Fund, fund_id, "ledger.post")
    form = CostForm()
    if request.method == "POST":
        with _shows_spending_refused(form, "ledger/cost_form.html", fund):
            cost = form.command(fund.base_currency, _locale())
            services.record_fund_cost(
                db.session,
                current_user,
                fund,
                cost.amount,
                cost.description,
                idempotency_key=form.idempotency_key.data or None,
            )
        flash(_("The cost has been recorded."), "success")
        return redirect(url_for("ledger.show_ledger", fund_id=fund.id))
    _fresh_key(form)
    return render_template("ledger/cost_form.html", form=form, fund=fund)
