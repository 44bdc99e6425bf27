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
from ..platform.web import reads_only
from . import giving, iati, queries
from .pdf import certificate_pdf

bp = Blueprint("publishing", __name__)

PAGE_SIZE = 50
NO_CACHE = {"Cache-Control": "no-store"}


def _now() -> Any:
    return now_utc()


def _filters() -> queries.Filters:
    year = request.args.get("year", type=int)
    return queries.Filters(
        country=(request.args.get("country") or "").strip().upper()[:2] or None,
        year=year if year and 1900 < year < 3000 else None,
        theme=(request.args.get("theme") or "").strip()[:100] or None,
    )


def _base_url() -> str:
    return str(current_app.config.get("BASE_URL") or request.host_url).rstrip("/")


@bp.get("/published/")
@reads_only
def list_records() -> Any:
    require(current_user, "publication.view")
    filters = _filters()
    after = request.args.get("after", 0, type=int)
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
    return render_template("publishing/show.html", record=_record(grant_id))


@bp.get("/published/<int:grant_id>/certificate.pdf")
@reads_only
def certificate(grant_id: int) -> Response:
    record = _record(grant_id)
    return Response(
        certificate_pdf(record),
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="attribution-{record.reference}.pdf"',
            **NO_CACHE,
        },
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
    records = queries.iter_public_records(db.session, _now())
    chunks = iati.iati_xml(
        records,
        current_app.config["IATI_ORG_REF"],
        current_app.config["OPEN_DATA_PREFIX"],
        now_utc(),
    )
    return _stream(chunks, "application/xml", "iati-activities.xml")
