"""File storage behind one small interface: a local directory or an S3 bucket (boto3).

Keys are generated here, never taken from a user's file name. Every upload is read once
into a spooled temporary file while its size is counted and its type sniffed from the
content, so nothing is written to the backend unless the whole file is acceptable, and a
failing write leaves nothing behind.

S3 is asked with short timeouts and few attempts (S3_CONNECT_TIMEOUT, S3_READ_TIMEOUT,
S3_MAX_ATTEMPTS): a store that does not answer fails the upload within seconds with
StorageUnavailable (503, "try again") instead of holding the request for minutes.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol
from urllib.parse import unquote, urlparse

import filetype
from flask import Flask, current_app
from flask_babel import gettext as _

from .errors import StorageUnavailable, ValidationFailed
from .time import now_utc

CHUNK = 64 * 1024

# What the service accepts, by sniffed content type.
DOCUMENT_TYPES = frozenset(
    {
        "application/pdf",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "text/plain",
        "text/csv",
    }
)
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})
AUDIO_TYPES = frozenset(
    {
        "audio/mpeg",
        "audio/ogg",
        "audio/mp4",
        "audio/x-m4a",
        "audio/amr",
        "audio/wav",
        "audio/x-wav",
        "audio/webm",
        "video/webm",
        "audio/aac",
    }
)
ANY_ACCEPTED = DOCUMENT_TYPES | IMAGE_TYPES | AUDIO_TYPES


@dataclass(frozen=True)
class StoredFile:
    key: str
    size: int
    content_type: str


def sniff_content_type(head: bytes) -> str | None:
    """The type the bytes say they are, whatever the file is called."""
    kind = filetype.guess(head)
    if kind is not None:
        mime = str(kind.mime)
        if mime == "video/mp4" and b"M4A" in head[:32]:
            return "audio/mp4"
        return mime
    if _looks_like_text(head):
        return "text/plain"
    return None


def _sniff_zip_members(spool: IO[bytes]) -> str:
    """Office documents are zip files; tell them apart by the parts they hold."""
    import zipfile

    spool.seek(0)
    try:
        with zipfile.ZipFile(spool) as archive:
            names = archive.namelist()
            mimetype = ""
            if "mimetype" in names and archive.getinfo("mimetype").file_size < 200:
                mimetype = archive.read("mimetype").decode("ascii", "replace").strip()
    except (zipfile.BadZipFile, OSError):
        return "application/zip"
    if mimetype in DOCUMENT_TYPES:
        return mimetype
    if any(n.startswith("word/") for n in names):
        return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    if any(n.startswith("xl/") for n in names):
        return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return "application/zip"


def _looks_like_text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sniffed window is still text.
        if exc.start < len(head) - 4:
            return False
    return True


def _type_allowed(content_type: str, allowed: frozenset[str]) -> bool:
    if content_type in allowed:
        return True
    return content_type == "text/plain" and "text/csv" in allowed


class Storage(Protocol):
    def save(
        self,
        stream: IO[bytes],
        *,
        max_bytes: int | None = None,
        allowed_types: frozenset[str] = ANY_ACCEPTED,
    ) -> StoredFile: ...

    def open(self, key: str) -> IO[bytes]: ...

    def delete(self, key: str) -> None: ...

    def exists(self, key: str) -> bool: ...


def new_key() -> str:
    now = now_utc()
    return f"{now:%Y/%m}/{uuid.uuid4().hex}"


def _spool(
    stream: IO[bytes], max_bytes: int, allowed_types: frozenset[str]
) -> tuple[tempfile.SpooledTemporaryFile[bytes], int, str]:
    spool: tempfile.SpooledTemporaryFile[bytes] = tempfile.SpooledTemporaryFile(  # noqa: SIM115
        max_size=1024 * 1024
    )
    size = 0
    head = b""
    try:
        while True:
            chunk = stream.read(CHUNK)
            if not chunk:
                break
            size += len(chunk)
            if size > max_bytes:
                raise ValidationFailed.single(
                    "file",
                    _(
                        "The file is too large. The limit is %(limit)s MB.",
                        limit=f"{max_bytes / 1024 / 1024:.0f}"
                        if max_bytes >= 1024 * 1024
                        else f"{max_bytes / 1024 / 1024:.2f}",
                    ),
                )
            if len(head) < 8192:
                head += chunk[: 8192 - len(head)]
            spool.write(chunk)
        if size == 0:
            raise ValidationFailed.single("file", _("The file is empty."))
        content_type = sniff_content_type(head)
        if content_type in {
            "application/zip",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        }:
            content_type = _sniff_zip_members(spool)
        if content_type is None or not _type_allowed(content_type, allowed_types):
            raise ValidationFailed.single(
                "file", _("This kind of file is not accepted here. Check the allowed types.")
            )
        spool.seek(0)
        return spool, size, content_type
    except BaseException:
        spool.close()
        raise


class LocalStorage:
    def __init__(self, root: Path, default_max_bytes: int) -> None:
        self.root = root
        self.default_max_bytes = default_max_bytes

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError("key escapes the storage root")
        return path

    def save(
        self,
        stream: IO[bytes],
        *,
        max_bytes: int | None = None,
        allowed_types: frozenset[str] = ANY_ACCEPTED,
    ) -> StoredFile:
        spool, size, content_type = _spool(
            stream, max_bytes or self.default_max_bytes, allowed_types
        )
        key = new_key()
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with spool, os.fdopen(fd, "wb") as out:
                while chunk := spool.read(CHUNK):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp_name, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
            raise
        return StoredFile(key=key, size=size, content_type=content_type)

    def open(self, key: str) -> IO[bytes]:
        return self._path(key).open("rb")

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(key).unlink()

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()


# Error codes S3 (or a compatible server) answers when it is overloaded or failing on its
# side: the same request may well succeed in a minute.
_S3_TRANSIENT_CODES = frozenset(
    {"InternalError", "ServiceUnavailable", "SlowDown", "RequestTimeout", "Throttling"}
)


def _is_transient(error: BaseException) -> bool:
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

    if isinstance(error, ConnectionError | HTTPClientError):
        return True  # refused, timed out, reset or closed half-way
    if isinstance(error, ClientError):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        code = error.response.get("Error", {}).get("Code", "")
        return int(status) >= 500 or code in _S3_TRANSIENT_CODES
    return False


@contextlib.contextmanager
def _unavailable_when_s3_fails() -> Iterator[None]:
    """A transient failure becomes StorageUnavailable; anything else (a missing bucket,
    refused credentials) stays what it is: a configuration error, logged as such."""
    try:
        yield
    except Exception as error:
        if _is_transient(error):
            raise StorageUnavailable() from error
        raise


class S3Storage:
    def __init__(
        self,
        bucket: str,
        prefix: str,
        default_max_bytes: int,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        connect_timeout: float = 3,
        read_timeout: float = 3,
        max_attempts: int = 2,
    ) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.default_max_bytes = default_max_bytes

        def client(attempts: int) -> Any:
            config = Config(
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                retries={"mode": "standard", "total_max_attempts": attempts},
            )
            return boto3.client("s3", endpoint_url=endpoint_url, region_name=region, config=config)

        self.client = client(max_attempts)
        # Clean-up after a failed upload is tried once: when the store is not answering,
        # retrying it would only keep the person waiting longer for their "try again".
        self._cleanup_client = client(1)

    def _object_key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def save(
        self,
        stream: IO[bytes],
        *,
        max_bytes: int | None = None,
        allowed_types: frozenset[str] = ANY_ACCEPTED,
    ) -> StoredFile:
        spool, size, content_type = _spool(
            stream, max_bytes or self.default_max_bytes, allowed_types
        )
        key = new_key()
        with spool, _unavailable_when_s3_fails():
            try:
                self.client.upload_fileobj(
                    spool,
                    self.bucket,
                    self._object_key(key),
                    ExtraArgs={"ContentType": content_type},
                )
            except BaseException:
                # boto3 aborts a failed multipart upload (its parts are dropped); a single
                # PUT may have landed before the error surfaced. Leave nothing behind.
                with contextlib.suppress(Exception):
                    self._cleanup_client.delete_object(
                        Bucket=self.bucket, Key=self._object_key(key)
                    )
                raise
        return StoredFile(key=key, size=size, content_type=content_type)

    def open(self, key: str) -> IO[bytes]:
        with _unavailable_when_s3_fails():
            response = self.client.get_object(Bucket=self.bucket, Key=self._object_key(key))
        body: IO[bytes] = response["Body"]
        return body

    def delete(self, key: str) -> None:
        with _unavailable_when_s3_fails():
            self.client.delete_object(Bucket=self.bucket, Key=self._object_key(key))

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        with _unavailable_when_s3_fails():
            try:
                self.client.head_object(Bucket=self.bucket, Key=self._object_key(key))
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                    return False
                raise
        return True


def storage_from_config(config: Mapping[str, Any]) -> Storage:
    url = str(config["STORAGE_URL"])
    max_bytes = int(config["UPLOAD_MAX_BYTES"])
    parsed = urlparse(url)
    if parsed.scheme == "file":
        root = Path(unquote(parsed.path))
        root.mkdir(parents=True, exist_ok=True)
        return LocalStorage(root, max_bytes)
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise ValueError("STORAGE_URL s3://bucket/prefix needs a bucket")
        return S3Storage(
            parsed.netloc,
            parsed.path,
            max_bytes,
            endpoint_url=config.get("S3_ENDPOINT_URL") or None,
            region=config.get("S3_REGION") or None,
            connect_timeout=float(config.get("S3_CONNECT_TIMEOUT") or 3),
            read_timeout=float(config.get("S3_READ_TIMEOUT") or 3),
            max_attempts=int(config.get("S3_MAX_ATTEMPTS") or 2),
        )
    raise ValueError(f"STORAGE_URL must start with file:// or s3://, not {url!r}")


def init_app(app: Flask) -> None:
    app.extensions["grantpool.storage"] = storage_from_config(app.config)


def get_storage() -> Storage:
    storage: Storage = current_app.extensions["grantpool.storage"]
    return storage
