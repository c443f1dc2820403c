"""The HTTP side of ``chal``: requests to ``/api/v1/``, errors in plain words, streamed files.

requests and tqdm are imported when the first request or bar is made, not with this module:
every command imports it (its errors), and ``chal --help`` or a usage error sends nothing
(docs/decisions/0057-a-status-wait-is-a-held-answer.md, "chal starts with what it runs")."""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import quote

if TYPE_CHECKING:
    import requests
    from tqdm import tqdm

CHUNK = 256 * 1024
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 60.0
# Storing a large upload (and sniffing it) may take a while before the server answers.
UPLOAD_READ_TIMEOUT = 600.0
# A kept-alive connection idle this long is not reused: servers close idle connections
# (the platform's gunicorn and HAProxy after 75 s, other proxies after 60 s), and a request
# sent as the server closes one is lost. Below every such timeout, so the client closes
# first.
IDLE_CONNECTION_SECONDS = 30.0
# Sends of one upload: a connection the server closed before answering, or a gateway's error
# (502, 503, 504: a web host died behind the balancer, the database restarted), is sent again
# with the same Idempotency-Key (the server makes one submission of all), after a pause that
# grows (or the server's Retry-After, when shorter than the longest pause).
UPLOAD_ATTEMPTS = 5
CLOSED_ATTEMPTS = 2  # a closed connection may be the server refusing a body over its limit
GATEWAY_ERRORS = (502, 503, 504)
UPLOAD_PAUSES = (1.0, 2.0, 4.0, 8.0)


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def segment(value: str) -> str:
    """One URL path segment (a slug or code typed by the user), quoted whole."""
    return quote(value, safe="")


class CliError(Exception):
    """An expected failure, shown as one plain message; ``exit_code`` 1 unless a usage error."""

    exit_code = 1


class UsageError(CliError):
    """The command line itself is wrong (a missing file, a bad option value)."""

    exit_code = 2


class ServerUnreachable(CliError):
    def __init__(self, server: str, reason: str = "") -> None:
        super().__init__(f"cannot reach the server at {server} (is it running?){reason}")


class ConnectionClosed(CliError):
    """The server closed the connection after it was made, without an answer."""


class NotLoggedIn(CliError):
    def __init__(self) -> None:
        super().__init__("not logged in or token invalid: run `chal login`")


class TokenRevoked(NotLoggedIn):
    """The server revoked the saved token when the account changed (a new password, a
    deactivation): 401 with ``code`` ``token_revoked``; ``detail`` says when and why."""

    def __init__(self, detail: str) -> None:
        CliError.__init__(self, f"token revoked, log in again (`chal login`): {detail}")


class ApiError(CliError):
    """The server refused a request; ``message`` is what it said, in plain words."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str = "",
        retry_after: datetime | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.retry_after = retry_after
        super().__init__(message)


def _flatten(value: Any) -> str:
    """DRF error bodies: a string, a list of strings, or {field: [messages]}."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return " ".join(_flatten(v) for v in value)
    if isinstance(value, dict):
        parts = []
        for key, inner in value.items():
            text = _flatten(inner)
            parts.append(text if key in ("non_field_errors", "detail") else f"{key}: {text}")
        return "; ".join(parts)
    return str(value)


def _parse_retry_after(body: dict[str, Any], header: str | None) -> datetime | None:
    """When to try again: the body's ISO ``retry_after``, else the header (seconds or a date)."""
    raw = body.get("retry_after")
    if isinstance(raw, str) and raw:
        try:
            return datetime.fromisoformat(raw.replace("Z", "+00:00")).astimezone(UTC)
        except ValueError:
            pass
    if header:
        header = header.strip()
        if header.isdigit():
            return datetime.now(UTC) + timedelta(seconds=int(header))
        from email.utils import parsedate_to_datetime

        try:
            return parsedate_to_datetime(header).astimezone(UTC)
        except (TypeError, ValueError):
            return None
    return None


def error_from_response(response: requests.Response) -> CliError:
    """The plain-words error for a 4xx/5xx answer."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code == 401:
        if isinstance(body, dict) and body.get("code") == "token_revoked":
            return TokenRevoked(_flatten(body.get("detail", "")))
        return NotLoggedIn()
    if isinstance(body, dict) and body:
        message = _flatten(body.get("detail", body))
        code = body.get("code") if isinstance(body.get("code"), str) else ""
    else:
        message = f"the server answered HTTP {response.status_code} {response.reason or ''}"
        message = message.strip()
        code = ""
    retry_after = None
    if response.status_code == 429 or response.headers.get("Retry-After"):
        retry_after = _parse_retry_after(
            body if isinstance(body, dict) else {}, response.headers.get("Retry-After")
        )
    return ApiError(response.status_code, message, code=code, retry_after=retry_after)


class TokenAuth:
    """``Authorization: Token <key>`` (set as auth so a ~/.netrc entry never replaces it;
    requests calls any callable given as ``auth``, as it calls its own ``AuthBase``)."""

    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Token {self.token}"
        return request


class MultipartBody:
    """A ``multipart/form-data`` body streamed from disk, with a known length.

    requests sends an iterable that has ``__len__`` with that ``Content-Length`` (no chunked
    encoding, which WSGI servers don't read), one chunk at a time; ``progress`` is told how
    many bytes of the file went out, so the bar tracks the upload itself.
    """

    def __init__(
        self,
        *,
        fields: dict[str, str],
        file_field: str,
        path: Path,
        progress: Callable[[int], object] | None = None,
    ) -> None:
        import secrets

        self.boundary = "chal-" + secrets.token_hex(16)
        self.path = path
        self.progress = progress
        self.file_size = path.stat().st_size
        b = self.boundary.encode()
        head = b""
        for name, value in fields.items():
            head += (
                b"--" + b + b"\r\n"
                b'Content-Disposition: form-data; name="'
                + _quote(name)
                + b'"\r\n\r\n'
                + value.encode("utf-8")
                + b"\r\n"
            )
        head += (
            b"--" + b + b"\r\n"
            b'Content-Disposition: form-data; name="' + _quote(file_field) + b'"; '
            b'filename="' + _quote(path.name) + b'"\r\n'
            b"Content-Type: application/octet-stream\r\n\r\n"
        )
        self.head = head
        self.tail = b"\r\n--" + b + b"--\r\n"

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return len(self.head) + self.file_size + len(self.tail)

    def __iter__(self) -> Iterator[bytes]:
        yield self.head
        sent = 0
        with self.path.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                sent += len(chunk)
                if sent > self.file_size:
                    raise CliError(f"{self.path} grew while it was being uploaded; try again")
                if self.progress is not None:
                    self.progress(len(chunk))
                yield chunk
        if sent != self.file_size:
            raise CliError(f"{self.path} changed while it was being uploaded; try again")
        yield self.tail


def _quote(text: str) -> bytes:
    """A header parameter value as browsers write it: quotes and line breaks escaped."""
    return (
        text.replace("\\", "\\\\")
        .replace('"', "%22")
        .replace("\r", "%0D")
        .replace("\n", "%0A")
        .encode("utf-8")
    )


class _NoBar:
    """The bar where none is shown (stderr is not a terminal): nothing, and no tqdm import."""

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: int = 1) -> None:
        return None

    def close(self) -> None:
        return None


def progress_bar(*, total: int | None, desc: str) -> tqdm | _NoBar:
    """A byte progress bar on stderr, shown only when stderr is a terminal."""
    if not _is_terminal(sys.stderr):
        return _NoBar()  # as tqdm(disable=None) would show it: not at all
    from tqdm import tqdm

    return tqdm(
        total=total,
        desc=desc,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        disable=None,
        leave=True,
        dynamic_ncols=True,
    )


class Client:
    """One server's ``/api/v1/``: JSON in, JSON out, every failure as a :class:`CliError`."""

    def __init__(self, server: str, token: str | None = None) -> None:
        import requests

        self.server = server.rstrip("/")
        self.token = token
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "chal (mm-challenge-platform)"
        self.session.headers["Accept"] = "application/json"
        if token:
            self.session.auth = TokenAuth(token)
        self._last_answer = 0.0  # monotonic time of the last answer (0: none yet)

    def url(self, path: str) -> str:
        return f"{self.server}/api/v1/{path.lstrip('/')}"

    def require_login(self) -> None:
        """Fail before sending anything when there is no token at all."""
        if not self.token:
            raise NotLoggedIn()

    def request(
        self, method: str, path: str, *, read_timeout: float = READ_TIMEOUT, **kwargs: Any
    ) -> requests.Response:
        """Send one request; a 4xx/5xx answer or a network failure raises a CliError."""
        import requests

        url = path if path.startswith(("http://", "https://")) else self.url(path)
        if self._last_answer and time.monotonic() - self._last_answer > IDLE_CONNECTION_SECONDS:
            self.session.close()  # the pooled connections: the server may be closing them
        try:
            response = self.session.request(
                method, url, timeout=(CONNECT_TIMEOUT, read_timeout), **kwargs
            )
        except requests.exceptions.ConnectionError as exc:
            self.session.close()  # never reuse the other connections of a failed pool
            if isinstance(kwargs.get("data"), MultipartBody) and _connected(exc):
                raise ConnectionClosed(
                    f"the server at {self.server} closed the connection during the upload "
                    "(the file may be larger than its limit)"
                ) from exc
            raise ServerUnreachable(self.server) from exc
        except requests.exceptions.Timeout as exc:
            raise ServerUnreachable(
                self.server, f": no answer within {read_timeout:.0f} s"
            ) from exc
        except requests.exceptions.RequestException as exc:
            raise CliError(f"request to {url} failed: {exc}") from exc
        self._last_answer = time.monotonic()
        if response.status_code >= 400:
            error = error_from_response(response)
            response.close()
            raise error
        return response

    def json(self, response: requests.Response) -> Any:
        """The answer's JSON; anything else means the URL is not this platform's API."""
        try:
            return response.json()
        except ValueError as exc:
            raise CliError(
                f"the server at {self.server} did not answer with JSON "
                "(is it the challenge platform?)"
            ) from exc

    def get(self, path: str, **params: Any) -> Any:
        return self.json(self.request("GET", path, params=params or None))

    def watch(self, path: str, *, tag: str | None, seconds: float) -> Watched:
        """``path`` (a job: a submission, an algorithm run) once its status is no longer the
        one ``tag`` names (an earlier answer's ``ETag``), the server holding the answer up to
        ``seconds`` (``?wait=``: a push, not a poll; docs/decisions/0057). Without ``tag``,
        until the job is final. A server that does not hold (an older
        one, or all its waiting places taken) answers at once: :class:`Watched` says so."""
        headers = {"If-None-Match": tag} if tag else {}
        started = time.monotonic()
        response = self.request(
            "GET",
            path,
            params={"wait": f"{seconds:g}"},
            headers=headers,
            read_timeout=seconds + READ_TIMEOUT,
        )
        held = time.monotonic() - started
        retry = response.headers.get("Retry-After", "")
        new_tag = response.headers.get("ETag") or None
        pause = float(retry) if _seconds(retry) else None
        if response.status_code == 304:
            response.close()
            return Watched(None, new_tag or tag, held, pause)
        return Watched(self.json(response), new_tag, held, pause)

    def post(self, path: str, data: dict[str, Any]) -> Any:
        return self.json(self.request("POST", path, json=data))

    def get_all(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """Every item of a (possibly paginated) list, following ``next`` links."""
        page = self.get(path, **params)
        if isinstance(page, list):
            return page
        items = list(page.get("results", []))
        while page.get("next"):
            page = self.json(self.request("GET", page["next"]))
            items.extend(page.get("results", []))
        return items

    def download(self, path: str, dest: Path, *, desc: str) -> int:
        """Stream ``path`` to ``dest`` through ``.<dest name>.part`` in the same folder.

        The file is never held in memory; ``dest`` only appears, complete, once every byte
        arrived. When a transfer is cut, the part file stays (with the server's ETag next to
        it) and the next download of the same file asks only for the missing bytes
        (``Range`` + ``If-Range``); a server that answers with the whole file, or a file
        that changed on the server meanwhile, restarts it from the first byte. Returns the
        file's size.
        """
        import requests

        part = dest.with_name(f".{dest.name}.part")
        meta = dest.with_name(f".{dest.name}.part.json")
        have, etag = _resumable(part, meta)
        headers = {"Accept": "*/*"}
        if have and etag:
            headers["Range"] = f"bytes={have}-"
            headers["If-Range"] = etag
        try:
            response = self.request("GET", path, stream=True, headers=headers)
        except ApiError as exc:
            if exc.status != 416 or not have:
                raise
            # The part file is longer than the file now is: it is another version.
            _forget(part, meta)
            return self.download(path, dest, desc=desc)
        try:
            total, offset = _extent(response, have)
            if offset == 0:
                have = 0
            etag = response.headers.get("ETag", "")
            if etag:
                meta.write_text(json.dumps({"etag": etag}), encoding="utf-8")
            else:
                meta.unlink(missing_ok=True)
            written = have
            with (
                part.open("ab" if offset else "wb") as handle,
                progress_bar(total=total, desc=desc) as bar,
            ):
                bar.update(offset)
                for chunk in response.iter_content(chunk_size=CHUNK):
                    handle.write(chunk)
                    written += len(chunk)
                    bar.update(len(chunk))
            if total is not None and written != total:
                raise CliError(
                    f"the download of {dest.name} stopped after {written} of {total} bytes; "
                    "run the same command again to resume it"
                )
            os.replace(part, dest)
            meta.unlink(missing_ok=True)
        except requests.exceptions.RequestException as exc:
            if not etag:  # a server that names no version cannot resume: keep nothing
                _forget(part, meta)
                raise CliError(
                    f"the download of {dest.name} was interrupted ({exc}); try again"
                ) from exc
            raise CliError(
                f"the download of {dest.name} was interrupted ({exc}); "
                "run the same command again to resume it"
            ) from exc
        except BaseException:
            if not etag:
                _forget(part, meta)
            raise
        finally:
            response.close()
        return written

    def upload(
        self, path: str, *, file: Path, fields: dict[str, str], file_field: str = "file"
    ) -> Any:
        """POST ``file`` (streamed from disk, with a progress bar) and ``fields`` as multipart,
        with an ``Idempotency-Key``: when the server closes the connection before answering
        (a kept-alive connection it was closing, a restart), the upload is sent once more
        with the same key, and the server makes one submission of both."""
        size = file.stat().st_size
        import uuid

        key = str(uuid.uuid4())
        closed = 0
        for attempt in range(1, UPLOAD_ATTEMPTS + 1):
            with progress_bar(total=size, desc=f"uploading {file.name}") as bar:
                body = MultipartBody(
                    fields=fields, file_field=file_field, path=file, progress=bar.update
                )
                try:
                    response = self.request(
                        "POST",
                        path,
                        data=body,
                        headers={"Content-Type": body.content_type, "Idempotency-Key": key},
                        read_timeout=UPLOAD_READ_TIMEOUT,
                    )
                except ConnectionClosed:
                    closed += 1
                    if closed == CLOSED_ATTEMPTS or attempt == UPLOAD_ATTEMPTS:
                        raise
                    continue
                except ApiError as exc:
                    if exc.status not in GATEWAY_ERRORS or attempt == UPLOAD_ATTEMPTS:
                        raise
                    time.sleep(_pause(attempt, exc.retry_after))
                    continue
            return self.json(response)
        raise AssertionError("unreachable")  # pragma: no cover


class Watched(NamedTuple):
    """A :meth:`Client.watch` answer: the job's JSON (None: unchanged, 304), the status's
    tag, how long the server took, and how long it asked to be left alone
    (``Retry-After``: it held no wait)."""

    data: Any
    tag: str | None
    seconds: float
    retry_after: float | None


def _seconds(text: str) -> bool:
    try:
        return 0 <= float(text) < 3600
    except ValueError:
        return False


def _pause(attempt: int, retry_after: datetime | None) -> float:
    """Seconds before the next send of an upload a gateway refused: the growing pause, or
    the server's Retry-After when it asks for less."""
    pause = UPLOAD_PAUSES[min(attempt, len(UPLOAD_PAUSES)) - 1]
    if retry_after is not None:
        pause = min(pause, max((retry_after - datetime.now(UTC)).total_seconds(), 0.0))
    return pause


def _resumable(part: Path, meta: Path) -> tuple[int, str]:
    """Bytes already in ``part`` and the ETag they belong to ((0, "") when none usable)."""
    try:
        have = part.stat().st_size
        etag = json.loads(meta.read_text(encoding="utf-8")).get("etag", "")
    except (OSError, ValueError, AttributeError):
        return 0, ""
    if not isinstance(etag, str) or not etag.startswith(('"', 'W/"')):
        return 0, ""
    return have, etag


def _forget(part: Path, meta: Path) -> None:
    part.unlink(missing_ok=True)
    meta.unlink(missing_ok=True)


def _extent(response: requests.Response, have: int) -> tuple[int | None, int]:
    """(the whole file's size if known, where this answer's bytes start)."""
    if response.status_code == 206:
        match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", response.headers.get("Content-Range", ""))
        if match is None or int(match.group(1)) != have:
            raise CliError("the server answered a resumed download with the wrong bytes; try again")
        return int(match.group(3)), have
    expected = response.headers.get("Content-Length")
    return (int(expected) if expected and expected.isdigit() else None), 0


def _connected(exc: requests.exceptions.ConnectionError) -> bool:
    """True when the connection was made and then broken (not refused or unresolvable)."""
    text = repr(exc)
    return any(
        marker in text
        for marker in ("BrokenPipe", "ConnectionReset", "Connection aborted", "RemoteDisconnected")
    )
