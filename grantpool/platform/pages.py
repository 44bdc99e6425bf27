"""Pages about the service itself, linked from every page's footer: the privacy notice."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, current_app, redirect, render_template

bp = Blueprint("pages", __name__)


@bp.get("/privacy")
def privacy() -> Any:
    """What is kept, who sees it and how a partner is credited, in plain words; or the
    fund manager's own notice, when PRIVACY_NOTICE_URL names one."""
    own_notice = current_app.config.get("PRIVACY_NOTICE_URL")
    if own_notice:
        return redirect(own_notice)
    return render_template(
        "pages/privacy.html",
        fund_manager=current_app.config["FUND_MANAGER_NAME"],
        contact_email=current_app.config["CONTACT_EMAIL"],
        min_cell=current_app.config["PUBLICATION_MIN_CELL"],
        retention_hours=current_app.config["UPLOAD_RETENTION_HOURS"],
    )


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
