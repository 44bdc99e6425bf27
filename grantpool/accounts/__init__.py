"""People, sign-in, roles and API tokens."""

from flask import Flask


def init_app(app: Flask) -> None:
    """What templates need from accounts: the words for each role."""
    from .rules import ROLE_LABELS

    app.jinja_env.globals["role_labels"] = ROLE_LABELS
