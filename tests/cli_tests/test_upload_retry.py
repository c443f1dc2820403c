"""``chal submit`` when the answer to an upload is lost: sent again, one submission made.

Between ``chal`` and the live server, a proxy (real sockets on localhost) forwards every
request and answer, but for the first upload it forwards the request, lets the server take
it, and closes the client's connection without the answer: what a client sees when a
connection it reused was being closed, or a proxy restarted. ``chal`` sends the upload again
with the same ``Idempotency-Key``, and the server answers with the submission it made."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from scoring.models import Submission
from tests.challenges_tests.factories import PASSWORD


def _read_message(sock: socket.socket) -> bytes:
    """One HTTP message (headers and a Content-Length body) from ``sock``; b"" at EOF."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return b""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def _closing(message: bytes) -> bytes:
    """The answer with ``Connection: close`` (the proxy serves one request per connection)."""
    head, _, body = message.partition(b"\r\n\r\n")
    lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"connection:")]
    return b"\r\n".join([*lines, b"Connection: close"]) + b"\r\n\r\n" + body


BAD_GATEWAY = (
    b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\nContent-Length: 0\r\n"
    b"Connection: close\r\n\r\n"
)


class LosingProxy:
    """Forwards each request to ``target``; the first upload's answer never reaches the
    client: its connection is closed, or (``gateway``) the client gets a 502 as from a
    balancer whose server died after taking it. ``uploads`` keeps each upload's request
    head."""

    def __init__(self, target: str, *, gateway: bool = False) -> None:
        self.gateway = gateway
        parts = urlsplit(target)
        self.target = (parts.hostname, parts.port)
        self.uploads: list[bytes] = []
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(client,), daemon=True).start()

    def _one(self, client: socket.socket) -> None:
        with client:
            request = _read_message(client)
            if not request:
                return
            with socket.create_connection(self.target) as upstream:
                upstream.sendall(request)
                answer = _read_message(upstream)
            head = request.split(b"\r\n\r\n", 1)[0]
            if head.startswith(b"POST ") and b"/submissions/" in head.split(b"\r\n")[0]:
                self.uploads.append(head)
                if len(self.uploads) == 1:
                    if self.gateway:
                        client.sendall(BAD_GATEWAY)
                    return  # the server took it; the client never hears
            client.sendall(_closing(answer))

    def close(self) -> None:
        self.server.close()


@pytest.fixture(params=["closed", "bad gateway"])
def proxy(world, request) -> Iterator[LosingProxy]:
    losing = LosingProxy(world.url, gateway=request.param == "bad gateway")
    yield losing
    losing.close()


def test_a_lost_answer_is_sent_again_and_makes_one_submission(
    chal, world, proxy, broker, tmp_path, monkeypatch
):
    monkeypatch.setattr("getpass.getpass", lambda prompt="": PASSWORD)
    assert chal("login", "--server", proxy.url, "--username", "alice").code == 0
    path = tmp_path / "predictions.csv"
    path.write_text("id,label\n" + "".join(f"t{i:04d},bird\n" for i in range(30)))

    result = chal("submit", world.birds.slug, path)

    assert result.code == 0, result.err
    submission = Submission.objects.get()  # one, though the server took the upload twice
    assert result.out == f"Submission {submission.pk} to cli-birds: queued\n"
    assert len(proxy.uploads) == 2
    keys = [
        line.split(b":", 1)[1].strip()
        for head in proxy.uploads
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"idempotency-key:")
    ]
    assert len(keys) == 2 and keys[0] == keys[1] and len(keys[0]) == 36
    assert submission.idempotency_key == keys[0].decode()
