"""Registration and signing in without a password: by an emailed link or six-digit code.

Each form carries `next`, the page the person was on (a draft's section, a call), so
signing in, by link or by code, brings them back there rather than to a start page.

Throttling is per email address and per organisation name as well as per network
address: a workshop of twenty groups shares one mobile connection, so the per-address
limits are generous and the strict ones follow what was typed.
"""

from __future__ import annotations

import datetime as dt
import functools
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import (
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import format_timedelta
from flask_babel import gettext as _
from flask_limiter.errors import RateLimitExceeded
from flask_login import current_user, login_user

from ..accounts import services as accounts
from ..accounts.forms import EmailOnlyForm
from ..accounts.views import local_path, render_sign_in_page, safe_next
from ..extensions import db, limiter
from ..platform.constant_time import (
    ACCOUNT_LOOKUP_SECONDS,
    REGISTRATION_SECONDS,
    lasting_at_least,
    quietly_committed,
)
from ..platform.errors import ValidationFailed
from ..platform.forms import Form
from . import services
from .forms import RegistrationForm, SignInCodeForm
from .views import _locale, bp

# Per network address: generous, so twenty groups on one connection all get through.
REGISTRATIONS_PER_ADDRESS = "60 per hour"
SIGN_IN_REQUESTS_PER_ADDRESS = "60 per 15 minutes"
CODE_ATTEMPTS_PER_ADDRESS = "60 per 15 minutes"
LINK_USES_PER_ADDRESS = "60 per minute"  # a link's token cannot be guessed
# Per what was typed: strict. Only registrations that went ahead count (one that is sent
# back to fix a field does not), so a person correcting a typo is not locked out.
REGISTRATIONS_PER_EMAIL = "5 per hour"
REGISTRATIONS_PER_ORGANISATION = "5 per hour"
SIGN_IN_REQUESTS_PER_EMAIL = "5 per 15 minutes"

View = TypeVar("View", bound=Callable[..., Any])


# Limiter keys -----------------------------------------------------------------------------


def _posted_email() -> str:
    email = request.form.get("email")
    if not email and current_user.is_authenticated:
        email = current_user.email
    return accounts.normalise_email(email or "")


def _posted_organisation_name() -> str:
    return " ".join((request.form.get("organisation_name") or "").casefold().split())


def _email_key() -> str:
    return f"email:{_posted_email()}"


def _organisation_key() -> str:
    return f"organisation-name:{_posted_organisation_name()}"


def _no_email() -> bool:
    return not _posted_email()


def _no_organisation_name() -> bool:
    return not _posted_organisation_name()


def _went_ahead(response: Any) -> bool:
    return bool(response.status_code < 400)


def _form_again_when_throttled(render: Callable[[str], Any]) -> Callable[[View], View]:
    """Outside a view's limits: when one is reached, the same form again (429), with what
    was typed and when to try again in words; the limiter adds the Retry-After header."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return view(*args, **kwargs)
            except RateLimitExceeded:
                breached = limiter.current_limit
                seconds = max(1, breached.reset_at - int(time.time())) if breached else 60
                when = format_timedelta(
                    dt.timedelta(seconds=seconds), threshold=1.0, add_direction=True
                )
                message = _(
                    "Too many tries in a short time. What you typed is kept: send it again "
                    "%(when)s.",
                    when=when,
                )
                return render(message), 429

        return wrapper  # type: ignore[return-value]

    return decorate


def _with_message(form: Form, message: str) -> Form:
    form.form_errors.append(message)
    return form


def _register_page_again(message: str) -> str:
    form = RegistrationForm(signed_in=current_user.is_authenticated)
    return render_template(
        "intake/register.html",
        form=_with_message(form, message),
        next=local_path(request.form.get("next")),
    )


def _sign_in_page_again(message: str) -> str:
    form = EmailOnlyForm()
    form.next.data = local_path(form.next.data)
    return render_sign_in_page(link_form=_with_message(form, message))


def _code_page_again(message: str) -> str:
    form = SignInCodeForm()
    form.next.data = local_path(form.next.data)
    return render_template("intake/sign_in_sent.html", form=_with_message(form, message))


# Registering ------------------------------------------------------------------------------


@bp.route("/register", methods=["GET", "POST"])
@_form_again_when_throttled(_register_page_again)
@limiter.limit(REGISTRATIONS_PER_ADDRESS, methods=["POST"])
@limiter.limit(
    REGISTRATIONS_PER_EMAIL,
    key_func=_email_key,
    methods=["POST"],
    deduct_when=_went_ahead,
    exempt_when=_no_email,
)
@limiter.limit(
    REGISTRATIONS_PER_ORGANISATION,
    key_func=_organisation_key,
    methods=["POST"],
    deduct_when=_went_ahead,
    exempt_when=_no_organisation_name,
)
def register() -> Any:
    signed_in = current_user.is_authenticated
    # The answers of a call page's eligibility check, carried here: asked once only.
    carried = {k: request.args[k] for k in ("org_type", "country", "area") if request.args.get(k)}
    form = RegistrationForm(signed_in=signed_in, data=carried or None)
    next_url = local_path(request.values.get("next"))
    if request.method != "POST":
        return render_template("intake/register.html", form=form, next=next_url)
    locale, base_url = _locale(), current_app.config["BASE_URL"]
    if signed_in:
        try:
            services.register_applicant(db.session, current_user, form.command(), locale=locale)
        except ValidationFailed as failure:
            form.add_errors(failure)
            return render_template("intake/register.html", form=form, next=next_url), 422
        flash(_("Your organisation is registered."), "success")
        return redirect(safe_next(next_url, "intake.my_applications"))
    # Signed out, the answer must not tell whether the address already has an account:
    # either way the person is sent a link and a code, and the same page asks for the
    # code; registering and mailing take the same time whatever was found. A new
    # account is signed in by its code, which also shows the address is theirs.
    try:
        with lasting_at_least(REGISTRATION_SECONDS):
            user, organisation = services.register_applicant(
                db.session, None, form.command(), locale=locale
            )
            if organisation is None:
                template, more = "already_registered", {}
            else:
                template, more = "registered", {"organisation": organisation.name}
            quietly_committed(
                lambda: accounts.request_sign_in_link(
                    db.session,
                    user.email,
                    base_url=base_url,
                    locale=locale,
                    next_path=next_url,
                    template=template,
                    **more,
                )
            )
    except ValidationFailed as failure:
        form.add_errors(failure)
        return render_template("intake/register.html", form=form, next=next_url), 422
    session.clear()
    code_form = SignInCodeForm(formdata=None)
    code_form.email.data, code_form.next.data = (form.email.data or "").strip(), next_url
    return render_template("intake/sign_in_sent.html", form=code_form, registering=True)


# Signing in -------------------------------------------------------------------------------


@bp.route("/sign-in-link", methods=["GET", "POST"])
@_form_again_when_throttled(_sign_in_page_again)
@limiter.limit(SIGN_IN_REQUESTS_PER_ADDRESS, methods=["POST"])
@limiter.limit(
    SIGN_IN_REQUESTS_PER_EMAIL, key_func=_email_key, methods=["POST"], exempt_when=_no_email
)
def request_sign_in_link() -> Any:
    if request.method != "POST":  # one sign-in page, offering every way
        next_path = local_path(request.args.get("next")) or None
        return redirect(url_for("accounts.login", next=next_path))
    form = EmailOnlyForm()
    email, next_path = form.email.data or "", local_path(form.next.data)
    locale, base_url = _locale(), current_app.config["BASE_URL"]
    code_form = SignInCodeForm(formdata=None)
    code_form.email.data, code_form.next.data = email, next_path
    # The same answer in the same time for any address.
    with lasting_at_least(ACCOUNT_LOOKUP_SECONDS):
        quietly_committed(
            lambda: accounts.request_sign_in_link(
                db.session, email, base_url=base_url, locale=locale, next_path=next_path
            )
        )
    return render_template("intake/sign_in_sent.html", form=code_form)


@bp.route("/sign-in/code", methods=["GET", "POST"])
@_form_again_when_throttled(_code_page_again)
@limiter.limit(CODE_ATTEMPTS_PER_ADDRESS, methods=["POST"])
def sign_in_with_code() -> Any:
    form = SignInCodeForm()
    if request.method != "POST":
        form.next.data = local_path(request.args.get("next"))
        return render_template("intake/sign_in_sent.html", form=form)
    form.next.data = local_path(form.next.data)
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
    return redirect(safe_next(form.next.data, "intake.my_applications"))


@bp.route("/sign-in/<token>", methods=["GET", "POST"])
@limiter.limit(LINK_USES_PER_ADDRESS, methods=["POST"])
def sign_in(token: str) -> Any:
    next_path = local_path(request.values.get("next"))
    # Opening the link only shows a button: mail scanners that follow links must not use it.
    if request.method != "POST":
        return render_template("intake/sign_in.html", token=token, next=next_path)
    user, _token = accounts.sign_in_with_link(db.session, token, request.headers.get("User-Agent"))
    session.clear()
    login_user(user)
    return redirect(safe_next(next_path, "intake.my_applications"))
