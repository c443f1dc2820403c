"""Helpers of test_core_opis.py that other test modules use too (no test module imports
another: tests/platform_tests/test_test_imports.py)."""

from __future__ import annotations


def naive_f1(scores: list[float], positives: list[bool], t: float) -> float:
    tp = sum(1 for s, p in zip(scores, positives, strict=True) if s >= t and p)
    fp = sum(1 for s, p in zip(scores, positives, strict=True) if s >= t and not p)
    fn = sum(1 for s, p in zip(scores, positives, strict=True) if s < t and p)
    return 1.0 if 2 * tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn)


def naive_opis(
    groups: dict[object, tuple[list[float], list[bool]]],
    pooled: tuple[list[float], list[bool]],
    lo: float,
    hi: float,
    min_rows: int,
) -> float | None:
    grid = [lo + k * (hi - lo) / 100 for k in range(101)]
    pooled_u = [naive_f1(*pooled, t) for t in grid]
    per_group = []
    for scores, positives in groups.values():
        if len(scores) < min_rows or not any(positives):
            continue
        d = [(naive_f1(scores, positives, t) - u) ** 2 for t, u in zip(grid, pooled_u, strict=True)]
        per_group.append(sum((d[k] + d[k + 1]) / 2 for k in range(100)) / 100)
    return sum(per_group) / len(per_group) if per_group else None


def naive_matching(score, y, groups, rows, lo, hi, min_rows):
    by_group: dict[int, tuple[list[float], list[bool]]] = {}
    for i in rows:
        if groups[i] >= 0:
            by_group.setdefault(groups[i], ([], []))
            by_group[groups[i]][0].append(float(score[i]))
            by_group[groups[i]][1].append(bool(y[i] == 1))
    pooled = ([float(score[i]) for i in rows], [bool(y[i] == 1) for i in rows])
    return naive_opis(by_group, pooled, lo, hi, min_rows)


def naive_classification(proba, y, rows, lo, hi, min_rows):
    k = proba.shape[1]
    by_class = {
        c: ([float(proba[i, c]) for i in rows], [bool(y[i] == c) for i in rows]) for c in range(k)
    }
    pooled = (
        [s for c in range(k) for s in by_class[c][0]],
        [p for c in range(k) for p in by_class[c][1]],
    )
    return naive_opis(by_class, pooled, lo, hi, min_rows)


