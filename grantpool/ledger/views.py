from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..extensions import db
from ..funds.models import Donor, Fund
from ..funds.services import donors_by_id, list_donors
from ..platform.errors import InsufficientFunds, ValidationFailed
from ..platform.money import Money
from ..platform.permissions import can, load
from ..platform.web import parse_whole_number
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


def _date(text: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(text or "").strip())
    except ValueError:
        return None


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
        values = dict(form.data)
        received_on = _date(values.pop("received_on"))
        values["received_at"] = (
            dt.datetime.combine(received_on, dt.time(0), ZoneInfo(fund.timezone))
            if received_on
            else None
        )
        with form.shows_failures("ledger/contribution_form.html", fund=fund):
            try:
                services.record_contribution(
                    db.session,
                    current_user,
                    fund,
                    values,
                    locale=_locale(),
                    idempotency_key=form.idempotency_key.data or None,
                    fingerprint=_fingerprint(form),
                )
            except ValidationFailed as failure:
                # The service speaks of an instant; the form asks for a day.
                if "received_at" in failure.errors:
                    failure.errors["received_on"] = failure.errors.pop("received_at")
                raise
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
        values = dict(form.data)
        expected = str(values.get("expected_on") or "").strip()
        values["expected_on"] = _date(expected) if expected else None
        with form.shows_failures("ledger/pledge_form.html", fund=fund):
            if expected and values["expected_on"] is None:
                raise ValidationFailed.single("expected_on", _("Enter a real date."))
            services.record_pledge(db.session, current_user, fund, values, locale=_locale())
        flash(_("The pledge has been recorded."), "success")
        return redirect(url_for("ledger.show_ledger", fund_id=fund.id))
    _fresh_key(form)
    form.currency.data = fund.base_currency
    return render_template("ledger/pledge_form.html", form=form, fund=fund)


@bp.route("/<int:fund_id>/ledger/refunds/new", methods=["GET", "POST"])
@login_required
def refund_donor(fund_id: int) -> Any:
    fund = load(Fund, fund_id, "ledger.post")
    form = RefundForm()
    _donor_choices(form, fund)
    if request.method == "POST":
        try:
            with form.shows_failures("ledger/refund_form.html", fund=fund):
                _refund(fund, form)
        except InsufficientFunds as refused:
            form.add_errors(ValidationFailed.single("amount", str(refused.message)))
            return render_template("ledger/refund_form.html", form=form, fund=fund), 409
        flash(_("The refund has been recorded."), "success")
        return redirect(url_for("ledger.show_ledger", fund_id=fund.id))
    _fresh_key(form)
    return render_template("ledger/refund_form.html", form=form, fund=fund)


def _refund(fund: Fund, form: RefundForm) -> None:
    donor = db.session.get(Donor, parse_whole_number(form.donor_id.data, minimum=1) or 0)
    errors: dict[str, str] = {}
    if donor is None or fund.id not in donor.fund_ids:
        errors["donor_id"] = _("Choose the donor.")
    if not (form.reason.data or "").strip():
        errors["reason"] = _("Say why the money is returned.")
    amount = _base_amount(fund, form, errors)
    if errors:
        raise ValidationFailed(errors)
    assert donor is not None and amount is not None
    services.refund_donor(
        db.session,
        current_user,
        fund,
        donor,
        amount,
        form.reason.data or "",
        idempotency_key=form.idempotency_key.data or None,
    )


def _base_amount(fund: Fund, form: RefundForm | CostForm, errors: dict[str, str]) -> Money | None:
    try:
        return services.parse_base_amount(fund, form.amount.data, _locale())
    except ValidationFailed as failure:
        errors.update({k: v[0] for k, v in failure.errors.items()})
        return None


@bp.route("/<int:fund_id>/ledger/costs/new", methods=["GET", "POST"])
@login_required
def record_cost(fund_id: int) -> Any:
    fund = load(Fund, fund_id, "ledger.post")
    form = CostForm()
    if request.method == "POST":
        try:
            with form.shows_failures("ledger/cost_form.html", fund=fund):
                errors: dict[str, str] = {}
                if not (form.description.data or "").strip():
                    errors["description"] = _("Describe the cost.")
                amount = _base_amount(fund, form, errors)
                if errors:
                    raise ValidationFailed(errors)
                assert amount is not None
                services.record_fund_cost(
                    db.session,
                    current_user,
                    fund,
                    amount,
                    form.description.data or "",
                    idempotency_key=form.idempotency_key.data or None,
                )
        except InsufficientFunds as refused:
            form.add_errors(ValidationFailed.single("amount", str(refused.message)))
            return render_template("ledger/cost_form.html", form=form, fund=fund), 409
        flash(_("The cost has been recorded."), "success")
        return redirect(url_for("ledger.show_ledger", fund_id=fund.id))
    _fresh_key(form)
    return render_template("ledger/cost_form.html", form=form, fund=fund)
