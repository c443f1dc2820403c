"""A phase's own test set (docs/decisions/0066-phases.md, ``datasets.phase_versions``):
staged ahead of the final phase, refused ``phase_not_started`` to participants on every
route until the phase starts (organizers may have it), released by the phase tick, and
every entry scored on its own phase's version and split, never another's."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from django.test import Client
from django.utils import timezone

from algorithms.models import AlgorithmRun
from algorithms.services.taskfolder import run_task, task_folder_write
from challenges.models import AuditEvent, Phase
from challenges.phases import phase_transitions_announce, phase_update
from common.split import split_public_private
from datasets.models import Task, TaskVersion, TaskVersionUpload
from datasets.phase_versions import phase_version, phase_versions_release_due, task_for_phase
from datasets.replace import TaskReplaceError, task_bundle_replace
from datasets.version_uploads import task_version_check
from scoring.models import Submission
from scoring.services.lifecycle import submission_score
from scoring.services.upload import submission_create
from testkit.bundles import write_classification_bundle, zip_bundle
from tests.datasets_tests.factories import UserFactory, imported_task
from tests.scoring_tests.factories import (
    api_client_for,
    csv_bytes,
    make_participant,
    predictions_frame,
    upload,
)
from tests.support.phases import dev_then_final

pytestmark = pytest.mark.django_db

FINAL_IDS = [f"f{i:04d}" for i in range(40)]


def fresh_ids(frame: pd.DataFrame) -> pd.DataFrame:
    """The final phase's rows: ids the development phase never saw."""
    return frame.iloc[: len(FINAL_IDS)].assign(id=FINAL_IDS[: len(frame)])


@pytest.fixture
def task(tmp_path: Path) -> Task:
    return imported_task(tmp_path)


@pytest.fixture
def organizer(db):
    return UserFactory(username="org", is_staff=True)


@pytest.fixture
def phases(task, organizer):
    now = timezone.now()
    return dev_then_final(
        challenge=task.track.challenge,
        organizer=organizer,
        dev_start=now - timedelta(days=3),
        dev_end=now + timedelta(days=1),
        final_start=now + timedelta(days=2),
        final_end=now + timedelta(days=9),
    )


@pytest.fixture
def staged(task, phases, organizer, tmp_path) -> TaskVersion:
    folder = write_classification_bundle(
        tmp_path / "final",
        rows=80,
        test=fresh_ids,
        solution=fresh_ids,
        task={"public_fraction": 0.5, "split_seed": 7},
    )
    done = task_bundle_replace(
        task=task,
        source=zip_bundle(folder, tmp_path / "final.zip"),
        actor=organizer,
        reason="the final phase's held-back rows",
        phase=phases[1],
    )
    task.refresh_from_db()
    return done.version


@pytest.fixture
def participant(task):
    return make_participant(task.track.challenge)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def open_final(dev, final, organizer) -> None:
    """The development phase ends and the final phase starts now, and the tick runs."""
    now = timezone.now()
    phase_update(
        phase=dev,
        actor=organizer,
        values={"end": now - timedelta(seconds=2)},
        reason="the final starts early",
    )
    phase_update(
        phase=final,
        actor=organizer,
        values={"start": now - timedelta(seconds=1)},
        reason="the final starts early",
    )
    phase_transitions_announce()


def send_and_score(task, user, truth_task) -> Submission:
    frame = predictions_frame(truth_task)
    sub = submission_create(task=task, user=user, file=upload(csv_bytes(frame)))
    submission_score(submission_pk=sub.pk)
    sub.refresh_from_db()
    return sub


# -- hostile first: nothing of the staged version reaches a participant before the start ------


def test_staging_changes_nothing_a_participant_sees(task, staged, phases):
    assert (staged.number, task.data_version, staged.phase_id, staged.released_at) == (
        2,
        1,
        phases[1].pk,
        None,
    )
    assert "f0000" not in task.test_csv.open("rb").read().decode()
    assert AuditEvent.objects.filter(action="task.stage").count() == 1
    assert not Submission.objects.exists()  # nothing re-queued


def test_every_download_route_refuses_the_staged_test_set(task, staged, participant):
    api = api_client_for(participant.user)
    web = client_for(participant.user)
    for name in ("test.csv", "test.parquet", "train.csv"):
        for query in (f"?version={staged.number}", "?phase=final"):
            answer = api.get(f"/api/v1/tasks/{task.slug}/files/{name}{query}")
            assert answer.status_code == 403, (name, query)
            assert answer.json()["code"] == "phase_not_started"
            page = web.get(f"/tasks/{task.slug}/files/{name}{query}")
            assert page.status_code == 403 and page.json()["code"] == "phase_not_started"
    croissant = api.get(f"/api/v1/tasks/{task.slug}/croissant.json?version={staged.number}")
    assert croissant.status_code == 403 and croissant.json()["code"] == "phase_not_started"
    listed = api.get(f"/api/v1/tasks/{task.slug}/versions/")
    assert [v["number"] for v in listed.json()] == [1]
    page = web.get(f"/tasks/{task.slug}/")
    body = page.content.decode()
    assert "f0000" not in body and f"?version={staged.number}" not in body
    current = api.get(f"/api/v1/tasks/{task.slug}/files/test.csv")
    assert b"f0000" not in b"".join(current.streaming_content)


def test_organizers_may_download_the_staged_test_set(task, staged, organizer):
    answer = api_client_for(organizer).get(f"/api/v1/tasks/{task.slug}/files/test.csv?phase=final")
    assert answer.status_code == 200
    assert b"f0000" in b"".join(answer.streaming_content)
    listed = api_client_for(organizer).get(f"/api/v1/tasks/{task.slug}/versions/")
    assert [v["number"] for v in listed.json()] == [2, 1]


def test_a_development_run_never_gets_the_staged_test_set_in_task(task, staged, phases, tmp_path):
    run = AlgorithmRun(task=task, phase=phases[0])
    seen = run_task(run=run)
    assert seen.data_version == 1
    folder = task_folder_write(task=seen, folder=tmp_path / "task")
    ids = pd.read_parquet(folder / "test.parquet")["id"].tolist()
    assert not set(ids) & set(FINAL_IDS)
    assert json.loads((folder / "task.json").read_text())["test_rows"] == 30


def test_staging_is_refused_for_a_started_phase_and_a_task_owner(task, phases, tmp_path, organizer):
    folder = write_classification_bundle(tmp_path / "late", test=fresh_ids, solution=fresh_ids)
    with pytest.raises(TaskReplaceError) as refused:
        task_bundle_replace(
            task=task, source=folder, actor=organizer, reason="late", phase=phases[0]
        )
    assert "has started" in refused.value.problems[0]
    task.refresh_from_db()
    assert task.data_version == 1 and TaskVersion.objects.filter(task=task).count() == 1


def test_an_upload_is_never_scored_on_another_phases_version(
    task, staged, phases, participant, organizer
):
    dev, final = phases
    final_task = task_for_phase(task=task, phase_id=final.pk)
    # a development entry with the final rows' ids: refused on the development data
    wrong = send_and_score(task, participant.user, final_task)
    assert (wrong.phase_id, wrong.status) == (dev.pk, "failed")
    # a development entry queued before the switch and scored after: still the dev data
    late = submission_create(
        task=task, user=participant.user, file=upload(csv_bytes(predictions_frame(task)))
    )
    open_final(dev, final, organizer)
    submission_score(submission_pk=late.pk)
    late.refresh_from_db()
    assert (late.phase_id, late.status) == (dev.pk, "scored")
    # a final entry with the development ids: refused on the final data
    task.refresh_from_db()
    dev_task = task_for_phase(task=task, phase_id=dev.pk)
    refused = send_and_score(task, participant.user, dev_task)
    assert (refused.phase_id, refused.status) == (final.pk, "failed")


# -- the flow: dev -> final on a different test set -------------------------------------------


def test_dev_then_final_each_scored_on_its_own_version(
    task, staged, phases, participant, organizer
):
    dev, final = phases
    first = send_and_score(task, participant.user, task)
    assert (first.phase_id, first.status) == (dev.pk, "scored")
    dev_scores = first.scores

    open_final(dev, final, organizer)
    task.refresh_from_db()
    staged.refresh_from_db()
    assert task.data_version == staged.number and staged.released_at is not None
    assert (task.public_fraction, task.split_seed, task.test_rows) == (0.5, 7, 40)
    assert AuditEvent.objects.filter(action="task.phase_release").count() == 1
    first.refresh_from_db()
    assert (first.status, first.scores) == ("scored", dev_scores)  # not re-scored

    # released: participants download it; the final entries are scored on it
    answer = api_client_for(participant.user).get(f"/api/v1/tasks/{task.slug}/files/test.csv")
    assert b"f0000" in b"".join(answer.streaming_content)
    second = send_and_score(task, participant.user, task)
    assert (second.phase_id, second.status) == (final.pk, "scored")
    solution = pd.read_parquet(task.solution.open("rb"))
    assert set(solution["id"]) == set(FINAL_IDS)
    # its own split: the bundle's public_fraction 0.5 and split_seed 7, not the dev's 0.3
    expected = split_public_private(solution["label"], public_fraction=0.5, seed=7)
    assert list(solution["split"]) == list(expected)
    assert (solution["split"] == "public").mean() > 0.45

    # the tick again releases nothing more; a date change moves nothing
    phase_transitions_announce()
    phase_update(
        phase=final,
        actor=organizer,
        values={"end": final.end + timedelta(days=3)},
        reason="more time",
    )
    assert phase_version(task=Task.objects.get(pk=task.pk), phase_id=dev.pk).number == 1
    assert AuditEvent.objects.filter(action="task.phase_release").count() == 1
    assert list(Submission.objects.order_by("pk").values_list("phase__slug", flat=True)) == [
        "dev",
        "final",
    ]


def test_a_correction_of_the_final_data_rescores_the_final_entries_only(
    task, staged, phases, participant, organizer, tmp_path
):
    dev, final = phases
    first = send_and_score(task, participant.user, task)
    open_final(dev, final, organizer)
    task.refresh_from_db()
    second = send_and_score(task, participant.user, task)
    folder = write_classification_bundle(
        tmp_path / "fix",
        rows=80,
        test=fresh_ids,
        solution=fresh_ids,
        task={"public_fraction": 0.5, "split_seed": 7},
    )
    done = task_bundle_replace(task=task, source=folder, actor=organizer, reason="fix a label")
    assert done.version.phase_id == final.pk
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == "scored" and second.status == "queued"


def test_the_api_stages_a_bundle_for_a_phase_checked_by_the_worker(
    task, phases, organizer, tmp_path
):
    folder = write_classification_bundle(tmp_path / "api", test=fresh_ids, solution=fresh_ids)
    bundle = zip_bundle(folder, tmp_path / "api.zip")
    api = api_client_for(organizer)
    url = f"/api/v1/tasks/{task.slug}/versions/"
    for phase, why in (("nope", "no phase"), ("dev", "started")):
        with bundle.open("rb") as handle:
            refused = api.post(url, {"file": handle, "reason": "r", "phase": phase})
        assert (refused.status_code, refused.json()["code"]) == (400, "invalid_phase"), why
    with bundle.open("rb") as handle:
        answer = api.post(url, {"file": handle, "reason": "held back", "phase": "final"})
    assert answer.status_code == 202 and answer.json()["phase"] == "final"
    assert task_version_check(upload_pk=answer.json()["id"]) == "accepted"
    task.refresh_from_db()
    version = TaskVersion.objects.get(task=task, number=2)
    assert (task.data_version, version.phase_id, version.released_at) == (1, phases[1].pk, None)
    listed = api.get(url).json()
    assert [(v["number"], v["phase"]) for v in listed] == [(2, "final"), (1, None)]


def test_the_console_stages_a_bundle_for_a_later_phase(task, phases, organizer, tmp_path):
    folder = write_classification_bundle(tmp_path / "web", test=fresh_ids, solution=fresh_ids)
    bundle = zip_bundle(folder, tmp_path / "web.zip")
    web = client_for(UserFactory(username="admin", is_staff=True, is_superuser=True))
    url = f"/admin/datasets/task/{task.pk}/replace/"
    page = web.get(url)
    assert b'value="final"' in page.content and b'value="dev"' not in page.content
    with bundle.open("rb") as handle:
        answer = web.post(url, {"bundle": handle, "reason": "held back", "phase": "final"})
    assert answer.status_code == 302
    upload = TaskVersionUpload.objects.get(task=task)
    assert upload.phase_id == phases[1].pk
    assert task_version_check(upload_pk=upload.pk) == "accepted"
    assert TaskVersion.objects.get(task=task, number=2).phase_id == phases[1].pk
    change = web.get(f"/admin/datasets/task/{task.pk}/change/").content.decode()
    assert (
        "staged for the phase &#x27;final&#x27;" in change
        or "staged for the phase 'final'" in change
    )


def test_a_task_owner_sees_nothing_of_a_staged_version(task, phases, organizer, tmp_path):
    """The task's owners are participants: its manage and data pages, the versions API and
    the upload's own page and API say nothing of an organizer's staged bundle."""
    owner = make_participant(task.track.challenge)
    Task.objects.filter(pk=task.pk).update(owner_team=owner.team)
    folder = write_classification_bundle(tmp_path / "own", test=fresh_ids, solution=fresh_ids)
    with zip_bundle(folder, tmp_path / "own.zip").open("rb") as handle:
        answer = api_client_for(organizer).post(
            f"/api/v1/tasks/{task.slug}/versions/",
            {"file": handle, "reason": "held back", "phase": "final"},
        )
    upload_pk = answer.json()["id"]
    assert task_version_check(upload_pk=upload_pk) == "accepted"
    web, api = client_for(owner.user), api_client_for(owner.user)
    for path in (f"/tasks/{task.slug}/manage/", f"/tasks/{task.slug}/manage/data/"):
        page = web.get(path)
        assert page.status_code == 200, path
        body = page.content.decode()
        # "v2" as a word: a page's CSRF token (random letters and digits) may hold the two
        # characters (it failed one run in about sixty).
        assert "held back" not in body and not re.search(r"\bv2\b", body), path
    assert web.get(f"/tasks/{task.slug}/manage/data/uploads/{upload_pk}/").status_code == 404
    assert api.get(f"/api/v1/tasks/{task.slug}/versions/uploads/{upload_pk}/").status_code == 404
    assert [v["number"] for v in api.get(f"/api/v1/tasks/{task.slug}/versions/").json()] == [1]
    # and staging is the organizers': the owner's own try is refused
    with zip_bundle(folder, tmp_path / "own2.zip").open("rb") as handle:
        refused = api.post(
            f"/api/v1/tasks/{task.slug}/versions/",
            {"file": handle, "reason": "mine", "phase": "final"},
        )
    assert refused.status_code == 403


def test_a_release_the_tick_missed_is_made_by_the_minutes_sweep(task, staged, phases):
    """The phase started but its tick's release never ran (say its receiver failed): the
    datasets beat's sweep releases it, once; a phase yet to start keeps its data staged."""
    dev, final = phases
    assert phase_versions_release_due() == []
    now = timezone.now()
    Phase.objects.filter(pk=dev.pk).update(end=now - timedelta(seconds=2))
    Phase.objects.filter(pk=final.pk).update(start=now - timedelta(seconds=1))
    assert phase_versions_release_due() == [task.pk]
    assert phase_versions_release_due() == []
    task.refresh_from_db()
    assert task.data_version == staged.number
    assert AuditEvent.objects.filter(action="task.phase_release").count() == 1


def test_a_final_phase_run_gets_the_final_test_set_even_before_the_tick(
    task, staged, phases, tmp_path
):
    dev, final = phases
    now = timezone.now()
    Phase.objects.filter(pk=dev.pk).update(end=now - timedelta(seconds=2))
    Phase.objects.filter(pk=final.pk).update(start=now - timedelta(seconds=1))
    task.refresh_from_db()
    assert task.data_version == 1  # not released yet: the tick has not run
    seen = run_task(run=AlgorithmRun(task=task, phase=final))
    folder = task_folder_write(task=seen, folder=tmp_path / "task")
    assert set(pd.read_parquet(folder / "test.parquet")["id"]) == set(FINAL_IDS)
    assert json.loads((folder / "task.json").read_text())["test_rows"] == 40


def test_the_release_mail_says_only_the_phase_s_entries_are_scored_on_it(
    task, staged, phases, participant, organizer, monkeypatch
):
    from notifications import events

    told: list[dict] = []
    monkeypatch.setattr(events, "participants_told", lambda **kw: told.append(kw))
    dev, final = phases
    send_and_score(task, participant.user, task)
    open_final(dev, final, organizer)
    (mail,) = [t for t in told if t["event_key"] == f"task-data:{task.pk}:2"]
    assert "The submissions of this phase are (earlier phases' keep their scores)" in mail["body"]
    assert "Every submission of the task" not in mail["body"]


def test_replace_task_bundle_stages_with_phase(task, phases, tmp_path):
    from io import StringIO

    from django.core.management import CommandError, call_command

    folder = write_classification_bundle(tmp_path / "cmd", test=fresh_ids, solution=fresh_ids)
    with pytest.raises(CommandError, match="no phase 'nope'"):
        call_command(
            "replace_task_bundle", task.slug, str(folder), "--reason", "r", "--phase", "nope"
        )
    out = StringIO()
    call_command(
        "replace_task_bundle",
        task.slug,
        str(folder),
        "--reason",
        "held back",
        "--phase",
        "final",
        stdout=out,
    )
    assert "data version 2 (60 train and 30 test rows) is staged for the phase 'final'" in (
        out.getvalue()
    )
    task.refresh_from_db()
    assert task.data_version == 1
    assert TaskVersion.objects.get(task=task, number=2).phase_id == phases[1].pk
