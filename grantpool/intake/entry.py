"""Registration and signing in without a password: by an emailed link or six-digit code."""

from __future__ import annotations

from typing import Any

from flask import (
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
from flask_babel import gettext as _
from flask_login import current_user, login_user

from ..accounts import services as accounts
from ..extensions import db, limiter
from ..platform.deferred import ACCOUNT_LOOKUP_SECONDS, after_response
from ..platform.errors import ValidationFailed
from . import services
from .forms import EmailOnlyForm, RegistrationForm, SignInCodeForm
from .views import _locale, bp


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def register() -> Any:
    signed_in = current_user.is_authenticated
    form = RegistrationForm(signed_in=signed_in)
    next_url = request.values.get("next") or ""
    if request.method == "POST":
        try:
            user, _organisation = services.register_applicant(
                db.session, current_user if signed_in else None, form.values(), locale=_locale()
            )
        except ValidationFailed as failure:
            form.add_errors(failure)
            return render_template("intake/register.html", form=form, next=next_url), 422
        if not signed_in:
            session.clear()
            accounts.start_login_session(db.session, user, request.headers.get("User-Agent"))
            login_user(user)
        flash(
            _(
                "Your organisation is registered. To come back later, ask for a sign-in link "
                "sent to your email."
            ),
            "success",
        )
        return redirect(
            next_url
            if next_url.startswith("/") and not next_url.startswith("//")
            else url_for("intake.my_applications")
        )
    return render_template("intake/register.html", form=form, next=next_url)


@bp.route("/sign-in-link", methods=["GET", "POST"])
@limiter.limit("5 per 15 minutes", methods=["POST"])
def request_sign_in_link() -> Any:
    form = EmailOnlyForm()
    if request.method == "POST":
        email, locale, base_url = form.email.data or "", _locale(), current_app.config["BASE_URL"]
        code_form = SignInCodeForm()
        code_form.email.data = form.email.data
        # The same answer in the same time for any address: the account is looked up,
        # and the link mailed, once the answer has been sent.
        return after_response(
            make_response(render_template("intake/sign_in_sent.html", form=code_form)),
            lambda: accounts.request_sign_in_link(
                db.session, email, base_url=base_url, locale=locale
            ),
            lasting=ACCOUNT_LOOKUP_SECONDS,
        )
    return render_template("intake/sign_in_request.html", form=form)


@bp.route("/sign-in/code", methods=["GET", "POST"])
@limiter.limit("10 per 15 minutes", methods=["POST"])
def sign_in_with_code() -> Any:
    form = SignInCodeForm()
    if request.method == "GET":
        return render_template("intake/sign_in_sent.html", form=form)
    result = accounts.sign_in_with_code(
        db.session, form.email.data or "", form.code.data or "", request.headers.get("User-Agent")
    )
    if result is None:
        g.keep_changes = True  # the wrong attempt counts
        form.code.errors = [
            _(
                "That code is not right, or it has expired. Check the newest "
                "email, or ask for a new one."
            )
        ]
        return render_template("intake/sign_in_sent.html", form=form), 401
    user, _token = result
    session.clear()
    login_user(user)
    return redirect(url_for("intake.my_applications"))


@bp.route("/sign-in/<token>", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def sign_in(token: str) -> Any:
    # Opening the link only shows a button: mail scanners that follow links must not use it.
    if request.method == "GET":
        return render_template("intake/sign_in.html", token=token)
    user, _token = accounts.sign_in_with_link(db.session, token, request.headers.get("User-Agent"))
    session.clear()
    login_user(user)
    return redirect(url_for("intake.my_applications"))
