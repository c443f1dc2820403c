"""Candidate pairs for the matching tasks: hard and random negatives, a leak-free split.

A pair is a row of a ``left``/``right``/``label`` frame whose ``left`` and ``right`` are index
labels of the two source tables.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from datasets.demo.bundle import TEST_SIZE

PAIR_KEYS = ["left", "right"]


def string_similarity(*, left: pd.Series, right: pd.Series) -> np.ndarray:
    """Jaro-Winkler similarity of aligned values in [0, 1]; 0 where either is missing."""
    from rapidfuzz.distance import JaroWinkler
    from rapidfuzz.process import cpdist

    a = left.fillna("").astype(str).str.lower().to_numpy()
    b = right.fillna("").astype(str).str.lower().to_numpy()
    scores = cpdist(list(a), list(b), scorer=JaroWinkler.normalized_similarity, workers=1)
    scores = np.asarray(scores, dtype="float64")
    scores[(a == "") | (b == "")] = 0.0
    return scores


def pair_similarity(
    *, left: pd.DataFrame, right: pd.DataFrame, pairs: pd.DataFrame, attrs: Sequence[str]
) -> np.ndarray:
    """Mean Jaro-Winkler similarity over ``attrs`` for each pair."""
    lhs = left.loc[pairs["left"]].reset_index(drop=True)
    rhs = right.loc[pairs["right"]].reset_index(drop=True)
    scores = [string_similarity(left=lhs[a], right=rhs[a]) for a in attrs]
    return np.mean(scores, axis=0) if scores else np.zeros(len(pairs))


def candidate_pool(
    *, pairs: Sequence[tuple[object, object]], positives: pd.DataFrame
) -> pd.DataFrame:
    """Distinct ``left``/``right`` pairs that are not positives, in sorted order."""
    frame = pd.DataFrame(list(pairs), columns=PAIR_KEYS).drop_duplicates()
    keep = ~_in(frame, positives)
    return frame[keep].sort_values(PAIR_KEYS, kind="stable").reset_index(drop=True)


def sample_hard_negatives(
    *,
    pools: Mapping[str, pd.DataFrame],
    weights: pd.Series,
    total: int,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Draw ``total`` distinct pairs, an equal quota from each blocking pass's pool.

    ``weights`` (indexed by ``(left, right)``) skews each draw toward the more similar
    pairs. Passes whose pool is smaller than its quota give all they have; the rest goes
    to the larger pools. Returns ``left``, ``right`` and ``source`` (the pass name).
    """
    chosen: list[pd.DataFrame] = []
    taken: set[tuple[object, object]] = set()
    order = sorted(pools, key=lambda name: (len(pools[name]), name))
    remaining = total
    for done, name in enumerate(order):
        quota = remaining // (len(order) - done)
        pool = pools[name]
        keys = list(zip(pool["left"], pool["right"], strict=True))
        free = np.array([k not in taken for k in keys], dtype=bool)
        pool = pool[free].reset_index(drop=True)
        count = min(quota, len(pool))
        if count:
            w = weights.reindex(pd.MultiIndex.from_frame(pool[PAIR_KEYS])).to_numpy()
            picks = rng.choice(len(pool), size=count, replace=False, p=w / w.sum())
            picked = pool.iloc[np.sort(picks)].assign(source=name)
            chosen.append(picked)
            taken.update(zip(picked["left"], picked["right"], strict=True))
        remaining -= count
    return pd.concat(chosen, ignore_index=True)


def sample_random_negatives(
    *,
    left_keys: Sequence[object],
    right_keys: Sequence[object],
    exclude: pd.DataFrame,
    total: int,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Draw ``total`` distinct uniform pairs of ``left_keys x right_keys`` not in ``exclude``."""
    taken = set(zip(exclude["left"], exclude["right"], strict=True))
    picked: list[tuple[object, object]] = []
    while len(picked) < total:
        i = rng.integers(len(left_keys))
        j = rng.integers(len(right_keys))
        key = (left_keys[i], right_keys[j])
        if key not in taken:
            taken.add(key)
            picked.append(key)
    return pd.DataFrame(picked, columns=PAIR_KEYS).assign(source="random")


def pair_rows(
    *, left: pd.DataFrame, right: pd.DataFrame, pairs: pd.DataFrame, attrs: Sequence[str]
) -> pd.DataFrame:
    """``left_<attr>``..., ``right_<attr>``..., ``label`` for each pair, in pair order."""
    lhs = left.loc[pairs["left"], list(attrs)].reset_index(drop=True).add_prefix("left_")
    rhs = right.loc[pairs["right"], list(attrs)].reset_index(drop=True).add_prefix("right_")
    rows = pd.concat([lhs, rhs], axis=1)
    rows["label"] = pairs["label"].astype("int64").to_numpy()
    return rows


def group_split(
    *, pairs: pd.DataFrame, seed: int, test_size: float = TEST_SIZE
) -> tuple[np.ndarray, np.ndarray]:
    """Shuffled train/test positions with every pair of one left record on the same side.

    Left records are split separately by whether they have a match, so the match share is
    about the same on both sides. Keeping a left record's candidates together means a
    test pair's left record was never seen in train, where its match would give it away.
    """
    rng = np.random.default_rng(seed)
    has_match = pairs.groupby("left", sort=True)["label"].max()
    test_groups: list[object] = []
    for flag in (0, 1):
        groups = has_match.index[has_match.to_numpy() == flag].to_numpy()
        groups = groups[rng.permutation(len(groups))]
        test_groups.extend(groups[: round(test_size * len(groups))])
    in_test = pairs["left"].isin(test_groups).to_numpy()
    train = np.flatnonzero(~in_test)
    test = np.flatnonzero(in_test)
    return train[rng.permutation(len(train))], test[rng.permutation(len(test))]


def share_equal(*, rows: pd.DataFrame, attr: str) -> float:
    """Share of ``rows`` whose ``left_<attr>`` equals ``right_<attr>`` (both present)."""
    lhs = rows[f"left_{attr}"].astype("string").str.strip().str.lower()
    rhs = rows[f"right_{attr}"].astype("string").str.strip().str.lower()
    return float((lhs == rhs).fillna(False).mean()) if len(rows) else 0.0


def _in(frame: pd.DataFrame, other: pd.DataFrame) -> np.ndarray:
    """Whether each ``left``/``right`` pair of ``frame`` occurs in ``other``."""
    keys = set(zip(other["left"], other["right"], strict=True))
    return np.array(
        [k in keys for k in zip(frame["left"], frame["right"], strict=True)], dtype=bool
    )
