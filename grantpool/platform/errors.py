"""Domain errors. Services raise these; one place (platform.web) turns them into responses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from flask_babel import lazy_gettext as _l


class DomainError(Exception):
    status_code = 400
    code = "domain_error"
    default_message = _l("The request could not be completed.")

    def __init__(self, message: str | None = None) -> None:
        self.message = message if message is not None else self.default_message
        super().__init__(str(self.message))


class NotPermitted(DomainError):
    status_code = 403
    code = "not_permitted"
    default_message = _l("You do not have permission to do that.")


class NotFound(DomainError):
    status_code = 404
    code = "not_found"
    default_message = _l("We could not find that page.")


class InvalidTransition(DomainError):
    status_code = 409
    code = "invalid_transition"
    default_message = _l("That change is not possible in the current state.")


class InsufficientFunds(DomainError):
    status_code = 409
    code = "insufficient_funds"
    default_message = _l("There is not enough money available for that.")


class ValidationFailed(DomainError):
    """Bad input. `errors` maps a field name to its messages; '' holds form-wide messages."""

    status_code = 422
    code = "validation_failed"
    default_message = _l("Some of the information is missing or not valid.")

    def __init__(
        self,
        errors: Mapping[str, str | Sequence[str]] | None = None,
        message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.errors: dict[str, list[str]] = {}
        for field, messages in (errors or {}).items():
            if isinstance(messages, str):
                self.errors[field] = [messages]
            else:
                self.errors[field] = [str(m) for m in messages]

    @classmethod
    def single(cls, field: str, message: str) -> ValidationFailed:
        return cls({field: [message]})


class UnreadableInput(ValidationFailed):
    """Input no view should see: text that cannot be stored (a NUL character, a lone
    surrogate), JSON nested too deeply or a number beyond 64 bits. Refused before any view
    runs (platform.web), with the field it was found in."""

    status_code = 400
    code = "unreadable_input"
    default_message = _l("Part of the request cannot be read.")


class StorageUnavailable(ValidationFailed):
    """The file store did not answer in time or failed on its side: nothing was stored, and
    the same upload can be tried again. It is a ValidationFailed with the message at the
    field `file`, so a form that shows an upload's errors beside its question (and keeps
    the other answers) shows this one there too; on its own it answers 503."""

    status_code = 503
    code = "storage_unavailable"
    default_message = _l(
        "The file store is not answering. Try again in a minute; your answers are kept."
    )

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message=message)
        self.errors = {"file": [str(self.message)]}
