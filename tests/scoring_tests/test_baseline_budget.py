"""The AutoGluon baseline's fixed budget (``algorithms/builtin/autogluon/budget.py``): the same
predictions on an idle and on a busy machine, a safety limit that fails the run instead of
fitting less, a guard that fails a fit AutoGluon cut short for lack of memory, and missing
categories handled as plain AutoGluon handles them.

The slow tests run the baseline for real in the bubblewrap sandbox on a small synthetic task
(text, numeric, categorical and image columns), as ``test_baseline_runner.py`` does.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from algorithms.builtin.autogluon import budget, fitting, guard, runner
from tests.scoring_tests.baseline_runner_helpers import make_classification_task, run_baseline

AUTOGLUON_SOURCE = Path(__import__("autogluon.tabular").tabular.__file__).parents[1]
BURN = "import time\nend = time.time() + 600\nwhile time.time() < end:\n    pass\n"


# ------------------------------------------------------------------ fast tests


def test_the_fit_has_no_wall_clock_and_every_model_a_fixed_number_of_rounds() -> None:
    arguments = budget.fit_arguments()
    assert arguments["time_limit"] is None and arguments["dynamic_stacking"] is False
    assert arguments["ag_args_ensemble"] == {"fold_fitting_strategy": "sequential_local"}
    models = budget.hyperparameters(fitting.allowed_model_types())
    assert set(models) == {"GBM", "CAT", "XGB", "RF", "XT"}  # nothing that needs torch
    rounds = {"GBM": "num_boost_round", "CAT": "iterations", "XGB": "n_estimators"}
    seeds = {"GBM": "seed", "CAT": "random_seed", "XGB": "seed", "RF": "random_state"}
    for key, configs in models.items():
        for config in configs:
            assert config[rounds.get(key, "n_estimators")] in (
                budget.BOOSTING_ROUNDS,
                budget.CATBOOST_ITERATIONS,
                budget.FOREST_TREES,
            )
            assert config[seeds.get(key, "random_state")] == budget.SEED
            if key == "GBM":  # LightGBM would otherwise time both layouts and keep the faster
                assert config["deterministic"] is True and config["force_col_wise"] is True
    # Fresh copies: AutoGluon pops the seeds out of the dicts it is given.
    models["GBM"][0].pop("seed")
    assert budget.MODELS["GBM"][0]["seed"] == budget.SEED


def test_every_autogluon_message_the_guard_watches_is_in_the_installed_autogluon() -> None:
    """The guard reads AutoGluon's log: an upgrade that rewords a message must fail here, not
    let a fit cut short pass unnoticed."""
    source = "\n".join(
        path.read_text(encoding="utf-8", errors="replace")
        for path in AUTOGLUON_SOURCE.rglob("*.py")
    )
    missing = [needle for needle in guard.CUT_SHORT if needle not in source]
    assert not missing, missing
    from autogluon.core.utils import exceptions

    for name in guard.SKIPPED_FOR_RESOURCES:
        assert isinstance(getattr(exceptions, name), type)
    assert "Fitting model: " in source


def test_a_model_cut_short_or_skipped_for_memory_fails_the_fit() -> None:
    watch = guard.CutShortWatch().attach()
    try:
        log = logging.getLogger("autogluon.tabular.trainer")
        log.log(20, "Fitting model: LightGBM ...")
        log.log(20, "Fitting model: CatBoost ...")
        logging.getLogger("autogluon.tabular.models.catboost.callbacks").log(
            20, "\tRan low on memory, early stopping on iteration 79."
        )
    finally:
        watch.detach()
    failures = pd.DataFrame(
        {
            "model": ["XGBoost", "KNeighbors"],
            "exc_type": ["NotEnoughMemoryError", "ValueError"],
            "exc_str": ["", "the data\n does not suit it"],
        }
    )
    with pytest.raises(guard.BudgetCutShort) as raised:
        guard.check_fitted(watch, failures)
    message = str(raised.value)
    assert "CatBoost: CatBoost stopped early for lack of memory" in message
    assert "XGBoost: skipped for lack of memory" in message
    assert "LightGBM" not in message and "KNeighbors" not in message
    # A model the data does not suit fails the same way on every run: named, not fatal.
    guard.check_fitted(guard.CutShortWatch(), failures.iloc[1:])
    assert guard.failed_models(failures.iloc[1:]) == [
        {"model": "KNeighbors", "error": "ValueError: the data does not suit it"}
    ]


def test_missing_categories_are_a_category_of_their_own_as_in_plain_autogluon() -> None:
    """A missing categorical value is its own category ("" filled by AutoGluon), not a NaN
    the models see as missing; the test's values map on the train's categories (one unseen
    in train is missing), exactly as a plain TabularPredictor.fit on the strings does."""
    from autogluon.features.generators import AutoMLPipelineFeatureGenerator

    colors = ["red", None, "blue", "red", None, "green"] * 10
    train = pd.DataFrame(
        {"color": pd.array(colors, dtype="string"), "size": np.arange(60.0)}
    )
    test = pd.DataFrame(
        {"color": pd.array([None, "red", "violet"], dtype="string"), "size": [1.0, 2.0, 3.0]}
    )
    spec = runner.TaskSpec(
        "t", "classification", (("color", "categorical"), ("size", "numeric")), ("a", "b")
    )
    # The runner's own path: a frame's model inputs, then AutoGluon with their metadata.
    train_x, text_cols = runner.frame_features(spec, train, None, workers=1)
    test_x, _ = runner.frame_features(spec, test, None, workers=1)
    ours = AutoMLPipelineFeatureGenerator(verbosity=0)
    ours_train = ours.fit_transform(
        train_x, feature_metadata_in=fitting.feature_metadata(train_x, text_cols)
    )["color"]
    ours_test = ours.transform(test_x)["color"]

    plain = AutoMLPipelineFeatureGenerator(verbosity=0)
    plain_train = plain.fit_transform(train.astype({"color": object}))["color"]
    plain_test = plain.transform(test.astype({"color": object}))["color"]

    missing = train["color"].isna().to_numpy()
    assert ours_train[missing].notna().all()  # its own category, not NaN
    assert ours_train[missing].nunique() == 1
    assert ours_train.astype(float).equals(plain_train.astype(float))
    assert ours_test.astype(float).equals(plain_test.astype(float))
    assert ours_test.iloc[0] == ours_train[missing].iloc[0]  # missing in test: the same
    assert pd.isna(ours_test.iloc[2])  # unseen in train


# ------------------------------------------------------------------ real AutoGluon runs


def _burners(count: int) -> list[subprocess.Popen]:
    return [
        subprocess.Popen([sys.executable, "-c", BURN], stdout=subprocess.DEVNULL)
        for _ in range(count)
    ]


@pytest.mark.slow
def test_a_rerun_on_a_busy_machine_gives_the_same_predictions(tmp_path: Path) -> None:
    """The acceptance case: the same task, once as the machine is and once with both cores
    spinning (two CPU burners), gives bit-for-bit the same predictions (agreement 1.0), the
    same models and the same rounds."""
    task = make_classification_task(tmp_path)
    (tmp_path / "idle").mkdir()
    (tmp_path / "busy").mkdir()
    idle, idle_out = run_baseline(tmp_path / "idle", task.path, time_limit=600, wall=700)
    assert idle.ok, (idle.message, idle.log_tail[-3000:])
    spinning = _burners(2)
    try:
        time.sleep(0.5)
        busy, busy_out = run_baseline(tmp_path / "busy", task.path, time_limit=600, wall=700)
    finally:
        for proc in spinning:
            proc.kill()
            proc.wait()
    assert busy.ok, (busy.message, busy.log_tail[-3000:])

    first = pd.read_parquet(idle_out / "predictions.parquet")
    second = pd.read_parquet(busy_out / "predictions.parquet")
    assert float(np.mean(first["label"].to_numpy() == second["label"].to_numpy())) == 1.0
    pd.testing.assert_frame_equal(first, second, check_exact=True)  # probabilities too
    before = json.loads((idle_out / "result.json").read_text())
    after = json.loads((busy_out / "result.json").read_text())
    assert before["models"] and sorted(before["models"]) == sorted(after["models"])
    assert before["rounds"] and before["rounds"] == after["rounds"]
    assert len(before["rounds"]) == 9  # every model of the budget, none left out
    assert before["time_limit"] == 600 and before["seed"] == budget.SEED
    assert before["models_failed"] == after["models_failed"] == []
    print(f"idle fit {before['fit_seconds']:.1f} s, busy fit {after['fit_seconds']:.1f} s")


@pytest.mark.slow
def test_the_safety_limit_fails_the_run_instead_of_fitting_less(tmp_path: Path) -> None:
    """A wall-clock budget used to make AutoGluon fit fewer models; now the limit is a
    safety net: past it the run fails with the reason and submits nothing."""
    task = make_classification_task(tmp_path)
    result, out = run_baseline(tmp_path, task.path, time_limit=4, wall=120)
    assert not result.ok and result.exit_code == 1, result.message
    reason = "the baseline did not finish within its safety limit of 4 s"
    assert reason in result.log_tail
    report = json.loads((out / "result.json").read_text())
    assert report["status"] == "failed" and reason in report["error"]
    assert "fails rather than fit less" in report["error"]
    assert not (out / "predictions.parquet").exists()
