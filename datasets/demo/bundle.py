"""Write an organizer bundle (docs/architecture.md §4) to a folder, byte-for-byte the
same for a seed."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from kinds import kind_get

Format = Literal["csv", "parquet"]

PUBLIC_FRACTION = 0.3
TEST_SIZE = 0.3
MIN_TRAIN_ROWS_PER_CLASS = 10
PARTS = ("train", "test", "solution")


@dataclass(frozen=True)
class BundleSpec:
    """What goes into ``task.yaml``; ``columns`` lists every feature column in file order."""

    slug: str
    title: str
    kind: str  # a registered kind (kinds.registry)
    description: str
    columns: dict[str, str]
    split_seed: int
    # What the source says of itself, copied as task.yaml's citation and rai (left out when
    # empty: never written for a source that does not say it)
    citation: str = ""
    rai: dict[str, str] = field(default_factory=dict)


def default_cache_dir() -> Path:
    """``$DATA_DIR/cache`` (``DATA_DIR`` defaults to ``./var``)."""
    return Path(os.environ.get("DATA_DIR", "./var")) / "cache"


def prepare_out_dir(*, out_dir: Path) -> Path:
    """Create ``out_dir`` and remove any bundle files an earlier build left in it."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for part in PARTS:
        for fmt in ("csv", "parquet"):
            (out_dir / f"{part}.{fmt}").unlink(missing_ok=True)
    (out_dir / "task.yaml").unlink(missing_ok=True)
    shutil.rmtree(out_dir / "images", ignore_errors=True)
    return out_dir


def stratified_split(
    *, labels: Sequence[object] | pd.Series, seed: int, test_size: float = TEST_SIZE
) -> tuple[np.ndarray, np.ndarray]:
    """Shuffled positions of the train and test rows, stratified by ``labels``."""
    n_test = round(test_size * len(labels))
    test = _stratified_pick(labels, n_test, np.random.default_rng(seed))
    rng = np.random.default_rng([seed, 1])
    train = np.setdiff1d(np.arange(len(labels)), test)
    return train[rng.permutation(len(train))], test[rng.permutation(len(test))]


def stratified_sample(
    *, labels: Sequence[object] | pd.Series, size: int, seed: int
) -> np.ndarray:
    """Sorted positions of ``size`` rows drawn without replacement, stratified by ``labels``."""
    if size >= len(labels):
        return np.arange(len(labels))
    return np.sort(_stratified_pick(labels, size, np.random.default_rng([seed, 2])))


def _stratified_pick(
    labels: Sequence[object] | pd.Series, total: int, rng: np.random.Generator
) -> np.ndarray:
    """``total`` positions, each class getting its share (largest remainder, at least 1)."""
    codes, classes = pd.factorize(pd.Series(labels).astype(str), sort=True)
    counts = np.bincount(codes, minlength=len(classes))
    exact = counts * total / len(codes)
    quota = np.minimum(np.maximum(np.floor(exact).astype(int), 1), counts)
    order = np.argsort(-(exact - np.floor(exact)), kind="stable")
    for position in order[: max(total - int(quota.sum()), 0)]:
        quota[position] += 1
    picked = [
        rng.permutation(np.flatnonzero(codes == c))[: quota[c]] for c in range(len(classes))
    ]
    return np.sort(np.concatenate(picked))


def write_bundle(
    *, out_dir: Path,
    spec: BundleSpec,
    train: pd.DataFrame,
    test: pd.DataFrame,
    fmt: Format,
    id_prefix: str,
) -> Path:
    """Write ``task.yaml`` and the train/test/solution tables; return ``out_dir``.

    ``train`` and ``test`` hold the declared feature columns and ``label``, rows in the
    order they should appear. Ids are ``<id_prefix>-00001`` style strings, train first.
    """
    features = list(spec.columns)
    for name, frame in (("train", train), ("test", test)):
        if list(frame.columns) != [*features, "label"]:
            raise ValueError(f"{name} columns {list(frame.columns)} != declared {features}")
    if kind_get(spec.kind).has_classes:
        counts = train["label"].value_counts()
        small = counts[counts < MIN_TRAIN_ROWS_PER_CLASS]
        if not small.empty:
            raise ValueError(f"classes with fewer than 10 train rows: {small.to_dict()}")
    width = max(5, len(str(len(train) + len(test))))
    ids = [f"{id_prefix}-{n:0{width}d}" for n in range(1, len(train) + len(test) + 1)]
    train = train.reset_index(drop=True)
    test = test.reset_index(drop=True)
    train.insert(0, "id", ids[: len(train)])
    test.insert(0, "id", ids[len(train) :])
    out_dir = Path(out_dir)
    _write_table(train, out_dir / f"train.{fmt}")
    _write_table(test[["id", *features]], out_dir / f"test.{fmt}")
    _write_table(test[["id", "label"]], out_dir / f"solution.{fmt}")
    _write_yaml(spec, out_dir / "task.yaml")
    return out_dir


def _write_table(frame: pd.DataFrame, path: Path) -> None:
    if path.suffix == ".csv":
        frame.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")
    else:
        table = pa.Table.from_pandas(frame, preserve_index=False)
        pq.write_table(table, path, compression="zstd")


class _Dumper(yaml.SafeDumper):
    """Safe dumper that writes multi-line strings as ``|`` blocks, for a readable file."""


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_representer)


def _write_yaml(spec: BundleSpec, path: Path) -> None:
    data = {
        "slug": spec.slug,
        "title": spec.title,
        "kind": spec.kind,
        "description": spec.description.strip() + "\n",
        "metric": kind_get(spec.kind).primary,
        "columns": dict(spec.columns),
        "public_fraction": PUBLIC_FRACTION,
        "split_seed": spec.split_seed,
    }
    if spec.citation:
        data["citation"] = spec.citation
    if spec.rai:
        data["rai"] = dict(spec.rai)
    text = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    path.write_text(text, encoding="utf-8")
