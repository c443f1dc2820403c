"""Streamed file downloads with HTTP range requests (RFC 9110 §14), through Django storage.

A task file can be gigabytes; a download cut at 90 % should resume at 90 %, not start again.
So a download answers ``Range: bytes=…`` with ``206 Partial Content`` and the asked bytes,
``416`` with ``Content-Range: bytes */<size>`` when the range starts past the end, and the
whole file (200) when there is no usable range or when ``If-Range`` names another version of
the file. Only single ranges are served; a multi-range request gets the whole file, which
RFC 9110 allows. The bytes are read from the storage backend in chunks (local disk or S3:
the same code), never the whole file into memory.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from collections.abc import Iterator

from django.core.files.storage import Storage
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header, http_date

CHUNK = 256 * 1024
_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


class Unsatisfiable(Exception):
    """The range starts at or past the end of the file (answer 416)."""


def parse_range(header: str, size: int) -> tuple[int, int] | None:
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


def _validators(storage: Storage, name: str, size: int) -> tuple[str, str | None]:
    """A strong ETag for this stored version and its Last-Modified date (when known)."""
    try:
        modified = storage.get_modified_time(name)
    except (NotImplementedError, OSError):
        modified = None
    stamp = modified.timestamp() if modified is not None else ""
    digest = hashlib.sha256(f"{name}\0{size}\0{stamp}".encode()).hexdigest()[:32]
    last_modified = http_date(modified.timestamp()) if modified is not None else None
    return f'"{digest}"', last_modified


def _chunks(storage: Storage, name: str, first: int, length: int) -> Iterator[bytes]:
    with storage.open(name, "rb") as handle:
        if first:
            handle.seek(first)
        left = length
        while left > 0:
            chunk = handle.read(min(CHUNK, left))
            if not chunk:
                return  # the file shrank under us; the client sees a short body
            left -= len(chunk)
            yield chunk


def ranged_file_response(
    request: HttpRequest, *, storage: Storage, name: str, filename: str
) -> HttpResponse:
    """The stored file ``name`` as an attachment called ``filename``, honouring ``Range``."""
    size = storage.size(name)
    etag, last_modified = _validators(storage, name, size)
    common = {
        "Accept-Ranges": "bytes",
        "ETag": etag,
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
    }
    if last_modified:
        common["Last-Modified"] = last_modified

    asked = request.headers.get("Range", "")
    if_range = request.headers.get("If-Range")
    if asked and if_range is not None and if_range.strip() not in (etag, last_modified):
        asked = ""  # the client holds another version of the file: send it all again
    try:
        span = parse_range(asked, size) if request.method in ("GET", "HEAD") else None
    except Unsatisfiable:
        response = HttpResponse(status=416)
        for key, value in common.items():
            response[key] = value
        response["Content-Range"] = f"bytes */{size}"
        return response

    first, last = span if span is not None else (0, size - 1)
    length = max(last - first + 1, 0)
    body = _chunks(storage, name, first, length) if request.method != "HEAD" else iter(())
    content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    response = StreamingHttpResponse(
        body, status=206 if span is not None else 200, content_type=content_type
    )
    for key, value in common.items():
        response[key] = value
    response["Content-Length"] = str(length)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    if span is not None:
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
    return response
