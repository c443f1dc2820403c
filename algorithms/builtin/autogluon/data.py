"""Reading a task folder at catalog scale: a stratified train sample, the test in batches.

**The train sample.** When ``train.parquet`` holds more than ``max_rows`` rows (the
``BASELINE_MAX_TRAIN_ROWS`` setting, passed as ``--max-train-rows``), the baseline trains on
a stratified sample of ``max_rows`` rows, drawn without replacement with a fixed seed:

- each label keeps its share of the rows, rounded down: ``floor(max_rows * n_label / n)``
  (a *label* is a class, or for regression a decile of the label: ``regression.strata``);
- every label keeps at least ``min(n_label, MIN_ROWS_PER_LABEL)`` rows (a rare class is
  never sampled away), so the sample may exceed ``max_rows`` by a few rows per rare label;
- the rows left to reach ``max_rows`` go to the labels with the largest remainders.

Only the label column is read to draw the sample; the rows are then read batch by batch,
so memory holds the sample, not the whole file. The sample keeps the file's row order.
``result.json`` records ``train_rows`` (the file) and ``train_rows_used`` (the sample).

**The test in batches.** ``test.parquet`` is read ``batch_rows`` rows at a time; features
and predictions are computed per batch and appended to ``predictions.parquet``, so memory
holds one batch of test rows (plus the model) whatever the test's size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

MIN_ROWS_PER_LABEL = 20
SAMPLE_SEED = 20240611
READ_BATCH_ROWS = 65_536


class TaskError(ValueError):
    """The task folder does not follow docs/developers/data-contract.md."""


class TaskFileError(ValueError):
    """A split file does not follow docs/developers/data-contract.md."""


def stratified_indices(labels: np.ndarray, max_rows: int, *, seed: int = SAMPLE_SEED) -> np.ndarray:
    """Sorted row positions of the stratified sample (see the module docstring); all rows
    when there are at most ``max_rows``."""
    n = len(labels)
    if max_rows <= 0 or n <= max_rows:
        return np.arange(n)
    values, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    exact = max_rows * counts / n
    quota = np.floor(exact).astype(np.int64)
    spare = max_rows - int(quota.sum())
    if spare > 0:
        order = np.argsort(-(exact - quota), kind="stable")
        quota[order[:spare]] += 1
    quota = np.maximum(quota, np.minimum(counts, MIN_ROWS_PER_LABEL))
    quota = np.minimum(quota, counts)
    rng = np.random.default_rng(seed)
    chosen = []
    for j in range(len(values)):
        rows = np.flatnonzero(inverse == j)
        chosen.append(rng.choice(rows, size=int(quota[j]), replace=False))
    return np.sort(np.concatenate(chosen))


def _check_columns(path: Path, schema: pa.Schema, needed: Sequence[str]) -> None:
    missing = [c for c in needed if c not in schema.names]
    if missing:
        raise TaskFileError(f"{path.name} lacks columns {missing}")


def by_value(labels: np.ndarray) -> np.ndarray:
    """The strata of class labels: each value its own."""
    return labels.astype(str)


def read_train(
    path: Path,
    needed: Sequence[str],
    *,
    max_rows: int,
    strata: Callable[[np.ndarray], np.ndarray] = by_value,
) -> tuple[pd.DataFrame, int]:
    """The train rows to fit on (``needed`` columns) and the file's row count; a sample is
    stratified by ``strata`` of the labels (default: each label value its own stratum)."""
    if not path.is_file():
        raise TaskFileError(f"missing {path.name}")
    source = pq.ParquetFile(path)
    _check_columns(path, source.schema_arrow, needed)
    total = source.metadata.num_rows
    if total == 0:
        raise TaskFileError(f"{path.name} has no rows")
    if max_rows <= 0 or total <= max_rows:
        return source.read(columns=list(needed)).to_pandas(), total
    labels = source.read(columns=["label"]).column("label").to_numpy(zero_copy_only=False)
    if pd.isna(labels).any():
        raise TaskFileError("train.parquet has missing labels")
    keep = stratified_indices(strata(labels), max_rows)
    parts, offset = [], 0
    for batch in source.iter_batches(batch_size=READ_BATCH_ROWS, columns=list(needed)):
        lo, hi = np.searchsorted(keep, [offset, offset + batch.num_rows])
        if hi > lo:
            parts.append(batch.take(pa.array(keep[lo:hi] - offset)))
        offset += batch.num_rows
    return pa.Table.from_batches(parts).to_pandas(), total


def test_rows(path: Path, needed: Sequence[str]) -> int:
    """Check ``test.parquet``'s columns and return its row count (nothing else is read)."""
    if not path.is_file():
        raise TaskFileError(f"missing {path.name}")
    source = pq.ParquetFile(path)
    _check_columns(path, source.schema_arrow, needed)
    if source.metadata.num_rows == 0:
        raise TaskFileError(f"{path.name} has no rows")
    return source.metadata.num_rows


def test_batches(path: Path, needed: Sequence[str], *, batch_rows: int) -> Iterator[pd.DataFrame]:
    """``test.parquet`` (``needed`` columns) ``batch_rows`` rows at a time."""
    source = pq.ParquetFile(path)
    for batch in source.iter_batches(batch_size=max(1, batch_rows), columns=list(needed)):
        yield batch.to_pandas()


# Not pytest tests (the module is imported by the tests).
test_rows.__test__ = False  # type: ignore[attr-defined]
test_batches.__test__ = False  # type: ignore[attr-defined]
