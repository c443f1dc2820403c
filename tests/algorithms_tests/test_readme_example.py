"""The manual's example algorithm (docs/participants/submit-an-algorithm.md), exactly as
documented, on a task of every kind.

The archive is built from the page's own ``algorithm.yaml`` and ``main.py`` blocks (as
``tests/notifications_tests/test_webhook_ssrf.py`` runs the manual's webhook snippet), run
through the real bubblewrap sandbox on a classification, a matching, a grouping and a
regression task:
each run succeeds and its submission is scored. A kind the example does not know ends the
run with an error naming it, instead of a file in another kind's format.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from algorithms.models import AlgorithmRun, AlgorithmRunStatus
from algorithms.sandbox.command import LAUNCHER
from algorithms.services.execute import algorithm_run_execute
from datasets.services import task_import
from scoring.models import SubmissionStatus
from testkit.archives import make_zip
from testkit.bundles import write_regression_bundle
from tests.algorithms_tests.services_helpers import post_archive, queue
from tests.datasets_tests.core_grouping_helpers import grouping_bundle

pytestmark = pytest.mark.slow

PAGE = Path(__file__).resolve().parents[2] / "docs/participants/submit-an-algorithm.md"


def readme_example() -> dict[str, str]:
    """``algorithm.yaml`` and ``main.py`` of the manual's "Submit an algorithm" page."""
    section = PAGE.read_text()
    (manifest,) = re.findall(r"```yaml\n(# algorithm\.yaml\n.*?)```", section, flags=re.S)
    (main,) = re.findall(r"```python\n(# main\.py.*?)```", section, flags=re.S)
    return {"algorithm.yaml": manifest, "main.py": main}


def test_the_readme_example_succeeds_and_scores_on_every_kind(world, broker, tmp_path):
    grouping = task_import(
        source=grouping_bundle(tmp_path / "grouping", task={"slug": "readme-group"}),
        challenge_slug=world.challenge.slug,
        track_slug=f"grouping-{world.challenge.slug}",
    )
    regression = task_import(
        source=write_regression_bundle(tmp_path / "regression", task={"slug": "readme-number"}),
        challenge_slug=world.challenge.slug,
        track_slug=f"regression-{world.challenge.slug}",
    )
    tasks = [world.classification, world.matching, grouping, regression]
    assert sorted(task.kind for task in tasks) == [
        "classification", "grouping", "matching", "regression"
    ]  # fmt: skip
    client = world.participant.api()
    created = post_archive(client, world.challenge, make_zip(readme_example()))
    assert created.status_code == 201, created.content
    algorithm = created.json()
    runs = queue(client, algorithm["id"], tasks=[t.slug for t in tasks]).json()["runs"]
    for queued, task in zip(runs, tasks, strict=True):
        algorithm_run_execute(run_pk=queued["id"])
        run = AlgorithmRun.objects.get(pk=queued["id"])
        assert run.task == task
        assert run.status == AlgorithmRunStatus.SUCCEEDED, (task.kind, run.error, run.log_tail)
        assert run.submission.status == SubmissionStatus.SCORED  # in the run's worker
        scores = run.submission.scores["public"]
        assert scores[task.primary_metric] is not None, (task.kind, scores)
    # The matching rule is exact on this data; the grouping rule puts records of one entity
    # together only when their first attribute agrees, which it does here for some.
    matching = AlgorithmRun.objects.get(pk=runs[1]["id"])
    assert matching.submission.scores["public"]["f1"] == pytest.approx(1.0)


def test_the_readme_example_names_a_kind_it_does_not_know(tmp_path):
    """Run as the sandbox runs it (a fresh interpreter with the launcher as its ``-c``
    program, TASK_DIR and OUTPUT_DIR), on a /task folder of a kind it was not written for: it
    exits with an error naming the kind and writes no predictions. (Run as a bare ``python
    main.py``, a few exits in a thousand abort in pyarrow's teardown: common/launch.py.)"""
    task, out = tmp_path / "task", tmp_path / "output"
    task.mkdir()
    out.mkdir()
    frame = pd.DataFrame({"id": ["a", "b"], "x": [1.0, 2.0], "label": [0.5, 1.5]})
    frame.to_parquet(task / "train.parquet")
    frame.drop(columns="label").to_parquet(task / "test.parquet")
    (task / "task.json").write_text(json.dumps({"kind": "forecasting", "slug": "t"}))
    main = tmp_path / "main.py"
    main.write_text(readme_example()["main.py"])
    env = {**os.environ, "TASK_DIR": str(task), "OUTPUT_DIR": str(out)}
    done = subprocess.run(
        [sys.executable, "-B", "-s", "-c", LAUNCHER, str(main)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "not 'forecasting'" in done.stderr
    assert list(out.iterdir()) == []
