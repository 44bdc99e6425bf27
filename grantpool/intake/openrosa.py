"""OpenRosa endpoints for ODK Collect, KoBoCollect and Enketo (Form List and Form
Submission APIs; see shared/standards/odk/OPENROSA.md).

Setting up a device: in ODK Collect, Settings → Project → Server, enter

    URL       https://<host>/odk/o/<organisation id>
    Username  the e-mail address of a person who belongs to that organisation
    Password  one of that person's API tokens (Account → API tokens)

Collect adds /formList and /submission itself. A person who belongs to just one
organisation may use https://<host>/odk instead. The token is sent with HTTP Basic
authentication (OpenRosa allows Basic or Digest; Digest would need a reversible or
per-realm secret, and tokens are only kept as hashes), so in production it is only
accepted over HTTPS. Revoking the token cuts the device off. Enketo and other OpenRosa
tools use the same URL and credentials; an ``Authorization: Bearer <token>`` header works
too. The form itself (downloadUrl) is public, like the call it belongs to.
"""

from __future__ import annotations

from typing import IO, Any
from xml.etree.ElementTree import Element, SubElement, tostring

from flask import Blueprint, Response, current_app, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import HTTPException
from werkzeug.http import http_date

from ..accounts.models import User
from ..accounts.services import user_for_api_token
from ..extensions import db
from ..organisations.models import Organisation
from ..platform.errors import DomainError, NotFound, NotPermitted, ValidationFailed
from ..platform.permissions import require
from ..platform.time import now_utc
from ..platform.web import CSRF_EXEMPT_PREFIXES
from . import odk

bp = Blueprint("openrosa", __name__, url_prefix="/odk")
# Devices authenticate every request themselves and hold no CSRF token.
CSRF_EXEMPT_PREFIXES.append("/odk/")

RESPONSE_NS = "http://openrosa.org/http/response"
FORM_LIST_NS = "http://openrosa.org/xforms/xformsList"
DEFAULT_ACCEPT_CONTENT_LENGTH = 10 * 1024 * 1024
# Servers that write their own Date header on every response. Werkzeug's development
# server (through http.server's send_response) also passes the application's Date along,
# which made two. gunicorn's HTTP/1 workers drop the application's Date and Server as
# hop-by-hop headers (util.hop_headers) and write their own; its HTTP/2 and ASGI paths
# add one when it is missing. Under either server the Date is theirs; under any other
# (and the Flask test client) the application writes it.
SERVERS_WRITING_DATE = ("gunicorn/", "werkzeug/")


class BadOpenRosaRequest(DomainError):
    status_code = 400
    code = "bad_openrosa_request"


class Unauthenticated(DomainError):
    status_code = 401
    code = "unauthenticated"


def _xml(root: Element) -> bytes:
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(root, encoding="utf-8")


def openrosa_response(message: str, status: int, nature: str = "") -> Response:
    root = Element("OpenRosaResponse", {"xmlns": RESPONSE_NS, "items": "0"})
    SubElement(root, "message", {"nature": nature}).text = message
    return Response(_xml(root), status=status, content_type="text/xml; charset=utf-8")


@bp.after_request
def _openrosa_headers(response: Response) -> Response:
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or DEFAULT_ACCEPT_CONTENT_LENGTH
    response.headers["X-OpenRosa-Version"] = "1.0"
    response.headers["X-OpenRosa-Accept-Content-Length"] = str(limit)
    # OpenRosa asks for exactly one Date on every response.
    response.headers.remove("Date")
    server = str(request.environ.get("SERVER_SOFTWARE") or "").lower()
    if not server.startswith(SERVERS_WRITING_DATE):
        response.headers["Date"] = http_date(now_utc())
    locale = get_locale()
    response.headers.setdefault("Content-Language", locale.language if locale else "en")
    return response


@bp.errorhandler(DomainError)
def _domain_error(exc: DomainError) -> Response:
    message = str(exc.message)
    if isinstance(exc, ValidationFailed) and exc.errors:
        # A submission's errors are keyed by the questions' labels (odk.receive_submission);
        # a label often ends in "?", so a dash, not a colon, leads to what is wrong.
        details = [
            f"{key} — {' '.join(messages)}" if key else " ".join(messages)
            for key, messages in exc.errors.items()
        ]
        message = "\n".join([message, *details]).strip()
    response = openrosa_response(message, exc.status_code, "error")
    if exc.status_code == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="grantpool", charset="UTF-8"'
    return response


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Any:
    if exc.code is None or exc.code < 400:
        return exc
    messages = {
        405: _("That action is not allowed here."),
        413: _("What you sent is too large."),
    }
    return openrosa_response(
        str(messages.get(exc.code, exc.description or exc.name)), exc.code, "error"
    )


# Who is asking -------------------------------------------------------------------------------


def _device_user() -> User:
    """The person whose API token the device sends (HTTP Basic password, or Bearer)."""
    if request.headers.get("X-OpenRosa-Version") != "1.0":
        raise BadOpenRosaRequest(_("Send the header X-OpenRosa-Version: 1.0."))
    auth = request.authorization
    secret, username = "", None
    if auth is not None and auth.type == "basic":
        secret, username = auth.password or "", (auth.username or "").strip().lower()
        if current_app.config.get("ENV") == "production" and not request.is_secure:
            raise NotPermitted(_("Use https:// in the server address."))
    elif auth is not None and auth.type == "bearer":
        secret = auth.token or ""
    user = user_for_api_token(db.session, secret) if secret else None
    if user is None or (username is not None and username != user.email):
        raise Unauthenticated(
            _("Sign in with your e-mail address and one of your API tokens as the password.")
        )
    return user


def _organisation(user: User, organisation_id: int | None) -> Organisation:
    if organisation_id is None:
        ids = sorted(user.organisation_ids())
        if len(ids) != 1:
            raise NotPermitted(
                _(
                    "You act for several organisations (or none): use the server address "
                    "that names one, /odk/o/<organisation number>."
                )
            )
        organisation_id = ids[0]
    organisation = db.session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound()
    if not user.belongs_to(organisation.id):
        raise NotPermitted(_("You do not act for this organisation."))
    return organisation


# Form List API --------------------------------------------------------------------------------


@bp.get("/formList")
@bp.get("/o/<int:organisation_id>/formList")
def form_list(organisation_id: int | None = None) -> Response:
    organisation = _organisation(_device_user(), organisation_id)
    only = request.args.get("formID")
    verbose = request.args.get("verbose") == "true"
    language = (request.accept_languages.best or "en").split("-")[0]
    root = Element("xforms", {"xmlns": FORM_LIST_NS})
    for call in odk.odk_calls(db.session, organisation):
        form = odk.xform_for(call)
        if only and only != form.form_id:
            continue
        item = SubElement(root, "xform")
        SubElement(item, "formID").text = form.form_id
        SubElement(item, "name").text = call.title_in(language)
        SubElement(item, "version").text = form.version
        SubElement(item, "hash").text = form.md5
        if verbose:
            SubElement(item, "descriptionText").text = call.description_in(language)
        SubElement(item, "downloadUrl").text = url_for(
            "openrosa.form_xml", call_id=call.id, _external=True
        )
    return Response(_xml(root), content_type="text/xml; charset=utf-8")


@bp.get("/forms/<int:call_id>/form.xml")
def form_xml(call_id: int) -> Response:
    _call, form = odk.published_form(db.session, call_id)
    return Response(form.xml, content_type="text/xml; charset=utf-8")


@bp.get("/forms/<int:call_id>/xlsform.xlsx")
def xlsform(call_id: int) -> Response:
    """The XLSForm, for a fund manager who runs the call on KoBoToolbox or ODK Central."""
    if not current_user.is_authenticated:
        raise NotFound()
    call, form = odk.published_form(db.session, call_id)
    require(current_user, "call.manage", call)
    return Response(
        form.xlsform,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={
            "Content-Disposition": f'attachment; filename="{form.form_id}-{form.version}.xlsx"'
        },
    )


# Form Submission API ---------------------------------------------------------------------------


@bp.route("/submission", methods=["HEAD", "GET"])
@bp.route("/o/<int:organisation_id>/submission", methods=["HEAD", "GET"])
def submission_check(organisation_id: int | None = None) -> Response:
    """ODK Collect asks first, to settle authentication; it needs a 204."""
    _organisation(_device_user(), organisation_id)
    return Response(status=204)


@bp.post("/submission")
@bp.post("/o/<int:organisation_id>/submission")
def submission(organisation_id: int | None = None) -> Response:
    user = _device_user()
    organisation = _organisation(user, organisation_id)
    part = request.files.get("xml_submission_file")
    if part is not None:
        xml = part.stream.read(odk.MAX_SUBMISSION_XML + 1)
    else:
        xml = request.form.get("xml_submission_file", "").encode("utf-8")
    parsed = odk.parse_submission(xml)
    attachments: dict[str, IO[bytes]] = {}
    for name, upload in request.files.items(multi=True):
        if name == "xml_submission_file":
            continue
        # The part is named after the file the form refers to; some clients only set
        # the filename of the part.
        attachments.setdefault(name, upload.stream)
        if upload.filename:
            attachments.setdefault(upload.filename, upload.stream)
    languages = [user.locale or "", *request.accept_languages.values()]
    received = odk.receive_submission(
        db.session, user, organisation, parsed, attachments, languages=languages
    )
    application = received.application
    if received.duplicate:
        return openrosa_response(
            _(
                "This form was already received as application %(reference)s.",
                reference=application.reference,
            ),
            202,
            "submit_success",
        )
    return openrosa_response(
        _(
            "Application %(reference)s received. Thank you.",
            reference=application.reference,
        ),
        201,
        "submit_success",
    )
