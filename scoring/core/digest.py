"""Compact results behind a submission's page, computed once from the full arrays.

A page view must not load the solution and the predictions (issue 16): what it shows is
reduced here, once per (submission, reference, solution version), to a few KB of plain
JSON values that ``scoring.digests`` stores:

- ``own_digest``: per visible split (``public``, ``all``) the row count, what the task's
  kind shows of the rows (``TaskKind.digest``: a confusion matrix, for matching files with
  a ``score`` the precision/recall-against-threshold curve...), and the OPIS utility
  curves (``opis_curves``);
- ``flips_digest``: per visible split the flip counts of ``common.flips.split_flips`` with
  example *ids* (not positions).

OPIS curves: the groups shown are the ``TOP_GROUPS`` eligible groups with the largest
divergence (their trapezoid mean of (U_g - U)^2 on the calibration range, exactly the terms
OPIS averages), drawn with the pooled curve on a 101-point grid over [0, 1]; the calibration
range is where OPIS is measured.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pyarrow as pa

from common.flips import split_flips
from scoring.core.align import Aligned
from scoring.core.metrics import task_curves
from scoring.core.opis import UtilityCurves
from scoring.core.solution import Solution

VISIBLE_SPLITS = ("public", "all")
TOP_GROUPS = 5
DIGITS = 4
EXAMPLES = 5


def _rounded(values: np.ndarray) -> list[float | None]:
    return [None if not np.isfinite(v) else round(float(v), DIGITS) for v in values]


def _split_mask(solution: Solution, split: str) -> np.ndarray | None:
    return None if split == "all" else solution.is_public


def opis_curves(
    aligned: Aligned,
    solution: Solution,
    curves: dict[str, UtilityCurves] | None = None,
    *,
    top: int = TOP_GROUPS,
) -> dict[str, dict[str, Any]] | None:
    """Per visible split: OPIS, the range, the pooled and the most divergent groups' curves.

    ``curves`` are the calibration-range curves if already computed (scoring computes them
    for the ``opis`` metric); the drawn curves come from one more pass over [0, 1].
    """
    if curves is None:
        curves = task_curves(aligned, solution)
    if curves is None:
        return None
    full = task_curves(aligned, replace(solution, opis=replace(solution.opis, range=(0.0, 1.0))))
    if full is None:  # cannot happen: the same inputs gave curves above
        return None
    lo, hi = solution.opis.range
    out: dict[str, dict[str, Any]] = {}
    for split in VISIBLE_SPLITS:
        measured, drawn = curves[split], full[split]
        eligible = np.flatnonzero(measured.eligible)
        order = eligible[np.argsort(-measured.divergence[eligible], kind="stable")][:top]
        out[split] = {
            "opis": measured.opis,
            "range": [float(lo), float(hi)],
            "eligible_groups": int(eligible.size),
            "pooled": _rounded(drawn.pooled_f1),
            "groups": [
                {
                    "name": str(measured.group_names[g]),
                    "rows": int(measured.group_rows[g]),
                    "divergence": float(measured.divergence[g]),
                    "f1": _rounded(drawn.group_f1[g]),
                }
                for g in order
            ],
        }
    return out


def own_digest(
    aligned: Aligned,
    solution: Solution,
    curves: dict[str, UtilityCurves] | None = None,
) -> dict[str, Any]:
    """Everything the page shows of one submission alone (see the module docstring).

    Each part the kind gives is kept by its name, then by split (``{"confusion":
    {"public": ..., "all": ...}}``); a part no split has is None.
    """
    kind = solution.task_kind
    rows: dict[str, int] = {}
    parts: dict[str, dict[str, Any]] = {}
    for split in VISIBLE_SPLITS:
        mask = _split_mask(solution, split)
        rows[split] = int(solution.y.size if mask is None else np.count_nonzero(mask))
        for name, value in kind.digest(aligned, solution, mask).items():
            by_split = parts.setdefault(name, {})
            if value is not None:
                by_split[split] = value
    return {
        "n_rows": int(solution.y.size),
        "rows": rows,
        **{name: by_split or None for name, by_split in parts.items()},
        "opis": opis_curves(aligned, solution, curves),
    }


OWN_KEYS = ("n_rows", "rows", "opis", "note")  # the digest's keys that are not the kind's


def kind_parts(digest: dict[str, Any], split: str) -> dict[str, Any]:
    """The kind's parts of an own digest on one split (what ``TaskKind.charts`` reads)."""
    return {
        name: by_split[split]
        for name, by_split in digest.items()
        if name not in OWN_KEYS and by_split and split in by_split
    }


def flips_digest(
    *, solution: Solution, pred: np.ndarray, reference_pred: np.ndarray, examples: int = EXAMPLES
) -> dict[str, dict[str, Any]]:
    """Per visible split the flips of ``pred`` against ``reference_pred``, examples as ids."""
    reports = split_flips(
        y=solution.y,
        pred=pred,
        reference=reference_pred,
        is_public=solution.is_public,
        examples=examples,
        is_right=solution.is_right,
    )
    out = {}
    for split in VISIBLE_SPLITS:
        data = reports[split].to_dict()
        for key in ("positive_examples", "negative_examples"):
            data[key] = ids_at(solution.ids, data[key])
        out[split] = data
    return out


def ids_at(ids: pa.Array, positions: list[int]) -> list[str]:
    """The solution's ids at these row positions, as text."""
    if not positions:
        return []
    return [str(v) for v in ids.take(pa.array(positions, type=pa.int64())).to_pylist()]
