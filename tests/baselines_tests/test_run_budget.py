"""A challenge's run budget (docs/decisions/0074-the-demo-settles-on-a-budget.md): the demo gets
its own when ``load_demo`` creates it, and every AutoGluon baseline the demo queues (on arrival,
by a later import or a new data version, by an organizer) fits on the budget's train sample,
within the platform's own cap; a budget that cannot be used is refused with its reason where
it is written and read as none where it is stored anyway."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from algorithms.builtin.autogluon import budget as baseline_budget
from algorithms.models import BaselineRun
from algorithms.services.baseline import baseline_run_queue
from algorithms.services.builtin import baseline_environment
from algorithms.services.run_budget import (
    baseline_budget_options,
    challenge_run_budget,
    stress_budget_options,
)
from challenges.models import Challenge
from challenges.run_budget import MODEL_TYPES, RunBudget
from datasets.demo import DemoTask
from datasets.models import Task
from datasets.services import task_import
from operations.demo_budget import DEMO_RUN_BUDGET
from testkit.bundles import write_classification_bundle
from tests.scoring_tests.factories import ChallengeFactory

pytestmark = pytest.mark.django_db


def _kinds(out_dir: Path, *, seed: int = 0, cache_dir: Path | None = None) -> Path:
    return write_classification_bundle(out_dir, task={"slug": "kinds"})


@pytest.fixture
def demo(monkeypatch: pytest.MonkeyPatch, settings) -> None:
    """The demo with one small classification task, benchmarked on arrival."""
    settings.BENCHMARK_ON_ARRIVAL = True
    monkeypatch.setattr("datasets.demo.DEMO_TASKS", [DemoTask("kinds", "classification", _kinds)])


def load_demo() -> str:
    out = StringIO()
    call_command("load_demo", stdout=out, stderr=StringIO())
    return out.getvalue()


def test_every_baseline_the_demo_queues_follows_its_budget(demo, settings, tmp_path: Path) -> None:
    load_demo()
    challenge = Challenge.objects.get(slug="demo")
    assert challenge.run_budget == DEMO_RUN_BUDGET == {"without_models": ["CAT"]}
    (arrival,) = BaselineRun.objects.filter(task__slug="kinds")
    assert arrival.options["without_models"] == ["CAT"]
    assert arrival.options["presets"] == settings.BASELINE_PRESETS  # a real AutoGluon fit
    env = baseline_environment(run=arrival)
    assert env["BASELINE_WITHOUT_MODELS"] == "CAT"
    assert env["BASELINE_MAX_TRAIN_ROWS"] == str(settings.BASELINE_MAX_TRAIN_ROWS)  # all rows

    # A task that arrives later (an import, as a new data version does) gets the budget too:
    # it is the challenge's, not a list of the demo's first jobs.
    task_import(
        source=write_classification_bundle(tmp_path / "later", task={"slug": "later"}),
        challenge_slug="demo",
        track_slug="classification",
    )
    (later,) = BaselineRun.objects.filter(task__slug="later")
    assert later.options["without_models"] == ["CAT"]
    # So does an organizer's run, once the first one is done.
    BaselineRun.objects.filter(pk=arrival.pk).update(status="cancelled")
    again = baseline_run_queue(task=Task.objects.get(slug="kinds"), presets="good_quality")
    assert again.options["without_models"] == ["CAT"]
    assert again.options["presets"] == "good_quality"


def test_a_train_sample_reaches_the_baseline_within_the_platforms_cap(
    settings, tmp_path: Path
) -> None:
    settings.BENCHMARK_ON_ARRIVAL = True
    challenge = ChallengeFactory(run_budget={"train_rows": 3000})
    task = task_import(
        source=write_classification_bundle(tmp_path / "b", task={"slug": "sampled"}),
        challenge_slug=challenge.slug,
        track_slug="classification",
    )
    (run,) = BaselineRun.objects.filter(task=task)
    assert run.options["max_train_rows"] == 3000
    assert baseline_environment(run=run)["BASELINE_MAX_TRAIN_ROWS"] == "3000"
    settings.BASELINE_MAX_TRAIN_ROWS = 500  # the platform's own cap binds when it is tighter
    assert baseline_environment(run=run)["BASELINE_MAX_TRAIN_ROWS"] == "500"


def test_an_organizers_change_to_the_demo_budget_is_kept_by_the_next_start(demo) -> None:
    load_demo()
    Challenge.objects.filter(slug="demo").update(run_budget={})
    load_demo()
    challenge = Challenge.objects.get(slug="demo")
    assert challenge.run_budget == {}
    assert baseline_budget_options(challenge=challenge) == {}


def test_another_challenge_keeps_the_platforms_settings(settings, tmp_path: Path) -> None:
    settings.BENCHMARK_ON_ARRIVAL = True
    challenge = ChallengeFactory()
    task = task_import(
        source=write_classification_bundle(tmp_path / "b", task={"slug": "plain"}),
        challenge_slug=challenge.slug,
        track_slug="classification",
    )
    (run,) = BaselineRun.objects.filter(task=task)
    assert "max_train_rows" not in run.options
    env = baseline_environment(run=run)
    assert env["BASELINE_MAX_TRAIN_ROWS"] == str(settings.BASELINE_MAX_TRAIN_ROWS)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ([3000], "a run budget is a JSON object"),
        ({"train_rows": 3000, "models": 2}, "unknown key 'models'"),
        ({"train_rows": True}, "'train_rows' must be a whole number of at least 100"),
        ({"train_rows": "3000"}, "'train_rows' must be a whole number of at least 100"),
        ({"stress_rows": 99}, "'stress_rows' must be a whole number of at least 100"),
        ({"stress_rows": -1}, "'stress_rows' must be a whole number of at least 100"),
        ({"train_rows": 3000.5}, "'train_rows' must be a whole number of at least 100"),
        ({"without_models": "CAT"}, "'without_models' must be a list of model types among"),
        ({"without_models": ["NN_TORCH"]}, "'without_models' must be a list of model types"),
        ({"without_models": list(MODEL_TYPES)}, "would leave the baseline no model to fit"),
    ],
)
def test_a_budget_that_cannot_be_used_is_refused_and_read_as_none(value, reason) -> None:
    challenge = ChallengeFactory()
    challenge.run_budget = value
    with pytest.raises(ValidationError) as refused:
        challenge.full_clean()
    assert reason in str(refused.value.message_dict["run_budget"])
    # Stored anyway (a direct update): the runs read it as none, never fail on it.
    Challenge.objects.filter(pk=challenge.pk).update(run_budget=value)
    challenge.refresh_from_db()
    assert challenge_run_budget(challenge=challenge) == RunBudget()
    assert baseline_budget_options(challenge=challenge) == {}
    assert stress_budget_options(challenge=challenge) == {}


def test_the_budgets_model_types_are_the_baselines_and_the_runner_refuses_others() -> None:
    assert tuple(baseline_budget.MODELS) == MODEL_TYPES
    assert baseline_budget.left_out(" CAT,XGB ") == {"CAT", "XGB"}
    assert baseline_budget.left_out("") == set()
    with pytest.raises(ValueError, match="unknown model type 'NN_TORCH'"):
        baseline_budget.left_out("CAT,NN_TORCH")
    with pytest.raises(ValueError, match="leaves no model to fit"):
        baseline_budget.left_out(",".join(MODEL_TYPES))


def test_models_left_out_reach_the_baseline_and_its_stress_run(settings, tmp_path: Path) -> None:
    settings.BENCHMARK_ON_ARRIVAL = True
    challenge = ChallengeFactory(run_budget={"without_models": ["XGB", "CAT"]})
    task = task_import(
        source=write_classification_bundle(tmp_path / "b", task={"slug": "lean"}),
        challenge_slug=challenge.slug,
        track_slug="classification",
    )
    (run,) = BaselineRun.objects.filter(task=task)
    assert run.options["without_models"] == ["CAT", "XGB"]
    assert baseline_environment(run=run)["BASELINE_WITHOUT_MODELS"] == "CAT,XGB"
