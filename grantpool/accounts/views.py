"""Sign in and out, invitations, password reset and change, language, API tokens."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
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
from flask_login import current_user, login_required, login_user, logout_user
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.wrappers import Response as BaseResponse

from ..extensions import db, limiter, login_manager
from ..platform.constant_time import ACCOUNT_LOOKUP_SECONDS, lasting_at_least, quietly_committed
from ..platform.errors import ValidationFailed
from ..platform.i18n import LANGUAGE_NAMES, offered_languages, remember_locale, select_locale
from . import services
from .forms import (
    AcceptInvitationForm,
    ApiTokenForm,
    ChangePasswordForm,
    EmailOnlyForm,
    LanguageForm,
    LoginForm,
    NewPasswordForm,
    PasswordResetRequestForm,
)
from .models import LinkPurpose, User

bp = Blueprint("accounts", __name__)

DEVICE_COOKIE = "gp_device"


# flask-login wiring ------------------------------------------------------------------


def _is_token_request(req: Any) -> bool:
    return req.path.startswith("/api/") and req.headers.get("Authorization", "").startswith(
        "Bearer "
    )


@login_manager.user_loader
def _load_user(token: str) -> User | None:
    # A request is a token request or a cookie request, never both: with a bearer header
    # the session cookie is ignored, so a bogus token cannot ride on a signed-in browser
    # past the CSRF check (which token requests skip).
    if _is_token_request(request):
        return None
    return services.load_login_session(db.session, token)


@login_manager.request_loader
def _load_user_from_token(req: Any) -> User | None:
    header = req.headers.get("Authorization", "")
    if not _is_token_request(req):
        return None
    user = services.user_for_api_token(db.session, header[len("Bearer ") :].strip())
    if user is not None:
        g.authenticated_by = "token"
    return user


login_manager.login_view = "accounts.login"
login_manager.login_message = None  # the login page explains itself


# A path on this site: one slash, then no second slash or backslash (which browsers read
# as another host), and no space, control character or line break (which would end the
# Location header and start another).
_LOCAL_PATH = re.compile(r"/(?![/\\])[^\x00-\x20\x7f-\x9f\\]*")


def local_path(target: str | None) -> str:
    """`target` if it is a path on this site, else "": what a form may carry along as the
    page to come back to."""
    if target and _LOCAL_PATH.fullmatch(target):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return ""


def safe_next(target: str | None, default: str = "accounts.home") -> str:
    """Where to go after signing in or choosing a language: a path on this site, else the
    `default` endpoint."""
    return local_path(target) or url_for(default)


# Login throttling -----------------------------------------------------------------------
# Per address: every attempt counts. Per account: failed attempts count, but not from a
# browser that has signed in to that account before (a signed device cookie), so an
# attacker who hammers an account cannot lock its real owner out.


def _device_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="grantpool.device")


def _login_email() -> str:
    return services.normalise_email(request.form.get("email", ""))


def _account_key() -> str:
    return f"login-account:{_login_email()}"


def _known_device() -> bool:
    cookie = request.cookies.get(DEVICE_COOKIE)
    if not cookie:
        return False
    try:
        emails = _device_serializer().loads(cookie)
    except BadSignature:
        return False
    return isinstance(emails, list) and _login_email() in emails


def _remember_device(response: BaseResponse, email: str) -> None:
    emails: list[str] = []
    cookie = request.cookies.get(DEVICE_COOKIE)
    if cookie:
        try:
            loaded = _device_serializer().loads(cookie)
            emails = [e for e in loaded if isinstance(e, str)] if isinstance(loaded, list) else []
        except BadSignature:
            emails = []
    if email not in emails:
        emails = [*emails[-4:], email]
    response.set_cookie(
        DEVICE_COOKIE,
        _device_serializer().dumps(emails),
        max_age=60 * 60 * 24 * 365,
        httponly=True,
        samesite="Lax",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )


def _failed(response: Response) -> bool:
    return response.status_code == 401


# Pages ------------------------------------------------------------------------------


@bp.get("/")
def home() -> Any:
    if current_user.is_authenticated:
        return render_template(
            "accounts/home.html",
            organisations=services.member_organisations(db.session, current_user),
        )
    return render_template("home.html")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("30 per minute; 300 per hour", methods=["POST"])
@limiter.limit(
    "10 per 15 minutes",
    key_func=_account_key,
    methods=["POST"],
    deduct_when=_failed,
    exempt_when=_known_device,
)
def login() -> Any:
    """The one sign-in page: a link and code by email (applicants have no password) or a
    password (staff). Both bring the person back to the page they were on (`next`)."""
    form = LoginForm()
    if request.method != "POST":  # GET, and HEAD like it
        form.next.data = local_path(request.args.get("next"))
        return render_sign_in_page(form)
    if form.validate():
        user = services.authenticate(db.session, form.email.data or "", form.password.data or "")
        if user is not None:
            session.clear()  # no fixation: a fresh session for the signed-in user
            services.start_login_session(db.session, user, request.headers.get("User-Agent"))
            login_user(user, remember=bool(form.remember.data))
            response = redirect(safe_next(form.next.data))
            _remember_device(response, user.email)
            return response
    # One answer for unknown accounts and wrong passwords.
    form.form_errors.append(_("The email address or password is not right."))
    form.password.data = ""
    form.next.data = local_path(form.next.data)
    return render_sign_in_page(form), 401


def render_sign_in_page(
    form: LoginForm | None = None, link_form: EmailOnlyForm | None = None
) -> str:
    """The sign-in page, both ways; whichever form was not sent starts empty, carrying the
    same page to come back to."""
    if form is None:
        form = LoginForm(formdata=None)
        form.next.data = link_form.next.data if link_form is not None else ""
    if link_form is None:
        link_form = EmailOnlyForm(formdata=None)
        link_form.next.data = form.next.data
    return render_template("accounts/login.html", form=form, link_form=link_form)


@bp.post("/logout")
def logout() -> Any:
    # The sign-in page that follows stays in the language the person was reading.
    locale = select_locale()
    if current_user.is_authenticated:
        services.end_login_session(db.session, current_user, current_user.login_token)
        logout_user()
    session.clear()
    flash(_("You have signed out."), "success")
    return remember_locale(redirect(url_for("accounts.login")), locale)


@bp.route("/password/reset", methods=["GET", "POST"])
@limiter.limit("5 per minute; 30 per hour", methods=["POST"])
def password_reset_request() -> Any:
    form = PasswordResetRequestForm()
    if request.method == "POST" and form.validate():
        email, locale = form.email.data or "", select_locale()
        minutes = current_app.config["PASSWORD_RESET_MINUTES"]
        base_url = current_app.config["BASE_URL"]
        # The same answer, in the same time, whether or not the account exists.
        with lasting_at_least(ACCOUNT_LOOKUP_SECONDS):
            quietly_committed(
                lambda: services.request_password_reset(
                    db.session, email, minutes=minutes, base_url=base_url, locale=locale
                )
            )
        return render_template("accounts/password_reset_sent.html")
    return render_template("accounts/password_reset_request.html", form=form), (
        422 if request.method == "POST" else 200
    )


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def password_reset(token: str) -> Any:
    services.find_link(db.session, LinkPurpose.PASSWORD_RESET, token)
    form = NewPasswordForm()
    if request.method == "POST" and form.validate():
        with form.shows_failures("accounts/password_reset.html"):
            user = services.reset_password(
                db.session, token, form.password.data or "", form.confirm.data or ""
            )
        session.clear()
        login_user(user)
        flash(_("Your password has been changed and you are signed in."), "success")
        return redirect(url_for("accounts.home"))
    status = 422 if request.method == "POST" else 200
    return render_template("accounts/password_reset.html", form=form), status


@bp.route("/invitations/<token>", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def accept_invitation(token: str) -> Any:
    link = services.find_link(db.session, LinkPurpose.INVITATION, token)
    form = AcceptInvitationForm()
    if request.method == "GET":
        form.name.data = (link.payload or {}).get("name", "")
    elif form.validate():
        with form.shows_failures("accounts/accept_invitation.html", email=link.email):
            user = services.accept_invitation(
                db.session,
                token,
                name=form.name.data or "",
                password=form.password.data or "",
                confirm=form.confirm.data or "",
                locale=select_locale(),
            )
        session.clear()
        services.start_login_session(db.session, user, request.headers.get("User-Agent"))
        login_user(user)
        flash(_("Welcome to grantpool. Your account is ready."), "success")
        return redirect(url_for("accounts.home"))
    status = 422 if request.method == "POST" else 200
    return render_template("accounts/accept_invitation.html", form=form, email=link.email), status


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password() -> Any:
    form = ChangePasswordForm()
    if request.method == "POST" and form.validate():
        with form.shows_failures("accounts/change_password.html"):
            token = services.change_password(
                db.session,
                current_user,
                form.current.data or "",
                form.password.data or "",
                form.confirm.data or "",
            )
        current_user.login_token = token
        login_user(current_user)
        flash(_("Your password has been changed. Other devices have been signed out."), "success")
        return redirect(url_for("accounts.home"))
    status = 422 if request.method == "POST" else 200
    return render_template("accounts/change_password.html", form=form), status


def _referring_page() -> str:
    if not request.referrer:
        return ""
    parts = urlsplit(request.referrer)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


@bp.post("/language")
def set_language() -> Any:
    form = LanguageForm()
    form.locale.choices = [(code, LANGUAGE_NAMES.get(code, code)) for code in offered_languages()]
    # Back to the page the form was on, e.g. a draft's section, whose saved answers
    # show again in the new language.
    response = redirect(safe_next(form.next.data or _referring_page()))
    if form.validate():
        session["locale"] = form.locale.data
        remember_locale(response, form.locale.data or "en")
        if current_user.is_authenticated:
            services.set_locale(db.session, current_user, form.locale.data or "en")
    return response


@bp.route("/account/tokens", methods=["GET", "POST"])
@login_required
def api_tokens() -> Any:
    form = ApiTokenForm()
    secret = None
    status = 200
    if request.method == "POST":
        if form.validate():
            try:
                _token, secret = services.create_api_token(
                    db.session, current_user, form.name.data or ""
                )
                form.name.data = ""
            except ValidationFailed as failure:
                form.add_errors(failure)
                status = 422
        else:
            status = 422
    tokens = services.list_api_tokens(db.session, current_user)
    response = make_response(
        render_template("accounts/api_tokens.html", form=form, tokens=tokens, secret=secret), status
    )
    return response


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def revoke_api_token(token_id: int) -> Any:
    services.revoke_api_token(db.session, current_user, token_id)
    flash(_("The token has been revoked."), "success")
    return redirect(url_for("accounts.api_tokens"))
