"""The AutoGluon baseline algorithm, run for real in the bubblewrap sandbox on tiny tasks.

No Django: the sandbox backend is driven directly, with the baseline's folder laid out as
its archive (``main.py`` and ``algorithm.yaml`` at the top, the package beside them). The
slow tests fit real AutoGluon models (about 25 s each on 2 cores).
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest

from algorithms.builtin.autogluon import data, features
from algorithms.sandbox.base import SandboxResult
from tests.support.baseline_runs import live_group_members

from .baseline_runner_helpers import (  # noqa: F401
    BASELINE_DIR,
    CLASS_WORDS,
    CLASSES,
    COLORS,
    FILLER,
    SyntheticTask,
    _png,
    _write_task,
    baseline_code,
    make_classification_task,
    run_baseline,
)

# The baseline's safety limit in the runs below: its work is fixed (budget.py), so the limit
# only fails a run that hangs; generous, since the test machine may be busy.
SAFETY_SECONDS = 300










BRANDS = ["acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "wonka"]
NOUNS = [
    "phone",
    "laptop",
    "tablet",
    "camera",
    "speaker",
    "monitor",
    "router",
    "printer",
    "drone",
    "watch",
]
ADJ = ["pro", "max", "mini", "ultra", "air", "plus", "lite", "neo"]


def _typo(word: str, rng: np.random.Generator) -> str:
    if len(word) < 4:
        return word
    i = int(rng.integers(1, len(word) - 1))
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def make_matching_task(root: Path, *, n_train: int = 300, n_test: int = 150) -> SyntheticTask:
    """Candidate product pairs: matches are noisy copies, non-matches are other products
    (half of them of the same brand)."""
    rng = np.random.default_rng(11)
    entities = [
        {
            "brand": rng.choice(BRANDS),
            "name": f"{rng.choice(NOUNS)} {rng.choice(ADJ)} {rng.integers(100, 999)}",
            "price": float(np.round(rng.lognormal(5, 1), 2)),
        }
        for _ in range(500)
    ]
    rows = []
    for i in range(n_train + n_test):
        left = entities[int(rng.integers(len(entities)))]
        is_match = rng.random() < 0.4
        if is_match:
            tokens = [_typo(t, rng) if rng.random() < 0.3 else t for t in left["name"].split()]
            if rng.random() < 0.5:
                rng.shuffle(tokens)
            right = {
                "brand": None if rng.random() < 0.1 else left["brand"].upper(),
                "name": " ".join(tokens),
                "price": left["price"] * (1 + rng.normal(0, 0.02)),
            }
        else:
            pool = [e for e in entities if e is not left]
            if rng.random() < 0.5:
                pool = [e for e in pool if e["brand"] == left["brand"]] or pool
            right = dict(pool[int(rng.integers(len(pool)))])
        rows.append(
            {
                "id": f"p{i:04d}",
                "left_brand": left["brand"],
                "left_name": f"{left['brand']} {left['name']}",
                "left_price": left["price"],
                "right_brand": right["brand"],
                "right_name": right["name"],
                "right_price": np.nan if rng.random() < 0.05 else right["price"],
                "label": int(is_match),
            }
        )
    frame = pd.DataFrame(rows)
    frame["label"] = frame["label"].astype("int64")
    train, test = frame.iloc[:n_train].copy(), frame.iloc[n_train:].copy()
    truth = test.set_index("id")["label"]
    columns = [
        ("left_brand", "categorical"),
        ("left_name", "text"),
        ("left_price", "numeric"),
        ("right_brand", "categorical"),
        ("right_name", "text"),
        ("right_price", "numeric"),
    ]
    path = root / "matching"
    _write_task(
        path,
        kind="matching",
        columns=columns,
        classes=["0", "1"],
        train=train,
        test=test.drop(columns=["label"]),
    )
    return SyntheticTask(path, truth)


def _f1(truth: np.ndarray, pred: np.ndarray) -> float:
    tp = int(((truth == 1) & (pred == 1)).sum())
    fp = int(((truth == 0) & (pred == 1)).sum())
    fn = int(((truth == 1) & (pred == 0)).sum())
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0






def _assert_sandbox_gone(result: SandboxResult) -> None:
    """No process of the sandbox's process group lives on."""
    assert result.pid and live_group_members(result.pid) == []
    for proc in psutil.process_iter(["pid", "status"]):
        try:
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            assert os.getpgid(proc.pid) != result.pid, f"survivor {proc.pid}"
        except (psutil.NoSuchProcess, ProcessLookupError):
            continue


# ------------------------------------------------------------------ fast unit tests


def test_pair_features_score_matches_above_non_matches() -> None:
    frame = pd.DataFrame(
        {
            "left_name": ["Acme Phone Pro 100", "Acme Phone Pro 100", None],
            "right_name": ["phone pro acme 100", "Globex Drone 7", "x"],
            "left_price": [100.0, 100.0, 5.0],
            "right_price": [101.0, 350.0, np.nan],
        }
    )
    attrs = features.pair_attributes(
        list(frame.columns), {"left_name": "text", "left_price": "numeric"}
    )
    out = features.pair_features(frame, attrs)
    assert out.loc[0, "name__token_set"] == pytest.approx(1.0)
    assert out.loc[0, "name__jaro_winkler"] > out.loc[1, "name__jaro_winkler"]
    assert out.loc[0, "price__num_rel_diff"] == pytest.approx(1 / 101)
    assert out.loc[1, "name__exact"] == 0.0
    assert np.isnan(out.loc[2, "name__token_set"]) and out.loc[2, "name__left_missing"] == 1.0
    assert np.isnan(out.loc[2, "price__num_rel_diff"])
    assert out.loc[2, "price__right_missing"] == 1.0


def test_image_features_read_the_archive_in_memory(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    with zipfile.ZipFile(tmp_path / "images.zip", "w") as archive:
        archive.writestr("a/striped.png", _png("alpha", rng))
        archive.writestr("a/dark.png", _png("gamma", rng))
        archive.writestr("a/broken.png", b"not a png")
    paths = pd.Series(["a/striped.png", "a/dark.png", "a/broken.png", None, "a/absent.png"])
    with zipfile.ZipFile(tmp_path / "images.zip") as archive:
        out = features.image_features(paths, archive, column="photo")
    assert list(out.columns) == features.image_feature_names("photo")
    assert out.shape == (5, 64 + 16 + 9)
    assert out.iloc[:2].notna().all().all()
    assert out.iloc[2:].isna().all().all()
    hist = out.filter(like="__hist").iloc[:2].sum(axis=1)
    assert np.allclose(hist, 1.0)
    assert out.loc[0, "photo__edge_density"] > out.loc[1, "photo__edge_density"]
    assert out.loc[0, "photo__gray_mean"] > out.loc[1, "photo__gray_mean"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["images.zip"]  # nothing extracted


def test_image_features_read_the_images_folder_of_a_run(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    (tmp_path / "images" / "a").mkdir(parents=True)
    (tmp_path / "images" / "a" / "striped.png").write_bytes(_png("alpha", rng))
    (tmp_path / "secret.png").write_bytes(_png("alpha", rng))
    source = features.open_images(tmp_path / "images.zip")  # no archive: the folder
    assert source == tmp_path / "images"
    paths = pd.Series(["a/striped.png", "../secret.png", "/a/striped.png", "a/absent.png"])
    out = features.image_features(paths, source, column="photo")
    assert out.iloc[0].notna().all() and out.iloc[2].notna().all()  # leading "/" stripped
    assert out.iloc[1].isna().all()  # never outside the folder
    assert out.iloc[3].isna().all()


def test_stratified_sample_keeps_shares_and_rare_labels() -> None:
    labels = np.array(["a"] * 9000 + ["b"] * 990 + ["c"] * 10)
    np.random.default_rng(1).shuffle(labels)
    keep = data.stratified_indices(labels, 1000)
    assert np.all(np.diff(keep) > 0)  # sorted, no repeats
    counts = {k: int((labels[keep] == k).sum()) for k in "abc"}
    assert counts == {"a": 900, "b": 99, "c": 10}  # shares kept; the rare label whole
    assert np.array_equal(keep, data.stratified_indices(labels, 1000))  # fixed seed
    assert len(data.stratified_indices(labels, 20_000)) == len(labels)  # under the cap


def test_read_train_samples_by_batches_and_keeps_the_order(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"id": [f"r{i}" for i in range(300)], "x": range(300), "label": ["p", "q", "q"] * 100}
    )
    frame.to_parquet(tmp_path / "train.parquet", row_group_size=40)
    sample, total = data.read_train(tmp_path / "train.parquet", ["id", "x", "label"], max_rows=60)
    assert total == 300 and len(sample) == 60
    assert sample["label"].value_counts().to_dict() == {"q": 40, "p": 20}
    assert sample["x"].is_monotonic_increasing
    assert (frame.set_index("id").loc[sample["id"], "x"].to_numpy() == sample["x"]).all()
    # A label under MIN_ROWS_PER_LABEL of its share keeps that minimum (20 "p" rows, not 10).
    small, _ = data.read_train(tmp_path / "train.parquet", ["id", "label"], max_rows=30)
    assert small["label"].value_counts().to_dict() == {"q": 20, "p": 20}
    whole, _ = data.read_train(tmp_path / "train.parquet", ["id", "label"], max_rows=0)
    assert len(whole) == 300
    with pytest.raises(data.TaskFileError, match="lacks columns"):
        data.read_train(tmp_path / "train.parquet", ["id", "nope"], max_rows=0)


# ------------------------------------------------------------------ real AutoGluon runs


@pytest.mark.slow
def test_classification_baseline_beats_chance_on_a_sample_predicting_in_batches(
    tmp_path: Path,
) -> None:
    task = make_classification_task(tmp_path)  # 200 train rows, 100 test rows
    result, out = run_baseline(
        tmp_path,
        task.path,
        time_limit=SAFETY_SECONDS,
        wall=SAFETY_SECONDS + 60,
        BASELINE_MAX_TRAIN_ROWS="150",
        BASELINE_PREDICT_BATCH_ROWS="30",
    )
    assert result.ok, (result.message, result.log_tail[-3000:])
    pred = pd.read_parquet(out / "predictions.parquet")
    assert list(pred.columns) == ["id", "label"] + [f"proba_{c}" for c in CLASSES]
    assert list(pred["id"]) == list(pd.read_parquet(task.path / "test.parquet")["id"])
    assert set(pred["label"]) <= set(CLASSES)
    proba = pred[[f"proba_{c}" for c in CLASSES]].to_numpy()
    assert np.allclose(proba.sum(axis=1), 1.0, atol=1e-6) and (proba >= 0).all()
    accuracy = float((pred.set_index("id")["label"] == task.truth).mean())
    print(f"classification accuracy {accuracy:.3f} in {result.seconds:.1f} s")
    assert accuracy >= 0.8  # chance is 1/3

    report = json.loads((out / "result.json").read_text())
    assert report["status"] == "succeeded"
    assert report["train_rows"] == 200 and report["train_rows_used"] == 150
    assert report["max_train_rows"] == 150 and report["predict_batch_rows"] == 30
    assert report["problem_type"] == "multiclass" and report["presets"] == "medium_quality"
    assert report["best_model"] and report["validation_score"] > 0.5
    assert "remarks" in report["text_features"]
    assert (
        "photo__edge_density" in report["features_used"] and "photo" not in report["features_used"]
    )
    assert {"NN_TORCH", "FASTAI"} <= set(report["excluded_model_types"])
    board = pd.read_csv(out / "leaderboard.csv")
    assert report["best_model"] in set(board["model"])
    assert not any("NeuralNet" in m for m in board["model"])
    log = (out / "fit.log").read_text()
    assert "Fitting model" in log and "a stratified sample" in log
    assert "predicted 90 rows" in log and "predicted 100 rows" in log  # in batches of 30
    assert not (out / "model").exists()


@pytest.mark.slow
def test_a_budget_leaves_model_types_out_and_the_rest_still_beats_chance(
    tmp_path: Path,
) -> None:
    """A challenge's run budget (``without_models``, docs/decisions/0074): no CatBoost and no
    XGBoost fitted, the other types and their ensemble as always."""
    task = make_classification_task(tmp_path)
    result, out = run_baseline(
        tmp_path,
        task.path,
        time_limit=SAFETY_SECONDS,
        wall=SAFETY_SECONDS + 60,
        BASELINE_WITHOUT_MODELS="CAT,XGB",
    )
    assert result.ok, (result.message, result.log_tail[-3000:])
    report = json.loads((out / "result.json").read_text())
    assert report["models_left_out"] == ["CAT", "XGB"]
    models = set(pd.read_csv(out / "leaderboard.csv")["model"])
    assert not any(m.startswith(("CatBoost", "XGBoost")) for m in models)
    assert {"LightGBM", "RandomForestGini", "WeightedEnsemble_L2"} <= models
    pred = pd.read_parquet(out / "predictions.parquet")
    assert float((pred.set_index("id")["label"] == task.truth).mean()) >= 0.8

    refused, _ = run_baseline(
        tmp_path / "refused",
        task.path,
        time_limit=60,
        wall=120,
        BASELINE_WITHOUT_MODELS="CAT,NN_TORCH",
    )
    assert not refused.ok
    assert "--without-models: unknown model type 'NN_TORCH'" in refused.log_tail


@pytest.mark.slow
def test_matching_baseline_beats_chance(tmp_path: Path) -> None:
    task = make_matching_task(tmp_path)
    result, out = run_baseline(
        tmp_path, task.path, time_limit=SAFETY_SECONDS, wall=SAFETY_SECONDS + 60
    )
    assert result.ok, (result.message, result.log_tail[-3000:])
    pred = pd.read_parquet(out / "predictions.parquet")
    assert list(pred.columns) == ["id", "label", "score"]
    assert pred["id"].is_unique and set(pred["id"]) == set(task.truth.index)
    assert set(pred["label"].unique()) <= {0, 1}
    assert pred["score"].between(0, 1).all()
    pred = pred.set_index("id").loc[task.truth.index]
    f1 = _f1(task.truth.to_numpy(), pred["label"].to_numpy())
    print(f"matching F1 {f1:.3f} in {result.seconds:.1f} s")
    assert f1 >= 0.8  # predicting "match" everywhere gives about 0.57
    ranked = pred["score"].to_numpy()
    truth = task.truth.to_numpy()
    assert ranked[truth == 1].mean() > ranked[truth == 0].mean() + 0.3
    report = json.loads((out / "result.json").read_text())
    assert report["problem_type"] == "binary" and report["eval_metric"] == "f1"
    assert 0 < report["decision_threshold"] < 1
    assert "name__jaro_winkler" in report["features_used"]


@pytest.mark.slow
def test_cancel_mid_fit_leaves_no_process(tmp_path: Path) -> None:
    task = make_classification_task(tmp_path)
    log = tmp_path / "out" / "fit.log"

    def fitting() -> bool:
        return log.is_file() and "Fitting model" in log.read_text(errors="replace")

    result, out = run_baseline(tmp_path, task.path, time_limit=120, should_stop=fitting)
    assert result.cancelled and not result.ok, result.message
    assert result.seconds < 90
    _assert_sandbox_gone(result)
    assert not (out / "predictions.parquet").exists()


@pytest.mark.slow
def test_the_wall_clock_stops_the_run(tmp_path: Path) -> None:
    task = make_classification_task(tmp_path)
    # best_quality bags every model of the fixed budget over folds and stacks them, far more
    # than 12 s of work on any machine (medium_quality finished this small task within the
    # 12 s on a quiet machine, and the run ended before its wall clock did).
    result, out = run_baseline(
        tmp_path, task.path, time_limit=120, wall=12, BASELINE_PRESETS="best_quality"
    )
    assert result.limit_hit == "wall_seconds" and not result.ok, result.message
    assert "wall-clock limit" in result.message
    assert 12 <= result.seconds < 12 + 10
    _assert_sandbox_gone(result)
    assert not (out / "predictions.parquet").exists()


@pytest.mark.slow
def test_invalid_task_fails_with_a_readable_reason(tmp_path: Path) -> None:
    task_dir = tmp_path / "broken"
    task_dir.mkdir()
    (task_dir / "task.json").write_text('{"kind": "forecasting", "columns": []}')
    result, out = run_baseline(tmp_path, task_dir, time_limit=10, wall=60)
    assert not result.ok and result.exit_code == 2
    kinds = "kind must be one of classification, grouping, matching, regression, not 'forecasting'"
    assert kinds in result.log_tail
    report = json.loads((out / "result.json").read_text())
    assert kinds in report["error"]
    assert not (out / "predictions.parquet").exists()
