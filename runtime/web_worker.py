"""gunicorn's ``gthread`` worker, with a request's head read without holding a thread
(docs/decisions/0070-a-request-s-head-is-read-without-a-thread.md).

gunicorn's own ``gthread`` hands a connection to a thread as soon as its first bytes arrive;
the thread then blocks until the head is complete. Twelve clients that send a request line
and one header, and never the blank line, hold twelve threads for as long as they like.

Here the poller keeps the connection until its head is whole: each time the socket is
readable a thread reads what arrived without blocking (microseconds) and gives the
connection back to the poller, and only a complete head reaches the parser and the
application. A head must be whole within ``WEB_HEAD_SECONDS`` of the connection's
start (a new connection) or of its first byte (a kept-alive one), else the connection is
closed; a body read stops after ``WEB_BODY_IDLE_SECONDS`` without a byte. Anything this
worker does not read itself (TLS, HTTP/2) is left to gunicorn's own path.

An answer given before the request's body was read (an upload refused on its declared size,
the team's budget or rate: ``scoring/admission.py``) says ``Connection: close`` when more of
the body is left than gunicorn drains (64 KiB): gunicorn then closes the connection after the
answer, which said ``keep-alive``, and a client that sent its next request on it (a browser's
or ``requests``' kept connection) lost that request to the close.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Callable, Iterable

from gunicorn.http import parser as gunicorn_parser
from gunicorn.http.body import LengthReader
from gunicorn.workers.gthread import _DEFER, TConn, ThreadWorker

HEAD_END = b"\r\n\r\n"
# What gunicorn drains of a body the application left unread before it keeps the connection
# (64 KiB in gunicorn 27); if a release stops saying, any unread byte closes it.
DRAINED_BYTES = getattr(gunicorn_parser, "_DRAIN_MAX_BYTES", 0)
READ_SIZE = 65536


def _seconds(name: str, default: float) -> float:
    value = float(os.environ.get(name, "") or default)
    if value <= 0:
        raise ValueError(f"{name} must be a positive number of seconds, not {value}")
    return value


HEAD_SECONDS = _seconds("WEB_HEAD_SECONDS", 30.0)
BODY_IDLE_SECONDS = _seconds("WEB_BODY_IDLE_SECONDS", 30.0)


class HeadFirstWorker(ThreadWorker):
    """``--worker-class runtime.web_worker.HeadFirstWorker``: gthread, head first."""

    def init_process(self) -> None:
        cfg = self.cfg
        # The most a valid head can be: past it, the parser answers 400 from the bytes held.
        self.head_cap = cfg.limit_request_line + cfg.limit_request_fields * (
            cfg.limit_request_field_size + 2
        ) + len(HEAD_END)
        h2_sniffed = cfg.http2_cleartext in ("prior-knowledge", "both")
        self.reads_itself = not cfg.is_ssl and not h2_sniffed
        super().init_process()

    def load_wsgi(self) -> None:
        super().load_wsgi()
        self.wsgi = closing_when_body_unread(self.wsgi)

    def enqueue_req(self, conn: TConn) -> None:
        if getattr(conn, "head_due", None) is None and not conn.initialized:
            conn.head_due = time.monotonic() + HEAD_SECONDS
        super().enqueue_req(conn)

    def run(self) -> None:
        """gunicorn's loop; once it ends (a stop), the process leaves at once. The
        interpreter's own finalization (every module of the application collected) took the
        web's worker 6-9 s at its lowered CPU priority (``WEB_CPU_NICE``) on a loaded host,
        past honcho's 5 s before SIGKILL on a Ctrl-C: the database connections are closed
        and the logs flushed here instead, then the process exits."""
        super().run()
        self.log.info("Worker stopped (pid: %s)", self.pid)
        db = sys.modules.get("django.db")
        if db is not None:
            with contextlib.suppress(Exception):
                db.connections.close_all()
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(0)

    def handle_exit(self, sig, frame) -> None:
        """SIGTERM: stop as gunicorn does, without waiting for what holds no request: every
        held status wait answers now (jobs.changes, when the application loaded it), and
        connections whose head is not whole are closed by the poller."""
        stopping = self.alive
        super().handle_exit(sig, frame)
        if stopping:
            self.method_queue.defer(self._close_pending)
            changes = sys.modules.get("jobs.changes")
            if changes is not None:
                changes.stop_waiting()

    def _close_pending(self) -> None:
        for conn in self.pending_conns:
            conn.timeout = 0.0
        self.murder_pending()

    def handle(self, conn: TConn):
        if not self.reads_itself:
            return super().handle(conn)
        state = self._read_head(conn)
        if state is not True:
            return state
        conn.data_ready = True
        return super().handle(conn)

    def _read_head(self, conn: TConn):
        """True once the head is whole (and handed to the parser), ``_DEFER`` while it is
        not, False when the client closed."""
        head = getattr(conn, "head", None)
        if head is None:
            head = conn.head = bytearray()
            if conn.parser is not None:  # a kept-alive connection: what was read ahead
                head += conn.parser.unreader.take_buffered()
        conn.sock.setblocking(False)
        while HEAD_END not in head and len(head) <= self.head_cap:
            try:
                chunk = conn.sock.recv(READ_SIZE)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                return False
            if not chunk:
                return False
            head += chunk
        if head and getattr(conn, "head_due", None) is None:
            conn.head_due = time.monotonic() + HEAD_SECONDS
        if HEAD_END not in head and len(head) <= self.head_cap:
            return _DEFER
        conn.head = None
        conn.head_due = None
        conn.init()
        conn.parser.unreader.unread(bytes(head))
        return True

    def handle_request(self, req, conn: TConn):
        # The head is whole; the body, read by the application, must keep arriving.
        conn.sock.settimeout(BODY_IDLE_SECONDS)
        return super().handle_request(req, conn)

    def finish_request(self, conn: TConn, fs) -> None:
        deferred = not fs.cancelled() and fs.exception() is None and fs.result() is _DEFER
        if deferred and not self.alive:
            self.nr_conns -= 1  # a stopping worker keeps no connection without a request
            conn.close()
            return
        super().finish_request(conn, fs)
        due = getattr(conn, "head_due", None)
        if due is not None and conn in self.pending_conns:
            conn.timeout = min(conn.timeout, due)

    def murder_pending(self) -> None:
        """Close every waiting connection past its due time (their times are not in order:
        a head's is earlier than an idle connection's)."""
        now = time.monotonic()
        for conn in [c for c in self.pending_conns if c.timeout <= now]:
            self.pending_conns.remove(conn)
            with contextlib.suppress(OSError, KeyError, ValueError):
                self.poller.unregister(conn.sock)
            self.nr_conns -= 1
            conn.close()


def closing_when_body_unread(app: Callable) -> Callable:
    """``app``, whose answer closes the connection when more of the request's body is left
    unread, as the answer starts, than gunicorn would drain (the module's docstring)."""

    def wsgi(environ: dict, start_response: Callable) -> Iterable[bytes]:
        body = environ.get("wsgi.input")  # gunicorn's, before any middleware replaces it

        def start(status: str, headers: list, exc_info=None) -> Callable:
            reader = getattr(body, "reader", None)
            answer = getattr(start_response, "__self__", None)  # gunicorn's Response
            unread = reader.length if isinstance(reader, LengthReader) else 0
            if unread > DRAINED_BYTES and answer is not None:
                answer.must_close = True  # its head says "Connection: close"
            return start_response(status, headers, exc_info)

        return app(environ, start)

    return wsgi
