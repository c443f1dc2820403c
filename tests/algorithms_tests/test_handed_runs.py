"""A run scored from what its output check aligned (issue 43: a run costs what its method
costs), in the real sandbox, claimed in this process.

The check reads the run's file once, in its capped process, and hands the aligned arrays
to the worker, which scores them instead of parsing the file again. Here a benchmark
re-run's scores and stored predictions equal what ``score_file`` gives for the very file the
run wrote; and a hand-over forged, replaced, oversized or swapped for a link between the
check and the scoring fails the run with a message that says so, and nothing else: no
scores, no stored predictions, the transfer matrix shows the run failed.
"""

from __future__ import annotations

import io
import os
import zipfile
from dataclasses import replace

import numpy as np
import pytest
from django.db import transaction

from algorithms.models import AlgorithmRun, AlgorithmRunStatus, AlgorithmVersion
from algorithms.services.execute import algorithm_run_execute
from algorithms.services.outcome import HANDED_REFUSED
from algorithms.services.output import CheckedOutput, HandedPredictions
from algorithms.services.profiles import BENCHMARK
from algorithms.services.runs import run_create
from leaderboard.transfer.matrix import transfer_matrix
from scoring.core import load_predictions, save_predictions, score_file
from scoring.solutions import solution_for_task
from testkit.archives import algorithm_zip
from tests.algorithms_tests.services_helpers import post_archive

pytestmark = pytest.mark.slow

# Three classes predicted in turn: codes 0, 1 and 2 all occur in the hand-over.
CYCLING_MAIN = """
import json, os
from pathlib import Path
import pandas as pd

task, out = Path(os.environ["TASK_DIR"]), Path(os.environ["OUTPUT_DIR"])
classes = json.loads((task / "task.json").read_text())["classes"]
test = pd.read_parquet(task / "test.parquet")
labels = [classes[i % len(classes)] for i in range(len(test))]
pd.DataFrame({"id": test["id"], "label": labels}).to_csv(out / "predictions.csv", index=False)
"""


def _version(world) -> AlgorithmVersion:
    client = world.participant.api()
    body = post_archive(client, world.challenge, algorithm_zip(CYCLING_MAIN, name="Cy")).json()
    return AlgorithmVersion.objects.get(algorithm_id=body["id"], number=body["version"])


def _rerun(version: AlgorithmVersion, task) -> AlgorithmRun:
    with transaction.atomic():
        return run_create(profile=BENCHMARK, version=version, task=task, audit=False)


def _saves(monkeypatch) -> list[str]:
    """The names the runs' storage is asked to save in this process from now on (the
    storage's folder may be shared with other test processes)."""
    storage = AlgorithmRun._meta.get_field("predictions").storage
    saved: list[str] = []
    real = storage.save

    def save(name, content, *args, **kwargs):
        saved.append(name)
        return real(name, content, *args, **kwargs)

    monkeypatch.setattr(storage, "save", save)
    return saved


def test_a_rerun_is_scored_from_the_hand_over_exactly_as_its_file(world, broker, after_the_check):
    task = world.classification
    run = _rerun(_version(world), task)
    kept = after_the_check()
    assert algorithm_run_execute(run_pk=run.pk, worker="test-node") == "succeeded"
    run.refresh_from_db()
    assert kept["handed"] is not None  # scored from the hand-over, not the file
    from_file = score_file(str(kept["file"]), solution_for_task(task=task))
    assert run.scores == from_file.scores()
    with run.predictions.open("rb") as handle:
        stored = handle.read()
    assert stored == save_predictions(from_file.aligned)
    assert set(np.asarray(load_predictions(stored).pred)) == {0, 1, 2}
    assert not kept["handed"].path.exists()  # the run's folder is gone with it


def _forged_codes(handed: HandedPredictions) -> bytes:
    """The hand-over with its first code made 7 (a task of 3 classes): a valid archive."""
    data = handed.path.read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        pred = np.load(io.BytesIO(archive.read("pred.npy")))
        version = archive.read("version.npy")
    pred[0] = 7
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("version.npy", version)
        member = io.BytesIO()
        np.lib.format.write_array(member, pred)
        archive.writestr("pred.npy", member.getvalue())
    return out.getvalue()


def _rewritten(checked: CheckedOutput, data: bytes, *, report_it: bool) -> CheckedOutput:
    """``data`` written over the hand-over; ``report_it``: as the check's process would
    report it had it written these bytes itself (a process the hostile file took over)."""
    path = checked.handed.path
    path.write_bytes(data)
    if not report_it:
        return checked
    info = os.stat(path)
    identity = (info.st_size, info.st_ino, info.st_mtime_ns)
    return replace(checked, handed=replace(checked.handed, identity=identity))


def forged(checked: CheckedOutput) -> CheckedOutput:
    return _rewritten(checked, _forged_codes(checked.handed), report_it=True)


def replaced(checked: CheckedOutput) -> CheckedOutput:
    # Valid bytes, another file: what the check wrote is the only thing scored.
    other = checked.handed.path.with_name("other.npz")
    other.write_bytes(_forged_codes(checked.handed))
    os.replace(other, checked.handed.path)
    return checked


def oversized(checked: CheckedOutput) -> CheckedOutput:
    return _rewritten(checked, b"\0" * 10_000_000, report_it=True)


def truncated(checked: CheckedOutput) -> CheckedOutput:
    data = checked.handed.path.read_bytes()
    return _rewritten(checked, data[: len(data) // 2], report_it=True)


def linked(checked: CheckedOutput) -> CheckedOutput:
    path = checked.handed.path
    target = path.with_name("elsewhere.npz")
    os.replace(path, target)
    path.symlink_to(target)
    return checked


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (forged, "the class codes fall outside [0, 3) (from 0 to 7)"),
        (replaced, "it is not the file the check wrote (replaced or changed)"),
        (oversized, "predictions of this task take at most"),
        (truncated, "not a readable predictions archive"),
        (linked, "it cannot be opened (Too many levels of symbolic links)"),
    ],
    ids=["forged", "replaced", "oversized", "truncated", "linked"],
)
def test_a_tampered_hand_over_fails_the_run_and_changes_nothing_else(
    world, broker, after_the_check, monkeypatch, change, words
):
    task = world.classification
    run = _rerun(_version(world), task)
    saved = _saves(monkeypatch)
    after_the_check(change)
    assert algorithm_run_execute(run_pk=run.pk, worker="test-node") == "failed"
    run.refresh_from_db()
    assert run.status == AlgorithmRunStatus.FAILED
    assert run.error.startswith(HANDED_REFUSED) and words in run.error
    assert not run.scores and not run.predictions
    assert saved == []  # nothing stored, not even for a moment
    matrix = transfer_matrix(track=task.track)
    (row,) = [row for row in matrix.rows if row.algorithm.pk == run.version.algorithm_id]
    shown = row.runs[matrix.tasks.index(task)]  # the matrix shows the run failed, unscored
    assert shown.pk == run.pk and shown.status == AlgorithmRunStatus.FAILED and not shown.scores
    # The next run of the same version, untouched, succeeds: nothing was left behind.
    again = _rerun(run.version, task)
    after_the_check()
    assert algorithm_run_execute(run_pk=again.pk, worker="test-node") == "succeeded"
    assert len(saved) == 1  # and the check above can see a save
