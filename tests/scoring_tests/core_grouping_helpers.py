"""Helpers of test_core_grouping.py that other test modules use too (no test module imports
another: tests/platform_tests/test_test_imports.py)."""

from __future__ import annotations


def naive_flips(y, pred, ref, rows) -> dict[str, float]:
    if not rows:
        return {}
    negative = sum(1 for i in rows if ref[i] == y[i] and pred[i] != y[i])
    positive = sum(1 for i in rows if ref[i] != y[i] and pred[i] == y[i])
    return {"nfr": negative / len(rows), "pfr": positive / len(rows)}


