"""Task file downloads answer HTTP range requests (RFC 9110 §14), so downloads resume.

Through the API (token) and the web page (session), with local storage; and the same
response code over an S3 bucket (moto's server on localhost), since every file goes through
Django storage.
"""

from __future__ import annotations

import socket
from pathlib import Path

import boto3
import pytest
from django.core.files.base import ContentFile
from django.test import Client, RequestFactory

from datasets.downloads import ranged_file_response
from tests.datasets_tests.factories import imported_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def task(tmp_path: Path):
    return imported_task(tmp_path, images=True)


@pytest.fixture
def stored(task) -> bytes:
    with task.train_csv.open("rb") as handle:
        return handle.read()


def _get(client, url: str, **headers):
    response = client.get(
        url, **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    )
    data = b"".join(response.streaming_content) if response.streaming else response.content
    return response, data


@pytest.fixture(params=["api", "page"])
def fetch(request, task, participant_api, participant):
    if request.param == "api":
        client, url = participant_api, f"/api/v1/tasks/{task.slug}/files/train.csv"
    else:
        client = Client()
        client.force_login(participant)
        url = f"/tasks/{task.slug}/files/train.csv"
    return lambda **headers: _get(client, url, **headers)


def test_the_whole_file_advertises_byte_ranges(fetch, stored) -> None:
    response, data = fetch()
    assert response.status_code == 200
    assert response["Accept-Ranges"] == "bytes"
    assert response["ETag"].startswith('"')
    assert int(response["Content-Length"]) == len(data) and data == stored
    assert response["Cache-Control"] == "private, no-store"


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [("bytes=10-99", 10, 99), ("bytes=100-", 100, None), ("bytes=-25", -25, None),
     ("bytes=0-0", 0, 0), ("bytes=5-99999999", 5, None)],
)  # fmt: skip
def test_a_range_gets_exactly_those_bytes(fetch, stored, header, first, last) -> None:
    response, data = fetch(range=header)
    start = first if first >= 0 else len(stored) + first
    end = len(stored) - 1 if last is None else last
    assert response.status_code == 206
    assert data == stored[start : end + 1]
    assert response["Content-Range"] == f"bytes {start}-{end}/{len(stored)}"
    assert int(response["Content-Length"]) == end - start + 1
    assert response["Content-Disposition"].startswith("attachment;")


def test_a_range_past_the_end_is_416_with_the_size(fetch, stored) -> None:
    for header in (
        f"bytes={len(stored)}-",
        f"bytes={len(stored) + 10}-{len(stored) + 20}",
        "bytes=-0",
    ):
        response, data = fetch(range=header)
        assert response.status_code == 416, header
        assert response["Content-Range"] == f"bytes */{len(stored)}"
        assert data == b""


def test_ranges_we_do_not_serve_get_the_whole_file(fetch, stored) -> None:
    for header in ("bytes=0-9,20-29", "bytes=9-3", "items=0-10", "bytes=abc", "bytes=-"):
        response, data = fetch(range=header)
        assert (response.status_code, data) == (200, stored), header


def test_if_range_resumes_only_the_same_version(fetch, stored) -> None:
    etag = fetch()[0]["ETag"]
    same, data = fetch(range="bytes=50-", if_range=etag)
    assert (same.status_code, data) == (206, stored[50:])
    other, data = fetch(range="bytes=50-", if_range='"another-version"')
    assert (other.status_code, data) == (200, stored)


def test_a_refused_download_never_reaches_the_range_code(task, anonymous_api) -> None:
    response = anonymous_api.get(
        f"/api/v1/tasks/{task.slug}/files/solution.parquet", HTTP_RANGE="bytes=0-10"
    )
    assert response.status_code in (401, 404)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_ranges_stream_from_an_s3_bucket_too() -> None:
    from moto.server import ThreadedMotoServer
    from storages.backends.s3 import S3Storage

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        url = f"http://127.0.0.1:{port}"
        keys = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        boto3.client("s3", endpoint_url=url, region_name="us-east-1", **keys).create_bucket(
            Bucket="ranges"
        )
        storage = S3Storage(
            bucket_name="ranges", endpoint_url=url, region_name="us-east-1",
            access_key="testing", secret_key="testing", file_overwrite=True,
        )  # fmt: skip
        payload = bytes(range(256)) * 4000  # ~1 MB, several chunks
        name = storage.save("tasks/t/train.parquet", ContentFile(payload))
        request = RequestFactory().get("/x", HTTP_RANGE="bytes=300000-")
        response = ranged_file_response(request, storage=storage, name=name, filename="t.parquet")
        assert response.status_code == 206
        assert b"".join(response.streaming_content) == payload[300000:]
        assert response["Content-Range"] == f"bytes 300000-{len(payload) - 1}/{len(payload)}"
        assert response["Last-Modified"]
    finally:
        server.stop()
