"""``run_baselines``: what it queues and skips (the --wait path runs in test_worker.py)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from algorithms.models import AlgorithmRunStatus, BaselineRun
from algorithms.selectors import baseline_run_list
from tests.scoring_tests.factories import imported_task
from tests.support.baseline_runs import make_run

pytestmark = pytest.mark.django_db


def run_command(*args: str) -> str:
    out = StringIO()
    call_command("run_baselines", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def tasks(tmp_path, challenge):
    return [
        imported_task(tmp_path, challenge=challenge, slug="alpha"),
        imported_task(tmp_path, kind="matching", challenge=challenge, slug="beta"),
    ]


def test_queues_every_task_then_skips_the_active_ones(tasks):
    text = run_command()
    assert "queued   alpha" in text and "queued   beta" in text
    assert BaselineRun.objects.filter(status=AlgorithmRunStatus.QUEUED).count() == 2
    text = run_command()
    assert "skipped  alpha" in text and "already has a baseline queued" in text
    assert BaselineRun.objects.count() == 2


def test_succeeded_tasks_are_skipped_unless_forced_or_named(tasks):
    alpha, beta = tasks
    make_run(alpha, status=AlgorithmRunStatus.SUCCEEDED)
    text = run_command()
    assert "skipped  alpha" in text and "has a succeeded baseline" in text
    assert "queued   beta" in text
    text = run_command("--task", "alpha", "--time-limit", "45", "--presets", "good_quality")
    assert "queued   alpha" in text and "(good_quality, 45 s)" in text
    run = baseline_run_list(task=alpha).get(status=AlgorithmRunStatus.QUEUED)
    assert (run.options["presets"], run.options["time_limit"]) == ("good_quality", 45)


def test_unknown_task_and_impossible_budget_exit_1(tasks):
    with pytest.raises(CommandError, match="no task 'nope'") as error:
        run_command("--task", "nope")
    assert error.value.returncode == 1
    with pytest.raises(CommandError, match="does not fit"):
        run_command("--time-limit", "100000")
    assert not BaselineRun.objects.exists()


def test_challenge_filter(tasks, tmp_path):
    imported_task(tmp_path, slug="other-challenge-task")
    text = run_command("--challenge", tasks[0].track.challenge.slug)
    assert "other-challenge-task" not in text and "queued   alpha" in text
