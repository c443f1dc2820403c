"""Helpers of test_grouping_end_to_end.py that other test modules use too (no test module imports
another: tests/platform_tests/test_test_imports.py)."""

from __future__ import annotations


def naive_pairwise_f1(truth: list[str], pred: list[str]) -> float:
    n = len(truth)
    same_t = {(i, j) for i in range(n) for j in range(i + 1, n) if truth[i] == truth[j]}
    same_p = {(i, j) for i in range(n) for j in range(i + 1, n) if pred[i] == pred[j]}
    tp = len(same_t & same_p)
    if not same_t and not same_p:
        return 1.0
    return 2 * tp / (len(same_t) + len(same_p))


