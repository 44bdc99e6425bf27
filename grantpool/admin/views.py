"""Administration: users, invitations and the audit log."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from ..accounts import services as accounts
from ..accounts.models import FUND_SCOPED_ROLES, Role, User
from ..extensions import db
from ..funds.models import Donor, Fund
from ..organisations.models import Organisation
from ..organisations.services import add_member
from ..platform.errors import NotFound, ValidationFailed
from ..platform.i18n import select_locale
from ..platform.permissions import require
from ..platform.time import UTC
from ..platform.web import parse_filter_day, query_int
from . import queries
from .forms import InviteForm, UserRolesForm

bp = Blueprint("admin", __name__, url_prefix="/admin")
PAGE = 50


def _choices(form: UserRolesForm) -> None:
    funds = [(f.id, f.name) for f in db.session.scalars(select(Fund).order_by(Fund.name))]
    donors = [(d.id, d.name) for d in db.session.scalars(select(Donor).order_by(Donor.name))]
    organisations = [
        (o.id, o.name)
        for o in db.session.scalars(select(Organisation).order_by(Organisation.name).limit(500))
    ]
    form.set_choices(funds, donors, organisations)


def _roles_from(form: UserRolesForm) -> list[tuple[str, int | None, int | None]]:
    fund_id = int(form.fund_id.data) if form.fund_id.data else None
    donor_id = int(form.donor_id.data) if form.donor_id.data else None
    roles: list[tuple[str, int | None, int | None]] = []
    for role in form.roles.data or []:
        if role == Role.DONOR_VIEWER.value:
            if donor_id is None:
                raise ValidationFailed.single(
                    "donor_id", _("Choose the donor this person views for.")
                )
            roles.append((role, None, donor_id))
        elif role in {r.value for r in FUND_SCOPED_ROLES}:
            roles.append((role, fund_id, None))
        else:
            roles.append((role, None, None))
    return roles


@bp.get("/users")
@login_required
def users() -> Any:
    require(current_user, "admin.users")
    after = query_int("after", 0)
    search = request.args.get("q") or None
    rows = queries.users_page(db.session, after_id=after, search=search, limit=PAGE + 1)
    next_after = rows[PAGE - 1].id if len(rows) > PAGE else None
    return render_template(
        "admin/users.html", users=rows[:PAGE], next_after=next_after, search=search
    )


@bp.route("/users/invite", methods=["GET", "POST"])
@login_required
def invite() -> Any:
    require(current_user, "admin.users")
    form = InviteForm()
    _choices(form)
    if request.method == "POST":
        with form.shows_failures("admin/invite.html"):
            roles = _roles_from(form)
            organisation_ids = [int(form.organisation_id.data)] if form.organisation_id.data else []
            _link, token = accounts.invite_user(
                db.session,
                current_user,
                email=form.email.data or "",
                name=form.name.data or "",
                roles=roles,
                organisation_ids=organisation_ids,
                days=current_app.config["INVITATION_DAYS"],
                base_url=current_app.config["BASE_URL"],
                locale=select_locale(),
            )
        url = url_for("accounts.accept_invitation", token=token, _external=True)
        return render_template(
            "admin/invited.html",
            email=form.email.data,
            url=url,
            days=current_app.config["INVITATION_DAYS"],
        )
    return render_template("admin/invite.html", form=form)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@login_required
def edit_user(user_id: int) -> Any:
    require(current_user, "admin.users")
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound()
    form = UserRolesForm()
    _choices(form)
    if request.method == "GET":
        form.roles.data = user.role_names()
        scoped = [a.fund_id for a in user.roles if a.fund_id]
        form.fund_id.data = str(scoped[0]) if scoped else ""
        donors = [a.donor_id for a in user.roles if a.donor_id]
        form.donor_id.data = str(donors[0]) if donors else ""
    else:
        action = request.form.get("action", "roles")
        with form.shows_failures("admin/user.html", user=user):
            if action == "deactivate":
                if user.id == current_user.id:
                    raise ValidationFailed.single("", _("You cannot deactivate yourself."))
                accounts.set_active(db.session, current_user, user, False)
            elif action == "activate":
                accounts.set_active(db.session, current_user, user, True)
            else:
                accounts.set_roles(db.session, current_user, user, _roles_from(form))
                if form.organisation_id.data:
                    organisation = db.session.get(Organisation, int(form.organisation_id.data))
                    if organisation is not None:
                        add_member(db.session, current_user, organisation, user)
        flash(_("Your changes have been saved."), "success")
        return redirect(url_for("admin.edit_user", user_id=user.id))
    return render_template("admin/user.html", form=form, user=user)


def _parse_date(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    day = parse_filter_day(value)
    return dt.datetime.combine(day, dt.time(), tzinfo=UTC) if day else None


@bp.get("/audit")
@login_required
def audit() -> Any:
    require(current_user, "admin.audit")
    filters = {
        k: request.args.get(k) or None
        for k in ("actor", "action", "object_type", "object_id", "since", "until")
    }
    until = _parse_date(filters["until"])
    events = queries.audit_page(
        db.session,
        actor=filters["actor"],
        action=filters["action"],
        object_type=filters["object_type"],
        object_id=filters["object_id"],
        since=_parse_date(filters["since"]),
        until=until + dt.timedelta(days=1) if until else None,
        before_id=query_int("before"),
        limit=PAGE + 1,
    )
    next_before = events[PAGE - 1].id if len(events) > PAGE else None
    return render_template(
        "admin/audit.html", events=events[:PAGE], filters=filters, next_before=next_before
    )
