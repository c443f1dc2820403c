"""``chal download`` resumes an interrupted download with a range request.

The server is the real live server; the interruption is either the user's Ctrl-C in the
middle of the transfer, or the connection cut by a small TCP proxy on localhost after part
of the body went through (the proxy forwards bytes unchanged and records what was asked).
"""

from __future__ import annotations

import socket
import threading

import pytest

import chal_client.client as chal_http
from datasets.selectors import task_file_get
from tests.challenges_tests.factories import api_key


def _stored_bytes(task, name: str) -> bytes:
    stored = task_file_get(task=task, name=name, organizer=False)
    with stored.storage.open(stored.name, "rb") as handle:
        return handle.read()


class RecordingBar:
    """Stands in for the tqdm bar: records each file's byte counts, and can play Ctrl-C
    once ``interrupt_after`` bytes of the file named ``interrupt`` arrived."""

    def __init__(self, interrupt: str = "", interrupt_after: int = 0) -> None:
        self.files: dict[str, list[int]] = {}
        self.totals: dict[str, int | None] = {}
        self.interrupt = interrupt
        self.interrupt_after = interrupt_after

    def __call__(self, *, total, desc):
        self.desc = desc
        self.files[desc] = []
        self.totals[desc] = total
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n: int) -> None:
        self.files[self.desc].append(n)
        cut_here = self.interrupt and self.desc.endswith(self.interrupt)
        if cut_here and sum(self.files[self.desc]) >= self.interrupt_after:
            raise KeyboardInterrupt


def test_a_download_interrupted_by_ctrl_c_resumes_where_it_stopped(
    chal, world, login_as, tmp_path, monkeypatch
):
    login_as("alice")
    expected = _stored_bytes(world.pairs, "images.zip")
    assert len(expected) > 1000
    monkeypatch.setattr(chal_http, "CHUNK", 100)  # many chunks even for a small file
    folder = tmp_path / "data"
    dest = folder / f"{world.pairs.slug}-images.zip"

    first = RecordingBar(interrupt="images.zip", interrupt_after=500)
    monkeypatch.setattr(chal_http, "progress_bar", first)
    result = chal("download", world.pairs.slug, "--format", "parquet", "--dir", folder)
    assert result.code == 130  # interrupted: train and test done, images.zip cut
    assert not dest.exists()
    kept = (folder / f".{dest.name}.part").read_bytes()
    assert len(kept) == 500
    assert kept == expected[:500]

    second = RecordingBar()
    monkeypatch.setattr(chal_http, "progress_bar", second)
    result = chal("download", world.pairs.slug, "--format", "parquet", "--dir", folder)
    assert result.code == 0, result.err
    assert dest.read_bytes() == expected
    # The bar starts at the kept bytes; only the rest crossed the network.
    updates = second.files[dest.name]
    assert updates[0] == 500
    assert sum(updates[1:]) == len(expected) - 500
    assert second.totals[dest.name] == len(expected)
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]


def test_a_part_file_of_another_version_is_replaced_not_appended(chal, world, login_as, tmp_path):
    login_as("alice")
    expected = _stored_bytes(world.birds, "train.csv")
    folder = tmp_path / "data"
    folder.mkdir()
    name = f"{world.birds.slug}-train.csv"
    (folder / f".{name}.part").write_bytes(b"stale bytes of an older file")
    (folder / f".{name}.part.json").write_text('{"etag": "\\"an-older-version\\""}')
    result = chal("download", world.birds.slug, "--dir", folder)
    assert result.code == 0, result.err
    assert (folder / name).read_bytes() == expected


class CuttingProxy:
    """Forwards each GET to the live server (one request per connection); the first
    answer to a path containing ``cut_path`` is cut after ``cut_after`` body bytes."""

    def __init__(self, upstream: str, *, cut_path: str, cut_after: int) -> None:
        host, port = upstream.removeprefix("http://").split(":")
        self.upstream = (host, int(port))
        self.cut_path = cut_path.encode()
        self.cut_after = cut_after
        self.cut_done = False
        self.requests: list[bytes] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _handle(self, client: socket.socket) -> None:
        with client, socket.create_connection(self.upstream) as upstream:
            request = b""
            while b"\r\n\r\n" not in request:
                data = client.recv(65536)
                if not data:
                    return
                request += data
            self.requests.append(request)
            head, _, rest = request.partition(b"\r\n")
            upstream.sendall(head + b"\r\nConnection: close\r\n" + rest)
            cut = self.cut_path in head and not self.cut_done
            answer = b""
            while b"\r\n\r\n" not in answer:
                data = upstream.recv(65536)
                if not data:
                    return
                answer += data
            # Tell the client too that this connection ends with the answer.
            status, _, rest = answer.partition(b"\r\n")
            answer = status + b"\r\nConnection: close\r\n" + rest
            budget = answer.index(b"\r\n\r\n") + 4 + self.cut_after if cut else None
            while True:
                if budget is not None and len(answer) >= budget:
                    client.sendall(answer[:budget])
                    self.cut_done = True
                    return  # closes both sockets mid-body
                data = upstream.recv(65536)
                if not data:
                    client.sendall(answer)
                    return
                answer += data

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def proxy(world):
    proxy = CuttingProxy(world.url, cut_path="/files/test.csv", cut_after=700)
    yield proxy
    proxy.close()


def test_a_download_cut_by_the_network_resumes_with_a_range_request(
    chal, world, tmp_path, monkeypatch, proxy
):
    monkeypatch.setenv("CHAL_TOKEN", api_key(world.alice))
    # The bytes of a chunk cut in the middle are lost (urllib3 raises instead of returning
    # them): a resume restarts at the last whole chunk. 100-byte chunks, cut after 7 of them.
    monkeypatch.setattr(chal_http, "CHUNK", 100)
    expected = _stored_bytes(world.birds, "test.csv")
    assert len(expected) > 1400
    folder = tmp_path / "data"
    result = chal("download", world.birds.slug, "--dir", folder, "--server", proxy.url)
    assert result.code == 1
    assert "run the same command again to resume it" in result.err
    name = f"{world.birds.slug}-test.csv"
    assert (folder / f".{name}.part").read_bytes() == expected[:700]

    result = chal("download", world.birds.slug, "--dir", folder, "--server", proxy.url)
    assert result.code == 0, result.err
    assert (folder / name).read_bytes() == expected
    resumed = [r for r in proxy.requests if b"/files/test.csv" in r][-1].decode().lower()
    assert "\r\nrange: bytes=700-\r\n" in resumed
    assert '\r\nif-range: "' in resumed
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]
