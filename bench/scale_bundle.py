"""The bundle of ``bench/bench_scale.py``: a classification task of ``rows`` rows (text, numeric
and categorical columns, five classes) and a submission right on about 70% of them, written
in batches of a million rows (never the whole table in memory)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

WORDS = np.array(
    [
        *("red", "blue", "green", "small", "large", "steel", "wooden", "cotton", "classic"),
        *("modern", "pro", "mini", "ultra", "smart", "wireless", "compact", "portable"),
        *("deluxe", "eco", "slim"),
    ]
)
CLASSES = np.array([f"class_{i}" for i in range(5)])
BATCH = 1_000_000


def _ids(prefix: str, start: int, n: int, *, shape: str | None = None, total: int = 0) -> pa.Array:
    if shape is not None:  # the user's path: ids of one of user_path's shapes
        from user_path import make_ids

        return make_ids(shape, start, n, total=total, seed=0 if prefix == "test" else 1)
    digits = pc.utf8_lpad(
        pa.array(np.arange(start, start + n)).cast(pa.string()), width=9, padding="0"
    )
    return pc.binary_join_element_wise(prefix, digits, "-")


def _titles(rng: np.random.Generator, n: int) -> pa.Array:
    words = WORDS[rng.integers(0, len(WORDS), (7, n))]
    lengths = rng.integers(4, 8, n)
    columns = [pa.array(np.where(lengths > k, words[k], "")) for k in range(7)]
    joined = pc.binary_join_element_wise(*columns, " ")
    return pc.utf8_rtrim(joined, characters=" ")


def _batch(
    rng: np.random.Generator,
    prefix: str,
    start: int,
    n: int,
    *,
    shape: str | None = None,
    total: int = 0,
) -> dict[str, pa.Array]:
    price = np.round(rng.gamma(2.0, 20.0, n), 2)
    price[rng.random(n) < 0.01] = np.nan
    return {
        "id": _ids(prefix, start, n, shape=shape, total=total),
        "title": _titles(rng, n),
        "price": pa.array(price, from_pandas=True),
        "brand": pa.array(np.char.add("brand_", rng.integers(0, 200, n).astype(str))),
    }


def build_bundle(
    folder: Path, *, rows: int, fmt: str, seed: int = 0, ids: str | None = None
) -> dict[str, Path]:
    """Write the bundle and a submission in ``folder``; returns their paths by name. ``ids``:
    an id shape of ``bench/user_path.py`` (default: ``test-000000042``)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "task.yaml").write_text(
        "slug: scale\ntitle: Scale\nkind: classification\n"
        "columns: {title: text, price: numeric, brand: categorical}\n"
    )
    rng = np.random.default_rng(seed)
    paths = {p: folder / f"{p}.{fmt}" for p in ("train", "test", "solution")}
    paths["submission"] = folder / "submission.parquet"
    writers: dict[str, object] = {}

    def write(name: str, table: pa.Table) -> None:
        if name not in writers:
            path = paths[name]
            writers[name] = (
                pacsv.CSVWriter(path, table.schema)
                if path.suffix == ".csv"
                else pq.ParquetWriter(path, table.schema)
            )
        writers[name].write_table(table)  # type: ignore[attr-defined]

    for part, total in (("train", rows // 2), ("test", rows)):
        for start in range(0, total, BATCH):
            n = min(BATCH, total - start)
            total = rows // 2 if part == "train" else rows
            columns = _batch(rng, part, start, n, shape=ids, total=total)
            labels = CLASSES[rng.integers(0, len(CLASSES), n)]
            if part == "train":
                write("train", pa.table({**columns, "label": labels}))
                continue
            write("test", pa.table(columns))
            write("solution", pa.table({"id": columns["id"], "label": labels}))
            guess = np.where(rng.random(n) < 0.7, labels, CLASSES[rng.integers(0, 5, n)])
            write("submission", pa.table({"id": columns["id"], "label": guess}))
    for writer in writers.values():
        writer.close()  # type: ignore[attr-defined]
    return paths
