"""What the chaos run's load did (``bench/chaos_load.py``): each request and how it ended, each
upload and its submission, the runs, algorithms and imports the API accepted; and the
clients it sends them with (a browser behind the balancer, the back-off between tries)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import requests


@dataclass
class Exchange:
    """One HTTP request (or one ``chal`` command) and how it ended."""

    channel: str  # api-upload, web-upload, chal-upload, board, release-check, algorithm...
    started: float
    ended: float
    status: int | str  # the HTTP status, or the exception's name
    server: str = ""  # the Server header (gunicorn: a web host answered; none: the balancer)
    detail: str = ""


@dataclass
class Upload:
    key: str  # the upload's Idempotency-Key, also its note
    channel: str
    team: str
    task: str
    started: float
    accepted_at: float | None = None
    submission: int | None = None
    attempts: int = 0
    given_up: str = ""


@dataclass
class Ledger:
    lock: threading.Lock = field(default_factory=threading.Lock)
    exchanges: list[Exchange] = field(default_factory=list)
    uploads: dict[str, Upload] = field(default_factory=dict)
    runs: list[dict] = field(default_factory=list)  # runs the API accepted (202)
    algorithms: list[dict] = field(default_factory=list)  # versions the API accepted (201)
    imports: list[dict] = field(default_factory=list)  # each try of the task import
    release_checks: Counter = field(default_factory=Counter)
    reads: Counter = field(default_factory=Counter)

    def note(self, exchange: Exchange) -> None:
        with self.lock:
            self.exchanges.append(exchange)

    def as_json(self) -> dict:
        with self.lock:
            return {
                "uploads": [u.__dict__ for u in self.uploads.values()],
                "runs": list(self.runs),
                "algorithms": list(self.algorithms),
                "imports": list(self.imports),
            }


def exchange(
    ledger: Ledger, channel: str, session: requests.Session, method: str, url: str, **kwargs
) -> requests.Response | None:
    """One request through ``session``, kept in the ledger; None when it raised."""
    started = time.time()
    try:
        response = session.request(method, url, timeout=kwargs.pop("timeout", 120), **kwargs)
    except requests.RequestException as exc:
        ledger.note(Exchange(channel, started, time.time(), type(exc).__name__, "", str(exc)[:200]))
        return None
    ledger.note(
        Exchange(
            channel,
            started,
            time.time(),
            response.status_code,
            response.headers.get("Server", ""),
            response.text[:200] if response.status_code >= 400 else "",
        )
    )
    return response


RETRYABLE = {429, 502, 503, 504}


class Browser(requests.Session):
    """A browser behind the deployment's balancer, where TLS would end: it says its request
    came over TLS (X-Forwarded-Proto, as the balancer would set it) and sends back the
    cookies the platform marks Secure (production settings), which plain HTTP would not."""

    def __init__(self) -> None:
        super().__init__()
        self.trust_env = False
        self.headers["X-Forwarded-Proto"] = "https"

    def request(self, *args, **kwargs) -> requests.Response:
        response = super().request(*args, **kwargs)
        for cookie in self.cookies:
            cookie.secure = False
        return response


def browser() -> requests.Session:
    return Browser()


def backoff(attempt: int) -> float:
    return min(1.0 * 2 ** (attempt - 1), 8.0)
