"""Matching consistency: how often a method's matches contradict each other
(docs/organizers/stress.md).

Pairs share records: the same record (the same attribute values) appears in several
candidate pairs, on either side. Matches are transitive, so predicted matches a~b and b~c
imply a~c. The share of *transitivity violations* is, among the candidate pairs that the
predicted matches imply (both records in one connected component of the graph of predicted
matches; the predicted matches themselves included), the share predicted non-matches. 0 is
consistent; None when nothing is predicted a match. A pair of a record with itself is not
counted. Records are told apart by all their attribute values (a 64-bit hash of their
dictionary codes); components by ``scipy.sparse.csgraph.connected_components``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

_MIX = np.uint64(0x9E3779B97F4A7C15)


def record_keys(features: pa.Table, attributes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """A record number for each pair's left and right record (equal for equal attribute
    values, wherever the record appears)."""
    n = features.num_rows
    key = np.zeros(2 * n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for attr in attributes:
            both = pa.concat_arrays(
                [
                    features[f"left_{attr}"].combine_chunks().cast(pa.string()),
                    features[f"right_{attr}"].combine_chunks().cast(pa.string()),
                ]
            )
            codes = pc.fill_null(pc.dictionary_encode(both).indices, -1)
            values = np.asarray(codes.to_numpy(zero_copy_only=False), dtype=np.int64)
            key = key * _MIX + (values + 1).astype(np.uint64)
            key ^= key >> np.uint64(29)
    _, record = np.unique(key, return_inverse=True)
    return record[:n], record[n:]


def transitivity_violations(left: np.ndarray, right: np.ndarray, pred: np.ndarray) -> float | None:
    """The share of violations (see the module) of 0/1 predictions on pairs ``(left[i],
    right[i])`` of record numbers."""
    pred = np.asarray(pred) == 1
    distinct = left != right
    matched = pred & distinct
    if not matched.any():
        return None
    size = int(max(left.max(), right.max())) + 1
    graph = coo_matrix(
        (np.ones(int(matched.sum()), dtype=np.int8), (left[matched], right[matched])),
        shape=(size, size),
    )
    _, component = connected_components(graph, directed=False)
    implied = distinct & (component[left] == component[right])
    return float(np.count_nonzero(implied & ~pred) / np.count_nonzero(implied))
