"""Both storage backends: a local directory and S3 (moto's server mode, on loopback)."""

from __future__ import annotations

import io
import os
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from grantpool.platform.errors import ValidationFailed
from grantpool.platform.storage import (
    IMAGE_TYPES,
    LocalStorage,
    S3Storage,
    Storage,
    storage_from_config,
)
from tests.platform.conftest import BUCKET

PREFIX = "uploads/test"
MAX_BYTES = 256 * 1024
SECRET_NAME = "my-secret-budget-2026"


# --- sample files -----------------------------------------------------------------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def make_png(width: int = 4, height: int = 3) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    # Each scanline: a filter byte (0, none), then the RGB pixels.
    rows = b"".join(
        b"\x00" + b"".join(bytes([x * 40, y * 60, 128]) for x in range(width))
        for y in range(height)
    )
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(rows))
        + _png_chunk(b"IEND", b"")
    )


def make_pdf(text: str = "Grant budget") -> bytes:
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    pdf.drawString(72, 720, text)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


EXE_HEADER = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48
ELF_HEADER = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 44


class NamedBytes(io.BytesIO):
    """An upload stream with a (lying) file name, as werkzeug's FileStorage has."""

    def __init__(self, data: bytes, filename: str) -> None:
        super().__init__(data)
        self.filename = filename
        self.name = filename


class BrokenStream(io.RawIOBase):
    """Yields `good` bytes, then fails as a dropped connection would."""

    def __init__(self, good: bytes) -> None:
        self.good = good
        self.calls = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        self.calls += 1
        if self.calls == 1:
            return self.good
        raise OSError("connection reset by peer")


# --- fixtures ---------------------------------------------------------------------------


def _bucket_keys(s3_client: Any, bucket: str = BUCKET) -> list[str]:
    keys: list[str] = []
    for page in s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys.extend(obj["Key"] for obj in page.get("Contents", []))
    return keys


def _pending_multipart(s3_client: Any) -> list[Any]:
    return list(s3_client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []))


class Backend:
    def __init__(self, storage: Storage, leftovers: Any) -> None:
        self.storage = storage
        self.leftovers = leftovers  # -> list of everything the backend holds


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path, babel_app: Flask) -> Iterator[Backend]:
    if request.param == "local":
        root = tmp_path / "uploads"
        storage = storage_from_config({"STORAGE_URL": root.as_uri(), "UPLOAD_MAX_BYTES": MAX_BYTES})
        assert isinstance(storage, LocalStorage)

        def files() -> list[str]:
            return sorted(
                str(Path(dirpath, name).relative_to(root))
                for dirpath, _dirs, names in os.walk(root)
                for name in names
            )

        yield Backend(storage, files)
        return

    endpoint = request.getfixturevalue("moto_endpoint")
    client = request.getfixturevalue("s3_client")
    storage = storage_from_config(
        {
            "STORAGE_URL": f"s3://{BUCKET}/{PREFIX}",
            "UPLOAD_MAX_BYTES": MAX_BYTES,
            "S3_ENDPOINT_URL": endpoint,
            "S3_REGION": "us-east-1",
        }
    )
    assert isinstance(storage, S3Storage)

    def objects() -> list[str]:
        return sorted(_bucket_keys(client)) + [u["Key"] for u in _pending_multipart(client)]

    before = objects()
    assert before == [], f"bucket not empty at test start: {before}"
    yield Backend(storage, objects)
    for key in _bucket_keys(client):
        client.delete_object(Bucket=BUCKET, Key=key)


def _read(storage: Storage, key: str) -> bytes:
    stream = storage.open(key)
    try:
        return stream.read()
    finally:
        stream.close()


# --- both backends ----------------------------------------------------------------------


def test_config_picks_the_backend(tmp_path: Path, moto_endpoint: str) -> None:
    local = storage_from_config({"STORAGE_URL": (tmp_path / "x").as_uri(), "UPLOAD_MAX_BYTES": 10})
    assert isinstance(local, LocalStorage)
    assert (tmp_path / "x").is_dir()
    s3 = storage_from_config(
        {
            "STORAGE_URL": "s3://b/some/prefix/",
            "UPLOAD_MAX_BYTES": 10,
            "S3_ENDPOINT_URL": moto_endpoint,
            "S3_REGION": "us-east-1",
        }
    )
    assert isinstance(s3, S3Storage)
    assert (s3.bucket, s3.prefix) == ("b", "some/prefix")
    for bad in ("s3:///prefix", "ftp://host/x", "/just/a/path"):
        with pytest.raises(ValueError):
            storage_from_config({"STORAGE_URL": bad, "UPLOAD_MAX_BYTES": 10})


@pytest.mark.parametrize(
    ("data", "filename", "expected_type"),
    [
        (make_png(), f"{SECRET_NAME}.pdf", "image/png"),
        (make_pdf(), f"{SECRET_NAME}.png", "application/pdf"),
        (b"name,amount\nAmina,1200\n", f"{SECRET_NAME}.exe", "text/plain"),
    ],
    ids=["png-named-pdf", "pdf-named-png", "text"],
)
def test_save_and_read_back(
    backend: Backend, data: bytes, filename: str, expected_type: str
) -> None:
    stored = backend.storage.save(NamedBytes(data, filename))
    assert stored.size == len(data)
    assert stored.content_type == expected_type
    assert _read(backend.storage, stored.key) == data
    assert backend.storage.exists(stored.key)
    # The user's file name appears nowhere: neither in the key nor in what the backend holds.
    assert SECRET_NAME not in stored.key
    assert not any(SECRET_NAME in item for item in backend.leftovers())
    assert ".." not in stored.key and not stored.key.startswith("/")
    assert len(backend.leftovers()) == 1


def test_keys_are_unique(backend: Backend) -> None:
    data = make_png()
    first = backend.storage.save(NamedBytes(data, "a.png"))
    second = backend.storage.save(NamedBytes(data, "a.png"))
    assert first.key != second.key
    assert len(backend.leftovers()) == 2


def test_delete_and_exists(backend: Backend) -> None:
    stored = backend.storage.save(io.BytesIO(make_pdf()))
    assert backend.storage.exists(stored.key)
    backend.storage.delete(stored.key)
    assert not backend.storage.exists(stored.key)
    assert backend.leftovers() == []
    backend.storage.delete(stored.key)  # deleting twice is harmless
    assert not backend.storage.exists("2020/01/" + "0" * 32)


def test_allowed_types_are_enforced(backend: Backend) -> None:
    with pytest.raises(ValidationFailed):
        backend.storage.save(io.BytesIO(make_pdf()), allowed_types=IMAGE_TYPES)
    assert backend.leftovers() == []
    stored = backend.storage.save(io.BytesIO(make_png()), allowed_types=IMAGE_TYPES)
    assert stored.content_type == "image/png"


@pytest.mark.parametrize("header", [EXE_HEADER, ELF_HEADER], ids=["exe", "elf"])
def test_executable_pretending_to_be_a_pdf_is_refused(backend: Backend, header: bytes) -> None:
    # A PDF's name, and even the PDF magic further in: the content says executable.
    data = header + b"%PDF-1.7\n" + b"\x00\x01" * 512
    with pytest.raises(ValidationFailed) as info:
        backend.storage.save(NamedBytes(data, "budget.pdf"))
    assert "file" in info.value.errors
    assert backend.leftovers() == []


def test_empty_file_is_refused(backend: Backend) -> None:
    with pytest.raises(ValidationFailed):
        backend.storage.save(io.BytesIO(b""))
    assert backend.leftovers() == []


def test_oversize_file_is_refused_and_leaves_nothing(backend: Backend) -> None:
    data = make_pdf() + b"\n%" + b"x" * MAX_BYTES
    with pytest.raises(ValidationFailed) as info:
        backend.storage.save(NamedBytes(data, "big.pdf"))
    assert "file" in info.value.errors
    assert backend.leftovers() == []
    # A per-call limit below the default is honoured too.
    small = make_png()
    with pytest.raises(ValidationFailed):
        backend.storage.save(io.BytesIO(small), max_bytes=len(small) - 1)
    assert backend.leftovers() == []
    # Exactly at the limit is fine.
    assert backend.storage.save(io.BytesIO(small), max_bytes=len(small)).size == len(small)


def test_stream_failing_halfway_leaves_nothing(backend: Backend) -> None:
    with pytest.raises(OSError, match="connection reset"):
        backend.storage.save(BrokenStream(make_pdf()))  # type: ignore[arg-type]
    assert backend.leftovers() == []


# --- local directory --------------------------------------------------------------------


def test_local_storage_refuses_keys_escaping_the_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "x").write_bytes(b"outside")
    storage = LocalStorage(root, MAX_BYTES)
    for key in ("../x", "a/../../x", str(tmp_path / "x"), "", "."):
        with pytest.raises(ValueError):
            storage.open(key)
        with pytest.raises(ValueError):
            storage.exists(key)
        with pytest.raises(ValueError):
            storage.delete(key)
    assert (tmp_path / "x").read_bytes() == b"outside"


def test_local_write_failure_leaves_nothing(
    tmp_path: Path, babel_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "root"
    storage = LocalStorage(root, MAX_BYTES)

    def fail_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail_replace)
    with pytest.raises(OSError, match="disk full"):
        storage.save(io.BytesIO(make_pdf()))
    assert [files for _d, _s, files in os.walk(root) if files] == []


# --- S3 ---------------------------------------------------------------------------------


def _s3_storage(endpoint: str, bucket: str = BUCKET, max_bytes: int = MAX_BYTES) -> S3Storage:
    storage = storage_from_config(
        {
            "STORAGE_URL": f"s3://{bucket}/{PREFIX}",
            "UPLOAD_MAX_BYTES": max_bytes,
            "S3_ENDPOINT_URL": endpoint,
            "S3_REGION": "us-east-1",
        }
    )
    assert isinstance(storage, S3Storage)
    return storage


def test_s3_object_has_prefix_and_sniffed_content_type(
    moto_endpoint: str, s3_client: Any, babel_app: Flask
) -> None:
    storage = _s3_storage(moto_endpoint)
    stored = storage.save(NamedBytes(make_png(), "photo.pdf"))
    try:
        head = s3_client.head_object(Bucket=BUCKET, Key=f"{PREFIX}/{stored.key}")
        assert head["ContentType"] == "image/png"
        assert head["ContentLength"] == stored.size
        assert _bucket_keys(s3_client) == [f"{PREFIX}/{stored.key}"]
    finally:
        storage.delete(stored.key)
    assert _bucket_keys(s3_client) == []


def test_s3_upload_to_missing_bucket_raises_and_leaves_nothing(
    moto_endpoint: str, s3_client: Any, babel_app: Flask
) -> None:
    from botocore.exceptions import ClientError

    storage = _s3_storage(moto_endpoint, bucket="no-such-bucket")
    with pytest.raises(ClientError):
        storage.save(io.BytesIO(make_pdf()))
    names = [b["Name"] for b in s3_client.list_buckets()["Buckets"]]
    assert names == [BUCKET]
    assert _bucket_keys(s3_client) == []


def test_s3_failure_during_upload_leaves_nothing(
    moto_endpoint: str, s3_client: Any, babel_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The object lands, then the client reports an error (say, a timeout on the reply)."""
    storage = _s3_storage(moto_endpoint)
    real_upload = storage.client.upload_fileobj

    def upload_then_fail(*args: Any, **kwargs: Any) -> None:
        real_upload(*args, **kwargs)
        assert len(_bucket_keys(s3_client)) == 1  # it really was written
        raise ConnectionError("reply lost")

    monkeypatch.setattr(storage.client, "upload_fileobj", upload_then_fail)
    with pytest.raises(ConnectionError):
        storage.save(io.BytesIO(make_pdf()))
    assert _bucket_keys(s3_client) == []
    assert _pending_multipart(s3_client) == []


def test_s3_large_multipart_upload_round_trips(
    moto_endpoint: str, s3_client: Any, babel_app: Flask
) -> None:
    """Above boto3's 8 MB threshold the upload is multipart; it must still round-trip."""
    storage = _s3_storage(moto_endpoint, max_bytes=20 * 1024 * 1024)
    data = make_pdf() + b"\n%" + os.urandom(9 * 1024 * 1024)
    try:
        stored = storage.save(io.BytesIO(data))
        assert stored.content_type == "application/pdf"
        assert _read(storage, stored.key) == data
        storage.delete(stored.key)
        assert not storage.exists(stored.key)
    finally:
        for key in _bucket_keys(s3_client):
            s3_client.delete_object(Bucket=BUCKET, Key=key)
    assert _pending_multipart(s3_client) == []
