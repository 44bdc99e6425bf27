"""The application factory, configuration and request-wide plumbing."""

from __future__ import annotations

import pytest

from config.settings import SETTINGS, load_settings, settings_table
from grantpool import ConfigurationError, create_app
from tests.conftest import csrf_token, login, make_app
from tests.factories import PASSWORD, make_user


def test_production_needs_a_secret_key(monkeypatch, tmp_path):
    monkeypatch.delenv("GRANTPOOL_SECRET_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="GRANTPOOL_SECRET_KEY"):
        create_app({"ENV": "production", "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})


def test_unknown_environment_is_refused(tmp_path):
    with pytest.raises(ConfigurationError, match="development, testing or production"):
        create_app({"ENV": "staging", "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})


def test_environment_variables_override_defaults():
    values = load_settings(
        {
            "GRANTPOOL_UPLOAD_MAX_BYTES": "1234",
            "GRANTPOOL_SQL_ECHO": "true",
            "DATABASE_URL": "postgresql://h/db",
        }
    )
    assert values["UPLOAD_MAX_BYTES"] == 1234
    assert values["SQL_ECHO"] is True
    assert values["DATABASE_URL"] == "postgresql://h/db"
    assert load_settings({})["UPLOAD_MAX_BYTES"] == 10 * 1024 * 1024


def test_readme_lists_every_setting():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert settings_table() in readme, "run `flask grantpool settings` and paste it in README"
    assert all(f"GRANTPOOL_{s.name}" in readme for s in SETTINGS)


def test_development_defaults_to_sqlite_in_instance_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("GRANTPOOL_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("GRANTPOOL_DATABASE_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app({"ENV": "development"})
    assert app.config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'grantpool.sqlite3'}"
    assert app.config["STORAGE_URL"].startswith("file://")
    app.extensions["grantpool.db"].dispose()


def test_request_body_is_capped_also_when_chunked(database_url, tmp_path):
    app = make_app(database_url, tmp_path, MAX_CONTENT_LENGTH=1024)
    client = app.test_client()
    big = b"x" * 4096
    assert (
        client.post("/login", data=big, content_type="application/octet-stream").status_code == 413
    )

    import io

    # A chunked body has no Content-Length; the server must still stop reading at the cap.
    with client.post(
        "/login",
        input_stream=io.BytesIO(b"email=" + b"a" * 8000),
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
        content_type="application/x-www-form-urlencoded",
    ) as response:
        assert response.status_code == 413
        assert "What you sent is too large." in response.get_data(as_text=True)
    app.extensions["grantpool.db"].dispose()


def test_forwarded_address_only_trusted_behind_configured_proxies(database_url, tmp_path):
    from flask import request

    seen = []
    for proxies in (0, 1):
        app = make_app(database_url, tmp_path, TRUSTED_PROXIES=proxies)

        @app.get("/_addr")
        def _addr() -> str:
            seen.append(request.remote_addr)
            return "ok"

        app.test_client().get(
            "/_addr",
            headers={"X-Forwarded-For": "203.0.113.9"},
            environ_base={"REMOTE_ADDR": "10.0.0.1"},
        )
        app.extensions["grantpool.db"].dispose()
    assert seen == ["10.0.0.1", "203.0.113.9"]


def test_unknown_page_is_a_friendly_404_in_html_and_json(client):
    page = client.get("/no/such/page")
    assert page.status_code == 404
    assert "We could not find that page." in page.get_data(as_text=True)
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404
    assert api.get_json()["code"] == "not_found"


def test_failed_request_changes_nothing(client, session):
    """A handler that fails after writing rolls the whole request back."""
    from sqlalchemy import func, select

    from grantpool.organisations.models import Organisation

    manager = make_user(session, "fund_manager")
    login(client, manager.email, PASSWORD)
    before = session.scalar(select(func.count()).select_from(Organisation))
    response = client.post(
        "/organisations/new",
        data={
            "name": "Half Written Group",
            "org_type": "community_based",
            "country": "ZZ",
            "csrf_token": csrf_token(client),
        },
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'value="Half Written Group"' in page  # what was typed is kept
    assert '<a href="#country">' in page  # the summary links to the field
    assert session.scalar(select(func.count()).select_from(Organisation)) == before
