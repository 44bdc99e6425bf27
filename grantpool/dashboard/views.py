"""The dashboard pages: a fund's figures with charts and tables, their exports, the donor
report PDF, and (when PUBLIC_DASHBOARD is on) the public transparency page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from itertools import islice
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from ..extensions import db
from ..organisations.rules import is_valid_country
from ..platform.errors import NotFound
from ..platform.pagecache import FragmentCache, data_version
from ..platform.permissions import can, require
from ..platform.time import now_utc
from ..platform.web import parse_filter_day, parse_whole_number, reads_only
from ..publishing.queries import iter_public_records
from . import exports, queries
from .charts import bar_chart
from .pdf import donor_report
from .tables import (
    Table,
    build_tables,
    chart_points,
    credits_table,
    display_rows,
    public_tables,
)

bp = Blueprint("dashboard", __name__)


def _language() -> str:
    return str(get_locale() or "en")


def parse_filters(args: Any) -> tuple[queries.Filters, dict[str, str]]:
    """The filters in a query string; a value that does not parse is named in `errors`
    and left out, so the reader sees why the figures are not narrowed."""
    errors: dict[str, str] = {}

    def day(name: str) -> dt.date | None:
        text = (args.get(name) or "").strip()
        if not text:
            return None
        day = parse_filter_day(text)  # None too for a year such as 0001 or 9999
        if day is None:
            errors[name] = _("Enter a date such as 2026-01-31.")
        return day

    start, end = day("from"), day("to")
    if start and end and end < start:
        errors["to"] = _("The end of the period must come after its start.")
        end = None
    call_text = (args.get("call") or "").strip()
    call_id = parse_whole_number(call_text, minimum=1)
    if call_text and call_id is None:
        errors["call"] = _("Choose a call.")
    country = (args.get("country") or "").strip().upper() or None
    if country and not is_valid_country(country):
        errors["country"] = _("Choose a country.")
        country = None
    return queries.Filters(start, end, call_id, country), errors


def _scope(fund_id: int) -> queries.FundScope:
    scope = queries.fund_scope(db.session, fund_id)
    if scope is None:
        raise NotFound()
    return scope


def _donor_ids(scope: queries.FundScope) -> set[int] | None:
    """The donors whose rows this reader sees: all (None) for staff, else its own."""
    if can(current_user, "dashboard.see_all_donors", scope):
        return None
    return queries.viewer_donor_ids(current_user)


def _board(scope: queries.FundScope, filters: queries.Filters) -> queries.Dashboard:
    return queries.dashboard(db.session, scope.fund, filters, donor_ids=_donor_ids(scope))


def _charts(tables: list[Table]) -> dict[str, Markup]:
    return {
        t.key: Markup(bar_chart(f"chart-{t.key}", t.title, points))  # noqa: S704 - escaped
        for t in tables
        if (points := chart_points(t))
    }


def _period_text(filters: queries.Filters) -> str:
    if filters.start and filters.end:
        return _("From %(start)s to %(end)s", start=filters.start, end=filters.end)
    if filters.start:
        return _("From %(start)s", start=filters.start)
    if filters.end:
        return _("Until %(end)s", end=filters.end)
    return _("Since the fund began")


@bp.get("/dashboard/")
@reads_only
@login_required
def index() -> Any:
    funds = queries.visible_funds(db.session, current_user)
    if len(funds) == 1:
        return redirect(url_for("dashboard.show", fund_id=funds[0].id))
    return render_template("dashboard/index.html", funds=funds)


FILTER_NAMES = ("from", "to", "call", "country")


def _cache() -> FragmentCache:
    """The application's cache of rendered figures, one per worker process (see _figures).
    DASHBOARD_CACHE_SECONDS sets its time-to-live; 0 turns it off."""
    cache = current_app.extensions.get("grantpool.dashboard_cache")
    if cache is None:
        ttl = float(current_app.config.get("DASHBOARD_CACHE_SECONDS", 60))
        cache = current_app.extensions["grantpool.dashboard_cache"] = FragmentCache(ttl=ttl)
    return cache


def _figures(
    scope: queries.FundScope, donor_ids: set[int] | None, public: bool
) -> tuple[Markup, int]:
    """The page's figures, tables and charts as HTML, and the status.

    Kept in the process's FragmentCache (grantpool.platform.pagecache), under the key
    (fund, data version, UTC day, language, the filter arguments as typed, the donors
    whose rows the reader sees, public or not). A request with bad filters is answered
    afresh with its messages, never kept.

    Invariant: the HTML is a function of its key alone. It is rendered from the fund's
    rows as of the data version (the newest audit event's id: every recorded change writes
    one, so any change makes a new key), the day (periods and embargoes end by the day),
    the language, the filters, the donor rows shown and whether the page is the public
    one; `_figures.html` reads nothing else of the request or the reader (no name, no CSRF
    token, no other permission). So it never serves one audience another's page: who may
    open the page is checked before (`dashboard.view` on the fund, or the public page
    being switched on), and what differs between two readers allowed on one fund is in
    the key: staff see every donor (None), a donor's viewer its own donors' ids, the
    public page no donor (an empty set, with `public` true).

    An entry ends when a change writes an audit event, at the next UTC day, after
    DASHBOARD_CACHE_SECONDS (default 60), or when 64 newer entries push it out. Rows
    written without an audit event (`dashboard-rebuild`, a bulk import) show within the
    time-to-live.
    """
    filters, errors = parse_filters(request.args)
    language = _language()

    def render() -> str:
        board = queries.dashboard(db.session, scope.fund, filters, donor_ids=donor_ids)
        tables = build_tables(board, language)
        if public:
            tables = public_tables(tables)
        return render_template(
            "dashboard/_figures.html",
            board=board,
            tables=tables,
            charts=_charts(tables),
            errors=errors,
            period=_period_text(filters),
            display_rows=display_rows,
            locale=language,
            public=public,
        )

    cache = _cache()
    if errors or cache.ttl <= 0:
        return Markup(render()), (422 if errors else 200)  # noqa: S704 - rendered template
    key = (
        scope.fund.id,
        data_version(db.session),
        now_utc().date(),
        language,
        tuple(request.args.get(name, "") for name in FILTER_NAMES),
        None if donor_ids is None else frozenset(donor_ids),
        public,
    )
    return Markup(cache.get_or_render(key, render)), 200  # noqa: S704 - rendered template


@bp.get("/dashboard/funds/<int:fund_id>")
@reads_only
@login_required
def show(fund_id: int) -> Any:
    scope = _scope(fund_id)
    require(current_user, "dashboard.view", scope)
    figures, status = _figures(scope, _donor_ids(scope), public=False)
    return render_template("dashboard/show.html", fund=scope.fund, figures=figures), status


def _credit_batches(
    scope: queries.FundScope, filters: queries.Filters
) -> Iterator[list[list[Any]]]:
    """Every credited partner of the fund, as table rows, a batch at a time."""
    records = iter_public_records(
        db.session, now_utc(), queries.credit_filters(scope.fund, filters)
    )
    while batch := list(islice(records, 500)):
        yield credits_table(batch).rows


def _export_credits(scope: queries.FundScope, filters: queries.Filters, fmt: str) -> Response:
    table = credits_table([])
    name = f"{scope.fund.id}-{table.key}.{fmt}"
    disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
    if fmt == "csv":
        return Response(
            stream_with_context(exports.stream_csv(table.columns, _credit_batches(scope, filters))),
            mimetype="text/csv; charset=utf-8",
            headers=disposition,
        )
    body = exports.stream_xlsx(table.key, table.columns, _credit_batches(scope, filters))
    return Response(body, mimetype=XLSX, headers=disposition)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.get("/dashboard/funds/<int:fund_id>/export/<key>.<fmt>")
@reads_only
@login_required
def export(fund_id: int, key: str, fmt: str) -> Any:
    scope = _scope(fund_id)
    require(current_user, "dashboard.view", scope)
    filters, _errors = parse_filters(request.args)
    if fmt not in {"csv", "xlsx"}:
        raise NotFound()
    if key == "credits":
        return _export_credits(scope, filters, fmt)
    tables = {t.key: t for t in build_tables(_board(scope, filters), _language())}
    table = tables.get(key)
    if table is None or fmt not in {"csv", "xlsx"}:
        raise NotFound()
    name = f"{scope.fund.id}-{table.key}.{fmt}"
    if fmt == "csv":
        body, mimetype = exports.table_csv(table), "text/csv; charset=utf-8"
    else:
        body, mimetype = exports.table_xlsx(table), XLSX
    return Response(
        body,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.get("/dashboard/funds/<int:fund_id>/report.pdf")
@reads_only
@login_required
def report(fund_id: int) -> Any:
    scope = _scope(fund_id)
    require(current_user, "dashboard.view", scope)
    filters, _errors = parse_filters(request.args)
    tables = build_tables(_board(scope, filters), _language())
    body = donor_report(scope.fund.name, _period_text(filters), tables)
    return Response(
        body,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{scope.fund.id}-donor-report.pdf"'},
    )


# --- the public transparency page ------------------------------------------------------------


def _public_enabled() -> None:
    if not current_app.config.get("PUBLIC_DASHBOARD"):
        raise NotFound()


@bp.get("/transparency/")
@reads_only
def public_index() -> Any:
    _public_enabled()
    funds = queries.all_funds(db.session)
    return render_template("dashboard/public_index.html", funds=funds)


@bp.get("/transparency/funds/<int:fund_id>")
@reads_only
def public_show(fund_id: int) -> Any:
    _public_enabled()
    scope = _scope(fund_id)
    figures, status = _figures(scope, set(), public=True)
    return render_template("dashboard/show.html", fund=scope.fund, figures=figures), status
