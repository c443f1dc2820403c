"""Helpers of test_grouping.py that other test modules use too (no test module imports
another: tests/platform_tests/test_test_imports.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd

WORDS = [
    "amber", "basil", "cedar", "delta", "ember", "fjord", "gamma", "harbor", "indigo", "juniper",
    "kestrel", "lumen", "maple", "nectar", "onyx", "prism", "quartz", "raven", "sierra", "tundra",
    "umber", "violet", "willow", "xenon", "yarrow", "zephyr",
]  # fmt: skip


def _records(prefix: str, entities: int, rng: np.random.Generator) -> pd.DataFrame:
    """Entities of 1-4 records: one two-word title with typos, a price, a colour each."""
    rows = []
    for k in range(entities):
        first, second = rng.choice(len(WORDS), 2, replace=False)
        title = f"{WORDS[first]} {WORDS[second]} {k}"
        price = float(rng.integers(5, 500))
        color = ("red", "green", "blue")[k % 3]
        for r in range(1 + k % 4):
            text = title if r == 0 else title.replace(title[r % len(title)], "x", 1)
            rows.append((f"{prefix}{k}-{r}", text, price + r * 0.01, color, f"{prefix}{k}"))
    frame = pd.DataFrame(rows, columns=["id", "title", "price", "color", "label"])
    return frame.sample(frac=1.0, random_state=0).reset_index(drop=True)


