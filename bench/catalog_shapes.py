"""Bundles of the shapes a catalog import meets, for ``bench/bench_scale.py --steps
import-command`` (issue 54):

- ``catalog``: a classification bundle of ``train_rows`` training rows (default 1M) and
  ``rows`` test rows (default 10M), 200 classes of uneven sizes (the largest about 15 times
  the smallest), a text column of exactly five words drawn from a vocabulary of 4,000
  (``title``: common words more often, as in product titles), a numeric column (``price``,
  1% missing) and a categorical one (``brand``, 200 values); counted ids (``p0`` ...
  ``p10999999``: a catalog numbered once and split at random into train and test, each
  file in id order, so each file's ids have gaps). task.yaml declares no column type: the
  import infers them, as for an export dropped in as it is. (The issue's figures, 16.7 s
  against a 6.2 s floor for the code before it, are this shape's: 16.8 s against 5.5 s
  here; with the ids of each file consecutive and the types declared, the same code took
  1.5x its floor.)
- ``matching``: an entity-matching bundle (labels 0/1, about 10% matches) whose records
  come from 100 product categories: a five-word title, a category (100 values) and a price
  on each side (``left_title``/``right_title``, ``left_category``/``right_category``,
  ``left_price``/``right_price``); a matching pair's right record is its left one with a
  word changed half of the time and the price moved by up to 5%, a non-matching pair's
  right record is another record of the same category half of the time. Counted ids as
  above. task.yaml declares no column type: the import infers them, which reads every
  value of the text columns (the issue's "100-class matching shape with left/right text":
  matching labels are 0/1, so the 100 classes are the records' categories).

Both are written in batches of a million rows (Parquet by default, CSV with ``fmt="csv"``),
so a 10M-row bundle never sits in the builder's memory whole.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from user_path import make_ids

BATCH = 1_000_000
SHAPES = ("catalog", "matching")
VERSION = 2  # of the bundles these write: a bench's --reuse builds them again when it changes
_ONSETS = [
    "b",
    "c",
    "d",
    "f",
    "g",
    "h",
    "k",
    "l",
    "m",
    "n",
    "p",
    "r",
    "s",
    "t",
    "v",
    "z",
    "br",
    "tr",
    "st",
    "pl",
]
_VOWELS = ["a", "e", "i", "o", "u", "ai", "ea", "ou"]


def vocabulary(size: int = 4000, seed: int = 7) -> np.ndarray:
    """``size`` distinct made-up words of two or three syllables."""
    rng = np.random.default_rng(seed)
    syllables = np.array([o + v for o in _ONSETS for v in _VOWELS])
    words: dict[str, None] = {}
    while len(words) < size:
        count = rng.integers(2, 4)
        words.setdefault("".join(rng.choice(syllables, count)), None)
    return np.array(list(words))


def _weights(n: int, flatten: float) -> np.ndarray:
    """Zipf-like shares over ``n`` items: item ``k`` weighs ``1 / (k + flatten)``."""
    weights = 1.0 / (np.arange(n) + flatten)
    return weights / weights.sum()


class _Writers:
    """One Parquet or CSV writer per file, opened on its first table."""

    def __init__(self, folder: Path, fmt: str) -> None:
        self.folder, self.fmt = folder, fmt
        self.open: dict[str, pacsv.CSVWriter | pq.ParquetWriter] = {}

    def write(self, name: str, table: pa.Table) -> None:
        if name not in self.open:
            path = self.folder / f"{name}.{self.fmt}"
            self.open[name] = (
                pacsv.CSVWriter(path, table.schema)
                if self.fmt == "csv"
                else pq.ParquetWriter(path, table.schema)
            )
        self.open[name].write_table(table)

    def close(self) -> None:
        for writer in self.open.values():
            writer.close()


def _titles(rng: np.random.Generator, words: pa.Array, shares: np.ndarray, n: int) -> pa.Array:
    """``n`` titles of five words each."""
    picks = [words.take(pa.array(rng.choice(len(words), n, p=shares))) for _ in range(5)]
    return pc.binary_join_element_wise(*picks, " ")


def _parts(rows: int, train_rows: int) -> list[tuple[str, int, int]]:
    """(part, first id number, rows) of each batch: train first, then test."""
    out = []
    for part, first, total in (("train", 0, train_rows), ("test", train_rows, rows)):
        out += [(part, first + s, min(BATCH, total - s)) for s in range(0, total, BATCH)]
    return out


def _split_numbers(rows: int, train_rows: int, seed: int) -> dict[str, np.ndarray]:
    """The id numbers of train and test: ``0 .. rows + train_rows - 1`` split at random,
    each part in increasing order."""
    chosen = np.zeros(rows + train_rows, dtype=bool)
    rng = np.random.default_rng([seed, 54])
    chosen[rng.choice(rows + train_rows, size=train_rows, replace=False)] = True
    return {"train": np.flatnonzero(chosen), "test": np.flatnonzero(~chosen)}


def build_catalog(
    folder: Path, *, rows: int, train_rows: int, fmt: str = "parquet", seed: int = 0
) -> None:
    """The ``catalog`` bundle (module docstring) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "task.yaml").write_text("slug: catalog\ntitle: Catalog\nkind: classification\n")
    numbers = _split_numbers(rows, train_rows, seed)
    rng = np.random.default_rng(seed)
    words = pa.array(vocabulary())
    word_shares = _weights(len(words), 20.0)
    classes = pa.array([f"category_{k:03d}" for k in range(200)])
    class_shares = _weights(len(classes), 14.0)
    brands = pa.array([f"brand_{k}" for k in range(200)])
    out = _Writers(folder, fmt)
    for part, first, n in _parts(rows, train_rows):
        price = np.round(rng.gamma(2.0, 20.0, n), 2)
        price[rng.random(n) < 0.01] = np.nan
        start = first - (0 if part == "train" else train_rows)
        picked = numbers[part][start : start + n]
        columns = {
            "id": pc.binary_join_element_wise("p", pa.array(picked).cast(pa.string()), ""),
            "title": _titles(rng, words, word_shares, n),
            "price": pa.array(price, from_pandas=True),
            "brand": brands.take(pa.array(rng.integers(0, len(brands), n))),
        }
        labels = classes.take(pa.array(rng.choice(len(classes), n, p=class_shares)))
        if part == "train":
            out.write("train", pa.table({**columns, "label": labels}))
        else:
            out.write("test", pa.table(columns))
            out.write("solution", pa.table({"id": columns["id"], "label": labels}))
    out.close()


def _matching_batch(
    rng: np.random.Generator, words: pa.Array, shares: np.ndarray, n: int
) -> tuple[dict[str, pa.Array], np.ndarray]:
    """``n`` pairs' columns (left, right) and their 0/1 labels."""
    categories = pa.array([f"category_{k:02d}" for k in range(100)])
    label = (rng.random(n) < 0.1).astype(np.int64)
    category = rng.integers(0, len(categories), n)
    left_words = [rng.choice(len(words), n, p=shares) for _ in range(5)]
    right_words = [rng.choice(len(words), n, p=shares) for _ in range(5)]
    changed = rng.integers(0, 5, n)
    keep = rng.random(n) < 0.5  # a match keeps its title whole half of the time
    for k in range(5):  # a match: the left words, one of them changed unless kept
        same = (label == 1) & (keep | (changed != k))
        right_words[k] = np.where(same, left_words[k], right_words[k])
    left_price = np.round(rng.gamma(2.0, 20.0, n), 2)
    right_price = np.where(
        label == 1,
        np.round(left_price * (1 + rng.uniform(-0.05, 0.05, n)), 2),
        np.round(rng.gamma(2.0, 20.0, n), 2),
    )
    same_category = (label == 1) | (rng.random(n) < 0.5)
    right_category = np.where(same_category, category, rng.integers(0, len(categories), n))
    columns = {
        "left_title": pc.binary_join_element_wise(
            *(words.take(pa.array(w)) for w in left_words), " "
        ),
        "left_category": categories.take(pa.array(category)),
        "left_price": pa.array(left_price),
        "right_title": pc.binary_join_element_wise(
            *(words.take(pa.array(w)) for w in right_words), " "
        ),
        "right_category": categories.take(pa.array(right_category)),
        "right_price": pa.array(right_price),
    }
    return columns, label


def build_matching(
    folder: Path, *, rows: int, train_rows: int, fmt: str = "parquet", seed: int = 0
) -> None:
    """The ``matching`` bundle (module docstring) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "task.yaml").write_text("slug: pairs\ntitle: Pairs\nkind: matching\n")
    rng = np.random.default_rng(seed)
    words = pa.array(vocabulary())
    shares = _weights(len(words), 20.0)
    out = _Writers(folder, fmt)
    for part, first, n in _parts(rows, train_rows):
        columns, label = _matching_batch(rng, words, shares, n)
        ids = make_ids("counted", first, n, total=rows + train_rows, prefix="p")
        if part == "train":
            out.write("train", pa.table({"id": ids, **columns, "label": label}))
        else:
            out.write("test", pa.table({"id": ids, **columns}))
            out.write("solution", pa.table({"id": ids, "label": label}))
    out.close()


def build_shape(shape: str, folder: Path, *, rows: int, train_rows: int, fmt: str) -> None:
    """Build the bundle of ``shape`` (one of :data:`SHAPES`) in ``folder``."""
    builder = {"catalog": build_catalog, "matching": build_matching}[shape]
    builder(folder, rows=rows, train_rows=train_rows, fmt=fmt)
