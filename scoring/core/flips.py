"""Flip rates of a submission against a reference on the same rows (docs/architecture.md
§11).

A row is right as the task's kind says (``Solution.is_right``; without a rule, when the
predicted label equals the truth). NFR = rows the reference got right and the submission
got wrong, divided by all rows of the split; PFR the reverse. The counting lives in
``common.flips.split_flips`` (one home, shared with the insight page); a split without rows
gets no rates.
"""

from __future__ import annotations

import numpy as np

from common.flips import RightRule, split_flips


def flip_rates(
    *,
    y: np.ndarray,
    pred: np.ndarray,
    reference: np.ndarray,
    is_public: np.ndarray,
    is_right: RightRule | None = None,
) -> dict[str, dict[str, float]]:
    """``{"all"|"public"|"private": {"nfr": ..., "pfr": ...}}`` (empty dict: no rows)."""
    reports = split_flips(
        y=y, pred=pred, reference=reference, is_public=is_public, is_right=is_right
    )
    return {split: report.rates for split, report in reports.items()}
