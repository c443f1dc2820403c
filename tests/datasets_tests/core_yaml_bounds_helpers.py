"""Helpers of test_core_yaml_bounds.py that other test modules use too (no test module imports
another: tests/platform_tests/test_test_imports.py)."""

from __future__ import annotations


def alias_bomb(levels: int, *, key: str = "slug") -> str:
    """The probe's shape: ``a0: &a0 [10 strings]``, ``aN: &aN [*aN-1 x 10]``, ``key: *aL``
    (507 bytes at 7 levels stand for 10^8 strings)."""
    lines = ["a0: &a0 [" + ", ".join(['"xxxxxxxxxx"'] * 10) + "]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, levels + 1)]
    lines.append(f"{key}: *a{levels}")
    return "\n".join(lines) + "\n"


