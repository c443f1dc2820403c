"""Aligned predictions to and from bytes (an in-memory ``.npz``), to score again later.

``pred`` holds codes (class or cluster indexes, stored in the smallest integer type that
fits) or, for kinds that predict numbers, float64 values kept as they are.
"""

from __future__ import annotations

import io

import numpy as np

from scoring.core.align import Aligned

_FORMAT_VERSION = 1


def save_predictions(aligned: Aligned) -> bytes:
    """Bytes holding ``pred`` (codes: smallest fitting int type; numbers: float64) and
    ``proba``/``score`` if any."""
    arrays = {"version": np.array(_FORMAT_VERSION), "pred": _compact(aligned.pred)}
    if aligned.proba is not None:
        arrays["proba"] = aligned.proba
    if aligned.score is not None:
        arrays["score"] = aligned.score
    out = io.BytesIO()
    np.savez(out, **arrays)
    return out.getvalue()


def load_predictions(data: bytes) -> Aligned:
    """The Aligned that ``save_predictions`` wrote; pickled objects are refused."""
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        version = int(npz["version"])
        if version != _FORMAT_VERSION:
            raise ValueError(f"unknown predictions format version {version}")
        return Aligned(
            pred=_expanded(npz["pred"]),
            proba=npz["proba"] if "proba" in npz.files else None,
            score=npz["score"] if "score" in npz.files else None,
        )


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
