"""The AutoGluon baseline for grouping tasks: pair features within blocks, then components.

1. **Blocking.** Records are candidate pairs when they share a *block key*: a lowercase
   alphanumeric token (two characters or more) of the same text or categorical column, or
   the same numeric value of a numeric column. A key shared by more than ``MAX_BLOCK``
   records is too common to tell anything and is skipped; at most ``MAX_PAIRS`` pairs are
   formed (the keys are taken rarest first, so the most telling pairs come first).
2. **Training pairs.** The candidate pairs of train, labelled 1 when both records belong to
   one entity, plus every pair within an entity of at most ``MAX_BLOCK`` records (so a
   duplicate that shares no key still teaches the model); negatives are subsampled to at
   most ``NEGATIVES_PER_POSITIVE`` per positive (fixed seed).
3. **Pair features** as for matching tasks (``features.pair_features`` on
   ``left_<column>``/``right_<column>``: rapidfuzz similarities, exact flags, numeric
   differences, image distances), and an AutoGluon binary model (F1, early stopping on log
   loss), fitted like the matching baseline.
4. **Clusters.** The test's candidate pairs are scored ``predict_batch_rows`` pairs at a
   time; the pairs predicted to match are the edges of a graph whose connected components
   (union-find) are the clusters. A record in no predicted pair is a cluster of its own.
   The whole test is read at once (a component may span any rows), unlike the other kinds.

``predictions.parquet`` holds ``id`` and ``cluster`` (``g<number>``), every test id once.
"""

from __future__ import annotations

import argparse
import logging
import re
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from .. import features
from ..data import read_train
from ..outputs import PREDICTIONS
from . import BaselineKind

LOG = logging.getLogger("autogluon_baseline")

MAX_BLOCK = 50
MAX_PAIRS = 2_000_000
NEGATIVES_PER_POSITIVE = 10
SEED = 20240611
_TOKEN = re.compile(r"[a-z0-9]{2,}")


def block_keys(frame: pd.DataFrame, types: dict[str, str]) -> dict[tuple[str, str], list[int]]:
    """Block key -> the row positions that carry it (see the module docstring)."""
    blocks: dict[tuple[str, str], list[int]] = defaultdict(list)
    for name, ctype in types.items():
        if ctype == "image":
            continue
        values = frame[name].to_numpy(dtype=object)
        for i, value in enumerate(values):
            if value is None or (isinstance(value, float) and np.isnan(value)):
                continue
            if ctype == "numeric":
                blocks[(name, repr(float(value)))].append(i)
                continue
            for token in set(_TOKEN.findall(str(value).lower())):
                blocks[(name, token)].append(i)
    return blocks


def candidate_pairs(frame: pd.DataFrame, types: dict[str, str]) -> np.ndarray:
    """Sorted unique ``(i, j)`` row positions, ``i < j``, of records sharing a block key."""
    blocks = [rows for rows in block_keys(frame, types).values() if 2 <= len(rows) <= MAX_BLOCK]
    blocks.sort(key=len)
    pairs: set[tuple[int, int]] = set()
    for rows in blocks:
        pairs.update(combinations(sorted(set(rows)), 2))
        if len(pairs) >= MAX_PAIRS:
            break
    if not pairs:
        return np.empty((0, 2), dtype=np.int64)
    return np.array(sorted(pairs), dtype=np.int64)[:MAX_PAIRS]


def entity_pairs(labels: np.ndarray) -> np.ndarray:
    """Every pair within an entity of at most ``MAX_BLOCK`` records."""
    by_entity: dict[Any, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        by_entity[label].append(i)
    pairs = [
        p for rows in by_entity.values() if len(rows) <= MAX_BLOCK for p in combinations(rows, 2)
    ]
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


def training_pairs(labels: np.ndarray, candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pairs to fit on and their 0/1 labels (see the module docstring)."""
    both = np.unique(np.vstack([candidates, entity_pairs(labels)]), axis=0)
    same = (labels[both[:, 0]] == labels[both[:, 1]]).astype(np.int64)
    positives = np.flatnonzero(same == 1)
    negatives = np.flatnonzero(same == 0)
    cap = max(NEGATIVES_PER_POSITIVE * len(positives), 100)
    if len(negatives) > cap:
        negatives = np.sort(np.random.default_rng(SEED).choice(negatives, cap, replace=False))
    keep = np.sort(np.concatenate([positives, negatives]))
    return both[keep], same[keep]


def pair_frame(frame: pd.DataFrame, pairs: np.ndarray, names: Sequence[str]) -> pd.DataFrame:
    """``left_<name>`` and ``right_<name>`` columns for each pair."""
    left = frame.iloc[pairs[:, 0]].reset_index(drop=True)
    right = frame.iloc[pairs[:, 1]].reset_index(drop=True)
    columns = {}
    for name in names:
        columns[f"left_{name}"] = left[name]
        columns[f"right_{name}"] = right[name]
    return pd.DataFrame(columns)


def pair_inputs(
    frame: pd.DataFrame, pairs: np.ndarray, types: dict[str, str], archive: Any, workers: int
) -> pd.DataFrame:
    paired = pair_frame(frame, pairs, list(types))
    attrs = features.pair_attributes(
        list(paired.columns), {f"left_{name}": ctype for name, ctype in types.items()}
    )
    return features.pair_features(paired, attrs, archive=archive, workers=workers)


def components(n: int, edges: np.ndarray) -> np.ndarray:
    """The connected component (smallest member's position) of each of ``n`` nodes."""
    parent = np.arange(n)

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in edges:
        ra, rb = root(int(a)), root(int(b))
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return np.array([root(i) for i in range(n)])


def fit_and_predict_grouping(
    args: argparse.Namespace, result: dict[str, Any], spec: Any, *, fit: Callable[..., Any]
) -> None:
    """The grouping baseline; ``fit`` is the runner's AutoGluon fit (shared with matching)."""
    task_dir = Path(args.task_dir)
    types = spec.types
    needed = ["id", *types]
    train, total = read_train(task_dir / "train.parquet", [*needed, "label"], max_rows=0)
    test = pq.read_table(task_dir / "test.parquet", columns=needed).to_pandas()
    labels = train["label"].astype(str).to_numpy()
    archive = features.open_images(task_dir / "images.zip")
    started = time.perf_counter()
    pairs, same = training_pairs(labels, candidate_pairs(train, types))
    result.update(
        task=spec.slug,
        kind=spec.kind,
        problem_type="binary",
        eval_metric="f1",
        train_rows=total,
        train_rows_used=total,
        test_rows=len(test),
        train_pairs=len(pairs),
        train_positive_pairs=int(same.sum()),
    )
    if same.sum() == 0 or same.sum() == len(same):
        # Nothing to learn from (every train entity a singleton): every record its own cluster.
        LOG.info("baseline: no pair of one entity and another in train; singletons")
        _write(args.out_dir, test["id"], np.arange(len(test)))
        return
    train_x = pair_inputs(train, pairs, types, archive, args.num_cpus)
    result["feature_seconds"] = round(time.perf_counter() - started, 3)
    LOG.info(
        "baseline: grouping, %d train pairs (%d of one entity), %d features",
        len(pairs),
        int(same.sum()),
        train_x.shape[1],
    )
    predictor = fit(train_x, pd.Series(same), text_cols=[], problem_type="binary", eval_metric="f1")

    started = time.perf_counter()
    candidates = candidate_pairs(test, types)
    edges = []
    step = max(1, args.predict_batch_rows)
    for lo in range(0, len(candidates), step):
        batch = candidates[lo : lo + step]
        predicted = predictor.predict(pair_inputs(test, batch, types, archive, args.num_cpus))
        edges.append(batch[np.asarray(predicted).astype(np.int64) == 1])
    if archive is not None and hasattr(archive, "close"):
        archive.close()
    edges_all = np.vstack(edges) if edges else np.empty((0, 2), dtype=np.int64)
    roots = components(len(test), edges_all)
    _write(args.out_dir, test["id"], roots)
    result.update(
        test_pairs=len(candidates),
        test_edges=len(edges_all),
        clusters=len(np.unique(roots)),
        predict_seconds=round(time.perf_counter() - started, 3),
    )
    LOG.info(
        "baseline: %d test pairs, %d predicted matches, %d clusters",
        len(candidates),
        len(edges_all),
        result["clusters"],
    )


def _write(out_dir: Path, ids: pd.Series, roots: np.ndarray) -> None:
    clusters = pd.DataFrame({"id": ids.astype(str).to_numpy(), "cluster": [f"g{r}" for r in roots]})
    clusters.to_parquet(Path(out_dir) / PREDICTIONS, index=False)


KIND = BaselineKind(
    name="grouping",
    classes=lambda declared: ("0", "1"),  # the pair model: are two records one entity?
    run=fit_and_predict_grouping,
    stop_on_log_loss=True,
)
