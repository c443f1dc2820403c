"""Helpers of test_solution_keyfile.py that other test modules use too (no test module imports
another: tests/platform_tests/test_test_imports.py)."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pandas as pd

from common import idkeys
from datasets.models import Task
from testkit.bundles import CLASSES
from tests.datasets_tests.factories import imported_task

N = idkeys.KEYS_MIN_ROWS + 300  # enough ids for scoring to place them by their keys


def uuids(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [str(uuid.UUID(int=int(a) << 64 | int(b))) for a, b in rng.integers(0, 2**63, (n, 2))]


def keyed_frames(seed: int):
    ids = uuids(N, seed)

    def test(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.head(0).reindex(range(N)).assign(id=ids, price=1.0, title="t", color="red")

    def solution(frame: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"id": ids, "label": [CLASSES[i % 3] for i in range(N)]})

    return ids, test, solution


def keyed_task(tmp_path: Path, *, seed: int = 1, slug: str = "keyed") -> tuple[Task, list[str]]:
    ids, test, solution = keyed_frames(seed)
    return imported_task(tmp_path, slug=slug, test=test, solution=solution, fmt="parquet"), ids


def shuffled_csv(ids: list[str], seed: int, *, change=None) -> tuple[bytes, list[str]]:
    order = np.random.default_rng(seed).permutation(len(ids))
    rows = [ids[i] for i in order]
    labels = [CLASSES[(i * 7) % 3] for i in range(len(rows))]
    if change is not None:
        rows = change(rows)
        labels = labels[: len(rows)]
    frame = pd.DataFrame({"id": rows, "label": labels})
    return frame.to_csv(index=False).encode(), labels


