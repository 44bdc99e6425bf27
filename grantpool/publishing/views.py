"""Public pages and open-data files. No login: every response is computed from the
records as they stand on this request (consent, embargo, safety flag), never cached."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    render_template,
    request,
    stream_with_context,
)
from flask_login import current_user

from ..extensions import db
from ..organisations.rules import country_choices
from ..platform.errors import NotFound
from ..platform.permissions import require
from ..platform.storage import get_storage
from ..platform.time import now_utc
from ..platform.web import query_int, reads_only
from . import giving, iati, queries, verification
from .pdf import certificate_logo, certificate_pdf

bp = Blueprint("publishing", __name__)

PAGE_SIZE = 50
NO_CACHE = {"Cache-Control": "no-store"}


def _now() -> Any:
    return now_utc()


def _filters() -> queries.Filters:
    year = query_int("year", minimum=1901, maximum=2999)
    return queries.Filters(
        country=(request.args.get("country") or "").strip().upper()[:2] or None,
        year=year,
        theme=(request.args.get("theme") or "").strip()[:100] or None,
    )


def _base_url() -> str:
    return str(current_app.config.get("BASE_URL") or request.host_url).rstrip("/")


@bp.get("/published/")
@reads_only
def list_records() -> Any:
    require(current_user, "publication.view")
    filters = _filters()
    after = query_int("after", 0)
    records = []
    for record in queries.iter_public_records(
        db.session, _now(), filters, batch=PAGE_SIZE + 1, after=after
    ):
        records.append(record)
        if len(records) > PAGE_SIZE:
            break
    more = len(records) > PAGE_SIZE
    records = records[:PAGE_SIZE]
    return render_template(
        "publishing/list.html",
        records=records,
        filters=filters,
        next_after=records[-1].grant_id if more else None,
        countries=country_choices(),
        themes=queries.published_themes(db.session, _now()),
    )


def _record(grant_id: int) -> queries.PublicRecord:
    require(current_user, "publication.view")
    record = queries.public_record(db.session, grant_id, _now())
    if record is None:
        raise NotFound()
    return record


@bp.get("/published/<int:grant_id>")
@reads_only
def show_record(grant_id: int) -> Any:
    record = _record(grant_id)
    return render_template(
        "publishing/show.html",
        record=record,
        verify_url=verification.verification_url(record.grant_id),
    )


@bp.get("/published/<int:grant_id>/certificate.pdf")
@reads_only
def certificate(grant_id: int) -> Response:
    record = _record(grant_id)
    now = _now()
    body = certificate_pdf(
        record,
        verify_url=verification.verification_url(record.grant_id),
        issued_on=queries.local_date(now, record.fund_timezone),
        logo=certificate_logo(db.session, grant_id, now),
    )
    return Response(
        body,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="attribution-{record.reference}.pdf"',
            **NO_CACHE,
        },
    )


@bp.get("/published/verify/<code>")
@reads_only
def verify(code: str) -> Any:
    """The address printed on a certificate: whether its record is published now. A
    record that is not says so and nothing more; an unknown or altered code is a 404."""
    require(current_user, "publication.view")
    grant_id = verification.grant_id_from_code(code, current_app.config["SECRET_KEY"])
    if grant_id is None or not verification.grant_exists(db.session, grant_id):
        raise NotFound()
    record = queries.public_record(db.session, grant_id, _now())
    return Response(
        render_template("publishing/verify.html", record=record),
        headers={**NO_CACHE, "X-Robots-Tag": "noindex"},
    )


@bp.get("/published/<int:grant_id>/logo")
@reads_only
def logo(grant_id: int) -> Response:
    require(current_user, "publication.view")
    found = queries.public_logo(db.session, grant_id, _now())
    if found is None:
        raise NotFound()
    key, content_type = found
    with get_storage().open(key) as handle:
        data = handle.read()
    return Response(data, mimetype=content_type, headers=NO_CACHE)


def _stream(chunks: Any, mimetype: str, filename: str) -> Response:
    return Response(
        stream_with_context(chunks),
        mimetype=mimetype,
        headers={"Content-Disposition": f'inline; filename="{filename}"', **NO_CACHE},
    )


@bp.get("/open-data/360giving.json")
@reads_only
def giving_json() -> Response:
    require(current_user, "publication.view")
    prefix = current_app.config["OPEN_DATA_PREFIX"]
    records = queries.iter_public_records(db.session, _now())
    chunks = giving.giving_json(db.session, records, prefix, _base_url(), now_utc())
    return _stream(chunks, "application/json", "360giving.json")


@bp.get("/open-data/360giving.csv")
@reads_only
def giving_csv() -> Response:
    require(current_user, "publication.view")
    prefix = current_app.config["OPEN_DATA_PREFIX"]
    records = queries.iter_public_records(db.session, _now())
    chunks = giving.giving_csv(db.session, records, prefix, _base_url())
    return _stream(chunks, "text/csv", "360giving.csv")


@bp.get("/open-data/iati-activities.xml")
@reads_only
def iati_xml() -> Response:
    require(current_user, "publication.view")
    try:
        publisher = iati.publisher(current_app.config)
    except iati.IatiNotConfigured as exc:
        # Publishing under an invented identity would mislead every reader of the file.
        return Response(
            str(exc), status=503, mimetype="text/plain", headers={"Retry-After": "3600", **NO_CACHE}
        )
    records = queries.iter_public_records(db.session, _now())
    chunks = iati.iati_xml(db.session, records, publisher, _base_url(), now_utc())
    return _stream(chunks, "application/xml", "iati-activities.xml")


@bp.get("/open-data/exclusions")
@reads_only
def exclusions() -> Any:
    """The exclusion policy the IATI file links to: what is withheld, and why."""
    require(current_user, "publication.view")
    try:
        example = iati.publisher(current_app.config).example
    except iati.IatiNotConfigured:
        example = False
    return render_template(
        "publishing/exclusions.html",
        min_cell=queries.min_cell(),
        example=example,
        example_ref=iati.EXAMPLE_ORG_REF,
    )


@bp.get("/open-data/themes")
@reads_only
def themes() -> Any:
    """The codes of the reporting organisation's sector vocabulary (IATI vocabulary 99)."""
    require(current_user, "publication.view")
    published = queries.published_themes(db.session, _now())
    return render_template(
        "publishing/themes.html",
        themes=list({iati.theme_code(t): t for t in published}.items()),
        general=iati.GENERAL_THEME,
    )
