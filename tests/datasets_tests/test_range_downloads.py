"""Task file downloads answer HTTP range requests (RFC 9110 §14), so downloads resume.

Through the API (token) and the web page (session), with local storage; and the same
response code over an S3 bucket (moto's server on localhost), since every file goes through
Django storage. A local file is handed to the web server as a file (gunicorn sends it with
sendfile: ``tests/runtime_tests/test_embedded_server.py`` downloads ranges through it); an
S3 object is read with ranged GETs.
"""

from __future__ import annotations

import os
from pathlib import Path

import boto3
import pytest
from django.core.files.base import ContentFile
from django.http import Http404, HttpResponse
from django.test import Client, RequestFactory

from datasets.downloads import ranged_file_response
from runtime.localredis import free_port
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


def test_a_missing_stored_file_is_404_not_a_server_error(fetch, task) -> None:
    task.train_csv.storage.delete(task.train_csv.name)
    response, _ = fetch()
    assert response.status_code == 404


def test_a_local_file_goes_to_the_server_as_a_file_positioned_at_the_range(task, stored) -> None:
    # gunicorn sends such a file itself (sendfile of Content-Length bytes from its position);
    # without that (a test client, another server) it reads exactly the range.
    field = task.train_csv
    request = RequestFactory().get("/x", HTTP_RANGE="bytes=10-99")
    response = ranged_file_response(
        request=request, storage=field.storage, name=field.name, filename="train.csv"
    )
    span = response.file_to_stream
    assert os.lseek(span.fileno(), 0, os.SEEK_CUR) == 10
    assert int(response["Content-Length"]) == 90
    assert b"".join(response.streaming_content) == stored[10:100]
    response.close()




@pytest.fixture(scope="module")
def s3():
    """A bucket on moto's S3 server (localhost) and a django-storages storage over it."""
    from moto.server import ThreadedMotoServer
    from storages.backends.s3 import S3Storage

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        url = f"http://127.0.0.1:{port}"
        keys = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        boto3.client("s3", endpoint_url=url, region_name="us-east-1", **keys).create_bucket(
            Bucket="ranges"
        )
        yield S3Storage(
            bucket_name="ranges", endpoint_url=url, region_name="us-east-1",
            access_key="testing", secret_key="testing", file_overwrite=True, location="media",
        )  # fmt: skip
    finally:
        server.stop()


PAYLOAD = bytes(range(256)) * 4000  # ~1 MB, several blocks


def _s3_get(storage, name: str, **headers) -> tuple[HttpResponse, bytes]:
    request = RequestFactory().get("/x", **{f"HTTP_{k.upper().replace('-', '_')}": v
                                            for k, v in headers.items()})  # fmt: skip
    response = ranged_file_response(
        request=request, storage=storage, name=name, filename="t.parquet"
    )
    body = b"".join(response.streaming_content) if response.streaming else response.content
    response.close()
    return response, body


def test_s3_objects_are_streamed_with_ranged_gets_never_downloaded_whole(s3, monkeypatch) -> None:
    name = s3.save("tasks/t/train.parquet", ContentFile(PAYLOAD))
    # django-storages' open() downloads the whole object (into memory) before a byte is read.
    monkeypatch.setattr(s3, "open", lambda *a, **k: pytest.fail("read through open()"))

    whole, data = _s3_get(s3, name)
    assert (whole.status_code, data) == (200, PAYLOAD)
    assert int(whole["Content-Length"]) == len(PAYLOAD) and whole["Last-Modified"]

    part, data = _s3_get(s3, name, range="bytes=300000-", if_range=whole["ETag"])
    assert (part.status_code, data) == (206, PAYLOAD[300000:])
    assert part["Content-Range"] == f"bytes 300000-{len(PAYLOAD) - 1}/{len(PAYLOAD)}"
    assert part["ETag"] == whole["ETag"]  # one GET or a HEAD: the same version, one ETag

    inner, data = _s3_get(s3, name, range="bytes=5-9")
    assert (inner.status_code, data) == (206, PAYLOAD[5:10])
    other, data = _s3_get(s3, name, range="bytes=10-", if_range='"another-version"')
    assert (other.status_code, data) == (200, PAYLOAD)
    past, data = _s3_get(s3, name, range=f"bytes={len(PAYLOAD)}-")
    assert (past.status_code, past["Content-Range"], data) == (416, f"bytes */{len(PAYLOAD)}", b"")

    head = ranged_file_response(
        request=RequestFactory().head("/x"), storage=s3, name=name, filename="t.parquet"
    )
    assert (head.status_code, head["Content-Length"], head["ETag"]) == (
        200, str(len(PAYLOAD)), whole["ETag"],
    )  # fmt: skip


def test_an_empty_or_missing_s3_object(s3) -> None:
    empty = s3.save("tasks/t/empty.csv", ContentFile(b""))
    response, data = _s3_get(s3, empty)
    assert (response.status_code, response["Content-Length"], data) == (200, "0", b"")
    for headers in ({}, {"range": "bytes=0-10"}):
        with pytest.raises(Http404):
            _s3_get(s3, "tasks/t/gone.parquet", **headers)
