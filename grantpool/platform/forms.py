"""Form helpers: WTForms for HTML forms, and a bridge from a service's ValidationFailed
back onto the form's fields, so every message sits next to its field."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import Field, SelectMultipleField
from wtforms.widgets import CheckboxInput, ListWidget

from .errors import ValidationFailed


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
