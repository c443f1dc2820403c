"""Helpers of test_baseline_runner.py that other test modules use too (no test module imports
another: tests/platform_tests/test_test_imports.py)."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from algorithms.builtin.autogluon import features
from algorithms.sandbox.base import SandboxJob, SandboxLimits, SandboxResult
from algorithms.sandbox.bubblewrap import BubblewrapBackend

BASELINE_DIR = Path(features.__file__).parent


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
    """Write task.json, train.parquet and test.parquet as docs/developers/data-contract.md says."""
    path.mkdir(parents=True, exist_ok=True)
    meta = {
        "slug": path.name,
        "title": path.name,
        "description": "synthetic",
        "kind": kind,
        "columns": [{"name": n, "type": t} for n, t in columns],
        "classes": classes,
        "primary_metric": {"classification": "accuracy", "regression": "rmse"}.get(kind, "f1"),
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
        if "label" in frame and kind == "regression":
            frame["label"] = frame["label"].astype("float64")
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


def baseline_code(root: Path) -> Path:
    """The baseline's folder laid out as its archive (algorithms.services.baseline)."""
    code = root / "code"
    package = code / "autogluon_baseline"
    shutil.copytree(BASELINE_DIR, package, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("main.py", "algorithm.yaml"):
        shutil.move(package / name, code / name)
    return code


def run_baseline(
    root: Path,
    task_dir: Path,
    *,
    time_limit: int,
    wall: int = 150,
    should_stop: Callable[[], bool] | None = None,
    model_file: Path | None = None,
    **env: str,
) -> tuple[SandboxResult, Path]:
    """Run the baseline algorithm in the real sandbox; its result and its /output folder
    (``model_file``: shown read-only at /kept/model.tar, as the platform hands a stress run
    its clean run's model)."""
    out = root / "out"
    job = SandboxJob(
        code_dir=baseline_code(root),
        entrypoint="main.py",
        task_dir=task_dir,
        output_dir=out,
        limits=SandboxLimits(
            wall_seconds=wall,
            cpu_seconds=2 * wall + 60,
            memory_mb=8192,
            processes=512,
            output_mb=4096,
            tmp_mb=512,
            log_mb=20,
        ),
        environment={
            "BASELINE_TIME_LIMIT": str(time_limit),
            "BASELINE_NUM_CPUS": "2",
            "LOKY_MAX_CPU_COUNT": "2",
            "OMP_WAIT_POLICY": "PASSIVE",
            **env,
        },
        model_file=model_file,
    )
    return BubblewrapBackend().run(job, should_stop=should_stop), out


