"""Form helpers: WTForms for HTML forms, and a bridge from a service's ValidationFailed
back onto the form's fields, so every message sits next to its field."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import flash, redirect, render_template
from flask_wtf import FlaskForm
from wtforms import Field, SelectMultipleField
from wtforms.widgets import CheckboxInput, ListWidget

from .errors import DomainError, ValidationFailed


class FormRejected(Exception):
    """A service refused what a form sent: the page that says so, with the messages beside
    the fields. platform.web answers with it (status 422 unless the page names its own);
    a 4xx status also rolls the transaction back, so nothing the refused call did is kept."""

    def __init__(self, page: Any) -> None:
        super().__init__("form rejected")
        self.page = page


@contextmanager
def answers_failure(
    page: Callable[[Any], Any], refusals: tuple[type[DomainError], ...] = (ValidationFailed,)
) -> Iterator[None]:
    """Run a service call; if it raises one of `refusals` (bad input by default), the
    request answers with `page(error)` (a body, or a (body, status) pair). For pages that
    show a failure other than beside a form's fields (a score sheet, reasons at the top)."""
    try:
        yield
    except refusals as error:
        raise FormRejected(page(error)) from error


@contextmanager
def flashes_refusal(
    back: str, refusals: tuple[type[DomainError], ...] = (ValidationFailed,)
) -> Iterator[None]:
    """A button's action refused (bad input, or, when named in `refusals`, a state that
    does not allow it): each message is flashed and the person is sent back to `back`."""

    def page(error: DomainError) -> Any:
        if isinstance(error, ValidationFailed) and error.errors:
            for messages in error.errors.values():
                for message in messages:
                    flash(message, "error")
        else:
            flash(str(error.message), "error")
        return redirect(back)

    with answers_failure(page, (ValidationFailed, *refusals)):
        yield


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
    def shows_failures(
        self,
        template: str | Callable[[], Any],
        refusals: tuple[type[DomainError], ...] = (),
        **context: Any,
    ) -> Iterator[None]:
        """Run a service call; if it raises ValidationFailed, its messages go beside this
        form's fields and the request answers with `template` again (form=self, plus
        `context`), status 422, and nothing the call did is kept. `template` may instead
        be a function building the page (its body, or a (body, status) pair). Errors named
        in `refusals` (a state that no longer allows the change, say) are shown at the top
        of the form. The one place a view's refused form becomes a response::

            with form.shows_failures("funds/form.html", fund=None):
                fund = services.create_fund(db.session, current_user, form.command())
        """

        def page(error: DomainError) -> Any:
            if isinstance(error, ValidationFailed):
                self.add_errors(error)
            else:
                self.form_errors.append(str(error.message))
            if callable(template):
                return template()
            return render_template(template, form=self, **context)

        with answers_failure(page, (ValidationFailed, *refusals)):
            yield

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
