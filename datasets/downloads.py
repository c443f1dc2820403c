"""Streamed file downloads with HTTP range requests (RFC 9110 §14), through Django storage.

A task file can be gigabytes; a download cut at 90 % should resume at 90 %, not start again.
So a download answers ``Range: bytes=…`` with ``206 Partial Content`` and the asked bytes,
``416`` with ``Content-Range: bytes */<size>`` when the range starts past the end, and the
whole file (200) when there is no usable range or when ``If-Range`` names another version of
the file. Only single ranges are served; a multi-range request gets the whole file, which
RFC 9110 allows. Never the whole file in memory, and at the speed of the storage:

- a file on local disk is handed to the web server as a file (``wsgi.file_wrapper``), so
  gunicorn sends the asked bytes with ``sendfile()``: no Python loop, no copy;
- an S3 object is read with one ranged GET of exactly the asked bytes, streamed in 1 MiB
  blocks (django-storages' own ``open`` would download the whole object first, into memory);
- any other storage is read through its ``open``, in 1 MiB blocks.

A stored file that is missing answers 404, not a server error.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.files.storage import Storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header, http_date

CHUNK = 1024 * 1024
_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


class Unsatisfiable(Exception):
    """The range starts at or past the end of the file (answer 416)."""


def parse_range(*, header: str, size: int) -> tuple[int, int] | None:
    """``(first, last)`` byte positions (inclusive) asked by ``header``, or None for the
    whole file (no header, a syntax we ignore, or several ranges).

    Raises :class:`Unsatisfiable` when a well-formed single range selects no byte.
    """
    if not header or "," in header:
        return None
    match = _RANGE.match(header)
    if match is None:
        return None
    first_text, last_text = match.groups()
    if not first_text and not last_text:
        return None
    if not first_text:  # bytes=-N: the last N bytes
        suffix = int(last_text)
        if suffix == 0 or size == 0:
            raise Unsatisfiable
        return max(size - suffix, 0), size - 1
    first = int(first_text)
    if last_text and int(last_text) < first:
        return None  # syntactically invalid: ignore the header (RFC 9110 §14.1.1)
    if first >= size:
        raise Unsatisfiable
    last = int(last_text) if last_text else size - 1
    return first, min(last, size - 1)


@dataclass(frozen=True)
class _Stored:
    """What a response needs to know of a stored file before reading it."""

    size: int
    modified: datetime | None
    s3_object: Any = None  # boto3's Object, when the storage is S3 (read with a ranged GET)
    s3_body: Any = None  # the whole object's body, already asked for (no Range: one GET)


def _s3_object(storage: Storage, name: str) -> Any:
    """The boto3 ``Object`` of ``name`` when ``storage`` is django-storages' S3 (plain, not
    gzipped), else None."""
    try:
        from storages.backends.s3 import S3Storage
        from storages.utils import clean_name
    except ImportError:  # pragma: no cover - django-storages is a dependency
        return None
    if not isinstance(storage, S3Storage) or getattr(storage, "gzip", False):
        return None
    return storage.bucket.Object(storage._normalize_name(clean_name(name)))


def _stored(storage: Storage, name: str, *, whole: bool) -> _Stored:
    """Size and modification time; Http404 when the file is missing. On S3 one request: the
    object's GET when the whole of it will be sent (``whole``), else a HEAD."""
    obj = _s3_object(storage, name)
    try:
        if obj is not None:
            from botocore.exceptions import ClientError

            try:
                if whole:
                    got = obj.get()
                    return _Stored(got["ContentLength"], got["LastModified"], obj, got["Body"])
                obj.load()
            except ClientError as exc:
                status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
                if status == 404 or exc.response.get("Error", {}).get("Code") == "NoSuchKey":
                    raise FileNotFoundError(name) from exc
                raise
            return _Stored(obj.content_length, obj.last_modified, obj)
        size = storage.size(name)
    except FileNotFoundError:
        raise Http404("the stored file is missing") from None
    try:
        modified = storage.get_modified_time(name)
    except (NotImplementedError, OSError):
        modified = None
    return _Stored(size, modified)


def _validators(name: str, stored: _Stored) -> tuple[str, str | None]:
    """A strong ETag for this stored version and its Last-Modified date (when known)."""
    modified = stored.modified
    stamp = modified.timestamp() if modified is not None else ""
    digest = hashlib.sha256(f"{name}\0{stored.size}\0{stamp}".encode()).hexdigest()[:32]
    last_modified = http_date(modified.timestamp()) if modified is not None else None
    return f'"{digest}"', last_modified


class _Span:
    """At most ``length`` bytes of ``raw`` from where it stands. With ``fileno`` (a file on
    local disk, positioned at the first byte) the web server sends them itself
    (gunicorn: ``sendfile`` of ``Content-Length`` bytes from the file's position)."""

    def __init__(self, raw: Any, length: int, *, fileno: int | None = None) -> None:
        self.raw, self.left, self._fileno = raw, length, fileno

    def read(self, size: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        chunk = self.raw.read(self.left if size is None or size < 0 else min(size, self.left))
        self.left -= len(chunk)
        if not chunk:
            self.left = 0  # the file shrank under us; the client sees a short body
        return chunk

    def fileno(self) -> int:
        if self._fileno is None:
            raise OSError("not a file on disk")
        return self._fileno

    def close(self) -> None:
        self.raw.close()


def _open_span(storage: Storage, name: str, stored: _Stored, first: int, length: int) -> _Span:
    if stored.s3_body is not None and first == 0 and length == stored.size:
        return _Span(stored.s3_body, length)
    if stored.s3_object is not None:
        if length == 0:
            return _Span(_Empty(), 0)
        asked = f"bytes={first}-{first + length - 1}"
        return _Span(stored.s3_object.get(Range=asked)["Body"], length)
    handle = storage.open(name, "rb")
    try:
        if first:
            handle.seek(first)
        try:
            storage.path(name)  # only a file on local disk is sent by the server itself
            fileno = handle.fileno()
        except (NotImplementedError, AttributeError, OSError, ValueError):
            fileno = None
    except BaseException:
        handle.close()
        raise
    return _Span(handle, length, fileno=fileno)


class _Empty:
    def read(self, size: int = -1) -> bytes:
        return b""

    def close(self) -> None:
        pass


def ranged_file_response(
    *, request: HttpRequest, storage: Storage, name: str, filename: str
) -> HttpResponse:
    """The stored file ``name`` as an attachment called ``filename``, honouring ``Range``."""
    asked = request.headers.get("Range", "")
    whole = not asked and request.method == "GET"
    stored = _stored(storage, name, whole=whole)
    size = stored.size
    etag, last_modified = _validators(name, stored)
    common = {
        "Accept-Ranges": "bytes",
        "ETag": etag,
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
    }
    if last_modified:
        common["Last-Modified"] = last_modified

    if_range = request.headers.get("If-Range")
    if asked and if_range is not None and if_range.strip() not in (etag, last_modified):
        asked = ""  # the client holds another version of the file: send it all again
    try:
        span = parse_range(header=asked, size=size) if request.method in ("GET", "HEAD") else None
    except Unsatisfiable:
        response = HttpResponse(status=416)
        for key, value in common.items():
            response[key] = value
        response["Content-Range"] = f"bytes */{size}"
        return response

    first, last = span if span is not None else (0, size - 1)
    length = max(last - first + 1, 0)
    status = 206 if span is not None else 200
    content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    response: StreamingHttpResponse
    if request.method == "HEAD":
        response = StreamingHttpResponse(iter(()), status=status, content_type=content_type)
    else:
        response = FileResponse(
            _open_span(storage, name, stored, first, length),
            status=status,
            content_type=content_type,
        )
        response.block_size = CHUNK  # where the server cannot send the file itself
    for key, value in common.items():
        response[key] = value
    response["Content-Length"] = str(length)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    if span is not None:
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
    return response
