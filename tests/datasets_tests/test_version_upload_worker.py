"""An uploaded data version checked by a real Celery worker through the real Redis broker
(issue 51): the API answers 202 at once, the worker makes the version (or refuses the bundle
with every problem) and deletes the uploaded zip; the page the owner is sent to shows it."""

from __future__ import annotations

from pathlib import Path

import pytest

from datasets.models import Task, TaskVersion, TaskVersionUpload
from testkit.bundles import write_classification_bundle, zip_bundle
from tests.scoring_tests.factories import (
    ChallengeFactory,
    TeamFactory,
    UserFactory,
    add_member,
    api_client_for,
    imported_task,
)
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.celery_worker, pytest.mark.slow]

FINAL = ("accepted", "refused", "failed")


def test_a_worker_checks_the_upload(celery_worker, tmp_path: Path):
    task = imported_task(tmp_path / "import", challenge=ChallengeFactory())
    team = TeamFactory(challenge=task.track.challenge, name="Owners")
    owner = UserFactory(username="owner")
    add_member(team, owner)
    Task.objects.filter(pk=task.pk).update(owner_team=team)
    api = api_client_for(owner)
    url = f"/api/v1/tasks/{task.slug}/versions/"

    def upload(name: str, **overrides) -> dict:
        folder = write_classification_bundle(tmp_path / name, task={"slug": task.slug}, **overrides)
        with open(zip_bundle(folder, tmp_path / f"{name}.zip"), "rb") as fh:
            answer = api.post(url, {"file": fh, "reason": name}, format="multipart")
        assert answer.status_code == 202, answer.json()
        return answer.json()

    def final(body: dict) -> dict:
        return wait_for(
            lambda: (polled := api.get(body["url"]).json())["status"] in FINAL and polled,
            timeout=120,
            what=f"the check of upload {body['id']}",
            worker=celery_worker,
        )

    first = upload("more-rows", rows=80)
    storage = TaskVersionUpload._meta.get_field("bundle").storage
    zips = [Path(storage.path(TaskVersionUpload.objects.get(pk=first["id"]).bundle.name))]
    good = final(first)
    assert (good["status"], good["version"]) == ("accepted", 2), good
    assert TaskVersion.objects.get(task=task, number=2).train_rows == 80
    second = upload("no-labels", train=lambda df: df.drop(columns="label"))
    zips.append(Path(storage.path(TaskVersionUpload.objects.get(pk=second["id"]).bundle.name)))
    bad = final(second)
    assert bad["status"] == "refused" and bad["problems"], bad
    assert Task.objects.get(pk=task.pk).data_version == 2
    assert not any(z.exists() for z in zips)  # the zips went with the checks
    assert not TaskVersionUpload.objects.exclude(bundle="").filter(task=task).exists()
