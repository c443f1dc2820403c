"""What the kinds with one class per row (classification, matching) share: confusion
matrices, per split in one ``bincount``, and the insight's confusion chart."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from common.parallel import map_rows
from common.splits import SPLITS
from common.svg import confusion_matrix_svg
from kinds.base import Chart, Predicted, Truth


def confusions(aligned: Predicted, truth: Truth) -> dict[str, np.ndarray]:
    """k x k counts per split (rows: true class, columns: predicted, as scikit-learn)."""
    k = len(truth.classes)
    # ``2 y + is_public`` where the truth keeps it packed (the scoring core's Solution, made
    # once per solution): one cell index a row from it, counted in chunks (at
    # 10M rows, 0.02 s instead of 0.07 s of every run's scoring).
    packed = getattr(truth, "y_and_split", None)
    if packed is not None:
        by_truth = _packed_counts(packed, aligned.pred, k).reshape(k, 2, k)
        by_split = np.ascontiguousarray(by_truth.transpose(1, 0, 2))
    else:
        cells = (truth.is_public.astype(np.int64) * k + truth.y) * k + aligned.pred
        by_split = np.bincount(cells, minlength=2 * k * k).reshape(2, k, k)
    matrices = {"all": by_split.sum(axis=0), "public": by_split[1], "private": by_split[0]}
    return {split: matrices[split] for split in SPLITS}


_CHUNK_ROWS = 1 << 18  # rows counted at once: their cell indexes stay in the cache


def _packed_counts(packed: np.ndarray, pred: np.ndarray, k: int) -> np.ndarray:
    """Rows per cell ``(2 y + is_public) k + pred``, counted a chunk of rows at a time into
    one reused buffer (no array of the rows' size: 0.02 s at 10M rows against 0.03 s), the
    parts of the rows on every thread (integer counts: any order gives the same)."""

    def count(rows: slice) -> np.ndarray:
        total = np.zeros(2 * k * k, dtype=np.int64)
        cells = np.empty(min(_CHUNK_ROWS, rows.stop - rows.start), dtype=np.intp)
        for start in range(rows.start, rows.stop, _CHUNK_ROWS):
            stop = min(rows.stop, start + _CHUNK_ROWS)
            part = cells[: stop - start]
            np.multiply(packed[start:stop], k, out=part, casting="unsafe")
            part += pred[start:stop]
            total += np.bincount(part, minlength=2 * k * k)
        return total

    return np.sum(map_rows(count, packed.size), axis=0, dtype=np.int64)


def confusion_matrix(
    aligned: Predicted, truth: Truth, mask: np.ndarray | None = None
) -> np.ndarray:
    """k x k counts of the rows in ``mask`` (None: every row)."""
    y, pred = truth.y, aligned.pred
    if mask is not None:
        y, pred = y[mask], pred[mask]
    k = len(truth.classes)
    cells = y.astype(np.int64) * k + pred
    return np.bincount(cells, minlength=k * k).reshape(k, k)


def confusion_digest(aligned: Predicted, truth: Truth, mask: np.ndarray | None) -> dict[str, Any]:
    """The insight's confusion matrix of the rows in ``mask``."""
    return {"confusion": confusion_matrix(aligned, truth, mask).tolist()}


def confusion_chart(digest: Mapping[str, Any], names: Sequence[str]) -> Chart:
    """The confusion matrix chart of a digest, with ``names`` for the classes."""
    matrix = np.asarray(digest["confusion"], dtype=np.int64)
    return Chart(
        "confusion-matrix", confusion_matrix_svg(matrix, list(names), title="Confusion matrix")
    )
