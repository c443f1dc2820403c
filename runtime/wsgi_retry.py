"""A request that lost the database before anything it wrote was committed is run again.

PostgreSQL restarting (``pg_ctl restart``, a failover) or an administrator killing its
connections takes a web process's connection with it: the request using it then fails
with ``OperationalError``, which the API answers 503 and a page 500, though nothing was
done and the database is back a second later. This WSGI wrapper (outside Django's
handler, like :mod:`challenge_platform.wsgi_body`) keeps each request replayable and
watches its database work (:meth:`Django's execute_wrapper
<django.db.backends.base.base.BaseDatabaseWrapper.execute_wrapper>`):

- a statement failed because the connection was lost, or the database could not be
  reached at all (:func:`note_database_unavailable`, from the API's exception handler and
  the pages' ``got_request_exception``), and
- no write of this attempt was committed: a write outside a transaction is committed at
  once; one inside is known committed when its transaction's ``on_commit`` runs (a
  transaction the lost connection rolled back never runs it),

then the answer is dropped, the wrapper waits for the database (at most
``DATABASE_RETRY_SECONDS``) and runs the request again on a new connection, at most
``DATABASE_RETRIES`` times; the client sees one answer. Side effects outside the database
are published after commit (jobs, mails, webhooks), so an attempt that committed nothing
sent nothing; a file it stored is removed by its service when the row cannot be written.
A commit whose answer was lost (the connection died during COMMIT) cannot be told from one
that failed: an upload carries an idempotency key for that (the API's ``Idempotency-Key``,
the submit form's own), so running it again finds the first. A body larger than
``RETRY_BODY_MAX_BYTES`` is not kept, and such a request is not run again.
"""

from __future__ import annotations

import contextlib
import io
import logging
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.conf import settings
from django.core.signals import got_request_exception
from django.db import DatabaseError, InterfaceError, OperationalError, connections, transaction

from jobs.celery import wait_for_database

logger = logging.getLogger(__name__)

RETRY_BODY_MAX_BYTES = 16 * 1024 * 1024  # bodies kept in memory to run a request again
WRITES = ("INSERT", "UPDATE", "DELETE", "MERGE", "COPY", "CREATE", "ALTER", "DROP", "TRUNCATE")

_current = threading.local()


class _Attempt:
    """One run of a request: did it lose the database, did it commit a write (one that no
    registered undo covers: :func:`undone_on_replay`)."""

    def __init__(self) -> None:
        self.unavailable = False
        self.committed = False
        self.undoing = 0  # inside undone_on_replay: writes are covered by its undo
        self.undos: list[Callable[[], None]] = []

    def mark_committed(self) -> None:
        self.committed = True

    def undo_all(self) -> bool:
        """Undo what the attempt committed under :func:`undone_on_replay`, newest first;
        False when an undo could not be made (then the request is not run again)."""
        try:
            for undo in reversed(self.undos):
                undo()
        except DatabaseError:
            logger.warning("could not undo a request's writes to run it again", exc_info=True)
            return False
        return True

    def __call__(self, execute: Callable, sql: str, params: Any, many: bool, context: dict):
        try:
            result = execute(sql, params, many, context)
        except (OperationalError, InterfaceError):
            if _connection_lost(context["connection"]):
                self.unavailable = True
            raise
        if _writes(sql) and not self.undoing:
            # Outside a transaction: committed now (on_commit runs at once); inside: when
            # the outermost transaction commits, never if it rolls back. (A write under
            # undone_on_replay is covered by its undo.)
            transaction.on_commit(self.mark_committed, using=context["connection"].alias)
        return result

    @property
    def run_again(self) -> bool:
        return self.unavailable and not self.committed


def _connection_lost(connection: Any) -> bool:
    raw = connection.connection
    return raw is None or bool(getattr(raw, "closed", False)) or bool(getattr(raw, "broken", False))


def _writes(sql: str) -> bool:
    head = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
    if head == "WITH":  # a common table expression may write
        upper = sql.upper()
        return any(f" {word} " in upper for word in ("INSERT", "UPDATE", "DELETE"))
    return head in WRITES


@contextlib.contextmanager
def undone_on_replay() -> Iterator[Callable[[Callable[[], None]], None]]:
    """Writes made inside are undone, should the request be run again, by the undo given to
    the function this yields (call it once the writes are made): such writes do not keep
    the request from running again. For a write that must not count twice, as a release
    check's use of its team's daily budget: taken before the answer is computed, it is
    given back before the request runs again (an idempotent undo: it may find nothing to
    undo). Outside a request this layer serves, nothing is recorded."""
    attempt = getattr(_current, "attempt", None)
    if attempt is None:
        yield lambda undo: None
        return
    attempt.undoing += 1
    try:
        yield attempt.undos.append
    finally:
        attempt.undoing -= 1


@contextlib.contextmanager
def replay_safe(when: bool = True) -> Iterator[None]:
    """Writes made inside (``when`` true) need no undo for the request to run again: a run
    again finds them and answers the same, as an upload with an idempotency key finds its
    submission. So an upload whose connection died after its row committed is answered
    once the database is back, not with a 503 to send again."""
    attempt = getattr(_current, "attempt", None)
    if attempt is None or not when:
        yield
        return
    attempt.undoing += 1
    try:
        yield
    finally:
        attempt.undoing -= 1


def note_database_unavailable() -> None:
    """The request being handled could not use the database (its connection was lost, or
    none could be made): the API's exception handler and the pages' exception signal say
    so; whether it runs again is decided above (module docstring)."""
    attempt = getattr(_current, "attempt", None)
    if attempt is not None:
        attempt.unavailable = True


def _on_request_exception(sender: Any, request: Any = None, **kwargs: Any) -> None:
    """A page's uncaught exception: the database's, or one raised while handling it."""
    exc: BaseException | None = sys.exc_info()[1]
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, OperationalError | InterfaceError):
            note_database_unavailable()
            return
        exc, seen = exc.__cause__ or exc.__context__, seen + 1


got_request_exception.connect(_on_request_exception, dispatch_uid="wsgi_retry")


class _Body:
    """``wsgi.input`` that keeps what was read (up to a cap), so the request can be run
    again from its first byte."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.kept = io.BytesIO()
        self.whole = True  # everything read so far is kept

    def _keep(self, data: bytes) -> bytes:
        if self.whole:
            if self.kept.tell() + len(data) > RETRY_BODY_MAX_BYTES:
                self.whole = False
                self.kept = io.BytesIO()
            else:
                self.kept.write(data)
        return data

    def read(self, size: int = -1) -> bytes:
        return self._keep(self.stream.read(size) if size is not None else self.stream.read())

    def readline(self, size: int = -1) -> bytes:
        return self._keep(self.stream.readline(size))

    def readlines(self, hint: int = -1) -> list[bytes]:
        return [self._keep(line) for line in self.stream.readlines(hint)]

    def __iter__(self):
        return iter(self.readline, b"")

    def again(self) -> _Body:
        """A fresh stream of the same body: what was read, then what was not."""
        replay = _Body(_Chain(self.kept.getvalue(), self.stream))
        return replay


class _Chain(io.RawIOBase):
    """``head`` bytes, then the rest of ``stream``."""

    def __init__(self, head: bytes, stream: Any) -> None:
        self.head = io.BytesIO(head)
        self.stream = stream

    def read(self, size: int = -1) -> bytes:
        data = self.head.read(size if size is not None and size >= 0 else -1)
        if size is None or size < 0:
            return data + self.stream.read()
        if len(data) < size:
            data += self.stream.read(size - len(data))
        return data

    def readline(self, size: int = -1) -> bytes:
        line = self.head.readline(size)
        if line.endswith(b"\n") or (size is not None and 0 <= size <= len(line)):
            return line
        rest = -1 if size is None or size < 0 else size - len(line)
        return line + self.stream.readline(rest)

    def readlines(self, hint: int = -1) -> list[bytes]:
        return list(iter(self.readline, b""))


class DatabaseRetryMiddleware:
    """WSGI: run a request again when it lost the database and committed nothing."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        original = dict(environ)  # each attempt gets its own (the layers below change it)
        body = _Body(environ["wsgi.input"]) if "wsgi.input" in environ else None
        retries = int(getattr(settings, "DATABASE_RETRIES", 2))
        for attempt in range(retries + 1):
            environ = dict(original)
            if body is not None:
                environ["wsgi.input"] = body
            answer: list[tuple] = []

            def keep(status: str, headers: list, exc_info: Any = None, answer=answer):
                answer[:] = [(status, headers, exc_info)]
                return _no_write

            state = _Attempt()
            _current.attempt = state
            try:
                with connections["default"].execute_wrapper(state):
                    result = self.app(environ, keep)
            finally:
                _current.attempt = None
            again = (
                attempt < retries
                and state.run_again
                and (body is None or body.whole)
                and wait_for_database(seconds=float(settings.DATABASE_RETRY_SECONDS), every=0.25)
                and state.undo_all()
            )
            if not again:
                if state.run_again:
                    # It lost the database with nothing committed and is answered 503: the
                    # client sends it again, so what it took (a rate slot) is given back.
                    state.undo_all()
                if answer:
                    start_response(*answer[0])
                return result
            _close(result)
            logger.warning(
                "%s %s lost the database before committing anything; running it again",
                environ.get("REQUEST_METHOD"),
                environ.get("PATH_INFO"),
            )
            if body is not None:
                body = body.again()
        raise AssertionError("unreachable")  # pragma: no cover


def _no_write(data: bytes) -> None:
    raise RuntimeError("the legacy WSGI write() is not supported here")


def _close(result: Iterable[bytes]) -> None:
    close = getattr(result, "close", None)
    if close is not None:
        with contextlib.suppress(DatabaseError):
            close()
