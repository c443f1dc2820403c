"""One module per task kind in the AutoGluon baseline (``builtin/autogluon/kinds/<kind>.py``):
the runner finds a kind by task.json's name, refuses any other name (a hostile task.json
cannot import a module of its choosing), and the platform, which may not import the
baseline, knows which kinds it fits from those files' names."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from algorithms.builtin.autogluon import kinds as baseline_kinds_package
from algorithms.builtin.autogluon import runner
from algorithms.builtin.autogluon.data import TaskError
from algorithms.builtin.autogluon.kinds import BaselineKind, kind_named, kind_names
from algorithms.models import BaselineRun
from algorithms.services.baseline import BaselineRunRefused, baseline_run_queue
from algorithms.services.builtin import baseline_kinds
from kinds.registry import kind_names as platform_kind_names

BASELINE_DIR = Path(baseline_kinds_package.__file__).parents[1]
COLUMNS = [{"name": "x", "type": "numeric"}]


def write_task(folder: Path, **meta) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "task.json").write_text(json.dumps({"slug": "t", "columns": COLUMNS, **meta}))
    return folder


def test_every_platform_kind_has_its_module_named_after_it():
    assert kind_names() == tuple(sorted(platform_kind_names()))
    for name in kind_names():
        assert kind_named(name).name == name
    assert baseline_kinds() == platform_kind_names()  # the platform's order


@pytest.mark.parametrize(
    "kind",
    ["runner", "data", "__init__", "_x", "kinds.matching", "../runner", "", "Matching", None, 3,
     ["classification"], {"kind": "matching"}],
)  # fmt: skip
def test_a_kind_no_module_is_named_after_is_refused(tmp_path: Path, kind):
    with pytest.raises(TaskError, match="kind must be one of classification, grouping, match"):
        runner.load_task(write_task(tmp_path / "t", kind=kind, classes=["a", "b"]))


def test_each_kind_says_which_classes_its_model_predicts(tmp_path: Path):
    for kind, declared, expected in (
        ("classification", ["b", "a", 3], ("b", "a", "3")),
        ("matching", [], ("0", "1")),
        ("grouping", ["x"], ("0", "1")),
        ("regression", ["ignored"], ()),
    ):
        spec = runner.load_task(write_task(tmp_path / kind, kind=kind, classes=declared))
        assert (spec.kind, spec.classes, spec.handler.name) == (kind, expected, kind)
    with pytest.raises(TaskError, match="at least two classes"):
        runner.load_task(write_task(tmp_path / "one", kind="classification", classes=["a"]))


def test_row_by_row_kinds_check_their_labels_and_name_their_problem():
    spec = runner.TaskSpec("t", "classification", (("x", "numeric"),), ("a", "b", "c"))
    labels = spec.handler.train_labels(pd.Series(["a", "b", "c", "a"]))
    assert spec.handler.problem(spec, labels) == ("multiclass", "accuracy")
    with pytest.raises(TaskError, match=r"not in task\.json classes"):
        spec.handler.problem(spec, pd.Series(["a", "zzz"]))
    with pytest.raises(TaskError, match="single class"):
        spec.handler.problem(spec, pd.Series(["a", "a"]))

    pairs = runner.TaskSpec("p", "matching", (("x", "numeric"),), ("0", "1"))
    assert pairs.handler.problem(pairs, pairs.handler.train_labels(pd.Series([0, 1]))) == (
        "binary",
        "f1",
    )
    with pytest.raises(TaskError, match="integers 0 and 1"):
        pairs.handler.train_labels(pd.Series(["yes", "no"]))
    with pytest.raises(TaskError, match="both 0 and 1"):
        pairs.handler.problem(pairs, pd.Series([1, 1]))
    assert pairs.handler.stop_on_log_loss and kind_named("grouping").stop_on_log_loss
    assert not kind_named("classification").stop_on_log_loss


def test_a_kind_either_runs_whole_or_gives_every_row_by_row_part():
    with pytest.raises(TypeError, match="give run, or train_labels, problem and predict"):
        BaselineKind(name="half", classes=lambda d: d, train_labels=lambda s: s)
    assert kind_named("grouping").run is not None


@pytest.mark.django_db
def test_a_baseline_without_a_kind_s_module_is_not_queued_for_that_kind(
    tmp_path: Path, settings, matching_task
):
    copy = tmp_path / "baseline"
    shutil.copytree(BASELINE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "kinds" / "matching.py").unlink()
    settings.BASELINE_ALGORITHM_DIR = str(copy)
    assert baseline_kinds() == ("classification", "grouping", "regression")
    with pytest.raises(BaselineRunRefused, match="runs on classification, grouping, regression"):
        baseline_run_queue(task=matching_task, time_limit=10)
    assert not BaselineRun.objects.exists()
