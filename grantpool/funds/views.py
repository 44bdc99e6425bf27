from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..extensions import db
from ..platform.permissions import load, require
from . import services
from .forms import DONOR_TYPE_LABELS, DonorForm, FundForm
from .models import Donor, Fund

bp = Blueprint("funds", __name__, url_prefix="/funds")


@bp.get("/")
@login_required
def list_funds() -> Any:
    return render_template(
        "funds/list.html", funds=services.visible_funds(db.session, current_user)
    )


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create_fund() -> Any:
    require(current_user, "fund.create")
    form = FundForm()
    if request.method == "POST":
        with form.shows_failures("funds/form.html", fund=None):
            fund = services.create_fund(db.session, current_user, form.command())
        flash(_("The fund has been created."), "success")
        return redirect(url_for("funds.show_fund", fund_id=fund.id))
    form.timezone.data = "UTC"
    return render_template("funds/form.html", form=form, fund=None)


@bp.get("/<int:fund_id>")
@login_required
def show_fund(fund_id: int) -> Any:
    fund = load(Fund, fund_id, "fund.view")
    return render_template("funds/show.html", fund=fund)


@bp.route("/<int:fund_id>/edit", methods=["GET", "POST"])
@login_required
def edit_fund(fund_id: int) -> Any:
    fund = load(Fund, fund_id, "fund.edit")
    form = FundForm(obj=fund)
    if request.method == "POST":
        form = FundForm()
        with form.shows_failures("funds/form.html", fund=fund):
            services.update_fund(db.session, current_user, fund, form.command())
        flash(_("Your changes have been saved."), "success")
        return redirect(url_for("funds.show_fund", fund_id=fund.id))
    return render_template("funds/form.html", form=form, fund=fund)


@bp.get("/donors")
@login_required
def list_donors() -> Any:
    require(current_user, "donor.list")
    return render_template(
        "funds/donors.html",
        donors=services.list_donors(db.session, current_user),
        donor_types=DONOR_TYPE_LABELS,
    )


@bp.route("/donors/new", methods=["GET", "POST"])
@login_required
def create_donor() -> Any:
    require(current_user, "donor.create")
    form = DonorForm()
    form.set_fund_choices(services.donor_fund_choices(db.session, current_user), frozenset())
    if request.method == "POST":
        with form.shows_failures("funds/donor_form.html", donor=None):
            services.create_donor(db.session, current_user, form.command())
        flash(_("The donor has been added."), "success")
        return redirect(url_for("funds.list_donors"))
    return render_template("funds/donor_form.html", form=form, donor=None)


@bp.route("/donors/<int:donor_id>/edit", methods=["GET", "POST"])
@login_required
def edit_donor(donor_id: int) -> Any:
    donor = load(Donor, donor_id, "donor.edit")
    form = DonorForm(obj=donor)
    funds = services.donor_fund_choices(db.session, current_user)
    form.set_fund_choices(funds, donor.fund_ids)
    if request.method == "POST":
        form = DonorForm()
        form.set_fund_choices(funds, donor.fund_ids)
        with form.shows_failures("funds/donor_form.html", donor=donor):
            services.update_donor(db.session, current_user, donor, form.command())
        flash(_("Your changes have been saved."), "success")
        return redirect(url_for("funds.list_donors"))
    return render_template("funds/donor_form.html", form=form, donor=donor)
