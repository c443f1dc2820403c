"""A task's data replaced by a new bundle version, as scoring sees it (real imports, real
files, the real scoring body): submissions re-scored on the new solution, old ids failing
with the core's message, no stale solution or /task folder, references re-read, and the
owner page and API open to the task's owners and organizers only."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from django.test import Client

from algorithms.services.taskfolder import task_folder_write
from challenges.models import AuditEvent
from datasets.models import Task, TaskVersion, TaskVersionUpload
from datasets.replace import task_bundle_replace
from datasets.version_uploads import task_version_check
from scoring.core import SubmissionInvalid, score_file
from scoring.models import Reference, ReferenceSource, Submission, SubmissionStatus
from scoring.services.references import reference_trivial_ensure, reference_upload
from scoring.services.upload import submission_create
from scoring.solutions import solution_for_task
from scoring.tasks import score_submission
from testkit.bundles import CLASSES, write_classification_bundle, zip_bundle
from tests.scoring_tests.factories import (
    ChallengeFactory,
    TeamFactory,
    UserFactory,
    add_member,
    api_client_for,
    csv_bytes,
    imported_task,
    make_participant,
    solution_frame,
    upload,
)

pytestmark = pytest.mark.django_db

CHANGED = 5  # the new version moves the first five test labels to the next class


def relabelled(df: pd.DataFrame) -> pd.DataFrame:
    labels = list(df["label"])
    for i in range(CHANGED):
        labels[i] = CLASSES[(CLASSES.index(labels[i]) + 1) % len(CLASSES)]
    return df.assign(label=labels)


def new_version(tmp: Path, task: Task, **overrides) -> Path:
    folder = write_classification_bundle(
        tmp / f"v-{len(list(tmp.iterdir()))}", task={"slug": task.slug}, **overrides
    )
    return zip_bundle(folder, tmp / f"{folder.name}.zip")


def scored(submission: Submission) -> Submission:
    score_submission.run(submission_pk=submission.pk)
    submission.refresh_from_db()
    return submission


def organizer():
    return UserFactory(username="org", is_staff=True, is_superuser=True)


@pytest.fixture
def task(tmp_path: Path) -> Task:
    return imported_task(tmp_path / "import", challenge=ChallengeFactory())


@pytest.fixture
def bundles(tmp_path: Path) -> Path:
    folder = tmp_path / "bundles"
    folder.mkdir()
    return folder


def perfect(task: Task) -> bytes:
    truth = solution_frame(task)
    return csv_bytes(pd.DataFrame({"id": truth["id"], "label": truth["label"].astype(str)}))


def test_replacing_rescores_submissions_on_the_new_solution(task, bundles):
    ann = make_participant(task.track.challenge, username="ann", name="Ann")
    old_truth = solution_frame(task)
    sub = scored(submission_create(task=task, user=ann.user, file=upload(perfect(task))))
    assert sub.status == SubmissionStatus.SCORED and sub.scores["all"]["accuracy"] == 1.0
    assert len(solution_for_task(task=task).ids) == 30  # cached now, under version 1's file name

    task_bundle_replace(
        task=task,
        source=new_version(bundles, task, solution=relabelled),
        actor=organizer(),
        reason="five labels were wrong",
    )

    sub.refresh_from_db()
    assert sub.status == SubmissionStatus.QUEUED and sub.scores == {}
    task.refresh_from_db()
    # The cache keys on the solution file's name: the new version's solution is read.
    new_truth = solution_frame(task)
    assert (new_truth["label"] != old_truth["label"]).sum() == CHANGED
    cached = solution_for_task(task=task)
    assert [str(v) for v in cached.ids.to_pylist()] == list(new_truth["id"])
    sub = scored(sub)
    assert sub.status == SubmissionStatus.SCORED, sub.error
    changed = set(new_truth["id"][:CHANGED])
    by_hand = {}
    for split in ("public", "private"):
        rows = new_truth[new_truth["split"] == split]
        by_hand[split] = 1 - len(changed & set(rows["id"])) / len(rows)
    assert sub.scores["all"]["accuracy"] == pytest.approx(1 - CHANGED / 30)
    assert sub.scores["public"]["accuracy"] == pytest.approx(by_hand["public"])
    assert sub.scores["private"]["accuracy"] == pytest.approx(by_hand["private"])
    assert sub.public_score == pytest.approx(by_hand["public"])
    # The rescore of every team was not audited separately: one event, the replace.
    events = AuditEvent.objects.filter(object_type="datasets.Task", object_id=str(task.pk)).exclude(
        action="task.import"
    )
    assert [(e.action, e.reason) for e in events] == [("task.replace", "five labels were wrong")]


def test_a_submission_with_the_old_ids_fails_with_the_core_message(task, bundles):
    ann = make_participant(task.track.challenge, username="ann", name="Ann")
    content = perfect(task)
    sub = scored(submission_create(task=task, user=ann.user, file=upload(content)))
    assert sub.status == SubmissionStatus.SCORED

    task_bundle_replace(
        task=task, source=new_version(bundles, task, rows=80), actor=None, reason=""
    )  # 40 test rows now: t0000..t0039

    sub = scored(sub)
    task.refresh_from_db()
    assert sub.status == SubmissionStatus.FAILED
    with pytest.raises(SubmissionInvalid) as expected:
        score_file(io.BytesIO(content), solution_for_task(task=task))
    assert sub.error == expected.value.message
    assert "t0030" in sub.error or "10" in sub.error


def test_the_algorithm_task_folder_has_the_new_data(task, bundles, tmp_path):
    task_folder_write(task=task, folder=tmp_path / "before")
    task_bundle_replace(
        task=task, source=new_version(bundles, task, rows=80), actor=None, reason=""
    )
    task = Task.objects.get(pk=task.pk)  # as a run loads it
    folder = task_folder_write(task=task, folder=tmp_path / "after")
    assert pq.read_table(folder / "test.parquet").num_rows == 40
    assert pq.read_table(folder / "train.parquet").num_rows == 80
    assert pq.read_table(tmp_path / "before" / "test.parquet").num_rows == 30


def test_downloads_serve_the_new_version(task, bundles):
    user = make_participant(task.track.challenge, username="ann", name="Ann").user
    client = Client()
    client.force_login(user)
    url = f"/tasks/{task.slug}/files/test.csv"
    before = b"".join(client.get(url).streaming_content)
    task_bundle_replace(
        task=task, source=new_version(bundles, task, rows=80), actor=None, reason=""
    )
    after = b"".join(client.get(url).streaming_content)
    assert len(pd.read_csv(io.BytesIO(before))) == 30
    assert len(pd.read_csv(io.BytesIO(after))) == 40
    page = client.get(f"/tasks/{task.slug}/").content.decode()
    assert "data version 2, updated" in page
    detail = api_client_for(user).get(f"/api/v1/tasks/{task.slug}/").json()
    assert (detail["data_version"], detail["test_rows"]) == (2, 40)
    assert detail["card"]["rows"] == {"train": 80, "test": 40}
    assert ">40<" in page or "40 test" in page


def test_references_are_rebuilt_and_a_misfit_upload_is_shown_unusable(task, bundles):
    org = organizer()
    trivial = reference_trivial_ensure(task=task)
    fits = reference_upload(task=task, name="fits", file=upload(perfect(task)), user=org)
    assert fits.public_score == 1.0

    task_bundle_replace(
        task=task, source=new_version(bundles, task, rows=80), actor=org, reason="more rows"
    )

    rebuilt = Reference.objects.get(task=task, source=ReferenceSource.TRIVIAL)
    assert rebuilt.pk != trivial.pk and not rebuilt.unusable_reason
    assert rebuilt.public_score is not None
    fits.refresh_from_db()
    assert fits.unusable_reason.startswith("It does not fit data version 2: ")
    assert fits.public_score is None and not fits.predictions and fits.file  # kept
    client = Client()
    client.force_login(org)
    page = client.get(f"/tasks/{task.slug}/manage/")
    assert page.status_code == 200
    assert "Unusable: It does not fit data version 2" in page.content.decode()
    listed = api_client_for(org).get(f"/api/v1/tasks/{task.slug}/references/")
    assert listed.status_code == 200
    reasons = {r["name"]: r["unusable_reason"] for r in listed.json()}
    assert reasons["fits"].startswith("It does not fit") and reasons["Trivial baseline"] == ""
    # The board, which lists references, renders with it (the board refresh ran on it).
    from leaderboard.refresh import task_leaderboard_refresh

    task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
    board = client.get(f"/tasks/{task.slug}/leaderboard/")
    assert board.status_code == 200 and "Trivial baseline" in board.content.decode()


def test_an_upload_that_still_fits_is_rescored_on_the_new_labels(task, bundles):
    org = organizer()
    fits = reference_upload(task=task, name="fits", file=upload(perfect(task)), user=org)
    task_bundle_replace(
        task=task, source=new_version(bundles, task, solution=relabelled), actor=org, reason="fix"
    )
    fits.refresh_from_db()
    assert fits.unusable_reason == ""
    assert fits.scores["all"]["accuracy"] == pytest.approx(1 - CHANGED / 30)


def owner_of(task: Task):
    team = TeamFactory(challenge=task.track.challenge, name="Data owners")
    user = UserFactory(username="owner")
    add_member(team, user)
    task.owner_team = team
    task.save(update_fields=["owner_team"])
    return user


def test_a_participant_gets_403_on_the_page_and_the_api(task, bundles):
    ann = make_participant(task.track.challenge, username="ann", name="Ann")
    client = Client()
    client.force_login(ann.user)
    page = f"/tasks/{task.slug}/manage/data/"
    assert client.get(page).status_code == 403
    with open(new_version(bundles, task, rows=80), "rb") as fh:
        assert client.post(page, {"bundle": fh, "reason": "x"}).status_code == 403
    api = ann.api()
    url = f"/api/v1/tasks/{task.slug}/versions/"
    listed = api.get(url)  # anyone reads the versions (issue 42), not who uploaded them
    assert listed.status_code == 200
    assert [v["number"] for v in listed.json()] == [1]
    assert "created_by" not in listed.json()[0] and "sha256" not in listed.json()[0]
    with open(new_version(bundles, task, rows=80), "rb") as fh:
        response = api.post(url, {"file": fh, "reason": "x"}, format="multipart")
    assert response.status_code == 403 and response.json()["code"] == "not_task_owner"
    task.refresh_from_db()
    assert task.data_version == 1


def test_the_owner_team_replaces_through_the_page(task, bundles):
    """The page stores the bundle and sends the owner to its upload's page, which shows the
    check's outcome once a worker ran it (issue 51: nothing is parsed in the web process)."""
    owner = owner_of(task)
    client = Client()
    client.force_login(owner)
    manage = client.get(f"/tasks/{task.slug}/manage/").content.decode()
    assert 'id="data-replace"' in manage and 'data-version="1"' in manage
    page = f"/tasks/{task.slug}/manage/data/"
    bad = new_version(bundles, task, train=lambda df: df.drop(columns="label"))
    with open(bad, "rb") as fh:
        refused = client.post(page, {"bundle": fh, "reason": "try"})
    assert refused.status_code == 302
    assert task_version_check(upload_pk=TaskVersionUpload.objects.get().pk) == "refused"
    assert "The data was not replaced: " in client.get(refused["Location"]).content.decode()
    with open(new_version(bundles, task, rows=80), "rb") as fh:
        response = client.post(page, {"bundle": fh, "reason": "80 rows"})
    upload = TaskVersionUpload.objects.order_by("pk").last()
    assert response["Location"] == f"/tasks/{task.slug}/manage/data/uploads/{upload.pk}/"
    assert task_version_check(upload_pk=upload.pk) == "accepted"
    text = client.get(response["Location"]).content.decode()
    assert "data version 2 replaces version 1" in text
    assert "The AutoGluon baseline is not re-run automatically" in text
    task.refresh_from_db()
    assert task.data_version == 2
    assert TaskVersion.objects.get(task=task, number=2).created_by == owner


def test_the_owner_team_replaces_and_lists_through_the_api(task, bundles):
    owner = owner_of(task)
    api = api_client_for(owner)
    url = f"/api/v1/tasks/{task.slug}/versions/"
    with open(new_version(bundles, task, rows=80), "rb") as fh:
        missing_reason = api.post(url, {"file": fh}, format="multipart")
    assert missing_reason.status_code == 400
    assert missing_reason.json()["code"] == "bundle_invalid"
    assert "a reason is required" in missing_reason.json()["problems"][0]
    with open(new_version(bundles, task, rows=80), "rb") as fh:
        response = api.post(url, {"file": fh, "reason": "80 rows"}, format="multipart")
    assert response.status_code == 202, response.json()
    assert task_version_check(upload_pk=response.json()["id"]) == "accepted"
    body = api.get(response.json()["url"]).json()
    assert (body["status"], body["version"]) == ("accepted", 2)
    assert "not re-run automatically" in body["message"]
    listed = api.get(url).json()
    assert [(v["number"], v["note"], v["current"]) for v in listed] == [
        (2, "80 rows", True),
        (1, "the imported data", False),
    ]
    assert (listed[0]["train_rows"], listed[0]["test_rows"]) == (80, 40)
    assert listed[0]["created_by"] == "owner"


def test_an_invalid_bundle_through_the_api_lists_every_problem(task, bundles):
    api = api_client_for(organizer())
    folder = write_classification_bundle(
        bundles / "bad",
        task={"slug": task.slug, "kind": "matching"},
        train=lambda df: df.drop(columns="label"),
    )
    with open(zip_bundle(folder, bundles / "bad.zip"), "rb") as fh:
        response = api.post(
            f"/api/v1/tasks/{task.slug}/versions/", {"file": fh, "reason": "x"}, format="multipart"
        )
    assert response.status_code == 202
    assert task_version_check(upload_pk=response.json()["id"]) == "refused"
    body = api.get(response.json()["url"]).json()
    assert body["status"] == "refused" and len(body["problems"]) >= 2
    task.refresh_from_db()
    assert task.data_version == 1 and TaskVersion.objects.filter(task=task).count() == 1
    assert not AuditEvent.objects.filter(action="task.replace").exists()


def test_a_zip_slip_archive_is_refused_through_the_api(task, bundles):
    members = {}
    folder = write_classification_bundle(bundles / "b", task={"slug": task.slug})
    for p in folder.iterdir():
        members[p.name] = p.read_bytes()
    path = bundles / "slip.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in {**members, "../../evil.txt": b"owned"}.items():
            archive.writestr(name, content)
    api = api_client_for(organizer())
    with open(path, "rb") as fh:
        response = api.post(
            f"/api/v1/tasks/{task.slug}/versions/", {"file": fh, "reason": "x"}, format="multipart"
        )
    assert response.status_code == 202
    assert task_version_check(upload_pk=response.json()["id"]) == "refused"
    problems = api.get(response.json()["url"]).json()["problems"]
    assert any("'..' in the path" in p for p in problems)


def test_a_failing_reference_rebuild_never_undoes_the_requeue(task, bundles, monkeypatch):
    ann = make_participant(task.track.challenge, username="ann", name="Ann")
    sub = scored(submission_create(task=task, user=ann.user, file=upload(perfect(task))))
    reference_trivial_ensure(task=task)

    def broken(**kwargs):
        raise OSError("the train file is unreadable")

    monkeypatch.setattr("scoring.services.task_data.reference_trivial_ensure", broken)
    task_bundle_replace(
        task=task, source=new_version(bundles, task, solution=relabelled), actor=None, reason=""
    )
    sub.refresh_from_db()
    task.refresh_from_db()
    assert task.data_version == 2 and sub.status == SubmissionStatus.QUEUED
    # The old trivial baseline (scored on version 1) is gone; the board's refresh rebuilds it.
    assert not Reference.objects.filter(task=task, source=ReferenceSource.TRIVIAL).exists()
