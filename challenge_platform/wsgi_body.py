"""Request bodies sent with ``Transfer-Encoding: chunked`` reach Django whole.

gunicorn decodes a chunked body into ``wsgi.input`` but, having no length to announce, sets
no ``CONTENT_LENGTH``; Django then reads zero bytes and the upload arrives empty. This WSGI
wrapper spools such a body to a temporary file (in memory up to 1 MiB), refusing it with 413
as soon as it passes the largest upload the site accepts, and hands Django the length.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings

SPOOL_IN_MEMORY = 1024 * 1024
CHUNK = 256 * 1024


def body_cap() -> int:
    """The largest body any view accepts: a bundle, a submission, or a form."""
    return (
        max(
            settings.BUNDLE_MAX_BYTES,
            settings.SUBMISSION_MAX_BYTES,
            settings.DATA_UPLOAD_MAX_MEMORY_SIZE,
        )
        + 1024 * 1024
    )  # multipart framing and the other fields


class ChunkedBodyMiddleware:
    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if chunked and not environ.get("CONTENT_LENGTH"):
            spooled = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
            size, cap = 0, body_cap()
            stream = environ["wsgi.input"]
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > cap:
                    spooled.close()
                    body = b'{"detail": "The request body is larger than this site accepts."}'
                    start_response(
                        "413 Request Entity Too Large",
                        [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                         ("Connection", "close")],
                    )  # fmt: skip
                    return [body]
                spooled.write(chunk)
            spooled.seek(0)
            environ["wsgi.input"] = spooled
            environ["CONTENT_LENGTH"] = str(size)
            environ.pop("HTTP_TRANSFER_ENCODING", None)
        return self.app(environ, start_response)
