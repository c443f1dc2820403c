"""``manage.py score_file --task <slug> <file>`` (docs/architecture.md §7), run as a real
subprocess."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from scoring.models import Submission
from tests.scoring_tests.factories import (
    ChallengeFactory,
    assert_scores_equal,
    csv_bytes,
    imported_task,
    parquet_bytes,
    predictions_frame,
    sklearn_scores,
)

from .score_file_command_helpers import run_score_file

METRICS = {
    "classification": {"accuracy", "macro_f1", "log_loss", "opis"},
    "matching": {"f1", "precision", "recall", "average_precision"},
}


@pytest.fixture
def tasks(tmp_path, transactional_db):
    challenge = ChallengeFactory()
    return {
        kind: imported_task(tmp_path, kind=kind, challenge=challenge)
        for kind in ("classification", "matching")
    }




def test_score_file_as_a_user_runs_it(tasks, tmp_path):
    frames = {kind: predictions_frame(task, seed=11) for kind, task in tasks.items()}
    for kind, frame in frames.items():
        (tmp_path / f"{kind}.parquet").write_bytes(parquet_bytes(frame))
    bad = tmp_path / "bad.csv"  # unknown and missing ids: a message of several lines
    bad.write_bytes(b"id,label\nt0000,bird\nnope,cat\n")

    classification, matching, invalid, unknown = run_score_file(
        ("--task", tasks["classification"].slug, str(tmp_path / "classification.parquet")),
        ("--task", tasks["matching"].slug, str(tmp_path / "matching.parquet")),
        ("--task", tasks["classification"].slug, str(bad)),
        ("--task", "no-such-task", str(bad)),
    )

    # Both kinds: one JSON object, splits in order, exactly the metrics that apply.
    for kind, result in (("classification", classification), ("matching", matching)):
        assert result.returncode == 0, result.stderr
        scores = json.loads(result.stdout)
        assert list(scores) == ["all", "public", "private"]
        for split in scores.values():
            assert set(split) == METRICS[kind]
        assert_scores_equal(scores, sklearn_scores(tasks[kind], frames[kind]))
    assert not Submission.objects.exists(), "nothing is stored"

    # An invalid file: exit 1, one line on stderr, no traceback.
    assert invalid.returncode == 1 and invalid.stdout == ""
    lines = invalid.stderr.strip().splitlines()
    assert len(lines) == 1, invalid.stderr
    assert "The ids do not match the test set" in lines[0] and "'nope'" in lines[0]
    assert "Traceback" not in invalid.stderr

    # An unknown task: exit 1 with a clear line.
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "CommandError: There is no task 'no-such-task'."


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"id,label\nt0000,fish\n", "The ids do not match the test set"),
        (b"id;label\n", "separated by semicolons"),
        (b"", "The file is empty."),
    ],
)
def test_an_invalid_file_is_a_one_line_command_error(module_tasks, tmp_path, content, words):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(CommandError) as caught:
        call_command("score_file", "--task", module_tasks["classification"].slug, str(path))
    assert caught.value.returncode == 1
    assert "\n" not in str(caught.value) and words in str(caught.value)


def test_without_probabilities_only_the_metrics_that_apply(module_tasks, tmp_path):
    task = module_tasks["classification"]
    path = tmp_path / "labels.csv"
    path.write_bytes(csv_bytes(predictions_frame(task, scores=False)))
    out = StringIO()
    call_command("score_file", "--task", task.slug, str(path), stdout=out)
    assert set(json.loads(out.getvalue())["public"]) == {"accuracy", "macro_f1"}


def test_a_missing_file_is_a_clear_error(module_tasks, tmp_path):
    with pytest.raises(CommandError, match="There is no file"):
        call_command("score_file", "--task", module_tasks["matching"].slug, str(tmp_path / "x"))


@pytest.mark.parametrize("recorded", [0, 5, 10_000])
def test_a_recorded_row_count_other_than_the_solution_s_scores_the_same(
    module_tasks, tmp_path, recorded
):
    """The command reads the file while the solution loads, bounded by the task's recorded
    count of test rows; a count that is missing or stale (smaller: the first read refuses
    the file; larger: a looser bound) reads it again with the solution's own."""
    task = module_tasks["classification"]
    frame = predictions_frame(task, seed=3)
    path = tmp_path / "predictions.parquet"
    path.write_bytes(parquet_bytes(frame))
    assert task.test_rows == len(frame) != recorded
    type(task).objects.filter(pk=task.pk).update(test_rows=recorded)
    out = StringIO()
    call_command("score_file", "--task", task.slug, str(path), stdout=out)
    assert_scores_equal(json.loads(out.getvalue()), sklearn_scores(task, frame))


def test_a_file_too_long_for_the_recorded_count_is_refused_as_before(module_tasks, tmp_path):
    task = module_tasks["classification"]
    frame = predictions_frame(task, seed=3)
    path = tmp_path / "predictions.csv"
    path.write_bytes(csv_bytes(frame) + b"".join(b"x%d,cat\n" % i for i in range(10 * len(frame))))
    with pytest.raises(CommandError) as caught:
        call_command("score_file", "--task", task.slug, str(path))
    assert caught.value.returncode == 1 and "\n" not in str(caught.value)
