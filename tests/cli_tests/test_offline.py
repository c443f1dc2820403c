"""The client's parts that need no server: configuration, the multipart body, usage errors."""

from __future__ import annotations

import io
import socket
import stat
import threading
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from tqdm import tqdm

from chal_client import config
from chal_client.client import CHUNK, MultipartBody
from chal_client.output import table


def test_the_token_file_is_private_and_only_sent_to_its_own_server(config_file, monkeypatch):
    path = config.save(server="http://chal.example:8000", token="secret-key")
    assert path == config_file
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert config.resolve().token == "secret-key"
    assert config.resolve("chal.example:8000/api/v1/").token == "secret-key"
    elsewhere = config.resolve("http://other.example")
    assert (elsewhere.server, elsewhere.token) == ("http://other.example", None)
    monkeypatch.setenv("CHAL_SERVER", "http://env.example")
    monkeypatch.setenv("CHAL_TOKEN", "env-key")
    assert config.resolve() == config.Settings("http://env.example", "env-key")


def test_with_no_file_the_default_server_is_local(config_file):
    assert config.resolve() == config.Settings("http://127.0.0.1:8000", None)


def test_the_multipart_body_streams_the_file_intact_and_moves_the_bar(tmp_path: Path):
    data = bytes(range(256)) * (3 * CHUNK // 256 + 17)  # several chunks, every byte value
    path = tmp_path / 'odd "name"\n.csv'
    path.write_bytes(data)
    out = io.StringIO()
    with tqdm(total=len(data), file=out, disable=False, mininterval=0) as bar:
        body = MultipartBody(
            fields={"note": "ünïcode note"}, file_field="file", path=path, progress=bar.update
        )
        raw = b"".join(body)
        assert bar.n == len(data)
    assert len(raw) == len(body)
    assert "100%" in out.getvalue()

    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {body.content_type}\r\n\r\n".encode() + raw
    )
    parts = {
        part.get_param("name", header="content-disposition"): part for part in message.iter_parts()
    }
    assert parts["note"].get_payload(decode=True).decode() == "ünïcode note"
    assert parts["file"].get_payload(decode=True) == data
    assert parts["file"].get_filename() == "odd %22name%22%0A.csv"


def test_tables_align_numbers_and_show_missing_values_as_dashes():
    text = table(["rank", "team", "score"], [[1, "Red", 0.8], [None, "AutoGluon", None]])
    assert text.splitlines() == [
        "rank  team        score",
        "----  ---------  ------",
        "   1  Red        0.8000",
        "   —  AutoGluon       —",
    ]


@pytest.mark.parametrize("blank", ["", "  "])
def test_a_table_refuses_a_column_without_a_header(blank):
    with pytest.raises(ValueError, match="every column needs a header"):
        table(["rank", blank], [[1, "baseline"]])


def test_usage_errors_exit_2(chal, tmp_path: Path):
    assert chal().code == 2
    assert chal("leaderboard", "x", "--split", "everything").code == 2
    assert chal("submit", "t", "f.csv", "--timeout", "0").code == 2
    missing = chal("submit", "some-task", tmp_path / "nope.csv")
    assert missing.code == 2
    assert missing.err == f"error: no such file: {tmp_path / 'nope.csv'}\n"
    bad_server = chal("tasks", "--server", "ftp://example")
    assert (bad_server.code, "not a server URL" in bad_server.err) == (2, True)


def test_a_server_that_is_down_is_a_plain_message_and_exit_1(chal):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = chal("tasks", "--server", f"http://127.0.0.1:{port}")
    assert result.code == 1
    assert result.err == (
        f"error: cannot reach the server at http://127.0.0.1:{port} (is it running?)\n"
    )
    assert result.out == ""


def test_commands_that_need_a_token_say_so_before_sending_anything(chal, tmp_path: Path):
    predictions = tmp_path / "p.csv"
    predictions.write_text("id,label\n")
    for args in (("submit", "t", predictions), ("download", "t"), ("submissions",)):
        result = chal(*args, "--server", "http://127.0.0.1:9")
        assert (result.code, result.err) == (
            1,
            "error: not logged in or token invalid: run `chal login`\n",
        ), args


class _Stub(BaseHTTPRequestHandler):
    """Not the platform: a task whose file download breaks off, and an HTML page."""

    def do_GET(self) -> None:
        if self.path == "/api/v1/tasks/t/":
            self._send(200, b'{"slug": "t", "files": {}}', "application/json")
        elif self.path.startswith("/api/v1/tasks/t/files/"):
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"id,label\n" * 10)  # then the connection drops
        else:
            self._send(200, b"<html>a different site</html>", "text/html")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def stub_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_a_broken_download_leaves_no_file_behind(chal, stub_server, tmp_path, monkeypatch):
    monkeypatch.setenv("CHAL_TOKEN", "any")
    folder = tmp_path / "out"
    result = chal("download", "t", "--dir", folder, "--server", stub_server)
    assert result.code == 1
    assert result.err.startswith("error: the download of t-train.csv was interrupted")
    assert list(folder.iterdir()) == []


def test_a_server_that_is_not_the_platform_is_named(chal, stub_server):
    result = chal("tasks", "--server", stub_server)
    assert (result.code, result.err) == (
        1,
        f"error: the server at {stub_server} did not answer with JSON "
        "(is it the challenge platform?)\n",
    )
