"""Aligned predictions to and from bytes (an in-memory ``.npz``), to score again later.

``pred`` holds codes (class or cluster indexes, stored in the smallest integer type that
fits) or, for kinds that predict numbers, float64 values kept as they are, in the
solution's row order. Class probabilities are stored as scoring holds them
(``kinds.columns.Probabilities``): by class in the file's row order, with the solution row
of each row when the file's rows were shuffled (version 2; version 1 stored them placed in
the solution's order, and still loads).
"""

from __future__ import annotations

import io

import numpy as np

from kinds.columns import Probabilities
from scoring.core.align import Aligned

_FORMAT_VERSION = 2
_READABLE = (1, 2)


def save_predictions(aligned: Aligned) -> bytes:
    """Bytes holding ``pred`` (codes: smallest fitting int type; numbers: float64), the
    probabilities as read with their order, and ``score`` if any."""
    arrays = {"version": np.array(_FORMAT_VERSION), "pred": _compact(aligned.pred)}
    probabilities = aligned.probabilities
    if probabilities is not None:
        arrays["proba_by_class"] = probabilities.by_class
        if probabilities.order is not None:
            arrays["proba_order"] = _compact(probabilities.order)
    if aligned.score is not None:
        arrays["score"] = aligned.score
    out = io.BytesIO()
    np.savez(out, **arrays)
    return out.getvalue()


def load_predictions(data: bytes) -> Aligned:
    """The Aligned that ``save_predictions`` wrote; pickled objects are refused, and so
    are probabilities, or an order, that do not fit the predictions (ValueError)."""
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        version = int(npz["version"])
        if version not in _READABLE:
            raise ValueError(f"unknown predictions format version {version}")
        pred = _expanded(npz["pred"])
        score = npz["score"] if "score" in npz.files else None
        if version == 1:
            return Aligned(
                pred=pred, proba=npz["proba"] if "proba" in npz.files else None, score=score
            )
        probabilities = None
        if "proba_by_class" in npz.files:
            by_class = npz["proba_by_class"]
            if by_class.ndim != 2 or by_class.shape[1] != pred.shape[0]:
                raise ValueError(f"probabilities {by_class.shape} for {pred.shape[0]} rows")
            order = npz["proba_order"].astype(np.intp) if "proba_order" in npz.files else None
            if (
                order is not None
                and order.size
                and not (0 <= order.min() <= order.max() < order.size)
            ):
                raise ValueError("the probabilities' order is not one of their rows")
            probabilities = Probabilities(by_class, order)
        return Aligned(pred=pred, score=score, probabilities=probabilities)


def _compact(codes: np.ndarray) -> np.ndarray:
    if codes.dtype.kind == "f":
        return codes.astype(np.float64)
    top = int(codes.max(initial=0))
    for dtype in (np.int8, np.int16):
        if top <= np.iinfo(dtype).max:
            return codes.astype(dtype)
    return codes.astype(np.int32)


def _expanded(pred: np.ndarray) -> np.ndarray:
    return pred.astype(np.float64) if pred.dtype.kind == "f" else pred.astype(np.int32)
