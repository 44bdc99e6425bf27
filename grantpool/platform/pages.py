"""Pages about the service itself, linked from every page's footer: the privacy notice."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, current_app, redirect, render_template
from flask_babel import gettext as _

bp = Blueprint("pages", __name__)

UNNAMED = "the fund manager"  # FUND_MANAGER_NAME's default


def fund_manager_name() -> str:
    """Who runs the service, as set; unset, "the fund manager" in the reader's language."""
    name = str(current_app.config.get("FUND_MANAGER_NAME") or "")
    return name if name and name != UNNAMED else _("the fund manager")


@bp.get("/privacy")
def privacy() -> Any:
    """What is kept, who sees it and how a partner is credited, in plain words; or the
    fund manager's own notice, when PRIVACY_NOTICE_URL names one."""
    own_notice = current_app.config.get("PRIVACY_NOTICE_URL")
    if own_notice:
        return redirect(own_notice)
    return render_template(
        "pages/privacy.html",
        fund_manager=fund_manager_name(),
        contact_email=current_app.config["CONTACT_EMAIL"],
        min_cell=current_app.config["PUBLICATION_MIN_CELL"],
        retention_hours=current_app.config["UPLOAD_RETENTION_HOURS"],
    )


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals["fund_manager_name"] = fund_manager_name
