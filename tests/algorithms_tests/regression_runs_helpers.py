"""Helpers of test_regression_runs.py that other test modules use too (no test module imports
another: tests/platform_tests/test_test_imports.py)."""

from __future__ import annotations

import textwrap

from testkit.archives import make_zip, manifest

LINEAR_MAIN = """
import json, os
from pathlib import Path

import numpy as np
import pandas as pd

task, out = Path(os.environ["TASK_DIR"]), Path(os.environ["OUTPUT_DIR"])
meta = json.loads((task / "task.json").read_text())
assert meta["kind"] == "regression" and meta["tolerance"] > 0, meta
assert meta["output_columns"] == ["id", "label"] and meta["optional_output_columns"] == [], meta
train = pd.read_parquet(task / "train.parquet")
test = pd.read_parquet(task / "test.parquet")

def design(frame):
    size = frame["size"].fillna(train["size"].mean()).to_numpy()
    red = (frame["color"] == "red").to_numpy(dtype=float)
    return np.column_stack([np.ones(len(frame)), size, red])

weights, *_ = np.linalg.lstsq(design(train), train["label"].to_numpy(), rcond=None)
pd.DataFrame(dict(zip(meta["output_columns"], (test["id"], design(test) @ weights)))).to_csv(
    out / "predictions.csv", index=False
)
"""


def linear_zip() -> bytes:
    return make_zip({"algorithm.yaml": manifest("Linear"), "main.py": textwrap.dedent(LINEAR_MAIN)})


