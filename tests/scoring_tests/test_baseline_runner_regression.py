"""The AutoGluon baseline on regression tasks (``builtin/autogluon/kinds/regression.py``).

The fast tests drive the archive's modules directly (no AutoGluon fit): the labels it
accepts, the decile-stratified train sample, the predictions it writes. The slow ones run
the whole algorithm in the real bubblewrap sandbox on a small synthetic task, as the
classification and matching runs of ``test_baseline_runner.py`` do.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from algorithms.builtin.autogluon import data, runner
from algorithms.builtin.autogluon.kinds import regression
from tests.scoring_tests.baseline_runner_helpers import SyntheticTask, _write_task, run_baseline

COLORS = {"red": 4.0, "green": 0.0, "blue": -3.0}
WORDS = {"premium": 2.5, "basic": -1.5, "used": -3.0, "new": 1.0}


def make_regression_task(root: Path, *, n_train: int = 400, n_test: int = 150) -> SyntheticTask:
    """A price-like label: linear in two numbers, shifted by a colour and by words of a
    text column, plus noise (sd 1); the label's sd is about 7."""
    rng = np.random.default_rng(5)
    n = n_train + n_test
    x1, x2 = rng.normal(0, 1.5, n), rng.uniform(-2, 2, n)
    color = rng.choice(list(COLORS), n)
    words = [" ".join(rng.choice(list(WORDS), 2, replace=False)) for _ in range(n)]
    label = (
        3 * x1
        - 2 * x2
        + np.array([COLORS[c] for c in color])
        + np.array([sum(WORDS[w] for w in text.split()) for text in words])
        + rng.normal(0, 1, n)
        + 50
    )
    frame = pd.DataFrame(
        {
            "id": [f"h{i:04d}" for i in range(n)],
            "x1": np.where(rng.random(n) < 0.05, np.nan, x1),
            "x2": x2,
            "color": color,
            "remarks": words,
            "label": label,
        }
    )
    train, test = frame.iloc[:n_train].copy(), frame.iloc[n_train:].copy()
    path = root / "regression"
    _write_task(
        path,
        kind="regression",
        columns=[("x1", "numeric"), ("x2", "numeric"), ("color", "categorical"),
                 ("remarks", "text")],
        classes=[],
        train=train,
        test=test.drop(columns=["label"]),
    )  # fmt: skip
    return SyntheticTask(path, test.set_index("id")["label"])


# ------------------------------------------------------------------ fast unit tests


def test_a_regression_task_json_needs_no_class_list(tmp_path: Path) -> None:
    meta = {"slug": "prices", "kind": "regression", "columns": [{"name": "x", "type": "numeric"}]}
    (tmp_path / "task.json").write_text(json.dumps({**meta, "classes": []}))
    spec = runner.load_task(tmp_path)
    assert (spec.kind, spec.classes) == ("regression", ())
    # A classification task still needs two classes.
    (tmp_path / "task.json").write_text(json.dumps({**meta, "kind": "classification"}))
    with pytest.raises(runner.TaskError, match="at least two classes"):
        runner.load_task(tmp_path)


def test_train_labels_are_read_as_float64_and_bad_ones_refused() -> None:
    labels = regression.train_labels(pd.Series([1, 2.5, "3.25"], dtype=object, name="label"))
    assert labels.dtype == np.float64 and labels.tolist() == [1.0, 2.5, 3.25]
    for bad, words in (
        ([1.0, np.inf, 2.0], "1 of 3 rows are not"),
        ([1.0, "a lot", 2.0], "must be finite numbers"),
        ([1.0, None, 2.0], "1 of 3 rows are not"),
        ([4.0, 4.0, 4.0], "at least 2 different label values"),
    ):
        with pytest.raises(data.TaskFileError, match=words):
            regression.train_labels(pd.Series(bad, dtype=object))


def test_the_problem_is_autogluon_regression_on_rmse() -> None:
    spec = runner.TaskSpec("prices", "regression", (("x", "numeric"),), ())
    assert spec.handler.problem(spec, pd.Series([1.0, 2.0])) == (
        "regression",
        "root_mean_squared_error",
    )


def test_a_large_train_is_sampled_within_each_decile_of_the_label(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    label = np.exp(rng.normal(0, 1.2, 5000))  # skewed: a long tail of high values
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(5000)], "x": range(5000), "label": label})
    frame.to_parquet(tmp_path / "train.parquet", row_group_size=700)
    sample, total = data.read_train(
        tmp_path / "train.parquet", ["id", "x", "label"], max_rows=500, strata=regression.strata
    )
    assert total == 5000 and len(sample) == 500
    assert sample["x"].is_monotonic_increasing  # the file's order, rows kept whole
    assert np.array_equal(sample["label"].to_numpy(), label[sample["x"].to_numpy()])
    edges = np.quantile(label, np.linspace(0, 1, 11)[1:-1])
    per_decile = np.bincount(np.searchsorted(edges, sample["label"], side="right"), minlength=10)
    assert per_decile.tolist() == [50] * 10  # the long tail is in the sample as in the train
    # Stratifying by value, as for classes, would keep every distinct float: no sample.
    whole, _ = data.read_train(tmp_path / "train.parquet", ["id", "label"], max_rows=500)
    assert len(whole) == 5000


def test_a_constant_or_broken_label_column_is_refused_before_sampling(tmp_path: Path) -> None:
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(100)], "label": np.arange(100.0)})
    frame.loc[7, "label"] = np.inf
    frame.to_parquet(tmp_path / "train.parquet")
    with pytest.raises(data.TaskFileError, match="1 of 100 rows are not"):
        data.read_train(
            tmp_path / "train.parquet", ["id", "label"], max_rows=10, strata=regression.strata
        )


def test_predictions_are_an_id_and_a_float64_label_per_row() -> None:
    ids = pd.Series(["a", "b", "c"], dtype="string")
    out = regression.submission_frame(ids, pd.Series([1, 2.5, -3], dtype="float32"))
    assert list(out.columns) == ["id", "label"]
    assert out["label"].dtype == np.float64 and out["label"].tolist() == [1.0, 2.5, -3.0]
    assert out["id"].tolist() == ["a", "b", "c"]
    with pytest.raises(RuntimeError, match="predicted 2 values that are not finite"):
        regression.submission_frame(ids, np.array([1.0, np.nan, np.inf]))


# ------------------------------------------------------------------ real AutoGluon runs


@pytest.mark.slow
def test_regression_baseline_beats_the_mean_on_a_decile_sample(tmp_path: Path) -> None:
    task = make_regression_task(tmp_path)  # 400 train rows, 150 test rows
    result, out = run_baseline(
        tmp_path,
        task.path,
        time_limit=300,  # the safety limit: the work is fixed (budget.py)
        wall=360,
        BASELINE_MAX_TRAIN_ROWS="300",
        BASELINE_PREDICT_BATCH_ROWS="60",
    )
    assert result.ok, (result.message, result.log_tail[-3000:])
    pred = pd.read_parquet(out / "predictions.parquet")
    assert list(pred.columns) == ["id", "label"] and pred["label"].dtype == np.float64
    assert list(pred["id"]) == list(pd.read_parquet(task.path / "test.parquet")["id"])
    errors = pred.set_index("id")["label"] - task.truth
    rmse = float(np.sqrt((errors**2).mean()))
    train = pd.read_parquet(task.path / "train.parquet")
    mean_rmse = float(np.sqrt(((task.truth - train["label"].mean()) ** 2).mean()))
    print(f"regression RMSE {rmse:.3f} (train mean: {mean_rmse:.3f}) in {result.seconds:.1f} s")
    assert rmse < 0.5 * mean_rmse  # the features explain most of the label

    report = json.loads((out / "result.json").read_text())
    assert report["status"] == "succeeded" and report["kind"] == "regression"
    assert report["problem_type"] == "regression"
    assert report["eval_metric"] == "root_mean_squared_error"
    assert report["validation_score"] < 0  # AutoGluon's RMSE, negated
    assert report["decision_threshold"] is None
    assert report["train_rows"] == 400 and report["train_rows_used"] == 300
    log = (out / "fit.log").read_text()
    assert "a stratified sample" in log
    assert "predicted 60 rows" in log and "predicted 150 rows" in log  # in batches


@pytest.mark.slow
def test_a_regression_task_with_a_label_that_is_no_number_fails_with_the_reason(
    tmp_path: Path,
) -> None:
    task = make_regression_task(tmp_path, n_train=60, n_test=20)
    train = pd.read_parquet(task.path / "train.parquet")
    train.loc[3, "label"] = np.inf
    train.to_parquet(task.path / "train.parquet", index=False)
    result, out = run_baseline(tmp_path, task.path, time_limit=10, wall=90)
    assert not result.ok and result.exit_code == 2
    reason = "regression labels must be finite numbers; 1 of 60 rows are not"
    assert reason in result.log_tail
    assert reason in json.loads((out / "result.json").read_text())["error"]
    assert not (out / "predictions.parquet").exists()
