"""Confusion matrices per split are scikit-learn's, whether the truth keeps each row's code
and split packed in one integer (the scoring core's Solution) or apart."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pytest
from sklearn.metrics import confusion_matrix

from common import parallel
from kinds import confusion
from kinds.confusion import confusions
from scoring.core.solution import Solution


@pytest.mark.parametrize("split", [1 << 18, 700], ids=["one-part", "parts-on-threads"])
@pytest.mark.parametrize("chunk", [1000, 1 << 18], ids=["chunks", "one-chunk"])
@pytest.mark.parametrize("k", [2, 3, 7, 130])
def test_confusions_per_split_are_scikit_learn_s(k, chunk, split, monkeypatch):
    monkeypatch.setattr(confusion, "_CHUNK_ROWS", chunk)  # 5,000 rows: 5 and 1 chunks
    monkeypatch.setattr(parallel, "MIN_SPLIT_ELEMENTS", split)  # 1 part, or 4 on the threads
    rng = np.random.default_rng(k)
    n = 5_000
    y = rng.integers(0, k, n).astype(np.int32)
    is_public = rng.random(n) < 0.3
    pred = rng.integers(0, k, n).astype(np.int8 if k < 128 else np.int16)
    classes = [f"c{i}" for i in range(k)]
    solution = Solution(
        ids=pa.array([str(i) for i in range(n)]),
        y=y,
        is_public=is_public,
        classes=classes,
        kind="classification",
    )
    assert solution.y_and_split is not None  # the packed path
    apart = SimpleNamespace(y=y, is_public=is_public, classes=classes, options={})
    aligned = SimpleNamespace(pred=pred, proba=None)
    labels = list(range(k))
    expected = {
        "all": confusion_matrix(y, pred, labels=labels),
        "public": confusion_matrix(y[is_public], pred[is_public], labels=labels),
        "private": confusion_matrix(y[~is_public], pred[~is_public], labels=labels),
    }
    for truth in (solution, apart):
        found = confusions(aligned, truth)
        assert set(found) == set(expected)
        for split, matrix in expected.items():
            np.testing.assert_array_equal(found[split], matrix, err_msg=split)
