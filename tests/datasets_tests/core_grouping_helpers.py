"""Helpers of test_core_grouping.py that other test modules use too (no test module imports
another: tests/platform_tests/test_test_imports.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from testkit.bundles import write_classification_bundle

GROUPING = {"kind": "grouping", "slug": "demo-grouping", "title": "Demo grouping"}


def _entities(prefix: str, sizes: list[int]):
    """Replace ``label`` by entity ids: entity k gets ``sizes[k % len(sizes)]`` records."""

    def bend(df: pd.DataFrame) -> pd.DataFrame:
        labels: list[str] = []
        k = 0
        while len(labels) < len(df):
            labels += [f"{prefix}{k}"] * sizes[k % len(sizes)]
            k += 1
        return df.assign(label=labels[: len(df)])

    return bend


def grouping_bundle(path: Path, task: dict[str, Any] | None = None, **overrides: Any) -> Path:
    kwargs: dict[str, Any] = {
        "train": _entities("e", [1, 2, 3, 4]),
        "solution": _entities("t", [3, 1, 2]),
    }
    kwargs.update(overrides)
    return write_classification_bundle(path, task={**GROUPING, **(task or {})}, **kwargs)


