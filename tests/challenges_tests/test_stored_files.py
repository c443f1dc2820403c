"""Stored files go with the rows that name them: a deleted task takes every data version's
files, its solutions' key tables and the files of the rows deleted with it (submissions,
references, runs and what they kept), once the deletion commits; never when it is rolled
back, never a file another row still names, never another task's (real files, real
commits)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from algorithms.models import AlgorithmRun, AlgorithmRunStatus
from algorithms.services.profiles import BENCHMARK
from algorithms.services.upload import algorithm_version_create
from challenges.stored_files import StoredFile
from common import keyfile
from datasets.models import Task
from datasets.replace import task_bundle_replace
from scoring.models import Reference, ReferenceSource, Submission
from standings.models import MethodWriteup
from testkit.archives import make_zip, manifest
from testkit.bundles import write_classification_bundle
from tests.scoring_tests.factories import imported_task, make_participant

pytestmark = pytest.mark.django_db(transaction=True)


def exists(stored: StoredFile) -> bool:
    return stored.storage.exists(stored.name)


def folder(stored: StoredFile) -> Path:
    return Path(stored.storage.path(stored.name)).parent


class World:
    """A task with two data versions, a submission, a reference and a run with a kept
    output; a second task of the same challenge; the team's archive and write-up."""

    def __init__(self, tmp_path: Path) -> None:
        self.task = imported_task(tmp_path, slug="owls")
        challenge = self.task.challenge
        self.other = imported_task(tmp_path, slug="wrens", challenge=challenge)
        bundle = write_classification_bundle(tmp_path / "v2", rows=70, task={"slug": "owls"})
        task_bundle_replace(task=self.task, source=bundle, actor=None, reason="more rows")
        self.task.refresh_from_db()
        self.team = make_participant(challenge, username="ann").team
        user = self.team.members.first()
        archive = make_zip({"algorithm.yaml": manifest("Owl"), "main.py": "print(1)"})
        self.version = algorithm_version_create(
            challenge=challenge, user=user, file=SimpleUploadedFile("a.zip", archive)
        )
        self.runs = [self.run(self.task), self.run(self.other)]
        self.submission = Submission.objects.create(task=self.task, team=self.team)
        self.submission.file.save("owls.csv", ContentFile(b"id,label\n"))
        self.submission.predictions.save("predictions.npz", ContentFile(b"npz"))
        self.reference = Reference.objects.create(
            task=self.task, name="upload", source=ReferenceSource.UPLOAD
        )
        self.reference.file.save("upload.csv", ContentFile(b"id,label\n"))
        self.writeup = MethodWriteup.objects.create(team=self.team, title="Owls", body="b")
        self.writeup.pdf.save("owls.pdf", ContentFile(b"%PDF"))

    def run(self, task: Task) -> AlgorithmRun:
        run = AlgorithmRun.objects.create(
            version=self.version,
            task=task,
            profile=BENCHMARK.name,
            status=AlgorithmRunStatus.SUCCEEDED,
        )
        run.predictions.save("run.npz", ContentFile(b"npz"))
        storage = run.predictions.storage
        kept = storage.save(f"algorithm-runs/{task.slug}/run-{run.pk}/board.csv", ContentFile(b"x"))
        run.artifacts = {"board.csv": kept}
        run.save(update_fields=["artifacts"])
        return run

    def task_files(self, task: Task) -> list[StoredFile]:
        found = task.stored_files()
        for row in [*task.submissions.all(), *task.references.all()]:
            found += [StoredFile(f.storage, f.name) for f in (row.file, row.predictions) if f]
        for run in task.algorithm_runs.all():
            found += run.stored_files()
        return found


def test_a_deleted_task_takes_every_file_it_and_its_rows_name(tmp_path):
    world = World(tmp_path)
    owls, wrens = world.task_files(world.task), world.task_files(world.other)
    # both data versions' files, the key tables beside both solutions, and the rows' files
    files = ["solution.keys.npy", "solution.parquet", "test.csv", "test.parquet", "train.csv"]
    files.append("train.parquet")
    assert sorted({stored.name for stored in owls}) == [
        f"algorithm-runs/owls/run-{world.runs[0].pk}/board.csv",
        "algorithm-runs/owls/run.npz",
        "references/owls/upload.csv",
        f"submissions/owls/{world.team.pk}/owls.csv",
        f"submissions/owls/{world.team.pk}/predictions.npz",
        *(f"tasks/owls/{name}" for name in files),
        *(f"tasks/owls/v2/{name}" for name in files),
    ]
    present = [stored for stored in owls if exists(stored)]
    others = [stored for stored in wrens if exists(stored)]
    # (a key table is stored only for ids of no numbered shape: these tasks' are numbered)
    keys = {"tasks/owls/solution.keys.npy", "tasks/owls/v2/solution.keys.npy"}
    assert {stored.name for stored in owls} - {stored.name for stored in present} == keys
    assert len(others) == 7  # five data files, the run's predictions and kept output
    folders = {folder(stored) for stored in present}

    world.task.delete()

    assert not [stored.name for stored in present if exists(stored)]
    assert not [path for path in folders if path.exists()]  # the folders left empty too
    assert all(exists(stored) for stored in others)  # the other task's files stay
    assert world.version.archive.storage.exists(world.version.archive.name)  # not the task's


def test_a_deletion_rolled_back_keeps_every_file(tmp_path):
    world = World(tmp_path)
    present = [stored for stored in world.task_files(world.task) if exists(stored)]
    pk = world.task.pk

    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction.atomic():
        world.task.delete()
        raise Undo

    assert Task.objects.filter(pk=pk).exists()
    assert all(exists(stored) for stored in present)


def test_a_file_another_row_still_names_stays_until_the_last_goes(tmp_path):
    # a run's predictions may be a finished run's, reused: the file is both runs'
    world = World(tmp_path)
    first = world.runs[0]
    second = AlgorithmRun.objects.create(
        version=world.version,
        task=world.task,
        profile=BENCHMARK.name,
        status=AlgorithmRunStatus.SUCCEEDED,
        predictions=first.predictions.name,
    )
    shared = StoredFile(first.predictions.storage, first.predictions.name)
    first.delete()
    assert exists(shared)
    second.delete()
    assert not exists(shared)


def test_a_deleted_archive_write_up_or_submission_takes_its_files(tmp_path):
    world = World(tmp_path)
    archive = StoredFile(world.version.archive.storage, world.version.archive.name)
    pdf = StoredFile(world.writeup.pdf.storage, world.writeup.pdf.name)
    upload = StoredFile(world.submission.file.storage, world.submission.file.name)
    assert exists(archive) and exists(pdf) and exists(upload)
    AlgorithmRun.objects.filter(version=world.version).delete()
    world.version.delete()
    world.writeup.delete()
    world.submission.delete()
    assert not exists(archive) and not exists(pdf) and not exists(upload)


def test_a_deleted_task_takes_its_solution_s_key_table(tmp_path):
    from tests.scoring_tests.solution_keyfile_helpers import keyed_task

    task, _ = keyed_task(tmp_path, slug="keyed-gone")
    storage = task.solution.storage
    table = keyfile.keys_name(task.solution.name)
    assert storage.exists(table)  # ids of no numbered shape: the import stored their keys
    task.delete()
    assert not storage.exists(table) and not storage.exists(task.solution.name)
