"""The pages a visitor reads before signing in: the open calls and each call's page."""

from __future__ import annotations

from typing import Any

from flask import render_template

from ..calls import services as calls
from ..extensions import db
from ..platform.time import now_utc
from ..platform.web import reads_only
from .views import _call, bp


@bp.get("/calls")
@reads_only
def open_calls() -> Any:
    now = now_utc()
    return render_template("intake/calls.html", calls=calls.public_calls(db.session, now), now=now)


@bp.get("/calls/<int:call_id>")
@reads_only
def call_page(call_id: int) -> Any:
    call = _call(call_id)
    return render_template("intake/call.html", call=call, accepting=call.is_accepting(now_utc()))
