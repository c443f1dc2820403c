"""The AutoGluon baseline runner, run for real as a subprocess on tiny synthetic tasks.

No Django: run with ``-p no:django`` until the settings exist. The slow tests fit real
AutoGluon models (about 25 s each on 2 cores).
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest
from PIL import Image

from scoring.baselines import features
from scoring.baselines.launch import (
    BaselineOutcome,
    live_group_members,
    run_baseline_subprocess,
    terminate_group,
)

CLASSES = ["alpha", "beta", "gamma"]
CLASS_WORDS = {
    "alpha": ["engine", "piston", "valve", "exhaust"],
    "beta": ["wing", "flap", "rudder", "aileron"],
    "gamma": ["wheel", "brake", "tyre", "axle"],
}
FILLER = [
    "the",
    "a",
    "of",
    "and",
    "with",
    "was",
    "found",
    "during",
    "routine",
    "check",
    "on",
    "left",
    "right",
    "unit",
]
COLORS = {"alpha": "red", "beta": "green", "gamma": "blue"}


@dataclass(frozen=True)
class SyntheticTask:
    """A standardized task folder and the true labels of its test rows."""

    path: Path
    truth: pd.Series  # indexed by test id


def _write_task(
    path: Path,
    *,
    kind: str,
    columns: list[tuple[str, str]],
    classes: list[str],
    train: pd.DataFrame,
    test: pd.DataFrame,
) -> None:
    """Write task.json, train.parquet and test.parquet as docs/data-contract.md says."""
    path.mkdir(parents=True, exist_ok=True)
    meta = {
        "slug": path.name,
        "title": path.name,
        "description": "synthetic",
        "kind": kind,
        "columns": [{"name": n, "type": t} for n, t in columns],
        "classes": classes,
        "primary_metric": "accuracy" if kind == "classification" else "f1",
        "public_fraction": 0.3,
        "split_seed": 0,
        "train_rows": len(train),
        "test_rows": len(test),
    }
    (path / "task.json").write_text(json.dumps(meta), encoding="utf-8")
    for frame in (train, test):
        frame["id"] = frame["id"].astype("string")
        for name, ctype in columns:
            dtype = "float64" if ctype == "numeric" else "string"
            frame[name] = frame[name].astype(dtype)
        if "label" in frame and kind == "classification":
            frame["label"] = frame["label"].astype("string")
    train.to_parquet(path / "train.parquet", index=False)
    test.to_parquet(path / "test.parquet", index=False)


def _png(kind: str, rng: np.random.Generator) -> bytes:
    """16x16 image whose pattern tells the class: stripes, bright, or dark speckle."""
    if kind == "alpha":
        arr = np.zeros((16, 16), dtype=np.uint8)
        arr[::2] = 230
    elif kind == "beta":
        arr = np.full((16, 16), 200, dtype=np.uint8)
    else:
        arr = rng.integers(0, 60, size=(16, 16)).astype(np.uint8)
    noise = rng.integers(0, 25, size=arr.shape)
    arr = np.clip(arr.astype(int) + noise, 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr, mode="L").convert("RGB").save(buf, format="PNG")
    return buf.getvalue()


def make_classification_task(root: Path, *, n_train: int = 200, n_test: int = 100) -> SyntheticTask:
    """Three classes; text, numeric, categorical and image columns, each informative."""
    rng = np.random.default_rng(7)
    n = n_train + n_test
    y = rng.choice(CLASSES, size=n)
    rows = []
    path = root / "classification"
    path.mkdir(parents=True)
    with zipfile.ZipFile(path / "images.zip", "w") as archive:
        for i, cls in enumerate(y):
            source = cls if rng.random() > 0.2 else rng.choice(CLASSES)
            words = list(rng.choice(CLASS_WORDS[source], size=2)) + list(
                rng.choice(FILLER, size=rng.integers(3, 7))
            )
            rng.shuffle(words)
            color = COLORS[cls] if rng.random() < 0.7 else rng.choice(list(COLORS.values()))
            size = CLASSES.index(cls) * 2.0 + rng.normal()
            image: str | None = f"img/{i:04d}.png"
            if rng.random() < 0.05:
                image = None
            elif rng.random() < 0.02:
                image = "img/not-in-archive.png"
            else:
                archive.writestr(image, _png(cls, rng))
            rows.append(
                {
                    "id": f"r{i:04d}",
                    "remarks": " ".join(words),
                    "size": np.nan if rng.random() < 0.1 else size,
                    "color": color,
                    "photo": image,
                    "label": cls,
                }
            )
    frame = pd.DataFrame(rows)
    train, test = frame.iloc[:n_train].copy(), frame.iloc[n_train:].copy()
    truth = test.set_index("id")["label"]
    columns = [
        ("remarks", "text"),
        ("size", "numeric"),
        ("color", "categorical"),
        ("photo", "image"),
    ]
    _write_task(
        path,
        kind="classification",
        columns=columns,
        classes=CLASSES,
        train=train,
        test=test.drop(columns=["label"]),
    )
    return SyntheticTask(path, truth)


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


def _assert_group_gone(outcome: BaselineOutcome, seen: set[int]) -> None:
    """Neither the runner's process group nor any process seen during the run lives on."""
    assert live_group_members(outcome.pid) == []
    for proc in psutil.process_iter(["pid", "status"]):
        try:
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            assert os.getpgid(proc.pid) != outcome.pid, f"survivor {proc.pid}"
        except (psutil.NoSuchProcess, ProcessLookupError):
            continue
    for pid in seen:
        try:
            status = psutil.Process(pid).status()
        except psutil.NoSuchProcess:
            continue
        assert status == psutil.STATUS_ZOMBIE, f"process {pid} survived"


def _runner_descendants() -> set[int]:
    """The runner processes started by this test and their descendants (not the session's
    other children, such as the test Redis or Celery workers)."""
    found: set[int] = set()
    for child in psutil.Process().children(recursive=True):
        try:
            if "scoring.baselines.runner" in " ".join(child.cmdline()):
                found.add(child.pid)
                found.update(c.pid for c in child.children(recursive=True))
        except psutil.Error:
            continue
    return found


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


def test_terminate_group_kills_children_that_ignore_sigterm() -> None:
    script = (
        "import signal, subprocess, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "child = subprocess.Popen([sys.executable, '-c', "
        "'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)'])\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, start_new_session=True
    )
    assert proc.stdout is not None
    grandchild = int(proc.stdout.readline())
    assert set(live_group_members(proc.pid)) == {proc.pid, grandchild}
    started = time.monotonic()
    terminate_group(proc, grace=0.5)
    assert time.monotonic() - started < 5
    assert proc.returncode == -signal.SIGKILL
    assert live_group_members(proc.pid) == []
    proc.stdout.close()


# ------------------------------------------------------------------ real AutoGluon runs


@pytest.mark.slow
def test_classification_baseline_beats_chance(tmp_path: Path) -> None:
    task = make_classification_task(tmp_path)
    lines: list[str] = []
    outcome = run_baseline_subprocess(
        task_dir=task.path,
        out_dir=tmp_path / "out",
        time_limit=25,
        presets="medium_quality",
        hard_timeout=150,
        on_progress=lines.append,
    )
    assert outcome.status == "succeeded", outcome.message
    assert outcome.predictions is not None and outcome.leaderboard and outcome.log
    pred = pd.read_parquet(outcome.predictions)
    assert list(pred.columns) == ["id", "label"] + [f"proba_{c}" for c in CLASSES]
    assert sorted(pred["id"]) == sorted(task.truth.index)
    assert set(pred["label"]) <= set(CLASSES)
    proba = pred[[f"proba_{c}" for c in CLASSES]].to_numpy()
    assert np.allclose(proba.sum(axis=1), 1.0, atol=1e-6) and (proba >= 0).all()
    accuracy = float((pred.set_index("id")["label"] == task.truth).mean())
    print(f"classification accuracy {accuracy:.3f} in {outcome.elapsed:.1f} s")
    assert accuracy >= 0.8  # chance is 1/3

    result = json.loads(outcome.result.read_text())
    assert result["status"] == "succeeded"
    assert result["problem_type"] == "multiclass" and result["presets"] == "medium_quality"
    assert result["best_model"] and result["validation_score"] > 0.5
    assert "remarks" in result["text_features"]
    assert (
        "photo__edge_density" in result["features_used"] and "photo" not in result["features_used"]
    )
    assert {"NN_TORCH", "FASTAI"} <= set(result["excluded_model_types"])
    board = pd.read_csv(outcome.leaderboard)
    assert result["best_model"] in set(board["model"])
    assert not any("NeuralNet" in m for m in board["model"])
    assert any("Fitting model" in line for line in lines)
    assert not (tmp_path / "out" / "model").exists()


@pytest.mark.slow
def test_matching_baseline_beats_chance(tmp_path: Path) -> None:
    task = make_matching_task(tmp_path)
    outcome = run_baseline_subprocess(
        task_dir=task.path,
        out_dir=tmp_path / "out",
        time_limit=25,
        presets="medium_quality",
        hard_timeout=150,
    )
    assert outcome.status == "succeeded", outcome.message
    assert outcome.predictions is not None
    pred = pd.read_parquet(outcome.predictions)
    assert list(pred.columns) == ["id", "label", "score"]
    assert pred["id"].is_unique and set(pred["id"]) == set(task.truth.index)
    assert set(pred["label"].unique()) <= {0, 1}
    assert pred["score"].between(0, 1).all()
    pred = pred.set_index("id").loc[task.truth.index]
    f1 = _f1(task.truth.to_numpy(), pred["label"].to_numpy())
    print(f"matching F1 {f1:.3f} in {outcome.elapsed:.1f} s")
    assert f1 >= 0.8  # predicting "match" everywhere gives about 0.57
    ranked = pred["score"].to_numpy()
    truth = task.truth.to_numpy()
    assert ranked[truth == 1].mean() > ranked[truth == 0].mean() + 0.3
    result = json.loads(outcome.result.read_text())
    assert result["problem_type"] == "binary" and result["eval_metric"] == "f1"
    assert 0 < result["decision_threshold"] < 1
    assert "name__jaro_winkler" in result["features_used"]


@pytest.mark.slow
def test_cancel_mid_fit_leaves_no_process(tmp_path: Path) -> None:
    task = make_classification_task(tmp_path)
    cancel = threading.Event()
    seen: set[int] = set()

    def progress(line: str) -> None:
        seen.update(_runner_descendants())
        if "Fitting model" in line:
            cancel.set()

    outcome = run_baseline_subprocess(
        task_dir=task.path,
        out_dir=tmp_path / "out",
        time_limit=120,
        presets="medium_quality",
        hard_timeout=150,
        cancel_event=cancel,
        on_progress=progress,
        kill_grace=3,
    )
    assert outcome.status == "cancelled", outcome.message
    assert outcome.returncode in (143, -signal.SIGKILL)  # runner exit on SIGTERM, or killed
    assert outcome.elapsed < 60
    assert outcome.pid in seen
    _assert_group_gone(outcome, seen)
    assert outcome.predictions is None
    assert not (tmp_path / "out" / "model").exists()
    assert json.loads((tmp_path / "out" / "result.json").read_text())["status"] == "cancelled"


@pytest.mark.slow
def test_hard_timeout_stops_the_run(tmp_path: Path) -> None:
    task = make_classification_task(tmp_path)
    seen: set[int] = set()
    outcome = run_baseline_subprocess(
        task_dir=task.path,
        out_dir=tmp_path / "out",
        time_limit=120,
        presets="medium_quality",
        hard_timeout=12,
        on_progress=lambda line: seen.update(_runner_descendants()),
        kill_grace=3,
    )
    assert outcome.status == "timed_out"
    assert "hard timeout" in outcome.message
    assert 12 <= outcome.elapsed < 12 + 3 + 12
    _assert_group_gone(outcome, seen)
    assert outcome.predictions is None
    assert json.loads((tmp_path / "out" / "result.json").read_text())["status"] == "timed_out"


@pytest.mark.slow
def test_invalid_task_fails_with_a_readable_reason(tmp_path: Path) -> None:
    task_dir = tmp_path / "broken"
    task_dir.mkdir()
    (task_dir / "task.json").write_text('{"kind": "regression", "columns": []}')
    outcome = run_baseline_subprocess(
        task_dir=task_dir, out_dir=tmp_path / "out", time_limit=10, hard_timeout=60
    )
    assert outcome.status == "failed"
    assert outcome.returncode == 2
    assert "kind must be classification or matching" in outcome.message
    assert outcome.predictions is None
