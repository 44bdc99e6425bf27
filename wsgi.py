"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi run`."""

from grantpool import create_app

app = create_app()
