"""Form helpers: WTForms for HTML forms, and a bridge from a service's ValidationFailed
back onto the form's fields, so every message sits next to its field."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import render_template
from flask_wtf import FlaskForm
from wtforms import Field, SelectMultipleField
from wtforms.widgets import CheckboxInput, ListWidget

from .errors import ValidationFailed


class FormRejected(Exception):
    """A service refused what a form sent: the page with the messages beside the fields,
    answered with 422 by platform.web (whose 4xx status also rolls the transaction back)."""

    status_code = 422

    def __init__(self, page: str) -> None:
        super().__init__("form rejected")
        self.page = page


class CheckboxesField(SelectMultipleField):
    """A list of checkboxes; which choices are acceptable is for the service to say."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form: Any) -> None:
        pass


class Form(FlaskForm):
    """Base form. CSRF is checked once per request by platform.web, not again here."""

    class Meta:
        csrf = False

    @contextmanager
    def shows_failures(self, template: str, **context: Any) -> Iterator[None]:
        """Run a service call; if it raises ValidationFailed, its messages go beside this
        form's fields and the request answers with `template` again (form=self, plus
        `context`), status 422, and nothing the call did is kept. The one place a view's
        refused form becomes a response::

            with form.shows_failures("funds/form.html", fund=None):
                fund = services.create_fund(db.session, current_user, form.command())
        """
        try:
            yield
        except ValidationFailed as failure:
            self.add_errors(failure)
            raise FormRejected(render_template(template, form=self, **context)) from failure

    def add_errors(self, failure: ValidationFailed) -> None:
        form_errors: list[str] = []
        for name, messages in failure.errors.items():
            field: Field | None = self._fields.get(name)
            if field is None:
                form_errors.extend(messages)
                continue
            if not isinstance(field.errors, list):
                field.errors = list(field.errors)
            field.errors.extend(messages)
        if form_errors:
            self.form_errors.extend(form_errors)

    def error_list(self) -> list[tuple[str, str]]:
        """(field id, message) pairs for the error summary at the top of the page."""
        pairs: list[tuple[str, str]] = [("", str(m)) for m in self.form_errors]
        for field in self:
            for message in field.errors or []:
                pairs.append((field.id, str(message)))
        return pairs
