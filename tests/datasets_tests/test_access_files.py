"""Walk every data URL as anonymous, participant and organizer.

Only organizers ever receive the solution; anonymous visitors never receive a data file;
nothing under MEDIA_ROOT or the private storage is reachable by its storage path.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client
from rest_framework.test import APIClient

from datasets.models import Task
from tests.datasets_tests.factories import imported_task, token_for

pytestmark = pytest.mark.django_db

PUBLIC = ["train.csv", "train.parquet", "test.csv", "test.parquet", "images.zip"]
SOLUTION = "solution.parquet"
GUESSES = ["solution.csv", "task.json", "card.json", "Train.csv", "train.csv.gz"]
# Names with a slash match no route at all: 404 for everyone, before any login check.
UNROUTED = ["private/solution.parquet", "private%2Fsolution.parquet", "..%2Fsolution.parquet"]


@pytest.fixture
def task(tmp_path: Path) -> Task:
    return imported_task(tmp_path, images=True)


def clients(role: str, user) -> tuple[Client, APIClient]:
    page, api = Client(), APIClient()
    if user is not None:
        page.force_login(user)
        api.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    return page, api


def body(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


@pytest.mark.parametrize("role", ["anonymous", "participant", "organizer"])
def test_every_data_url_answers_as_the_role_allows(
    role: str, task: Task, participant, organizer
) -> None:
    user = {"anonymous": None, "participant": participant, "organizer": organizer}[role]
    page, api = clients(role, user)
    with task.solution.open("rb") as handle:
        solution_bytes = handle.read()
    base_page = f"/tasks/{task.slug}/files/"
    base_api = f"/api/v1/tasks/{task.slug}/files/"
    seen: dict[str, int] = {}

    for name in [*PUBLIC, SOLUTION, *GUESSES, *UNROUTED]:
        for kind, url, client in (
            ("page", base_page + name, page),
            ("api", base_api + name, api),
        ):
            response = client.get(url)
            seen[f"{kind} {name}"] = response.status_code
            content = body(response)
            if role != "organizer":
                assert solution_bytes not in content, url
            if response.status_code == 200:
                assert user is not None, url  # anonymous never gets a file
                assert response["Content-Disposition"].startswith("attachment;")

    expected: dict[str, int] = {}
    for name in PUBLIC:
        expected[f"page {name}"] = {"anonymous": 302}.get(role, 200)
        expected[f"api {name}"] = {"anonymous": 401}.get(role, 200)
    expected[f"page {SOLUTION}"] = 200 if role == "organizer" else 404
    expected[f"api {SOLUTION}"] = {"anonymous": 401, "participant": 404}.get(role, 200)
    for name in GUESSES:
        expected[f"page {name}"] = {"anonymous": 302}.get(role, 404)
        expected[f"api {name}"] = {"anonymous": 401}.get(role, 404)
    for name in UNROUTED:
        expected[f"page {name}"] = expected[f"api {name}"] = 404
    assert seen == expected


def test_organizers_receive_the_exact_solution_file(task: Task, organizer) -> None:
    page, api = clients("organizer", organizer)
    with task.solution.open("rb") as handle:
        expected = handle.read()
    for client, url in (
        (page, f"/tasks/{task.slug}/files/{SOLUTION}"),
        (api, f"/api/v1/tasks/{task.slug}/files/{SOLUTION}"),
    ):
        response = client.get(url)
        assert body(response) == expected
        assert response["Content-Disposition"] == f'attachment; filename="{task.slug}-{SOLUTION}"'


def test_the_solution_404_does_not_depend_on_the_task_existing(participant) -> None:
    page, api = clients("participant", participant)
    for slug in ("nope", "another-missing-task"):
        assert page.get(f"/tasks/{slug}/files/{SOLUTION}").status_code == 404
        assert api.get(f"/api/v1/tasks/{slug}/files/{SOLUTION}").status_code == 404


@pytest.mark.parametrize("role", ["anonymous", "participant", "organizer"])
def test_storage_paths_are_never_served(role: str, task: Task, participant, organizer) -> None:
    user = {"anonymous": None, "participant": participant, "organizer": organizer}[role]
    page, _ = clients(role, user)
    names = [task.train_csv.name, task.solution.name]
    for name in names:
        for prefix in ("/media-not-served/", "/media/", "/private/", "/"):
            assert page.get(prefix + name).status_code == 404, prefix + name


def test_the_task_page_and_api_detail_are_public_but_hold_no_data_file(
    client: Client, task
) -> None:
    response = client.get(f"/tasks/{task.slug}/")
    assert response.status_code == 200
    detail = APIClient().get(f"/api/v1/tasks/{task.slug}/")
    assert detail.status_code == 200
    with task.train_csv.open("rb") as handle:
        train = handle.read().decode()
    second_row = train.splitlines()[10]  # a training row beyond the card's 5 examples
    assert second_row not in response.content.decode()
    assert second_row not in detail.content.decode()
