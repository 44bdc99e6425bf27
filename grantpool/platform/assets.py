"""Static files: fingerprinted URLs, long caching, compression and the favicon.

`url_for('static', filename=...)` adds `?v=<hash of the file's content>`. A request whose
`v` is the file's current hash is answered with a year-long immutable cache: the URL
changes whenever the content does, so a browser on a slow link fetches the stylesheet
once and never asks again. A request without `v`, or with another file's or an old hash,
gets a short cache and revalidates with the ETag.

Hashes are computed once when the app starts. In development they are checked against
each file's modification time, so an edited stylesheet gets a new URL at the next page
without a restart.

Responses are compressed by Flask-Compress (brotli when the client asks for it, else
gzip), for text formats only: PDFs, spreadsheets and images are compressed already.
Streamed exports stay streamed: they are compressed chunk by chunk as they are written.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, request
from flask_compress import Compress

FINGERPRINT_ARG = "v"
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=300"
FAVICON = "favicon.svg"

COMPRESSED_MIMETYPES = [
    "text/html",
    "text/css",
    "text/plain",
    "text/csv",
    "text/xml",
    "application/xml",
    "application/json",
    "application/geo+json",
    "application/problem+json",
    "application/javascript",
    "image/svg+xml",
]

compress = Compress()


@dataclass(frozen=True)
class _Fingerprint:
    mtime_ns: int
    size: int
    digest: str


def _digest(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()[:12]


class StaticFingerprints:
    """The content hash of every file under the static folder."""

    def __init__(self, folder: str | os.PathLike[str], *, watch: bool = False) -> None:
        self.folder = Path(folder).resolve()
        self.watch = watch
        self._known: dict[str, _Fingerprint] = {}
        self._lock = threading.Lock()
        if self.folder.is_dir():
            for path in self.folder.rglob("*"):
                if path.is_file():
                    self._remember(path.relative_to(self.folder).as_posix(), path)

    def _remember(self, filename: str, path: Path) -> _Fingerprint | None:
        try:
            stat = path.stat()
            found = _Fingerprint(stat.st_mtime_ns, stat.st_size, _digest(path))
        except OSError:
            return None
        with self._lock:
            self._known[filename] = found
        return found

    def digest(self, filename: str) -> str | None:
        """The hash of static/<filename>, or None for a file that is not there."""
        known = self._known.get(filename)
        if known is not None and not self.watch:
            return known.digest
        path = (self.folder / filename).resolve()
        if not path.is_relative_to(self.folder) or not path.is_file():
            return None
        if known is not None:
            stat = path.stat()
            if (stat.st_mtime_ns, stat.st_size) == (known.mtime_ns, known.size):
                return known.digest
        if not self.watch:
            return None  # added after the start: served, but not fingerprinted
        found = self._remember(filename, path)
        return found.digest if found else None


def _fingerprints() -> StaticFingerprints:
    fingerprints: StaticFingerprints = current_app.extensions["grantpool.assets"]
    return fingerprints


def _add_fingerprint(endpoint: str, values: dict[str, Any]) -> None:
    if endpoint != "static" or FINGERPRINT_ARG in values:
        return
    filename = values.get("filename")
    if filename:
        digest = _fingerprints().digest(str(filename))
        if digest is not None:
            values[FINGERPRINT_ARG] = digest


def _cache_static(response: Response) -> Response:
    if request.endpoint != "static" or response.status_code not in (200, 304):
        return response
    filename = (request.view_args or {}).get("filename")
    asked = request.args.get(FINGERPRINT_ARG)
    current = _fingerprints().digest(str(filename)) if filename else None
    fingerprinted = asked is not None and asked == current
    response.headers["Cache-Control"] = IMMUTABLE if fingerprinted else SHORT
    return response


def _close_what_compression_replaces(response: Response) -> Response:
    """Flask-Compress replaces a streamed body (an open static file, an export's
    generator) with a compressing generator over it; closing the response must still
    close the original, or the file stays open and the export's request context is not
    torn down until garbage collection."""
    if response.is_streamed:
        original = response.response
        close = getattr(original, "close", None)
        if close is not None:
            response.call_on_close(close)
    return response


def favicon() -> Response:
    """/favicon.ico for whatever asks without reading the page's <link rel="icon">: the
    same SVG, answered directly (no redirect: one round trip fewer on a slow link), from
    memory (a few hundred bytes, read once: no file is left open)."""
    icon: bytes = current_app.extensions["grantpool.favicon"]
    response = Response(icon, mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "public, max-age=86400"
    response.set_etag(hashlib.sha256(icon).hexdigest()[:16])
    response.make_conditional(request)  # in place: 304 when the browser has this one
    return response


def init_app(app: Flask) -> None:
    """Register before the request-transaction hooks (platform.web): after_request
    functions run in reverse, so compression then happens after the commit, on the
    response as it will be sent."""
    app.config.setdefault("COMPRESS_MIMETYPES", COMPRESSED_MIMETYPES)
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    # Streamed exports and static files are compressed as they are read, chunk by chunk:
    # they keep streaming, in bounded memory, and lose their Content-Length.
    app.config.setdefault("COMPRESS_STREAMS", True)
    app.config.setdefault("COMPRESS_ALGORITHM_STREAMING", ["br", "gzip"])
    app.config.setdefault("COMPRESS_BR_LEVEL", 5)
    compress.init_app(app)
    app.after_request(_close_what_compression_replaces)  # runs before compression

    assert app.static_folder is not None
    app.extensions["grantpool.assets"] = StaticFingerprints(
        app.static_folder, watch=app.config.get("ENV") == "development" or app.debug
    )
    app.url_defaults(_add_fingerprint)
    app.after_request(_cache_static)
    app.extensions["grantpool.favicon"] = (Path(app.static_folder) / FAVICON).read_bytes()
    app.add_url_rule("/favicon.ico", "favicon", favicon, methods=["GET"])
