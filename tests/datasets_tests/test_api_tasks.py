"""The tasks API: public list and detail, authenticated streamed downloads, a valid schema."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

from tests.datasets_tests.factories import imported_task

pytestmark = pytest.mark.django_db

FILES = ["train.csv", "train.parquet", "test.csv", "test.parquet"]


@pytest.fixture
def tasks(tmp_path: Path):
    return {
        "kway": imported_task(tmp_path, challenge_slug="cup", track_slug="kway", images=True),
        "pairs": imported_task(tmp_path, kind="matching", challenge_slug="cup", track_slug="pairs"),
        "other": imported_task(
            tmp_path, slug="elsewhere", challenge_slug="other-cup", track_slug="other-kway"
        ),
    }


def test_the_task_list_is_public_and_filters_by_challenge_and_track(anonymous_api, tasks) -> None:
    response = anonymous_api.get("/api/v1/tasks/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    first = body["results"][0]
    assert set(first) == {
        "slug", "title", "kind", "primary_metric", "train_rows", "test_rows", "track",
        "challenge", "url",
    }  # fmt: skip
    assert {t["slug"] for t in body["results"]} == {
        "demo-classification", "demo-matching", "elsewhere"
    }  # fmt: skip

    cup = anonymous_api.get("/api/v1/tasks/", {"challenge": "cup"}).json()["results"]
    assert {t["slug"] for t in cup} == {"demo-classification", "demo-matching"}
    pairs = anonymous_api.get("/api/v1/tasks/", {"challenge": "cup", "track": "pairs"}).json()
    assert [t["slug"] for t in pairs["results"]] == ["demo-matching"]
    assert pairs["results"][0]["url"] == "http://testserver/api/v1/tasks/demo-matching/"


def test_an_unknown_filter_slug_lists_no_task(anonymous_api, tasks) -> None:
    """The schema says a string: any string is a valid filter, one that matches nothing."""
    for params in ({"challenge": "nope"}, {"track": "nope"}, {"challenge": "cup", "track": ""}):
        response = anonymous_api.get("/api/v1/tasks/", params)
        assert response.status_code == 200, params
        assert (response.json()["count"], response.json()["results"]) == (0, []), params


def test_the_task_detail_is_public_and_describes_the_task(anonymous_api, tasks) -> None:
    response = anonymous_api.get("/api/v1/tasks/demo-classification/")
    assert response.status_code == 200
    body = response.json()
    assert body["kind"] == "classification" and body["primary_metric"] == "accuracy"
    assert body["classes"] == ["bird", "cat", "dog"]
    assert body["columns"] == [
        {"name": "title", "type": "text"},
        {"name": "price", "type": "numeric"},
        {"name": "color", "type": "categorical"},
        {"name": "photo", "type": "image"},
    ]
    assert body["track"] == {"slug": "kway", "title": "Kway"}
    assert body["challenge"] == {"slug": "cup", "title": "Cup"}
    assert body["card"]["rows"] == {"train": 60, "test": 30}
    assert body["files"] == {
        name: f"http://testserver/api/v1/tasks/demo-classification/files/{name}"
        for name in [*FILES, "images.zip"]
    }
    matching = anonymous_api.get("/api/v1/tasks/demo-matching/").json()
    assert set(matching["files"]) == set(FILES)  # no images, and never the solution
    assert anonymous_api.get("/api/v1/tasks/nope/").status_code == 404


def test_the_task_detail_says_what_a_prediction_file_holds(anonymous_api, tasks, tmp_path) -> None:
    prices = imported_task(
        tmp_path, kind="regression", slug="prices", challenge_slug="cup", track_slug="numbers"
    )
    kway = anonymous_api.get("/api/v1/tasks/demo-classification/").json()
    assert kway["output_columns"] == ["id", "label"]
    assert kway["optional_output_columns"] == ["proba_bird", "proba_cat", "proba_dog"]
    assert kway["kind_options"] == {}
    pairs = anonymous_api.get("/api/v1/tasks/demo-matching/").json()
    assert pairs["output_columns"] == ["id", "label"]
    assert pairs["optional_output_columns"] == ["score"]
    body = anonymous_api.get("/api/v1/tasks/prices/").json()
    assert (body["kind"], body["classes"]) == ("regression", [])
    assert (body["output_columns"], body["optional_output_columns"]) == (["id", "label"], [])
    # The tolerance within which a row counts as right: public, from the train labels.
    assert body["kind_options"] == {"tolerance": pytest.approx(prices.meta["tolerance"])}
    assert body["kind_options"]["tolerance"] > 0


@pytest.mark.parametrize("name", [*FILES, "images.zip"])
def test_files_stream_as_named_attachments_with_a_token(participant_api, tasks, name) -> None:
    task = tasks["kway"]
    response = participant_api.get(f"/api/v1/tasks/{task.slug}/files/{name}")

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Disposition"] == f'attachment; filename="{task.slug}-{name}"'
    field = {"images.zip": "images_zip"}.get(name, name.replace(".", "_"))
    with getattr(task, field).open("rb") as stored:
        expected = stored.read()
    assert b"".join(response.streaming_content) == expected
    assert int(response["Content-Length"]) == len(expected)


def test_downloads_ignore_the_accept_header(participant_api, tasks) -> None:
    response = participant_api.get(
        "/api/v1/tasks/demo-matching/files/test.parquet", HTTP_ACCEPT="application/octet-stream"
    )
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"PAR1")


def test_anonymous_downloads_are_401_json(anonymous_api, tasks) -> None:
    response = anonymous_api.get("/api/v1/tasks/demo-matching/files/train.csv")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json() == {"detail": "Authentication credentials were not provided."}


def test_a_bad_token_is_401(anonymous_api, tasks) -> None:
    anonymous_api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = anonymous_api.get("/api/v1/tasks/demo-matching/files/train.csv")
    assert response.status_code == 401


def test_unknown_files_and_tasks_are_404(participant_api, tasks) -> None:
    for url in (
        "/api/v1/tasks/demo-matching/files/images.zip",  # a task without images
        "/api/v1/tasks/demo-matching/files/task.json",
        "/api/v1/tasks/demo-matching/files/..%2F..%2Fsettings.py",
        "/api/v1/tasks/nope/files/train.csv",
    ):
        assert participant_api.get(url).status_code == 404, url


def test_the_schema_is_valid_and_documents_the_task_endpoints(anonymous_api) -> None:
    response = anonymous_api.get("/api/v1/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    paths = schema["paths"]
    assert {"get"} <= set(paths["/api/v1/tasks/"])
    assert "/api/v1/tasks/{slug}/" in paths
    download = paths["/api/v1/tasks/{slug}/files/{name}"]["get"]
    assert "application/octet-stream" in download["responses"]["200"]["content"]
    list_params = {p["name"] for p in paths["/api/v1/tasks/"]["get"]["parameters"]}
    assert {"challenge", "track", "limit", "offset"} <= list_params
    components = schema["components"]["schemas"]
    assert {"TaskListOutput", "TaskDetailOutput", "TaskDetailColumn", "TaskDetailRef"} <= set(
        components
    )
    GENERATOR_STATS.reset()
    validate_schema(SchemaGenerator().get_schema(request=None, public=True))
    ours = [
        message
        for message in [*GENERATOR_STATS._warn_cache, *GENERATOR_STATS._error_cache]
        if "datasets" in message or "Task" in message
    ]
    assert ours == []
