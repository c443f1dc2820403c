"""Helpers of test_fastpath.py that other test modules use too (no test module imports
another: tests/platform_tests/test_test_imports.py)."""

from __future__ import annotations

import io
import sys

from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from challenge_platform.wsgi import application


class Answer:
    def __init__(self, status: str, headers: list[tuple[str, str]], body: bytes, django: bool):
        self.status = int(status.split()[0])
        self.headers = {name.lower(): value for name, value in headers}
        self.body = body
        self.django = django  # whether Django's handler saw the request

    def __getitem__(self, name: str) -> str:
        return self.headers[name.lower()]


def environ_for(path: str, method: str = "GET", query: str = "", **headers: str) -> dict:
    """The WSGI environ gunicorn would make for this request."""
    return {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        **{"HTTP_" + name.upper(): value for name, value in headers.items()},
    }


def wsgi(path: str, method: str = "GET", query: str = "", **headers: str) -> Answer:
    """``application`` called as gunicorn calls it."""
    return call(environ_for(path, method, query, **headers))


def call(environ: dict) -> Answer:
    """``application`` called with ``environ``."""
    started = []
    seen: dict[str, object] = {}

    def note(**kwargs) -> None:
        started.append(1)

    def start_response(status, response_headers, exc_info=None):
        seen["status"], seen["headers"] = status, response_headers

    # As Django's test client does: the test's transaction outlives the request, so the
    # handler must not close the database connection at the request's start and end.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    request_started.connect(note)
    try:
        result = application(environ, start_response)
        body = b"".join(result)
        if hasattr(result, "close"):
            result.close()
    finally:
        request_started.disconnect(note)
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return Answer(seen["status"], seen["headers"], body, bool(started))


