"""Cap chunked request bodies too.

Werkzeug enforces MAX_CONTENT_LENGTH against Content-Length, but a chunked body (no
Content-Length) is silently cut at the limit, so an oversized upload would arrive
truncated instead of refused. This middleware spools a chunked body up to the limit,
gives the app a normal length-delimited stream, and marks the request when it is larger;
platform.web then answers 413 through the usual error page.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.wsgi import ClosingIterator

TOO_LARGE = "grantpool.body_too_large"
_CHUNK = 64 * 1024


class ChunkedBodyLimit:
    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]], limit: Callable[[], int | None]):
        self.wsgi_app = wsgi_app
        self.limit = limit

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        # Transfer-Encoding overrides any Content-Length (RFC 9112 §6.3).
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower() or (
            bool(environ.get("wsgi.input_terminated")) and not environ.get("CONTENT_LENGTH")
        )
        limit = self.limit()
        if chunked and limit is not None:
            spool = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)  # noqa: SIM115
            stream = environ["wsgi.input"]
            size = 0
            while size <= limit:
                chunk = stream.read(min(_CHUNK, limit + 1 - size))
                if not chunk:
                    break
                size += len(chunk)
                spool.write(chunk)
            if size > limit:
                environ[TOO_LARGE] = True
                spool.seek(0)
                spool.truncate()
                size = 0
            spool.seek(0)
            environ["wsgi.input"] = spool
            environ["CONTENT_LENGTH"] = str(size)
            environ.pop("HTTP_TRANSFER_ENCODING", None)
            environ["wsgi.input_terminated"] = False
            return ClosingIterator(self.wsgi_app(environ, start_response), [spool.close])
        return self.wsgi_app(environ, start_response)
