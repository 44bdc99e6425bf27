from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..accounts.services import member_organisations
from ..extensions import db
from ..platform.permissions import load, require
from ..platform.web import query_int
from . import services
from .forms import OrganisationForm
from .models import Organisation
from .rules import ORGANISATION_TYPE_LABELS, country_choices

bp = Blueprint("organisations", __name__, url_prefix="/organisations")

PAGE = 50


@bp.get("/")
@login_required
def list_organisations() -> Any:
    require(current_user, "organisation.list")
    after = query_int("after", 0)
    filters = {
        "country": request.args.get("country") or None,
        "org_type": request.args.get("org_type") or None,
        "search": request.args.get("q") or None,
    }
    rows = services.list_organisations(
        db.session, current_user, after_id=after, limit=PAGE + 1, **filters
    )
    next_after = rows[PAGE - 1].id if len(rows) > PAGE else None
    return render_template(
        "organisations/list.html",
        organisations=rows[:PAGE],
        next_after=next_after,
        filters=filters,
        countries=country_choices(),
        types=ORGANISATION_TYPE_LABELS,
    )


@bp.get("/mine")
@login_required
def mine() -> Any:
    return render_template(
        "organisations/mine.html",
        organisations=member_organisations(db.session, current_user),
    )


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create() -> Any:
    require(current_user, "organisation.create")
    form = OrganisationForm()
    if request.method == "POST":
        with form.shows_failures("organisations/form.html", organisation=None):
            organisation = services.create_organisation(db.session, current_user, form.command())
        flash(_("The organisation has been added."), "success")
        return redirect(url_for("organisations.show", organisation_id=organisation.id))
    return render_template("organisations/form.html", form=form, organisation=None)


@bp.get("/<int:organisation_id>")
@login_required
def show(organisation_id: int) -> Any:
    organisation = load(Organisation, organisation_id, "organisation.view")
    return render_template("organisations/show.html", organisation=organisation)


@bp.route("/<int:organisation_id>/edit", methods=["GET", "POST"])
@login_required
def edit(organisation_id: int) -> Any:
    organisation = load(Organisation, organisation_id, "organisation.edit")
    form = OrganisationForm(obj=organisation)
    if request.method == "POST":
        form = OrganisationForm()
        with form.shows_failures("organisations/form.html", organisation=organisation):
            services.update_organisation(db.session, current_user, organisation, form.command())
        flash(_("Your changes have been saved."), "success")
        return redirect(url_for("organisations.show", organisation_id=organisation.id))
    return render_template("organisations/form.html", form=form, organisation=organisation)
