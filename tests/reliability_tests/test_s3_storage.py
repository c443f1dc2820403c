"""``STORAGE_BACKEND=s3``: every file in a bucket, none on the local disk.

moto's S3 server runs on a free loopback port. This process uses the exact ``STORAGES``
that ``settings/storage.py`` builds when ``STORAGE_BACKEND=s3`` (evaluated with that
environment); the real worker is started with the same environment variables and reads its
settings from them, as a worker on another host would. A task is imported, a submission
uploaded through the API and scored by the worker, and the task files downloaded through the
API, streamed from the bucket.
"""

from __future__ import annotations

import importlib.util
import io
from collections.abc import Iterator
from pathlib import Path

import boto3
import pandas as pd
import pytest
from django.apps import apps
from django.conf import settings
from django.core.files.storage import storages
from django.db.models import FileField
from django.test import override_settings

from leaderboard.models import LeaderboardEntry
from runtime.localredis import free_port
from scoring.models import Submission, SubmissionStatus
from tests.reliability_tests.setup_helpers import make_setup
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.celery_worker, pytest.mark.slow]

BUCKET = "challenge-test"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}




@pytest.fixture(scope="module")
def s3_url() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_env(s3_url, monkeypatch) -> dict[str, str]:
    env = {
        "STORAGE_BACKEND": "s3",
        "AWS_STORAGE_BUCKET_NAME": BUCKET,
        "AWS_S3_ENDPOINT_URL": s3_url,
        "AWS_S3_REGION_NAME": "us-east-1",
        **CREDENTIALS,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def bucket(s3_env):
    client = boto3.client(
        "s3",
        endpoint_url=s3_env["AWS_S3_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket=BUCKET)
    yield client
    listed = client.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    for item in listed:
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def keys(client) -> set[str]:
    return {item["Key"] for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", [])}


@pytest.fixture
def s3_storages(bucket, s3_env, monkeypatch) -> Iterator[None]:
    """This process's storages as ``settings/storage.py`` builds them with ``STORAGE_BACKEND=s3``.

    ``FileField(storage=private_storage)`` calls ``private_storage`` once, when the model class
    is built; those fields are pointed at the new private storage for the test.
    """
    # A fresh copy of the module, run now with the S3 environment (the imported one is kept).
    path = Path(settings.BASE_DIR) / "challenge_platform/settings/storage.py"
    spec = importlib.util.spec_from_file_location("challenge_platform.settings.s3_copy", path)
    built = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(built)
    assert built.STORAGES["private"]["BACKEND"] == "storages.backends.s3.S3Storage"
    with override_settings(STORAGES=built.STORAGES):
        for model in apps.get_models():
            for field in model._meta.fields:
                if isinstance(field, FileField) and hasattr(field, "_storage_callable"):
                    monkeypatch.setattr(field, "storage", field._storage_callable())
        assert type(storages["private"]).__name__ == "S3Storage"
        yield


def local_files() -> set[Path]:
    roots = [Path(settings.MEDIA_ROOT), Path(settings.PRIVATE_ROOT)]
    return {p for root in roots if root.exists() for p in root.rglob("*") if p.is_file()}


def test_import_upload_score_and_download_through_s3(
    s3_storages, bucket, s3_env, processes, tmp_path
):
    before = local_files()
    setup = make_setup(tmp_path)
    slug = setup.task.slug
    assert {
        f"media/tasks/{slug}/{name}"
        for name in ("train.csv", "train.parquet", "test.csv", "test.parquet")
    } <= keys(bucket)
    assert f"private/tasks/{slug}/solution.parquet" in keys(bucket)

    worker = processes(env=s3_env)  # reads STORAGE_BACKEND=s3 and the bucket from the env
    worker.wait_ready()
    solution = pd.read_parquet(
        io.BytesIO(
            bucket.get_object(Bucket=BUCKET, Key=f"private/tasks/{slug}/solution.parquet")[
                "Body"
            ].read()
        )
    )
    labels = list(solution["label"])
    classes = list(setup.task.classes)
    wrong = set(range(0, len(labels), 4))  # every fourth row wrong
    predicted = [
        classes[(classes.index(label) + 1) % len(classes)] if i in wrong else label
        for i, label in enumerate(labels)
    ]
    content = pd.DataFrame({"id": solution["id"], "label": predicted}).to_csv(index=False)
    response = setup.upload(content.encode())
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    upload_keys = {k for k in keys(bucket) if k.startswith(f"private/submissions/{slug}/")}
    assert len(upload_keys) == 1 and upload_keys.pop().endswith(".csv")

    wait_for(
        lambda: (
            Submission.objects.get(pk=pk).status
            in (SubmissionStatus.SCORED, SubmissionStatus.FAILED)
        ),
        timeout=60,
        what="the worker to score from S3",
        log=[worker],
    )
    submission = Submission.objects.get(pk=pk)
    assert submission.status == SubmissionStatus.SCORED, submission.error
    right = [p == t for p, t in zip(predicted, labels, strict=True)]
    for split in ("public", "private"):
        rows = [r for r, s in zip(right, solution["split"], strict=True) if s == split]
        assert submission.scores[split]["accuracy"] == pytest.approx(sum(rows) / len(rows))
    assert submission.predictions.name in {k.removeprefix("private/") for k in keys(bucket)}
    # The worker's bootstrap intervals read the stored predictions back from the bucket.
    wait_for(
        lambda: LeaderboardEntry.objects.filter(task=setup.task, score_low__isnull=False).exists(),
        timeout=60,
        what="the bootstrap intervals",
        log=[worker],
    )

    for name in ("train.csv", "test.parquet"):
        download = setup.client.get(f"/api/v1/tasks/{slug}/files/{name}")
        assert download.status_code == 200 and download.streaming
        body = b"".join(download.streaming_content)
        stored = bucket.get_object(Bucket=BUCKET, Key=f"media/tasks/{slug}/{name}")["Body"]
        assert body == stored.read()

    assert local_files() == before, "a file was written to the local media or private folder"


@pytest.mark.django_db
def test_no_key_table_is_stored_in_a_bucket_and_scoring_makes_it(s3_storages, bucket, tmp_path):
    """On an object store the solution ids' key table is not stored (scoring would have
    to download it, which costs more than making it:
    docs/decisions/0039-the-solutions-ids-proven-once-and-stored.md): scoring makes it, with the
    same scores as on a local disk."""
    from scoring.core import score_file
    from scoring.solutions import task_solution_load
    from testkit.bundles import CLASSES
    from tests.scoring_tests.solution_keyfile_helpers import keyed_task, shuffled_csv

    task, ids = keyed_task(tmp_path, slug="keyed-s3")
    stored = {k for k in keys(bucket) if k.startswith("private/tasks/keyed-s3/")}
    assert stored == {"private/tasks/keyed-s3/solution.parquet"}
    solution = task_solution_load(task=task)
    assert solution.keys_path is None
    data, _ = shuffled_csv(ids, 2)
    result = score_file(io.BytesIO(data), solution)
    truth = {id_: CLASSES[i % 3] for i, id_ in enumerate(ids)}  # as keyed_task labels them
    order = pd.read_csv(io.BytesIO(data))
    right = (order["label"] == order["id"].map(truth)).mean()
    assert result.metrics["all"]["accuracy"] == pytest.approx(right)


@pytest.mark.django_db(transaction=True)
def test_a_deleted_task_takes_its_objects_out_of_the_bucket(s3_storages, bucket, tmp_path):
    """A task deleted (with the rows deleted with it) takes its objects with it, once the
    deletion commits; another task's stay (``challenges.stored_files``)."""
    from django.core.files.base import ContentFile

    from tests.scoring_tests.factories import imported_task, make_participant

    task = imported_task(tmp_path, slug="gone-s3")
    other = imported_task(tmp_path, slug="kept-s3", challenge=task.challenge)
    team = make_participant(task.challenge, username="s3-owner").team
    submission = Submission.objects.create(task=task, team=team)
    submission.file.save("up.csv", ContentFile(b"id,label\n"))
    gone = {k for k in keys(bucket) if "/gone-s3/" in k}
    kept = {k for k in keys(bucket) if "/kept-s3/" in k}
    assert f"private/submissions/gone-s3/{team.pk}/up.csv" in gone and len(gone) == 6
    assert len(kept) == 5
    task.delete()
    assert {k for k in keys(bucket) if "/gone-s3/" in k} == set()
    assert {k for k in keys(bucket) if "/kept-s3/" in k} == kept
    assert other.pk is not None
