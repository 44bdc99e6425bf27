"""The text of a form whose file made the body too large.

A phone's photo can make a page's body larger than MAX_CONTENT_LENGTH. Refusing the
whole body would lose everything typed on the page with it. For a view that answers an
oversized body itself (platform.web.handles_own_form_failures), the body is read once,
up to a hard ceiling, with every file's bytes counted and dropped: the text fields
become the request's form as usual, the files are left out, and the view is told which
file fields carried a file, to say beside each that it was too large.

The client sends the whole body before it reads the answer anyway; reading it here
costs the transfer, not memory or disk (files are never kept).
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from flask import current_app, request
from werkzeug.datastructures import ImmutableMultiDict, MultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser
from werkzeug.wsgi import get_input_stream

from .bodylimit import TOO_LARGE

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

# Read at most this many times MAX_CONTENT_LENGTH to recover the text; above it, the
# body is refused unread.
READ_AT_MOST = 8


class _Dropped(io.BytesIO):
    """Where a file part's bytes go: counted, never kept (it reads back empty). A binary
    file as Werkzeug's stream_factory is typed to return."""

    def __init__(self) -> None:
        super().__init__()
        self.size = 0

    def write(self, buffer: ReadableBuffer, /) -> int:
        written = memoryview(buffer).nbytes
        self.size += written
        return written


def read_form_without_files() -> set[str] | None:
    """Parse an oversized request's form without its files. Returns the names of the
    file fields that carried a file (left out of `request.files`), or None when the
    body cannot be read (no declared length, chunked and cut, or over the ceiling)."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    length = request.content_length
    if (
        limit is None
        or not length
        or length > limit * READ_AT_MOST
        or request.environ.get(TOO_LARGE)
        or request.mimetype != "multipart/form-data"
    ):
        return None
    parser = FormDataParser(
        stream_factory=lambda *_args, **_kwargs: _Dropped(),
        max_form_memory_size=current_app.config.get("MAX_FORM_MEMORY_SIZE") or 500_000,
        max_form_parts=current_app.config.get("MAX_FORM_PARTS") or 1_000,
        silent=False,
    )
    try:
        stream, form, files = parser.parse(
            get_input_stream(request.environ, max_content_length=None),
            request.mimetype,
            length,
            request.mimetype_params,
        )
    except (ValueError, RequestEntityTooLarge):
        return None  # the text itself is too large, or the body is not a form
    sent = {name for name, upload in files.items(multi=True) if upload.filename}
    # As Werkzeug itself caches a parsed form on the request: the view reads it as usual.
    request.__dict__.update(
        stream=stream,
        form=ImmutableMultiDict(form if isinstance(form, MultiDict) else {}),
        files=ImmutableMultiDict(),
    )
    return sent
